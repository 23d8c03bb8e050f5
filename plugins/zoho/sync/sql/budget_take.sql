-- Admit one call: it counts in the rolling window and against the day; the window's old rows go.
with pruned as (
    delete from zoho_sync.api_calls
    where org_key = %(org_key)s and called_at < now() - make_interval(secs => %(window)s::float8)
),
taken as (
    insert into zoho_sync.api_calls (org_key, called_at, purpose)
    values (%(org_key)s, now(), %(purpose)s)
)
update zoho_sync.api_budget set
    spent_today    = spent_today + 1,
    zoho_remaining = zoho_remaining - 1,
    updated_at     = now()
where org_key = %(org_key)s
