"""The thresholds of the post-deployment verification: the ``zoho_verify_thresholds`` Variable.

Keys = the command's option names with ``_``; ``null`` switches a check off; ``tenants`` holds
per-tenant overrides, e.g. a bigger plan's budget::

    {"min_phone_share": 0.5, "max_invoices_without_customer_share": 0.05,
     "max_hours_since_sync": 26, "max_hours_since_full_sync": 26,
     "daily_api_budget": 1000, "max_budget_share": 0.5,
     "tenants": {"acme": {"daily_api_budget": 5000}}}

Precedence: defaults < the Variable (or ``--thresholds``, which replaces it) < single options
(``ThresholdConfig.with_overrides``). A bad value is one ``ThresholdError`` listing every problem.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace

from zoho.rules.settings import read_json_setting

THRESHOLDS_VARIABLE = "zoho_verify_thresholds"


class ThresholdError(ValueError):
    """The thresholds cannot be used; the message lists every problem."""


@dataclass(frozen=True)
class Thresholds:
    """One tenant's limits; ``None`` switches that check off."""

    min_phone_share: float | None = 0.5
    max_invoices_without_customer_share: float | None = 0.05
    max_hours_since_sync: float | None = 26.0
    max_hours_since_full_sync: float | None = 26.0
    daily_api_budget: int = 1000
    max_budget_share: float | None = 0.5


THRESHOLD_KEYS = tuple(f.name for f in fields(Thresholds))
SHARES = ("min_phone_share", "max_invoices_without_customer_share", "max_budget_share")


@dataclass(frozen=True)
class ThresholdConfig:
    """The default thresholds and per-tenant overrides."""

    default: Thresholds = Thresholds()
    tenants: Mapping[str, Thresholds] = field(default_factory=dict)

    def for_tenant(self, user_id: str) -> Thresholds:
        return self.tenants.get(user_id, self.default)

    def with_overrides(self, **values) -> "ThresholdConfig":
        """Apply single options (command line) to the default and every tenant."""
        values = {k: v for k, v in values.items() if v is not None}
        if not values:
            return self
        problems: list[str] = []
        checked = {k: _check_value(k, v, problems) for k, v in values.items()}
        if problems:
            raise ThresholdError("invalid threshold option: " + "; ".join(problems))
        return ThresholdConfig(replace(self.default, **checked),
                               {u: replace(t, **checked) for u, t in self.tenants.items()})

    def as_dict(self) -> dict:
        return {**asdict(self.default), "tenants": {u: asdict(t) for u, t in sorted(self.tenants.items())}}


def _check_value(key: str, value, problems: list[str]):
    if value is None:
        if key == "daily_api_budget":
            problems.append("daily_api_budget cannot be null (it is the plan's number of requests per day)")
            return Thresholds.daily_api_budget
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        problems.append(f"{key} must be a number, got {value!r}")
        return getattr(Thresholds, key)
    if key == "daily_api_budget":
        if int(value) != value or value < 1:
            problems.append(f"daily_api_budget must be a positive whole number, got {value!r}")
            return Thresholds.daily_api_budget
        return int(value)
    if value < 0:
        problems.append(f"{key} must not be negative, got {value!r}")
    elif key in SHARES and value > 1:
        problems.append(f"{key} is a share between 0 and 1 (0.5 = 50 %), got {value!r}")
    return float(value)


def _thresholds(values: Mapping, base: Thresholds, where: str, problems: list[str]) -> Thresholds:
    unknown = sorted(set(values) - set(THRESHOLD_KEYS))
    if unknown:
        problems.append(f"{where}unknown keys {unknown!r} (allowed: {', '.join(THRESHOLD_KEYS)})")
    found: list[str] = []
    checked = {k: _check_value(k, v, found) for k, v in values.items() if k in THRESHOLD_KEYS}
    problems += [where + p for p in found]
    return replace(base, **checked)


def parse_thresholds(raw: str | Mapping | None) -> ThresholdConfig:
    """The ``zoho_verify_thresholds`` Variable's value (JSON text or a dict); unset → defaults."""
    raw = read_json_setting(raw, THRESHOLDS_VARIABLE,
                            expected=f"with keys {', '.join(THRESHOLD_KEYS)} and optionally tenants",
                            error=ThresholdError)
    if raw is None:
        return ThresholdConfig()
    problems: list[str] = []
    per_tenant = raw.pop("tenants", None) or {}
    default = _thresholds(raw, Thresholds(), "", problems)
    tenants: dict[str, Thresholds] = {}
    if not isinstance(per_tenant, Mapping):
        problems.append('tenants must be an object: {"<user_id>": {"daily_api_budget": 5000, ...}}')
    else:
        for user_id, values in per_tenant.items():
            if not isinstance(values, Mapping):
                problems.append(f"tenants.{user_id} must be an object of thresholds")
                continue
            tenants[str(user_id)] = _thresholds(values, default, f"tenants.{user_id}: ", problems)
    if problems:
        raise ThresholdError(f"{THRESHOLDS_VARIABLE} is invalid: " + "; ".join(problems))
    return ThresholdConfig(default, tenants)
