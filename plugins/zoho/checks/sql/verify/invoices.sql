-- Per tenant: live invoices (not flagged deleted) and how many have no customer (customer_id null:
-- the customer is not in customers_cache, e.g. Zoho says it does not exist).
select
    user_id,
    count(*) filter (where not is_deleted) as invoices,
    count(*) filter (where not is_deleted and customer_id is null) as invoices_without_customer
from analytics.invoices_cache
group by user_id
