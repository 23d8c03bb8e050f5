-- Contacts whose persons are still to be read, the most valuable first: customers with an open
-- invoice due in the reminder window, then other customers with an open balance, then the rest.
select c.contact_id
from zoho_raw.contacts c
where c.user_id = %(user_id)s
  and c.persons_pending
  and not c.is_deleted
order by
    exists (select 1 from zoho_raw.invoices i
            where i.user_id = c.user_id and i.customer_id = c.contact_id and not i.is_deleted
              and i.payload->>'status' = any(%(open_statuses)s::text[])
              and (i.payload->>'due_date') ~ '^\d{4}-\d{2}-\d{2}$'
              and (i.payload->>'due_date')::date between %(today)s::date + %(due_from)s and %(today)s::date + %(due_to)s) desc,
    exists (select 1 from zoho_raw.invoices i
            where i.user_id = c.user_id and i.customer_id = c.contact_id and not i.is_deleted
              and i.payload->>'status' = any(%(open_statuses)s::text[])) desc,
    coalesce(case when (c.payload->>'outstanding_receivable_amount') ~ '^-?[0-9.]+$'
                  then (c.payload->>'outstanding_receivable_amount')::numeric end, 0) > 0 desc,
    c.contact_id
limit %(limit)s
