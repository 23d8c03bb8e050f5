-- A page of the reminder queue, chosen by the merged index scans of queries._merged_ids, joined to
-- its invoice and customer: the customer's current primary phone beside the phone the reminder was
-- made with.
select r.id, r.user_id, r.scheduled_for, r.offset_days, r.status, r.reason, r.phone, r.updated_at,
       r.invoice_id, i.invoice_number, i.zoho_invoice_id, i.status as invoice_status, i.due_date,
       i.balance, i.currency_code, r.customer_id, c.customer_name, c.primary_phone,
       c.primary_phone_source
from ({ids}) p
join analytics.payment_reminders r on r.id = p.id
left join analytics.invoices_cache i on i.id = r.invoice_id
left join analytics.customers_cache c on c.id = r.customer_id
order by p.scheduled_for {dir}, p.id {dir}
