-- The tenant's reminders by status and reason (the per-tenant table the task logs).
select status, coalesce(reason, '') as reason, count(*) as reminders
from analytics.payment_reminders
where user_id = %(user_id)s
group by status, coalesce(reason, '')
order by status, coalesce(reason, '')
