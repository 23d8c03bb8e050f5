"""Payment reminders (docs/CONTRACT.md "Reminder policy"): one tenant, one run date, set-based SQL.

``generate_reminders(conn, user_id, run_date, policy, gate_passed)`` runs, in one transaction under
a per-tenant lock, one statement per step (``sql/reminders/``), each over all of the tenant's
invoices at once (never a loop over invoices):

1. ``create``: the missing (invoice, step) rows whose ``scheduled_for`` falls in the run's window
   (``policy.window(run_date)``), for eligible invoices: ``pending`` with the customer's primary
   phone, or ``skipped`` with the reason that holds it back.
2. ``reschedule``: pending/skipped rows follow a changed ``due_date``.
3. ``reevaluate``: the window's pending/skipped rows follow today's data (phone appeared or
   decided, cause appeared, phone changed).
4. ``cancel``: pending/skipped rows (any date) of invoices paid, void, deleted, no longer eligible
   or below the minimum, of deleted customers, or whose step moved before the window.

Reasons and their precedence are documented in ``sql/reminders/invoice_state.sql``. ``sent`` and
``failed`` rows are never written; ``cancelled`` is final. Every statement writes only rows that
change, so a second run with the same inputs changes nothing (``updated_at`` included).

With a failed quality gate (``gate_passed=False``) the run only withholds: new and re-evaluated
rows of the window become ``skipped``/``quality_gate_failed`` and cancellations still apply; nothing
becomes ``pending``.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache

import psycopg
from psycopg import sql

from zoho.reminders.policy import ReminderPolicy
from zoho.warehouse.sqlfiles import sql_files

load_sql = sql_files(__file__)

STEPS = ("create", "reschedule", "reevaluate", "cancel")


@cache
def _statement(name: str) -> sql.Composed:
    """A statement of the folder with the ``invoice_state`` fragment put in (fixed text, no values)."""
    return sql.SQL(load_sql(name)).format(invoice_state=sql.SQL(load_sql("invoice_state")))


@dataclass
class ReminderSummary:
    user_id: str
    run_date: date
    window_start: date
    window_end: date
    gate_passed: bool
    created: int = 0
    rescheduled: int = 0
    reevaluated: int = 0
    cancelled: int = 0
    # (status, reason or "") -> number of the tenant's reminders, after the run
    by_status: dict[tuple[str, str], int] = field(default_factory=dict)

    @property
    def changed(self) -> int:
        return self.created + self.rescheduled + self.reevaluated + self.cancelled

    def totals(self) -> dict[str, int]:
        """Reminders by status (all reasons)."""
        out: Counter[str] = Counter()
        for (status, _reason), n in self.by_status.items():
            out[status] += n
        return dict(out)

    def as_dict(self) -> dict:
        """JSON-ready (XCom): the run's counts and the tenant's reminders by status and reason."""
        return {"user_id": self.user_id, "run_date": self.run_date.isoformat(),
                "window": [self.window_start.isoformat(), self.window_end.isoformat()],
                "gate_passed": self.gate_passed, "created": self.created, "rescheduled": self.rescheduled,
                "reevaluated": self.reevaluated, "cancelled": self.cancelled,
                "by_status": [{"status": s, "reason": r or None, "count": n}
                              for (s, r), n in sorted(self.by_status.items())]}

    def table(self) -> str:
        """The per-tenant table for the task log."""
        head = (f"tenant {self.user_id!r}, run date {self.run_date}, window {self.window_start}..{self.window_end}, "
                f"quality gate {'passed' if self.gate_passed else 'FAILED'}: created {self.created}, "
                f"rescheduled {self.rescheduled}, re-evaluated {self.reevaluated}, cancelled {self.cancelled}")
        rows = [("status", "reason", "reminders")] + [(s, r or "-", str(n)) for (s, r), n in sorted(self.by_status.items())]
        if len(rows) == 1:
            return head + "\n  (no reminders)"
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        lines = [f"  {s:<{widths[0]}}  {r:<{widths[1]}}  {n:>{widths[2]}}" for s, r, n in rows]
        return "\n".join([head, *lines])


def statement_params(user_id: str, run_date: date, policy: ReminderPolicy, gate_passed: bool) -> dict:
    window_start, window_end = policy.window(run_date)
    return {
        "user_id": user_id,
        "window_start": window_start,
        "window_end": window_end,
        # due dates whose steps can fall in the window (lets create.sql use a due_date index)
        "due_from": window_start - timedelta(days=max(policy.steps)),
        "due_to": window_end - timedelta(days=min(policy.steps)),
        "steps": list(policy.steps),
        "eligible_statuses": list(policy.eligible_statuses),
        "min_amount": policy.min_amount,
        "gate_passed": bool(gate_passed),
    }


def generate_reminders(conn: psycopg.Connection, user_id: str, run_date: date, policy: ReminderPolicy,
                       gate_passed: bool) -> ReminderSummary:
    """Create, re-evaluate and cancel one tenant's reminders for ``run_date``; returns the summary.

    Runs in one transaction (a savepoint when the caller already has one open; committed at the
    end otherwise) under a per-tenant advisory lock.
    """
    if isinstance(run_date, datetime):  # a logical date: its calendar day (pass it in UTC)
        run_date = run_date.date()
    params = statement_params(user_id, run_date, policy, gate_passed)
    summary = ReminderSummary(user_id=user_id, run_date=run_date, window_start=params["window_start"],
                              window_end=params["window_end"], gate_passed=bool(gate_passed))
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(load_sql("lock_tenant"), params)
        counts = {}
        for step in STEPS:
            cur.execute(_statement(step), params)
            counts[step] = cur.rowcount
        cur.execute(load_sql("summary"), params)
        summary.by_status = {(status, reason): n for status, reason, n in cur.fetchall()}
    summary.created = counts["create"]
    summary.rescheduled = counts["reschedule"]
    summary.reevaluated = counts["reevaluate"]
    summary.cancelled = counts["cancel"]
    return summary
