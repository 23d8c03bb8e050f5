-- The last run of each (tenant, entity): mode, status, times, counts, API calls, error.
select user_id, entity, last_mode, last_run_id, status, started_at, finished_at, watermark,
       records_fetched, records_upserted, records_deleted, records_rejected, api_calls,
       person_calls, missing_customers, last_error, last_full_sync_at
from zoho_sync.sync_metadata
order by user_id, entity
