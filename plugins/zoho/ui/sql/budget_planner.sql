-- Per tenant: the budget planner (zoho_sync.budget_planner): the budget the last run applied, the
-- calls spent and left today, the nightly sweep's phase and progress, and its forecast.
select user_id, org_key, plan_limit, effective_budget, budget_reserve, sweep_share, spent_today,
       left_today, resets_at, sweep_generation, sweep_phase, pages_done, pages_expected, progress_pct,
       persons_pending, fixed_calls, daily_sweep_calls, calls_spent, calls_needed_for_sweep, calls_left,
       days_to_complete, verdict, advice, last_completed_at
from zoho_sync.budget_planner
order by user_id
