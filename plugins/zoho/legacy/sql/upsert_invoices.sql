-- One invoice per (tenant, Zoho invoice id) of the readable rows, referencing the customer of its
-- latest row. Written only when changed (idempotent).
with

invoices as (

    select
        user_id,
        invoice_id,
        (array_agg(customer_id order by recency))[1] as customer_id,
        count(*) as legacy_rows,
        max(updated_at) as legacy_updated_at
    from legacy_source_rows
    where reject_reason is null
    group by user_id, invoice_id

)

insert into zoho_raw.legacy_invoices as target (
    user_id, invoice_id, customer_id, legacy_rows, legacy_updated_at, source_table, row_hash
)
select
    user_id, invoice_id, customer_id, legacy_rows, legacy_updated_at,
    %(source_table)s,
    md5(cast(jsonb_build_array(customer_id, legacy_rows, legacy_updated_at) as text))
from invoices
on conflict (user_id, invoice_id) do update set
    customer_id = excluded.customer_id,
    legacy_rows = excluded.legacy_rows,
    legacy_updated_at = excluded.legacy_updated_at,
    source_table = excluded.source_table,
    row_hash = excluded.row_hash,
    _synced_at = now()
where target.row_hash is distinct from excluded.row_hash
