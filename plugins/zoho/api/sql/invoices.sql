-- GET /invoices (and GET /invoices/{id}: %(id)s): one keyset page (order by id, id > cursor) of the invoices the caller may read,
-- each with its customer's current fields joined from customers_cache (nothing copied).
-- Every filter is optional (null: not applied). %(limit)s is the page size + 1 (is there a next page).
select i.id, i.user_id as tenant, i.zoho_invoice_id, i.invoice_number, i.status,
       state.open, state.overdue,
       i.invoice_date, i.due_date, i.currency_code, i.total::text as total, i.balance::text as balance,
       i.is_deleted, i.updated_at, i.customer_id,
       c.id as c_id, c.zoho_customer_id as c_zoho_customer_id, c.customer_name as c_name,
       c.company_name as c_company, c.email as c_email, c.primary_phone as c_primary_phone
from analytics.invoices_cache i
left join analytics.customers_cache c on c.id = i.customer_id
cross join lateral (
    select not i.is_deleted and i.balance > 0 and i.status = any(%(open_statuses)s) as open
) as o
cross join lateral (select o.open, coalesce(o.open and i.due_date < %(today)s, false) as overdue) as state
where (cast(%(tenants)s as text[]) is null or i.user_id = any(%(tenants)s))
    and (cast(%(tenant)s as text) is null or i.user_id = %(tenant)s)
    and (cast(%(cursor)s as uuid) is null or i.id > %(cursor)s)
    and (cast(%(id)s as uuid) is null or i.id = %(id)s)
    and (cast(%(include_deleted)s as boolean) or not i.is_deleted)
    and (cast(%(status)s as text) is null or i.status = %(status)s)
    and (not cast(%(open)s as boolean) or state.open)
    and (cast(%(due_from)s as date) is null or i.due_date >= %(due_from)s)
    and (cast(%(due_to)s as date) is null or i.due_date <= %(due_to)s)
    and (cast(%(customer_id)s as uuid) is null or i.customer_id = %(customer_id)s)
    and (cast(%(overdue)s as boolean) is null or state.overdue = %(overdue)s)
    and (cast(%(changed_since)s as timestamptz) is null or i.updated_at >= %(changed_since)s)
order by i.id
limit %(limit)s
