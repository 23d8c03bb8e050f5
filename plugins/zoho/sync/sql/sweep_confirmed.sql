-- After a chunk of by-id confirmations (committed with their effect on the raw rows).
update zoho_sync.sweeps set
    confirmed_live  = confirmed_live + %(live)s,
    flagged_deleted = flagged_deleted + %(deleted)s,
    calls_spent     = calls_spent + %(calls)s,
    updated_at      = now()
where user_id = %(user_id)s and entity = %(entity)s
