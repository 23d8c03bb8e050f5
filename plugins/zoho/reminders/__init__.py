"""Payment reminders.

Owns: the reminder policy (``policy``: steps, window, eligible statuses, validation of the
``zoho_reminder_policy`` setting) and reminder generation (``generate`` with ``sql/``: create,
re-evaluate, reschedule and cancel rows of ``analytics.payment_reminders``, idempotently).
May import: ``zoho.rules``, ``zoho.warehouse``. Never Airflow.
"""
