-- Per tenant: payment reminders by status and reason (reason is null for pending and sent rows).
select user_id, status, reason, count(*) as reminders
from analytics.payment_reminders
group by user_id, status, reason
order by user_id, status, reason nulls first
