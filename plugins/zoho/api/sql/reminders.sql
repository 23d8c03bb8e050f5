-- GET /reminders and GET /reminders/{id}: reminders the caller may read with their invoice
-- (number, balance as the amount due, currency) and their customer's current name and phone.
-- Keyset on id (id > cursor); %(id)s: one reminder (GET /reminders/{id}). %(limit)s: page size + 1.
select r.id, r.user_id as tenant, r.status, r.reason, r.scheduled_for, r.offset_days, r.phone,
       r.invoice_id, i.invoice_number, i.status as invoice_status, i.due_date,
       i.balance::text as amount_due, i.currency_code,
       c.id as c_id, c.customer_name as c_name, c.primary_phone as c_primary_phone,
       r.attempts, r.next_attempt_at, r.claimed_by, r.lease_until, r.sent_at, r.provider,
       r.provider_message_id, r.last_error, r.created_at, r.updated_at
from analytics.payment_reminders r
left join analytics.invoices_cache i on i.id = r.invoice_id
left join analytics.customers_cache c on c.id = r.customer_id
where (cast(%(tenants)s as text[]) is null or r.user_id = any(%(tenants)s))
    and (cast(%(tenant)s as text) is null or r.user_id = %(tenant)s)
    and (cast(%(cursor)s as uuid) is null or r.id > %(cursor)s)
    and (cast(%(id)s as uuid) is null or r.id = %(id)s)
    and (cast(%(status)s as text) is null or r.status = %(status)s)
    and (cast(%(scheduled_from)s as date) is null or r.scheduled_for >= %(scheduled_from)s)
    and (cast(%(scheduled_to)s as date) is null or r.scheduled_for <= %(scheduled_to)s)
    and (cast(%(customer_id)s as uuid) is null or r.customer_id = %(customer_id)s)
    and (cast(%(invoice_id)s as uuid) is null or r.invoice_id = %(invoice_id)s)
order by r.id
limit %(limit)s
