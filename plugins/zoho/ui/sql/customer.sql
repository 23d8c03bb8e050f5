-- One customer with its open invoices (open_invoices.sql).
select c.*, o.open_invoices, o.open_balance, o.currency_code as open_currency_code
from analytics.customers_cache c
left join lateral ({open}) o on true
where c.id = %s
