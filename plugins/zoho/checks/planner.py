"""The budget planner in the verification report: one tenant's row of ``zoho_sync.budget_planner``.

The view (migration 0006) does the arithmetic: the daily budget as the last run applied it, the calls
spent and left today, the nightly sweep's phase and progress, the calls and nights it still needs, a
``verdict`` and, for ``slow`` and ``never``, an ``advice`` naming the numbers to change. Here the row
becomes a line of the report and, for those two verdicts, a warning (not a failure: a slow sweep
still lands what it reads, and the freshness checks fail on their own when the data gets old).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import datetime
from decimal import Decimal

import psycopg

from zoho.warehouse.sqlfiles import sql_files

load_sql = sql_files(__file__)

VIEW = "zoho_sync.budget_planner"
WARN_VERDICTS = ("slow", "never")


@dataclass(frozen=True)
class SweepPlan:
    user_id: str
    org_key: str | None
    plan_limit: int | None
    effective_budget: int | None
    budget_reserve: int | None
    sweep_share: int | None
    spent_today: int | None
    left_today: int | None
    resets_at: datetime | None
    sweep_generation: int
    sweep_phase: str
    pages_done: int
    pages_expected: int | None
    progress_pct: float | None
    persons_pending: int
    fixed_calls: int | None
    daily_sweep_calls: int | None
    calls_spent: int
    calls_needed_for_sweep: int | None
    calls_left: int | None
    days_to_complete: int | None
    verdict: str
    advice: str | None
    last_completed_at: datetime | None

    @property
    def warns(self) -> bool:
        return self.verdict in WARN_VERDICTS

    def warning(self) -> str:
        """The warning's text for ``slow`` and ``never``: the verdict, then the view's advice."""
        head = ("the nightly sweep will not complete at this budget (verdict never)" if self.verdict == "never"
                else f"the nightly sweep needs {self.days_to_complete} more nights (verdict slow)")
        return f"{head}: {self.advice or 'no advice recorded'}"

    def line(self) -> str:
        """One line of the text report: budget today, phase and progress, calls left, nights."""
        if self.sweep_share is None:
            budget = "budget not recorded yet (no run has applied it)"
        else:
            budget = (f"sweep share {self.sweep_share} a day of a budget of {self.effective_budget} "
                      f"(plan {_n(self.plan_limit)}), spent today {self.spent_today}, "
                      f"left of the share today {self.left_today}")
        progress = (f"{self.progress_pct:.1f} % ({self.pages_done} of {self.pages_expected} pages)"
                    if self.progress_pct is not None else f"{self.pages_done} pages, total not known yet")
        sweep = [f"sweep {self.sweep_generation} {self.sweep_phase}", progress,
                 f"persons pending {self.persons_pending}", f"calls left {_n(self.calls_left)}"]
        if self.sweep_phase != "complete":
            sweep.append("nights to complete unknown" if self.days_to_complete is None else
                         f"~{self.days_to_complete} night(s) to complete at {self.daily_sweep_calls} calls a night")
        return f"  API budget and sweep: {budget}; {', '.join(sweep)}: verdict {self.verdict}"

    def as_dict(self) -> dict:
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(self).items()}


def load(conn: psycopg.Connection) -> dict[str, SweepPlan]:
    """Every tenant's planner row; none when the warehouse predates the view (not migrated yet)."""
    if conn.execute("select to_regclass(%s)", (VIEW,)).fetchone()[0] is None:
        return {}
    names = [f.name for f in fields(SweepPlan)]
    out: dict[str, SweepPlan] = {}
    with conn.cursor() as cur:
        cur.execute(load_sql("verify/planner"))
        columns = [d.name for d in cur.description]
        for row in cur.fetchall():
            values = {k: (float(v) if isinstance(v, Decimal) else v) for k, v in zip(columns, row) if k in names}
            out[values["user_id"]] = SweepPlan(**values)
    return out


def _n(value: int | None) -> str:
    return "unknown" if value is None else str(value)
