-- The organisation's ledger row, locked until the decision about one call is committed, with the
-- calls of the organisation admitted in the rolling window (every run and worker counts).
select b.org_key, b.zoho_day, b.plan_limit, b.zoho_remaining, b.resets_at, b.spent_today, now() as now,
       w.calls as window_calls, w.oldest as window_oldest
from zoho_sync.api_budget as b
cross join lateral (
    select count(*) as calls, min(called_at) as oldest
    from zoho_sync.api_calls
    where org_key = b.org_key
      and called_at > now() - make_interval(secs => %(window)s::float8)
) as w
where b.org_key = %(org_key)s
for update of b
