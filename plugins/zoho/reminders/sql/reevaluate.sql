-- Step 3: re-evaluate the pending/skipped rows of the run's window against today's data: a phone
-- that appeared or was decided (contact persons read) turns skipped into pending (with the phone),
-- a cause that appeared turns pending into skipped (with its reason), a changed primary phone or
-- customer is followed. Rows that would not change are not written (updated_at moves only on a
-- change). Rows of invoices that are no longer eligible are step 4's.
with invoice_state as (
{invoice_state}
)

update analytics.payment_reminders as reminders
set
    status = state.reminder_status,
    reason = state.hold_reason,
    phone = state.phone,
    customer_id = state.customer_id,
    updated_at = now()
from invoice_state as state
where reminders.user_id = %(user_id)s
    and reminders.invoice_id = state.invoice_id
    and reminders.status in ('pending', 'skipped')
    and reminders.scheduled_for between %(window_start)s and %(window_end)s
    -- a row a sender holds (live lease) is left as it was claimed; a cancellation (step 4) still applies
    and not coalesce(reminders.lease_until > now(), false)
    and state.cancel_reason is null
    and (reminders.status, reminders.reason, reminders.phone, reminders.customer_id)
        is distinct from (state.reminder_status, state.hold_reason, state.phone, state.customer_id)
