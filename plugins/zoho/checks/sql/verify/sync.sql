-- Per tenant and entity (contacts, invoices): the last sync as zoho_sync.sync_metadata records it,
-- with ages in hours measured by the warehouse's clock (now()), so the report does not depend on
-- the clock of the machine that runs it.
select
    user_id,
    entity,
    last_mode,
    status,
    started_at,
    finished_at,
    last_full_sync_at,
    watermark,
    api_calls,
    person_calls,
    missing_customers,
    records_fetched,
    last_error,
    extract(epoch from now() - finished_at) / 3600.0 as hours_since_finished,
    extract(epoch from now() - started_at) / 3600.0 as hours_since_started,
    extract(epoch from now() - last_full_sync_at) / 3600.0 as hours_since_full_sync
from zoho_sync.sync_metadata
order by user_id, entity
