-- Per tenant and reminder status, the reminders scheduled since a day ("since"), counted before,
-- on and after another day ("d", today). One index range scan per (tenant, status) on
-- analytics.payment_reminders (user_id, status, scheduled_for).
select t.user_id, s.status, x.before_today, x.on_today, x.after_today
from unnest(%(tenants)s::text[]) as t(user_id)
cross join unnest(%(statuses)s::text[]) as s(status)
cross join lateral (
    select count(*) filter (where r.scheduled_for < %(d)s) as before_today,
           count(*) filter (where r.scheduled_for = %(d)s) as on_today,
           count(*) filter (where r.scheduled_for > %(d)s) as after_today
    from analytics.payment_reminders r
    where r.user_id = t.user_id and r.status = s.status and r.scheduled_for >= %(since)s
) x
