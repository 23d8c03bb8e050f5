-- The organisation's ledger row, locked until the decision about one call is committed.
select org_key, zoho_day, plan_limit, zoho_remaining, resets_at, spent_today, now() as now
from zoho_sync.api_budget
where org_key = %(org_key)s
for update
