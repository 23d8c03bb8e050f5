-- Step 1: create the missing (invoice, step) rows whose scheduled_for = due_date + offset_days
-- falls in the run's window [window_start, window_end], for eligible invoices only. Steps before
-- the window are never created (no flood of stale reminders on a first sync; a backfill for an
-- earlier date creates that date's window only). Rows that exist, whatever their status, are left
-- alone (on conflict: the deterministic id, or unique (invoice_id, offset_days)).
with invoice_state as (
{invoice_state}
)

insert into analytics.payment_reminders
    (id, user_id, invoice_id, customer_id, phone, offset_days, scheduled_for, status, reason)
select
    cast(md5(cast(state.invoice_id as text) || '|' || cast(steps.offset_days as text)) as uuid) as id,
    %(user_id)s as user_id,
    state.invoice_id,
    state.customer_id,
    state.phone,
    steps.offset_days,
    state.due_date + steps.offset_days as scheduled_for,
    state.reminder_status as status,
    state.hold_reason as reason
from invoice_state as state
cross join unnest(cast(%(steps)s as integer[])) as steps (offset_days)
where state.cancel_reason is null
    and state.due_date + steps.offset_days between %(window_start)s and %(window_end)s
    -- the same condition on due_date alone, so that an index on (user_id, status, due_date) serves it
    and state.due_date between %(due_from)s and %(due_to)s
on conflict do nothing
