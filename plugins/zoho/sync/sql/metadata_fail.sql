update zoho_sync.sync_metadata set
    finished_at      = now(),
    status           = 'failed',
    records_fetched  = %(fetched)s,
    records_upserted = %(upserted)s,
    records_rejected = %(rejected)s,
    api_calls        = %(api_calls)s,
    person_calls     = %(person_calls)s,
    last_error       = %(error)s
where user_id = %(user_id)s and entity = %(entity)s
