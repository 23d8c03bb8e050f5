-- Rows that cannot be read (no tenant, no invoice id, no customer id) into the quarantine with
-- their reason and the row whole; unique per (tenant, entity, payload, reason), so a re-run adds
-- nothing.
insert into zoho_sync.rejected_records (user_id, entity, zoho_id, reason, payload, payload_hash, run_id)
select distinct on (coalesce(user_id, ''), md5(cast(payload as text)), reject_reason)
    coalesce(user_id, ''),
    'legacy_invoices',
    invoice_id,
    reject_reason,
    payload,
    md5(cast(payload as text)),
    %(run_id)s
from legacy_source_rows
where reject_reason is not null
order by coalesce(user_id, ''), md5(cast(payload as text)), reject_reason
on conflict (user_id, entity, payload_hash, reason) do nothing
