"""``parse_policy``: the ``zoho_reminder_policy`` Variable, defaults and validation errors."""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from zoho.reminders.policy import PolicyError, ReminderPolicy, parse_policy


@pytest.mark.parametrize("raw", [None, "", "  ", "{}", {}])
def test_unset_or_empty_policy_is_the_spec_default(raw):
    policy = parse_policy(raw)
    assert policy == ReminderPolicy()
    assert policy.steps == (-3, 0, 3, 7, 14)
    assert (policy.window_days_before, policy.window_days_after) == (2, 1)
    assert policy.eligible_statuses == ("sent", "viewed", "overdue", "partially_paid", "unpaid")
    assert policy.min_amount == 0


def test_partial_policy_keeps_the_other_defaults():
    policy = parse_policy('{"steps": [7, -1, 0], "min_amount": "12.50"}')
    assert policy.steps == (-1, 0, 7)
    assert policy.min_amount == Decimal("12.50")
    assert policy.window_days_before == 2


def test_policy_round_trips_through_as_dict():
    policy = ReminderPolicy(steps=(0, 5), window_days_before=0, window_days_after=3,
                            eligible_statuses=("overdue",), min_amount=Decimal("1.5"))
    assert parse_policy(json.dumps(policy.as_dict())) == policy


def test_window_is_run_date_minus_before_to_plus_after():
    assert ReminderPolicy().window(date(2026, 3, 1)) == (date(2026, 2, 27), date(2026, 3, 2))


@pytest.mark.parametrize(("raw", "message"), [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
    ({"step": [0]}, "unknown keys ['step']"),
    ({"steps": []}, "non-empty list"),
    ({"steps": "0,3"}, "non-empty list"),
    ({"steps": [0, 1.5]}, "must be integers"),
    ({"steps": [0, "3"]}, "must be integers"),
    ({"steps": [0, True]}, "must be integers"),
    ({"steps": [0, 3, 3]}, "lists [3] more than once"),
    ({"steps": [0, 400]}, "outside -365..365"),
    ({"window_days_before": -1}, "window_days_before must not be negative"),
    ({"window_days_after": -2}, "window_days_after must not be negative"),
    ({"window_days_after": 1.0}, "window_days_after must be an integer"),
    ({"window_days_before": 90}, "at most 31"),
    ({"eligible_statuses": ["overdue", "late"]}, "unknown statuses ['late']"),
    ({"eligible_statuses": ["Overdue"]}, "unknown statuses ['Overdue']"),
    ({"eligible_statuses": ["overdue", "paid"]}, "can never be reminded"),
    ({"eligible_statuses": ["draft"]}, "can never be reminded"),
    ({"eligible_statuses": []}, "non-empty list"),
    ({"eligible_statuses": ["sent", "sent"]}, "more than once"),
    ({"min_amount": -1}, "min_amount must not be negative"),
    ({"min_amount": "ten"}, "min_amount must be a number"),
    ({"min_amount": True}, "min_amount must be a number"),
    ({"min_amount": "NaN"}, "finite"),
])
def test_bad_policy_is_a_clear_error(raw, message):
    with pytest.raises(PolicyError) as err:
        parse_policy(raw)
    assert "zoho_reminder_policy" in str(err.value)
    assert message in str(err.value)


def test_every_problem_is_reported_at_once():
    with pytest.raises(PolicyError) as err:
        parse_policy({"steps": [1, 1], "window_days_before": -1, "colour": "red"})
    text = str(err.value)
    assert "unknown keys ['colour']" in text and "more than once" in text and "must not be negative" in text
