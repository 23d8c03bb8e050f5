-- The tenant's sweeps as a run reads them without deciding anything (no lock).
select entity, generation, phase, zoho_started_at, last_completed_at
from zoho_sync.sweeps
where user_id = %(user_id)s
