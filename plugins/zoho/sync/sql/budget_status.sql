select zoho_day, plan_limit, zoho_remaining, resets_at, spent_today, stop_reason
from zoho_sync.api_budget
where org_key = %(org_key)s
