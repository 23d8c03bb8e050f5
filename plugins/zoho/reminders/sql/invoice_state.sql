-- Fragment (not run on its own): every invoice of the tenant and what the reminder policy says
-- about it on this run. The statements of this folder use it as `with invoice_state as (...)`.
--
-- cancel_reason: why the invoice needs no reminder at all; null means it is eligible. Precedence:
--     invoice_deleted > invoice_void > invoice_paid > invoice_not_eligible > below_minimum
--   (invoice_paid: status paid or balance <= 0; invoice_not_eligible: a status outside the policy's
--   eligible_statuses, e.g. draft again, or no due_date / balance)
-- hold_reason: why an eligible invoice's reminder is withheld; null means it can be sent. Precedence:
--     quality_gate_failed > no_customer > customer_deleted > phone_pending > no_phone
--   (the gate first: when the data failed validation no data-derived answer is trusted; then the
--   chain to a phone number: a customer, not deleted, whose phone is decided (phone_pending: the
--   phone rule needs contact persons the sync has not read yet, so primary_phone may be a guess
--   and is never used), with a primary phone)
-- phone: the customer's primary phone when nothing holds the reminder back, else null.
select
    invoices.id as invoice_id,
    customers.id as customer_id,
    invoices.due_date,
    reasons.cancel_reason,
    reasons.hold_reason,
    case when reasons.hold_reason is null then 'pending' else 'skipped' end as reminder_status,
    case when reasons.hold_reason is null then phones.primary_phone end as phone,
    coalesce(customers.is_deleted, false) as is_customer_deleted
from analytics.invoices_cache as invoices
left join analytics.customers_cache as customers
    on customers.id = invoices.customer_id
    and customers.user_id = %(user_id)s
cross join lateral (
    select nullif(btrim(customers.primary_phone), '') as primary_phone
) as phones
cross join lateral (
    select
        case
            when invoices.is_deleted then 'invoice_deleted'
            when invoices.status = 'void' then 'invoice_void'
            when invoices.status = 'paid' or invoices.balance <= 0 then 'invoice_paid'
            when invoices.due_date is null
                or invoices.balance is null
                or not coalesce(invoices.status = any(cast(%(eligible_statuses)s as text[])), false)
                then 'invoice_not_eligible'
            when invoices.balance < %(min_amount)s then 'below_minimum'
        end as cancel_reason,
        case
            when not %(gate_passed)s then 'quality_gate_failed'
            when customers.id is null then 'no_customer'
            when customers.is_deleted then 'customer_deleted'
            when customers.phone_pending then 'phone_pending'
            when phones.primary_phone is null then 'no_phone'
        end as hold_reason
) as reasons
where invoices.user_id = %(user_id)s
