-- The legacy invoice table ({source}, a quoted identifier the caller validated), read once into a
-- temp table of this transaction: ids and text trimmed, blanks read as null, every row kept whole as
-- jsonb, and the reason it cannot be used (first that applies), null for a readable row.
create temp table legacy_source_rows on commit drop as
select
    row_number() over () as row_number,
    nullif(btrim(cast(source.user_id as text), E' \t\r\n'), '') as user_id,
    nullif(btrim(cast(source.zoho_invoice_id as text), E' \t\r\n'), '') as invoice_id,
    nullif(btrim(cast(source.zoho_customer_id as text), E' \t\r\n'), '') as customer_id,
    nullif(btrim(cast(source.customer_name as text), E' \t\r\n'), '') as customer_name,
    nullif(btrim(cast(source.customer_phone as text), E' \t\r\n'), '') as customer_phone,
    nullif(btrim(cast(source.customer_email as text), E' \t\r\n'), '') as customer_email,
    cast(source.updated_at as timestamptz) as updated_at,
    to_jsonb(source) as payload
from {source} as source;

alter table legacy_source_rows add column reject_reason text;

update legacy_source_rows
set reject_reason = case
    when user_id is null then 'missing_user_id'
    when invoice_id is null then 'missing_invoice_id'
    when customer_id is null then 'missing_customer_id'
end;

-- the row order every "latest wins" choice uses: newest updated_at first (a row without one loses),
-- then the highest invoice id, then the row's text (fully deterministic)
alter table legacy_source_rows add column recency bigint;

update legacy_source_rows as rows
set recency = ranked.recency
from (
    select
        row_number,
        row_number() over (
            order by updated_at desc nulls last, invoice_id desc nulls last, cast(payload as text) desc
        ) as recency
    from legacy_source_rows
) as ranked
where ranked.row_number = rows.row_number;

analyze legacy_source_rows;
