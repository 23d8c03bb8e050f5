-- A reminder's history (the trigger-written analytics.payment_reminder_events), oldest first.
select e.id, e.event, e.status, e.reason, e.actor, e.detail, e.occurred_at
from analytics.payment_reminder_events e
where e.reminder_id = %(id)s
order by e.id
