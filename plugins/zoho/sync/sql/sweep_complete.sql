-- The sweep saw (or confirmed by id) every record: it is complete, and its cost is the planner's
-- estimate of the next one.
update zoho_sync.sweeps set
    phase = 'complete', completed_at = now(),
    last_pages = pages_done, last_records = records_seen, last_calls = calls_spent, last_runs = runs,
    last_completed_at = now(), updated_at = now()
where user_id = %(user_id)s and entity = %(entity)s
returning max_modified, runs, zoho_started_at
