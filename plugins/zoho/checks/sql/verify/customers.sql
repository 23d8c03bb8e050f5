-- Per tenant: live customers (not flagged deleted) and how many of them have a primary phone
-- (the E.164 number reminders go to; null when no candidate of the phone rule was valid).
select
    user_id,
    count(*) filter (where not is_deleted) as customers,
    count(*) filter (where not is_deleted and primary_phone is not null) as customers_with_phone
from analytics.customers_cache
group by user_id
