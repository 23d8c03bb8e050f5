-- What Zoho's X-Rate-Limit-* headers said after a call. A new Zoho day when the reset moment moved
-- later (by more than the slack), when the known one has passed, or when the remaining calls rose
-- above what the ledger expects (calls admitted but not yet counted by Zoho explain up to 20).
-- On a new day, the product's spend of it is at most what Zoho counts as used (limit - remaining); within
-- a day it is the ledger's own count (answers of concurrent calls arrive out of order).
with known as (
    select *,
           now() + make_interval(secs => %(reset_seconds)s::float8) as new_reset
    from zoho_sync.api_budget
    where org_key = %(org_key)s
    for update
),
judged as (
    select known.*,
           coalesce(
               (known.resets_at is not null and known.new_reset > known.resets_at + %(slack)s::interval)
               or (known.resets_at is not null and now() >= known.resets_at)
               or (known.zoho_remaining is not null and %(remaining)s::int > known.zoho_remaining + 20),
               false) as new_day
    from known
)
update zoho_sync.api_budget as b set
    zoho_day       = b.zoho_day + case when judged.new_day then 1 else 0 end,
    plan_limit     = coalesce(%(limit)s::int, b.plan_limit),
    zoho_remaining = case when judged.new_day or b.zoho_remaining is null then %(remaining)s::int
                          else least(b.zoho_remaining, %(remaining)s::int) end,
    resets_at      = coalesce(judged.new_reset, b.resets_at),
    spent_today    = case when judged.new_day
                          then greatest(0, least(b.spent_today, coalesce(%(limit)s::int, b.plan_limit) - %(remaining)s::int))
                          else b.spent_today end,
    day_started_at = case when judged.new_day then now() else b.day_started_at end,
    stop_reason    = case when judged.new_day then null else b.stop_reason end,
    stopped_at     = case when judged.new_day then null else b.stopped_at end,
    updated_at     = now()
from judged
where b.org_key = judged.org_key
returning judged.new_day
