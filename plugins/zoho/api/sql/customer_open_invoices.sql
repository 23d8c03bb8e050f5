-- A customer's open invoices (an open status, balance > 0, not deleted), oldest due first.
select i.id, i.zoho_invoice_id, i.invoice_number, i.status, i.invoice_date, i.due_date,
       coalesce(i.due_date < %(today)s, false) as overdue,
       i.currency_code, i.total::text as total, i.balance::text as balance, i.updated_at
from analytics.invoices_cache i
where i.customer_id = %(id)s
    and not i.is_deleted and i.balance > 0 and i.status = any(%(open_statuses)s)
order by i.due_date nulls last, i.id
