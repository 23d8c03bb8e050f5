-- Invoices the warehouse holds as open (a status that can carry a reminder) and due in the reminder
-- window that tonight's listing of those invoices did not return: confirmed by id (a deleted one is flagged at once).
select i.invoice_id
from zoho_raw.invoices i
where i.user_id = %(user_id)s
  and not i.is_deleted
  and i.payload->>'status' = any(%(open_statuses)s::text[])
  and (i.payload->>'due_date') ~ '^\d{4}-\d{2}-\d{2}$'
  and (i.payload->>'due_date')::date between %(today)s::date + %(due_from)s and %(today)s::date + %(due_to)s
  and not (i.invoice_id = any(%(seen)s::text[]))
order by i.invoice_id
