-- The watermark only moves forward, and only here: after the entity's rows were committed.
update zoho_sync.sync_metadata set
    watermark         = greatest(watermark, %(watermark)s::timestamptz),
    finished_at       = now(),
    status            = 'success',
    records_fetched   = %(fetched)s,
    records_upserted  = %(upserted)s,
    records_deleted   = %(deleted)s,
    records_rejected  = %(rejected)s,
    api_calls         = %(api_calls)s,
    person_calls      = %(person_calls)s,
    missing_customers = %(missing_customers)s,
    last_error        = null,
    stop_reason       = null
where user_id = %(user_id)s and entity = %(entity)s
