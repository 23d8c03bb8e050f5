-- Customers referenced by the tenant's live invoices that are not landed and not known to be missing.
select distinct i.customer_id
from zoho_raw.invoices i
where i.user_id = %(user_id)s
  and i.customer_id is not null
  and not i.is_deleted
  and not exists (select 1 from zoho_raw.contacts c
                  where c.user_id = i.user_id and c.contact_id = i.customer_id)
  and not exists (select 1 from zoho_raw.missing_contacts m
                  where m.user_id = i.user_id and m.contact_id = i.customer_id)
order by 1
