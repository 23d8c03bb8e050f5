-- The role `name` as tenant_roles.py sees it before creating or dropping it: whether it exists,
-- may log in, is a member of zoho_tenant_analyst, was made by the command (comment), and the
-- tenant this database maps it to (null: no row in zoho_sync.tenant_roles).
select
    r.oid is not null                                                      as role_exists,
    coalesce(r.rolcanlogin, false)                                         as can_login,
    coalesce(pg_has_role(r.oid, 'zoho_tenant_analyst', 'member'), false)   as is_tenant_analyst,
    coalesce(shobj_description(r.oid, 'pg_authid') = %(mark)s, false)      as made_by_command,
    t.user_id                                                              as mapped_user_id
from (select %(name)s::text as name) as wanted
left join pg_roles as r on r.rolname = wanted.name
left join zoho_sync.tenant_roles as t on t.role_name = wanted.name
