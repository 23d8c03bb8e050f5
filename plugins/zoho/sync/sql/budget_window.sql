-- Calls of the organisation admitted in the rolling window (every run and worker counts).
select count(*) as calls, min(called_at) as oldest
from zoho_sync.api_calls
where org_key = %(org_key)s
  and called_at > now() - make_interval(secs => %(window)s::float8)
