-- The budget as this run applied it (for the planner): the daily budget and a sweep's share of it.
update zoho_sync.api_budget
set effective_budget = %(budget)s, sweep_share = %(sweep_share)s
where org_key = %(org_key)s
