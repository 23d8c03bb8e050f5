-- The roles granted the role `name` (they lose the tenant's rows when it is dropped).
select m.rolname::text
from pg_auth_members as am
join pg_roles as g on g.oid = am.roleid
join pg_roles as m on m.oid = am.member
where g.rolname = %(name)s
order by m.rolname
