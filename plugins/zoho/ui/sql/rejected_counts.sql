-- Quarantined records per tenant and entity.
select user_id, entity, count(*) as n from zoho_sync.rejected_records group by 1, 2
