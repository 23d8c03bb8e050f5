"""The budget planner on a real Postgres with hand-made rows (``tests/verify/planner_rows.py``): the
view's figures for each case (first sweep with and without Zoho's page total, a sweep past a complete
one, never, slow, complete, a ledger without a sweep, persons pending), and what ``make verify``
makes of them: a line per tenant, a warning (not a failure) for ``slow`` and ``never`` with the
advice, the same in the JSON form."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from tests.reminders.marts import create_marts
from tests.verify import planner_rows
from tests.verify.test_verify import _sync, cli
from zoho.checks.report import verify
from zoho.checks.thresholds import parse_thresholds
from zoho.warehouse import connection as warehouse
from zoho.warehouse import schema

# every check but the planner's off: what is left is the planner
PLANNER_ONLY = {"min_phone_share": None, "max_invoices_without_customer_share": None,
                "max_hours_since_sync": None, "max_hours_since_full_sync": None, "max_budget_share": None}

COLUMNS = ("user_id", "org_key", "plan_limit", "effective_budget", "budget_reserve", "sweep_share", "spent_today",
           "left_today", "resets_at", "sweep_generation", "sweep_phase", "pages_done", "pages_expected",
           "progress_pct", "persons_pending", "fixed_calls", "daily_sweep_calls", "calls_spent",
           "calls_needed_for_sweep", "calls_left", "days_to_complete", "verdict", "advice", "last_completed_at")

SLOW_ADVICE = ("The sweep needs ~2900 more calls; at 320 a day (sweep share 350 less 30 fixed nightly calls) that is "
               "10 days. To complete within 7 days it needs ~415 a day, a sweep share of 445: raise daily_budget "
               "from 500 to 595; or lower budget_reserve from 150 to 55; or upgrade the Zoho plan (now 2000 calls "
               "a day).")
NEVER_ADVICE = ("The nightly can spend nothing on the sweep: its share of 100 calls a day (daily_budget 250 less "
                "budget_reserve 150) goes to 120 fixed nightly calls (the open-invoice check), so the sweep will not "
                "progress (it needs ~48 calls). A sweep share of 127 completes it within 7 days: raise daily_budget "
                "from 250 to 277; or lower budget_reserve from 150 to 123; or upgrade the Zoho plan (now 1000 calls "
                "a day).")


@pytest.fixture(scope="module")
def uri(make_database):
    uri = make_database("planner")
    with warehouse.connect(uri, autocommit=True) as conn:
        create_marts(conn)
        planner_rows.fill(conn)
        for user_id in planner_rows.TENANTS:
            for entity in ("contacts", "invoices"):
                _sync(conn, user_id, entity)
    return uri


def planner(uri) -> dict[str, dict]:
    with warehouse.connect(uri) as conn, conn.cursor() as cur:
        cur.execute("select * from zoho_sync.budget_planner order by user_id")
        names = [d.name for d in cur.description]
        assert tuple(names) == COLUMNS
        return {r[0]: dict(zip(names, r)) for r in cur.fetchall()}


def figures(row: dict, *keys: str) -> tuple:
    return tuple(float(row[k]) if k == "progress_pct" and row[k] is not None else row[k] for k in keys)


BUDGET = ("org_key", "plan_limit", "effective_budget", "budget_reserve", "sweep_share", "spent_today", "left_today")
SWEEP = ("sweep_generation", "sweep_phase", "pages_done", "pages_expected", "progress_pct", "persons_pending",
         "fixed_calls", "daily_sweep_calls", "calls_spent", "calls_needed_for_sweep", "calls_left",
         "days_to_complete", "verdict")


def test_one_row_per_tenant_with_a_sweep_or_a_ledger(uri):
    assert sorted(planner(uri)) == sorted(planner_rows.TENANTS)


def test_a_first_sweep_with_page_totals_counts_pages_and_persons(uri):
    row = planner(uri)["first"]
    # today's share spent (900 of 850): nothing left, not a negative number
    assert figures(row, *BUDGET) == ("www.zohoapis.com|first", 1000, 1000, 150, 850, 900, 0)
    # contacts listed (10 of 10, confirming), invoices 5 of 40: 15 of 50 pages; 35 pages + 3 persons
    # left (the deleted contact's persons do not count); 850 - 12 fixed = 838 a night
    assert figures(row, *SWEEP) == (1, "listing", 15, 50, 30.0, 3, 12, 838, 28, 53, 38, 1, "on_track")
    assert row["advice"] is None and row["last_completed_at"] is None


def test_a_first_sweep_without_a_page_total_is_unknown(uri):
    row = planner(uri)["nototal"]
    assert figures(row, *SWEEP) == (1, "listing", 2, None, None, 0, None, 850, 0, None, None, None, "unknown")
    assert row["advice"] is None
    # a ledger without any sweep: the first listing is still to come
    row = planner(uri)["ledger"]
    assert figures(row, *SWEEP) == (0, "listing", 0, None, None, 0, None, 850, 0, None, None, None, "unknown")
    assert figures(row, "spent_today", "left_today") == (10, 840)


def test_a_sweep_past_a_complete_one_uses_the_new_total_and_the_last_costs(uri):
    row = planner(uri)["resumed"]
    # the organisation synced last (the old org_key's row is ignored); Zoho's day has reset since the
    # ledger's last call, so nothing is spent today
    assert figures(row, *BUDGET) == ("www.zohoapis.com|resumed", 1000, 200, 150, 50, 0, 50)
    # contacts complete (4 pages), invoices 20 of the new total 70 (not the last sweep's 60): 24 of 74;
    # a whole sweep costs what the last complete ones did (5 + 64); 50 pages at 50 - 10 = 40 a night
    assert figures(row, *SWEEP) == (3, "listing", 24, 74, 32.4, 0, 10, 40, 30, 69, 50, 2, "on_track")
    # the older of the two entities' last complete sweeps
    assert abs(row["last_completed_at"] - (datetime.now(timezone.utc) - timedelta(days=8))) < timedelta(minutes=5)


def test_never_when_the_fixed_calls_take_the_whole_share(uri):
    row = planner(uri)["never"]
    # invoices: no total, the last sweep's 50 pages: 48 left
    assert figures(row, *SWEEP) == (2, "listing", 7, 55, 12.7, 0, 120, 0, 0, 61, 48, None, "never")
    assert row["advice"] == NEVER_ADVICE


def test_slow_when_the_forecast_exceeds_a_week(uri):
    row = planner(uri)["slow"]
    assert figures(row, *BUDGET) == ("www.zohoapis.com|slow", 2000, 500, 150, 350, 340, 10)
    assert figures(row, *SWEEP) == (3, "listing", 120, 3020, 4.0, 0, 30, 320, 320, 2972, 2900, 10, "slow")
    assert row["advice"] == SLOW_ADVICE


def test_a_complete_sweep(uri):
    row = planner(uri)["done"]
    assert figures(row, *SWEEP) == (4, "complete", 12, 12, 100.0, 0, 8, 842, 14, 14, 0, 0, "complete")
    assert row["advice"] is None


def test_never_after_a_complete_sweep_speaks_of_the_next_one(make_database):
    uri = make_database("planner_next")
    with warehouse.connect(uri, autocommit=True) as conn:
        planner_rows.add_budget(conn, "t", budget=300, share=150)
        for entity, fixed in (("contacts", None), ("invoices", 200)):
            planner_rows.add_sweep(conn, "t", entity, phase="complete", pages_done=10, pages_total=10,
                                   fixed_calls=fixed, last_pages=10, last_calls=70, completed_days_ago=1)
    row = planner(uri)["t"]
    assert figures(row, "sweep_phase", "calls_left", "calls_needed_for_sweep", "verdict") == (
        "complete", 0, 140, "never")
    # 200 fixed + 140 / 7 = 220: 70 more than the share of 150
    assert ("so the next sweep will not progress (it needs ~140 calls). A sweep share of 220 completes it"
            in row["advice"])
    assert "raise daily_budget from 300 to 370; or lower budget_reserve from 150 to 80" in row["advice"]


def test_the_view_and_every_column_are_commented(uri):
    with warehouse.connect(uri) as conn:
        assert conn.execute("select obj_description('zoho_sync.budget_planner'::regclass, 'pg_class')").fetchone()[0]
        missing = conn.execute(
            "select a.attname from pg_attribute a where a.attrelid = 'zoho_sync.budget_planner'::regclass "
            "and a.attnum > 0 and col_description(a.attrelid, a.attnum) is null").fetchall()
    assert missing == []


# ------------------------------------------------------------------ make verify


def test_verify_prints_a_planner_line_and_warns_without_failing(uri):
    report = verify(uri, parse_thresholds(PLANNER_ONLY))
    assert report.ok, report.text()
    assert report.warned_tenants == ["never", "slow"]
    slow, never, first = report.tenant("slow"), report.tenant("never"), report.tenant("first")
    assert [(c.name, c.ok, c.warning) for c in slow.checks] == [("sweep_forecast", True, True)]
    assert slow.checks[0].message == "the nightly sweep needs 10 more nights (verdict slow): " + SLOW_ADVICE
    assert never.checks[0].message == ("the nightly sweep will not complete at this budget (verdict never): "
                                       + NEVER_ADVICE)
    # the tenant's first sweep is still under way: said as such (the shares are checked once it completes)
    assert [(c.name, c.ok, c.warning) for c in first.checks] == [("first_sweep", True, False)]
    assert first.planner.verdict == "on_track"
    text = report.text()
    assert "PASSED: 7 tenant(s) checked (warnings for never, slow)" in text.splitlines()[0]
    assert "tenant 'slow': PASSED with 1 warning(s)" in text
    assert "    WARN  sweep_forecast: the nightly sweep needs 10 more nights (verdict slow): The sweep needs" in text
    assert ("  API budget and sweep: sweep share 350 a day of a budget of 500 (plan 2000), spent today 340, left of "
            "the share today 10; sweep 3 listing, 4.0 % (120 of 3020 pages), persons pending 0, calls left 2900, "
            "~10 night(s) to complete at 320 calls a night: verdict slow") in text
    assert ("  API budget and sweep: sweep share 850 a day of a budget of 1000 (plan 1000), spent today 10, left of "
            "the share today 840; sweep 0 listing, 0 pages, total not known yet, persons pending 0, calls left "
            "unknown, nights to complete unknown: verdict unknown") in text
    assert ("sweep 4 complete, 100.0 % (12 of 12 pages), persons pending 0, calls left 0: verdict complete") in text


def test_warnings_do_not_hide_failures(uri):
    # the tenant's last sync finished an hour ago: a half-hour freshness check fails, the planner still warns
    thresholds = parse_thresholds({**PLANNER_ONLY, "max_hours_since_sync": 0.5})
    report = verify(uri, thresholds, tenants=["slow"])
    slow = report.tenant("slow")
    assert not report.ok and report.failed_tenants == ["slow"] and report.warned_tenants == ["slow"]
    assert [(c.name, c.mark) for c in slow.checks] == [("max_hours_since_sync", "FAIL"), ("sweep_forecast", "WARN")]
    assert "FAILED: 1 of 1 tenant(s): slow (warnings for slow)" in report.text().splitlines()[0]
    assert "tenant 'slow': FAILED with 1 warning(s)" in report.text()


def test_the_json_form_carries_the_planner(uri):
    r = cli("--uri", uri, "--thresholds", json.dumps(PLANNER_ONLY), "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(r.stdout)
    assert data["ok"] is True and data["warned_tenants"] == ["never", "slow"]
    tenants = {t["user_id"]: t for t in data["tenants"]}
    slow = tenants["slow"]
    assert {k: slow["planner"][k] for k in ("sweep_phase", "progress_pct", "calls_left", "days_to_complete",
                                            "daily_sweep_calls", "verdict", "advice")} == {
        "sweep_phase": "listing", "progress_pct": 4.0, "calls_left": 2900, "days_to_complete": 10,
        "daily_sweep_calls": 320, "verdict": "slow", "advice": SLOW_ADVICE}
    assert set(slow["planner"]) == set(COLUMNS)
    assert slow["warnings"] == ["the nightly sweep needs 10 more nights (verdict slow): " + SLOW_ADVICE]
    assert slow["checks"] == [{"name": "sweep_forecast", "ok": True, "message": slow["warnings"][0], "warning": True}]
    assert tenants["first"]["warnings"] == [] and tenants["first"]["planner"]["verdict"] == "on_track"
    assert tenants["resumed"]["planner"]["last_completed_at"].endswith("+00:00")
    # the text form: exit 0 with the warning shown
    r = cli("--uri", uri, "--thresholds", json.dumps(PLANNER_ONLY), "--tenant", "never")
    assert r.returncode == 0 and "WARN  sweep_forecast: the nightly sweep will not complete" in r.stdout


def test_a_warehouse_without_the_view_has_no_planner_line(make_database):
    uri = make_database("planner_old")
    with warehouse.connect(uri, autocommit=True) as conn:
        create_marts(conn)
        _sync(conn, "a", "contacts")
        _sync(conn, "a", "invoices")
    schema.downgrade(uri, "0005")
    report = verify(uri, parse_thresholds(PLANNER_ONLY))
    assert report.ok and report.tenant("a").planner is None
    assert "API budget and sweep" not in report.text()
