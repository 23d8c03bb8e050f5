with

invoices as (
    select * from {{ ref('invoices_cache') }}
),

customers as (
    select * from {{ ref('customers_cache') }}
),

final as (
    select
        invoices.id,
        invoices.user_id,
        invoices.zoho_invoice_id,
        invoices.customer_id,
        invoices.zoho_customer_id,
        invoices.invoice_number,
        invoices.status,
        invoices.invoice_date,
        invoices.due_date,
        invoices.currency_code,
        invoices.total,
        invoices.balance,
        invoices.is_deleted,
        invoices.zoho_last_modified_time,
        invoices.updated_at,
        -- joined at query time, never copied into invoices_cache
        customers.customer_name,
        customers.company_name,
        customers.email as customer_email,
        customers.primary_phone as customer_primary_phone,
        customers.is_deleted as customer_is_deleted
    from invoices
    left join customers on customers.id = invoices.customer_id
)

select * from final
