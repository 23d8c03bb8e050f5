-- The per-tenant analyst roles of this database: tenant, when made, whether the role still exists
-- and the roles granted it (the logins that see the tenant).
select
    t.role_name,
    t.user_id,
    t.created_at,
    r.oid is not null as role_exists,
    coalesce((
        select array_agg(m.rolname::text order by m.rolname)
        from pg_auth_members as am
        join pg_roles as m on m.oid = am.member
        where am.roleid = r.oid
    ), '{}'::text[]) as members
from zoho_sync.tenant_roles as t
left join pg_roles as r on r.rolname = t.role_name
order by t.user_id, t.role_name
