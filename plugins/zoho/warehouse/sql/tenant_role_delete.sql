-- Forget a per-tenant analyst role; returns the tenant it saw.
delete from zoho_sync.tenant_roles where role_name = %(name)s
returning user_id
