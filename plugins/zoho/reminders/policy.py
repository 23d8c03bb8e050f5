"""The reminder policy: the ``zoho_reminder_policy`` Airflow Variable (JSON), parsed and validated.

Every key is optional; what is left out takes the docs/CONTRACT.md default::

    {
      "steps": [-3, 0, 3, 7, 14],        # offset_days of the schedule steps, relative to due_date
      "window_days_before": 2,           # a run on date D creates/re-evaluates steps whose
      "window_days_after": 1,            #   scheduled_for is between D - before and D + after
      "eligible_statuses": ["sent", "viewed", "overdue", "partially_paid", "unpaid"],
      "min_amount": 0                    # balance must be > 0 and >= min_amount
    }

A bad policy is one ``PolicyError`` that lists every problem found, so a data engineer fixes the
Variable once, not once per problem.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from zoho.rules.settings import read_json_setting

# Zoho Books invoice statuses (lower case, as the marts hold them). Approval workflows add the last two.
ZOHO_INVOICE_STATUSES = ("draft", "sent", "viewed", "overdue", "partially_paid", "unpaid", "paid", "void",
                         "pending_approval", "approved")
# Statuses no reminder can ever be for: the customer never received the invoice, or owes nothing.
NEVER_ELIGIBLE = frozenset({"draft", "paid", "void"})

DEFAULT_STEPS = (-3, 0, 3, 7, 14)
DEFAULT_ELIGIBLE_STATUSES = ("sent", "viewed", "overdue", "partially_paid", "unpaid")
MAX_ABS_OFFSET_DAYS = 365
MAX_STEPS = 20
MAX_WINDOW_DAYS = 31  # a wider window would re-create stale steps, which the window exists to prevent

KEYS = ("steps", "window_days_before", "window_days_after", "eligible_statuses", "min_amount")
VARIABLE = "zoho_reminder_policy"


class PolicyError(ValueError):
    """The ``zoho_reminder_policy`` Variable cannot be used; the message lists every problem."""


@dataclass(frozen=True)
class ReminderPolicy:
    steps: tuple[int, ...] = DEFAULT_STEPS
    window_days_before: int = 2
    window_days_after: int = 1
    eligible_statuses: tuple[str, ...] = DEFAULT_ELIGIBLE_STATUSES
    min_amount: Decimal = Decimal(0)

    def window(self, run_date: date) -> tuple[date, date]:
        """First and last ``scheduled_for`` (inclusive) that a run on ``run_date`` works on."""
        return (run_date - timedelta(days=self.window_days_before),
                run_date + timedelta(days=self.window_days_after))

    def as_dict(self) -> dict:
        """JSON-ready form (what ``parse_policy`` accepts back)."""
        return {"steps": list(self.steps), "window_days_before": self.window_days_before,
                "window_days_after": self.window_days_after,
                "eligible_statuses": list(self.eligible_statuses), "min_amount": str(self.min_amount)}


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _steps(value, problems: list[str]) -> tuple[int, ...]:
    if not isinstance(value, list) or not value:
        problems.append("steps must be a non-empty list of integers (offset_days)")
        return DEFAULT_STEPS
    bad = [v for v in value if not _is_int(v)]
    if bad:
        problems.append(f"steps must be integers (offset_days), got {bad!r}")
        return DEFAULT_STEPS
    if len(value) > MAX_STEPS:
        problems.append(f"steps has {len(value)} entries, at most {MAX_STEPS} are allowed")
    dupes = sorted({v for v in value if value.count(v) > 1})
    if dupes:
        problems.append(f"steps lists {dupes!r} more than once")
    out_of_range = [v for v in value if abs(v) > MAX_ABS_OFFSET_DAYS]
    if out_of_range:
        problems.append(f"steps {out_of_range!r} are outside -{MAX_ABS_OFFSET_DAYS}..{MAX_ABS_OFFSET_DAYS} days")
    return tuple(sorted(set(value)))


def _window(name: str, value, problems: list[str]) -> int:
    if not _is_int(value):
        problems.append(f"{name} must be an integer number of days, got {value!r}")
        return 0
    if value < 0:
        problems.append(f"{name} must not be negative, got {value}")
    elif value > MAX_WINDOW_DAYS:
        problems.append(f"{name} must be at most {MAX_WINDOW_DAYS}, got {value}")
    return value


def _statuses(value, problems: list[str]) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        problems.append("eligible_statuses must be a non-empty list of Zoho invoice statuses")
        return DEFAULT_ELIGIBLE_STATUSES
    unknown = [v for v in value if v not in ZOHO_INVOICE_STATUSES]
    if unknown:
        problems.append(f"eligible_statuses has unknown statuses {unknown!r} "
                        f"(Zoho's are: {', '.join(ZOHO_INVOICE_STATUSES)})")
    never = [v for v in value if v in NEVER_ELIGIBLE]
    if never:
        problems.append(f"eligible_statuses {never!r} can never be reminded (draft, paid and void invoices)")
    dupes = sorted({v for v in value if value.count(v) > 1})
    if dupes:
        problems.append(f"eligible_statuses lists {dupes!r} more than once")
    return tuple(dict.fromkeys(value))


def _amount(value, problems: list[str]) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        problems.append(f"min_amount must be a number, got {value!r}")
        return Decimal(0)
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        problems.append(f"min_amount must be a number, got {value!r}")
        return Decimal(0)
    if not amount.is_finite():
        problems.append(f"min_amount must be a finite number, got {value!r}")
        return Decimal(0)
    if amount < 0:
        problems.append(f"min_amount must not be negative, got {value!r}")
    return amount


def parse_policy(raw: str | Mapping | None) -> ReminderPolicy:
    """The policy from the Variable's value (JSON text or an already parsed dict); unset → defaults."""
    raw = read_json_setting(raw, f"Variable {VARIABLE}", expected=f"with keys {', '.join(KEYS)}",
                            error=PolicyError)
    if raw is None:
        return ReminderPolicy()

    problems: list[str] = []
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        problems.append(f"unknown keys {unknown!r} (allowed: {', '.join(KEYS)})")
    default = ReminderPolicy()
    policy = ReminderPolicy(
        steps=_steps(raw["steps"], problems) if "steps" in raw else default.steps,
        window_days_before=(_window("window_days_before", raw["window_days_before"], problems)
                            if "window_days_before" in raw else default.window_days_before),
        window_days_after=(_window("window_days_after", raw["window_days_after"], problems)
                           if "window_days_after" in raw else default.window_days_after),
        eligible_statuses=(_statuses(raw["eligible_statuses"], problems)
                           if "eligible_statuses" in raw else default.eligible_statuses),
        min_amount=_amount(raw["min_amount"], problems) if "min_amount" in raw else default.min_amount,
    )
    if problems:
        raise PolicyError(f"Variable {VARIABLE} is invalid: " + "; ".join(problems))
    return policy
