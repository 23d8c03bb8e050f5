-- Whether the sync has seen a tenant (a grant of a tenant not synced yet is allowed, with a warning).
select exists (select 1 from zoho_sync.sync_metadata where user_id = %(user_id)s)
