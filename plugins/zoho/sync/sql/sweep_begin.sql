-- A new sweep generation for every entity of the tenant (called when none is in progress): the
-- listing starts at page 1; the last complete sweep's figures stay for the planner.
insert into zoho_sync.sweeps as s (user_id, entity, generation, phase, started_at, updated_at)
select %(user_id)s, e.entity, 1, 'listing', now(), now()
from unnest(%(entities)s::text[]) as e(entity)
on conflict (user_id, entity) do update set
    generation = s.generation + 1, phase = 'listing', next_page = 1, pages_done = 0, pages_total = null,
    records_seen = 0, confirmed_live = 0, flagged_deleted = 0, calls_spent = 0, runs = 0,
    max_modified = null, started_at = now(), zoho_started_at = null, completed_at = null, updated_at = now()
