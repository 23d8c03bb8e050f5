-- A run of the organisation stopped for the budget (kept until the next Zoho day).
update zoho_sync.api_budget set stop_reason = %(reason)s, stopped_at = now(), updated_at = now()
where org_key = %(org_key)s
