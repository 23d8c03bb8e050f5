select username, user_id, access, granted_at, granted_by
from zoho_sync.api_grants
where cast(%(username)s as text) is null or username = %(username)s
order by username, user_id
