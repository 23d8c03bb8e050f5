-- This run works on the tenant's unfinished sweeps.
update zoho_sync.sweeps
set runs = runs + 1, last_run_id = %(run_id)s, updated_at = now()
where user_id = %(user_id)s and phase <> 'complete'
