-- The known reset moment passed: a new Zoho day, whose remaining calls are unknown until Zoho says.
update zoho_sync.api_budget set
    zoho_day       = zoho_day + 1,
    zoho_remaining = null,
    resets_at      = null,
    spent_today    = 0,
    day_started_at = now(),
    stop_reason    = null,
    stopped_at     = null,
    updated_at     = now()
where org_key = %(org_key)s
returning org_key, zoho_day, plan_limit, zoho_remaining, resets_at, spent_today, now() as now
