-- One reminder with its invoice, its customer's current data and its send record (the page's
-- reminder view).
select r.id, r.user_id, r.scheduled_for, r.offset_days, r.status, r.reason, r.phone, r.created_at, r.updated_at,
       r.lease_id, r.claimed_by, r.claimed_at, r.lease_until, r.attempts, r.next_attempt_at, r.sent_at,
       r.provider, r.provider_message_id, r.last_error,
       r.invoice_id, i.invoice_number, i.zoho_invoice_id, i.status as invoice_status, i.due_date,
       i.balance, i.currency_code, r.customer_id, c.customer_name, c.primary_phone, c.primary_phone_source
from analytics.payment_reminders r
left join analytics.invoices_cache i on i.id = r.invoice_id
left join analytics.customers_cache c on c.id = r.customer_id
where r.id = %s
