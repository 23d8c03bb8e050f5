-- Step 2: follow a changed due_date. A pending/skipped row of an eligible invoice whose step now
-- falls on another date moves to that date, when that date is not before the run's window (a step
-- moved before the window is cancelled by step 4 as due_date_changed, as it would never have been
-- created). sent, failed and cancelled rows are never touched.
with invoice_state as (
{invoice_state}
)

update analytics.payment_reminders as reminders
set
    scheduled_for = state.due_date + reminders.offset_days,
    updated_at = now()
from invoice_state as state
where reminders.user_id = %(user_id)s
    and reminders.invoice_id = state.invoice_id
    and reminders.status in ('pending', 'skipped')
    and state.cancel_reason is null
    -- a row a sender holds (live lease) is left as it was claimed; a cancellation (step 4) still applies
    and not coalesce(reminders.lease_until > now(), false)
    and reminders.scheduled_for <> state.due_date + reminders.offset_days
    and state.due_date + reminders.offset_days >= %(window_start)s
