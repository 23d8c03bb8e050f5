-- Whether the warehouse holds anything of a tenant (a grant of a tenant not synced yet is allowed).
select exists (select 1 from zoho_sync.sync_metadata where user_id = %(user_id)s)
    or exists (select 1 from analytics.customers_cache where user_id = %(user_id)s)
