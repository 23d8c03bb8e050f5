-- Committed in the same transaction as the pages it follows: where the listing resumes, how far
-- it got, what it cost. The listing ends with ``phase = 'confirming'``.
update zoho_sync.sweeps set
    next_page       = %(next_page)s,
    pages_done      = greatest(pages_done, %(next_page)s - 1),
    pages_total     = coalesce(%(pages_total)s, pages_total),
    records_seen    = records_seen + %(records)s,
    calls_spent     = calls_spent + %(calls)s,
    max_modified    = greatest(max_modified, %(max_modified)s::timestamptz),
    phase           = case when %(listing_done)s then 'confirming' else phase end,
    updated_at      = now()
where user_id = %(user_id)s and entity = %(entity)s
