select *
from analytics.mark_reminder_failed(
    reminder_id => %(reminder_id)s, lease_id => %(lease_id)s, error => %(error)s,
    retryable => %(retryable)s, tenants => %(tenants)s)
