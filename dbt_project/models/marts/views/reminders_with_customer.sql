with

reminders as (
    select * from {{ source('reminders', 'payment_reminders') }}
),

invoices as (
    select * from {{ ref('invoices_cache') }}
),

customers as (
    select * from {{ ref('customers_cache') }}
),

final as (
    select
        reminders.id,
        reminders.user_id,
        reminders.invoice_id,
        reminders.customer_id,
        reminders.phone,
        reminders.offset_days,
        reminders.scheduled_for,
        reminders.status,
        reminders.reason,
        reminders.created_at,
        reminders.updated_at,
        reminders.lease_id,
        reminders.claimed_by,
        reminders.claimed_at,
        reminders.lease_until,
        reminders.attempts,
        reminders.next_attempt_at,
        reminders.sent_at,
        reminders.provider,
        reminders.provider_message_id,
        reminders.last_error,
        invoices.invoice_number,
        invoices.zoho_invoice_id,
        invoices.due_date,
        invoices.currency_code,
        invoices.balance as amount_due,
        invoices.status as invoice_status,
        customers.customer_name,
        customers.primary_phone as customer_primary_phone
    from reminders
    left join invoices on invoices.id = reminders.invoice_id
    left join customers on customers.id = reminders.customer_id
)

select * from final
