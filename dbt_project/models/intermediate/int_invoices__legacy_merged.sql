-- One row per invoice of a tenant (user_id, invoice_id): Zoho's invoices (the latest landed
-- version), and the invoices only the legacy invoice table knows (landed by zoho_legacy_backfill),
-- which carry nothing but their customer: the old table held no amounts, dates or status. Zoho
-- wins: a legacy invoice Zoho has synced (deleted or not) is Zoho's, customer included.

with

zoho_invoices as (

    select * from {{ ref('int_invoices__deduplicated') }}

),

legacy_invoices as (

    select * from {{ ref('stg_legacy__invoices') }}
    where user_id is not null
      and invoice_id is not null

),

legacy_only as (

    select
        legacy_invoices.user_id,
        legacy_invoices.invoice_id,
        legacy_invoices.customer_id,
        cast(null as text) as invoice_number,
        cast(null as text) as invoice_status,
        cast(null as text) as currency_code,
        cast(null as numeric) as total,
        cast(null as numeric) as balance,
        false as is_deleted,
        cast(null as date) as invoice_date,
        cast(null as date) as due_date,
        cast(null as timestamptz) as last_modified_time,
        legacy_invoices._synced_at,
        'legacy' as record_source
    from legacy_invoices
    -- Zoho has no version of it. Asked of the raw table's keys (cleaned as staging cleans them)
    -- rather than of zoho_invoices: a second reference would make Postgres materialise the whole
    -- dedupe, and the marts' filter on changed keys could no longer reach the raw table scan
    -- (invoices_cache, incremental runs).
    where not exists (
        select 1
        from {{ source('zoho_books', 'invoices') }} as raw_invoices
        where {{ blank_to_null('raw_invoices.user_id') }} = legacy_invoices.user_id
          and {{ blank_to_null('raw_invoices.invoice_id') }} = legacy_invoices.invoice_id
    )

),

final as (

    select
        user_id,
        invoice_id,
        customer_id,
        invoice_number,
        invoice_status,
        currency_code,
        total,
        balance,
        is_deleted,
        invoice_date,
        due_date,
        last_modified_time,
        _synced_at,
        'zoho' as record_source
    from zoho_invoices

    union all

    select * from legacy_only

)

select * from final
