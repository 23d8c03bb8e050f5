-- A customer's reminders, latest scheduled first, with their invoice and the customer's current phone
-- (the same columns as reminders.sql). %(limit)s: how many + 1.
select r.id, r.user_id as tenant, r.status, r.reason, r.scheduled_for, r.offset_days, r.phone,
       r.invoice_id, i.invoice_number, i.status as invoice_status, i.due_date,
       i.balance::text as amount_due, i.currency_code,
       c.id as c_id, c.customer_name as c_name, c.primary_phone as c_primary_phone,
       r.attempts, r.next_attempt_at, r.claimed_by, r.lease_until, r.sent_at, r.provider,
       r.provider_message_id, r.last_error, r.created_at, r.updated_at
from analytics.payment_reminders r
left join analytics.invoices_cache i on i.id = r.invoice_id
left join analytics.customers_cache c on c.id = r.customer_id
where r.customer_id = %(id)s
order by r.scheduled_for desc, r.id
limit %(limit)s
