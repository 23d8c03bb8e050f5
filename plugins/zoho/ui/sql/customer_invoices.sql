-- A page of a customer's invoices (all, or the open ones only), by due date.
select i.id, i.user_id, i.zoho_invoice_id, i.invoice_number, i.status, i.invoice_date, i.due_date,
       i.currency_code, i.total, i.balance, i.is_deleted
from analytics.invoices_cache i
{where}
order by i.due_date, i.id limit %s offset %s
