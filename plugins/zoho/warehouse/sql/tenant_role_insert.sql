-- Map a per-tenant analyst role to its tenant (idempotent for the same tenant).
insert into zoho_sync.tenant_roles (role_name, user_id)
values (%(name)s, %(user_id)s)
on conflict (role_name) do nothing
