-- A sweep of the entity completed (committed with the sweep row): deletions are detected up to now,
-- and the watermark moves to what the sweep guarantees (only forward).
update zoho_sync.sync_metadata set
    last_full_sync_at = now(),
    watermark         = greatest(watermark, %(watermark)s::timestamptz)
where user_id = %(user_id)s and entity = %(entity)s
