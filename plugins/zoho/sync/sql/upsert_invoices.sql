insert into zoho_raw.invoices as i
    (user_id, invoice_id, customer_id, last_modified_time, payload, payload_hash,
     is_deleted, deleted_at, _synced_at)
select distinct on (invoice_id)
    %(user_id)s, invoice_id, customer_id, last_modified_time, payload, payload_hash, false, null, now()
from stage_invoices
order by invoice_id, last_modified_time desc nulls last
on conflict (user_id, invoice_id) do update set
    customer_id        = excluded.customer_id,
    last_modified_time = excluded.last_modified_time,
    payload            = excluded.payload,
    payload_hash       = excluded.payload_hash,
    is_deleted         = false,
    deleted_at         = null,
    _synced_at         = now()
where i.payload_hash is distinct from excluded.payload_hash or i.is_deleted
returning invoice_id
