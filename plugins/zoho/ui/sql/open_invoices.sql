-- A customer's open invoices (c is the customer, the parameter the open statuses): how many, how
-- much, and the currency when they share one. Used in a lateral join; index on customer_id.
select count(*) as open_invoices, sum(i.balance) as open_balance,
       case when count(distinct i.currency_code) = 1 then min(i.currency_code) end as currency_code
from analytics.invoices_cache i
where i.customer_id = c.id and not i.is_deleted and i.balance > 0 and i.status = any(%s)
