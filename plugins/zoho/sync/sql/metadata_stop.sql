-- The API budget stopped the entity's listing: not a failure. What landed stays; the watermark does
-- not move (the listing did not complete); the next run goes on.
update zoho_sync.sync_metadata set
    finished_at      = now(),
    status           = 'stopped',
    stop_reason      = %(reason)s,
    records_fetched  = %(fetched)s,
    records_upserted = %(upserted)s,
    records_rejected = %(rejected)s,
    api_calls        = %(api_calls)s,
    person_calls     = %(person_calls)s,
    last_error       = %(detail)s
where user_id = %(user_id)s and entity = %(entity)s
