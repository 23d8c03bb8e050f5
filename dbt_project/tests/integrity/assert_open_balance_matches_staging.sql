-- Integrity (Fivetran style): per tenant, the open balance of invoices_cache equals the open
-- balance rebuilt from staging (latest landed version of each invoice). Fails on any difference
-- above 0.01, and on a tenant present on one side only.
-- Open = not deleted, an unpaid status (var unpaid_invoice_statuses), balance > 0.
-- Invoices landed after this dbt invocation started are left out of both sides: they may not be
-- in the mart yet.

{%- set unpaid_statuses = "('" ~ var('unpaid_invoice_statuses') | join("', '") ~ "')" %}

with

latest_staged as (

    select distinct on (user_id, invoice_id)
        user_id,
        invoice_id,
        invoice_status,
        balance,
        is_deleted,
        _synced_at
    from {{ ref('stg_zoho_books__invoices') }}
    where user_id is not null
      and invoice_id is not null
    order by user_id, invoice_id, last_modified_time desc nulls last, _synced_at desc, is_deleted

),

late_invoices as (

    select user_id, invoice_id
    from {{ ref('stg_zoho_books__invoices') }}
    where _synced_at > '{{ run_started_at }}'::timestamptz

),

staging_open as (

    select user_id, sum(balance) as open_balance, count(*) as open_invoices
    from latest_staged
    where not is_deleted
      and invoice_status in {{ unpaid_statuses }}
      and balance > 0
      and not exists (
            select 1 from late_invoices
            where late_invoices.user_id = latest_staged.user_id
              and late_invoices.invoice_id = latest_staged.invoice_id)
    group by user_id

),

mart_open as (

    select user_id, sum(balance) as open_balance, count(*) as open_invoices
    from {{ ref('invoices_cache') }} as invoices
    where not is_deleted
      and status in {{ unpaid_statuses }}
      and balance > 0
      and not exists (
            select 1 from late_invoices
            where late_invoices.user_id = invoices.user_id
              and late_invoices.invoice_id = invoices.zoho_invoice_id)
    group by user_id

),

compared as (

    select
        coalesce(staging_open.user_id, mart_open.user_id) as user_id,
        staging_open.open_balance as staging_open_balance,
        mart_open.open_balance as mart_open_balance,
        staging_open.open_invoices as staging_open_invoices,
        mart_open.open_invoices as mart_open_invoices
    from staging_open
    full outer join mart_open
        on staging_open.user_id = mart_open.user_id

)

select *
from compared
where abs(coalesce(staging_open_balance, 0) - coalesce(mart_open_balance, 0)) > 0.01
