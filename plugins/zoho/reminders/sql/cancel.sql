-- Step 4: cancel pending/skipped rows, whatever their scheduled date, that must never be sent:
-- the invoice is deleted, void, paid, no longer eligible or below the minimum (invoice_state's
-- cancel_reason, in its precedence), else the customer is deleted (customer_deleted), else the
-- step was moved before the run's window by a changed due_date (due_date_changed).
-- Cancelled is final. Runs also when the quality gate failed: cancelling only ever stops messages.
-- Rows whose invoice is not in invoices_cache at all are left alone (the mart keeps deleted
-- invoices flagged, so a missing row means an incomplete mart, not a deleted invoice).
with invoice_state as (
{invoice_state}
)

update analytics.payment_reminders as reminders
set
    status = 'cancelled',
    reason = case
        when state.cancel_reason is not null then state.cancel_reason
        when state.is_customer_deleted then 'customer_deleted'
        else 'due_date_changed'
    end,
    updated_at = now()
from invoice_state as state
where reminders.user_id = %(user_id)s
    and reminders.invoice_id = state.invoice_id
    and reminders.status in ('pending', 'skipped')
    and (
        state.cancel_reason is not null
        or state.is_customer_deleted
        or (reminders.scheduled_for <> state.due_date + reminders.offset_days
            and state.due_date + reminders.offset_days < %(window_start)s)
    )
