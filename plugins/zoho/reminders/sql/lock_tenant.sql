-- One reminder run per tenant at a time (nightly and incremental runs may overlap); released at
-- the end of the transaction.
-- The events this transaction writes (analytics.payment_reminder_events.actor) name the run.
select pg_advisory_xact_lock(hashtextextended('zoho_reminders:' || %(user_id)s, 0)),
       set_config('zoho.actor', 'reminder run ' || %(user_id)s, true)
