-- One row per invoice of a tenant (user_id, invoice_id): the latest landed version wins.

with

invoices as (

    select * from {{ ref('stg_zoho_books__invoices') }}
    where user_id is not null
      and invoice_id is not null

),

ranked as (

    select
        *,
        row_number() over (
            partition by user_id, invoice_id
            order by
                last_modified_time desc nulls last,
                _synced_at desc,
                is_deleted asc,
                invoice_number asc nulls last
        ) as version_rank
    from invoices

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
        _synced_at
    from ranked
    where version_rank = 1

)

select * from final
