-- One reminder run per tenant at a time (nightly and incremental runs may overlap); released at
-- the end of the transaction.
select pg_advisory_xact_lock(hashtextextended('zoho_reminders:' || %(user_id)s, 0))
