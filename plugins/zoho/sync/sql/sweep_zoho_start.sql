-- Zoho's clock when the tenant's sweep read its first page (from the answer's Date header), for every
-- entity of the sweep: incremental runs start there while the tenant has no watermark yet.
update zoho_sync.sweeps
set zoho_started_at = %(zoho_now)s
where user_id = %(user_id)s and phase <> 'complete' and zoho_started_at is null
