-- The sender's claim (analytics.claim_reminders; today = the warehouse's current_date).
select *
from analytics.claim_reminders(
    sender => %(sender)s, batch_size => %(batch_size)s, lease_seconds => %(lease_seconds)s,
    tenants => %(tenants)s)
