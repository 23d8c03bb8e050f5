-- The calls this nightly run spent on work it repeats every night (the open-invoice check).
update zoho_sync.sweeps set fixed_calls = %(calls)s, updated_at = now()
where user_id = %(user_id)s and entity = 'invoices'
