-- A page of the customers that match the filters given, with their open invoices (open_invoices.sql),
-- computed for the customers of the page only.
select c.id, c.user_id, c.zoho_customer_id, c.customer_name, c.company_name, c.email,
       c.primary_phone, c.primary_phone_source, c.status, o.open_invoices, o.open_balance, o.currency_code
from (select c.* from analytics.customers_cache c {where}
      order by c.customer_name, c.id limit %s offset %s) c
left join lateral ({open}) o on true
order by c.customer_name, c.id
