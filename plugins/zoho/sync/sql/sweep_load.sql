-- The tenant's sweep rows (one per entity), locked for this run's decisions.
select entity, generation, phase, next_page, pages_done, pages_total, records_seen, confirmed_live,
       flagged_deleted, calls_spent, runs, max_modified, started_at, zoho_started_at, last_completed_at
from zoho_sync.sweeps
where user_id = %(user_id)s
for update
