-- Tenants the sync has seen (sync_metadata has one row per tenant and entity).
select distinct user_id from zoho_sync.sync_metadata order by 1
