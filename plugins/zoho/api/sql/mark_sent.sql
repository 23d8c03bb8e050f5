select *
from analytics.mark_reminder_sent(
    reminder_id => %(reminder_id)s, lease_id => %(lease_id)s, provider => %(provider)s,
    provider_message_id => %(provider_message_id)s, tenants => %(tenants)s)
