-- Whether the warehouse knows a tenant (synced, or has customers): a tenant filter naming one it
-- does not know is answered 404 "unknown tenant"; `grants grant` warns about one.
select exists (select 1 from zoho_sync.sync_metadata where user_id = %(tenant)s)
    or exists (select 1 from analytics.customers_cache where user_id = %(tenant)s) as known
