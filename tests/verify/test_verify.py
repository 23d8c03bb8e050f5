"""``zoho.checks.verify`` against a real Postgres with hand-made tables: every figure of the report is
checked against the rows put in (and against an independent count of the tables), every threshold
passes and fails where it should, the command line's exit codes and options, and the thresholds'
parsing. The figures after a real nightly run are checked in ``test_after_nightly_run.py``."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.reminders.marts import add_customer, add_invoice, create_marts, natural_key_uuid, reminder_uuid
from zoho.warehouse import connection as warehouse
from zoho.checks.report import verify
from zoho.checks.thresholds import ThresholdConfig, ThresholdError, Thresholds, parse_thresholds

ROOT = Path(__file__).resolve().parents[2]
A, B, C = "alpha", "beta", "gamma"  # C: configured, never synced


def _sync(conn, user_id, entity, *, status="success", mode="full", hours_ago=1.0, full_hours_ago=1.0,
          api_calls=10, person_calls=0, missing=0, error=None, started_hours_ago=None):
    started = hours_ago + 0.1 if started_hours_ago is None else started_hours_ago
    conn.execute(
        "insert into zoho_sync.sync_metadata (user_id, entity, watermark, last_mode, last_run_id, started_at, "
        "finished_at, status, api_calls, person_calls, missing_customers, last_error, last_full_sync_at) values "
        "(%s, %s, now(), %s, 'run-1', now() - make_interval(secs => %s), "
        "case when %s = 'running' then null else now() - make_interval(secs => %s) end, %s, %s, %s, %s, %s, "
        "case when %s::float8 is null then null else now() - make_interval(secs => %s::float8) end)",
        (user_id, entity, mode, started * 3600, status, hours_ago * 3600, status, api_calls, person_calls, missing,
         error, full_hours_ago, None if full_hours_ago is None else full_hours_ago * 3600))


def _reminder(conn, user_id, invoice_id, offset, status, reason=None, customer_id=None, phone=None):
    conn.execute(
        "insert into analytics.payment_reminders (id, user_id, invoice_id, customer_id, phone, offset_days, "
        "scheduled_for, status, reason) values (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (reminder_uuid(invoice_id, offset), user_id, invoice_id, customer_id, phone, offset,
         date.today() + timedelta(days=offset), status, reason))


@pytest.fixture(scope="module")
def uri(make_database):
    """Tenant alpha: healthy. Tenant beta: few phones, many invoices without a customer, a failed
    invoice sync, a big API bill, no full sync of contacts."""
    uri = make_database("verify")
    with warehouse.connect(uri, autocommit=True) as conn:
        create_marts(conn)
        # alpha: 4 live customers, 3 with a phone (one deleted customer without a phone does not count)
        for i, phone in enumerate(["+14155550101", "+14155550102", "+14155550103", None]):
            add_customer(conn, A, f"c{i}", primary_phone=phone, primary_phone_source="contact.mobile" if phone else None)
        add_customer(conn, A, "gone", primary_phone=None, primary_phone_source=None, is_deleted=True)
        # alpha: 21 live invoices, 1 without a customer (4.8 %); deleted ones do not count
        for i in range(20):
            add_invoice(conn, A, f"i{i}", f"c{i % 4}")
        add_invoice(conn, A, "orphan", "unknown", customer_id=None)
        add_invoice(conn, A, "deleted-orphan", "unknown", customer_id=None, is_deleted=True)
        add_invoice(conn, A, "deleted", "c0", is_deleted=True)
        inv = natural_key_uuid(A, "i0")
        _reminder(conn, A, inv, -3, "sent", customer_id=natural_key_uuid(A, "c0"), phone="+14155550101")
        _reminder(conn, A, inv, 0, "pending", customer_id=natural_key_uuid(A, "c0"), phone="+14155550101")
        _reminder(conn, A, natural_key_uuid(A, "i3"), 0, "skipped", "no_phone", natural_key_uuid(A, "c3"))
        _reminder(conn, A, natural_key_uuid(A, "orphan"), 0, "skipped", "no_customer")
        _reminder(conn, A, natural_key_uuid(A, "orphan"), 3, "skipped", "no_customer")
        _sync(conn, A, "contacts", api_calls=12, person_calls=5, hours_ago=0.5)
        _sync(conn, A, "invoices", api_calls=8, missing=1, hours_ago=0.5)
        # beta: 4 live customers, 1 with a phone; 2 live invoices, 1 without a customer
        for i, phone in enumerate(["+447911123456", None, None, None]):
            add_customer(conn, B, f"c{i}", primary_phone=phone, primary_phone_source="contact.mobile" if phone else None)
        add_invoice(conn, B, "i0", "c0")
        add_invoice(conn, B, "i1", "missing", customer_id=None)
        _reminder(conn, B, natural_key_uuid(B, "i1"), 0, "cancelled", "invoice_paid")
        _sync(conn, B, "contacts", mode="incremental", api_calls=450, person_calls=400, full_hours_ago=None)
        _sync(conn, B, "invoices", status="failed", mode="incremental", api_calls=150, hours_ago=2,
              error="DailyBudgetExhaustedError: [tenant beta] invoices: daily API budget exhausted")
    return uri


def rows(uri, query, *params):
    with warehouse.connect(uri) as conn:
        return conn.execute(query, params).fetchall()


def test_figures_match_the_rows_put_in(uri):
    report = verify(uri)
    assert [t.user_id for t in report.tenants] == [A, B]
    a, b = report.tenant(A), report.tenant(B)
    assert (a.customers, a.customers_with_phone, a.phone_share) == (4, 3, 0.75)
    assert (a.invoices, a.invoices_without_customer, a.invoices_without_customer_share) == (21, 1, 1 / 21)
    assert a.missing_in_zoho == 1
    assert a.reminders == {("sent", None): 1, ("pending", None): 1, ("skipped", "no_phone"): 1,
                           ("skipped", "no_customer"): 2}
    assert a.reminder_totals == {"pending": 1, "sent": 1, "skipped": 3}
    assert a.api_calls == 20 and a.budget_share == pytest.approx(0.02)
    assert a.hours_since_sync == pytest.approx(0.5, abs=0.01)
    assert a.hours_since_full_sync == pytest.approx(1.0, abs=0.01)
    assert (b.customers, b.customers_with_phone, b.phone_share) == (4, 1, 0.25)
    assert (b.invoices, b.invoices_without_customer) == (2, 1)
    assert b.api_calls == 600 and b.budget_share == pytest.approx(0.6)
    assert b.hours_since_sync is None and b.hours_since_full_sync is None


def test_figures_match_an_independent_count_of_the_tables(uri):
    """The same figures, counted here in Python from the raw rows (not with the report's SQL)."""
    report = verify(uri)
    customers = rows(uri, "select user_id, is_deleted, primary_phone from analytics.customers_cache")
    invoices = rows(uri, "select user_id, is_deleted, customer_id from analytics.invoices_cache")
    reminders = Counter((r[0], r[1], r[2]) for r in rows(uri, "select user_id, status, reason from analytics.payment_reminders"))
    calls = Counter()
    for user_id, n in rows(uri, "select user_id, api_calls from zoho_sync.sync_metadata"):
        calls[user_id] += n
    for t in report.tenants:
        live = [c for c in customers if c[0] == t.user_id and not c[1]]
        assert t.customers == len(live)
        assert t.customers_with_phone == sum(1 for c in live if c[2] is not None)
        live_inv = [i for i in invoices if i[0] == t.user_id and not i[1]]
        assert t.invoices == len(live_inv)
        assert t.invoices_without_customer == sum(1 for i in live_inv if i[2] is None)
        assert t.reminders == {(s, r): n for (u, s, r), n in reminders.items() if u == t.user_id}
        assert t.api_calls == calls[t.user_id]


def test_default_thresholds_pass_the_healthy_tenant_and_fail_the_other_with_reasons(uri):
    report = verify(uri)
    a, b = report.tenant(A), report.tenant(B)
    assert a.ok, a.text()
    assert not report.ok and report.failed_tenants == [B]
    failed = {c.name: c.message for c in b.checks if not c.ok}
    assert set(failed) == {"min_phone_share", "max_invoices_without_customer_share", "max_hours_since_sync",
                           "max_hours_since_full_sync", "max_budget_share"}
    assert "25.0 % < minimum 50.0 %" in failed["min_phone_share"]
    assert "50.0 % > maximum 5.0 %" in failed["max_invoices_without_customer_share"]
    assert "invoices: the last incremental sync failed" in failed["max_hours_since_sync"]
    assert "DailyBudgetExhaustedError" in failed["max_hours_since_sync"]
    assert "no full (nightly) sync has completed for contacts:" in failed["max_hours_since_full_sync"]
    assert "600 API calls, 60.0 % of the daily budget of 1000" in failed["max_budget_share"]
    text = report.text()
    assert text.startswith("Customer sync verification at ")
    assert f"FAILED: 1 of 2 tenant(s): {B}" in text.splitlines()[0]
    assert "FAIL  min_phone_share" in text and "ok    min_phone_share" in text
    assert "reminders (status/reason): pending 1, sent 1, skipped/no_customer 2, skipped/no_phone 1" in text


def test_thresholds_move_the_verdict(uri):
    relaxed = parse_thresholds({"min_phone_share": 0.2, "max_invoices_without_customer_share": 0.5,
                                "max_hours_since_sync": None, "max_hours_since_full_sync": None,
                                "daily_api_budget": 2000})
    report = verify(uri, relaxed)
    assert report.ok, report.text()
    assert report.tenant(B).budget_share == pytest.approx(0.3)
    strict = parse_thresholds({"min_phone_share": 0.8, "tenants": {B: {"min_phone_share": 0.1}}})
    report = verify(uri, strict, tenants=[A])
    assert [c.name for c in report.tenant(A).checks if not c.ok] == ["min_phone_share"]
    assert report.unchecked_tenants == [B]
    # per-tenant override: beta's phone check passes at 0.1 while alpha fails at 0.8
    report = verify(uri, strict)
    assert report.tenant(B).checks[0].ok and not report.tenant(A).checks[0].ok


def test_a_configured_tenant_without_data_fails_as_never_synced(uri):
    report = verify(uri, tenants=[A, C])
    c = report.tenant(C)
    assert not c.ok and c.customers == 0 and c.phone_share is None
    messages = {x.name: x.message for x in c.checks}
    assert "contacts: never synced; invoices: never synced" in messages["max_hours_since_sync"]
    assert messages["min_phone_share"] == "no live customers: phone share not checked"


def test_a_sync_running_for_too_long_is_reported_as_stuck(make_database):
    uri = make_database("verify_stuck")
    with warehouse.connect(uri, autocommit=True) as conn:
        create_marts(conn)
        _sync(conn, A, "contacts", status="running", started_hours_ago=30, hours_ago=30)
        _sync(conn, A, "invoices")
    t = verify(uri).tenant(A)
    message = next(c.message for c in t.checks if c.name == "max_hours_since_sync")
    assert "contacts: a full sync has been running for 30.0 h (stuck?" in message
    with warehouse.connect(uri, autocommit=True) as conn:  # running, but not for long: fine
        conn.execute("update zoho_sync.sync_metadata set started_at = now() - interval '10 minutes'")
    t = verify(uri).tenant(A)
    assert next(c for c in t.checks if c.name == "max_hours_since_sync").ok


def test_missing_tables_and_an_empty_warehouse_fail_with_a_readable_problem(make_database):
    unmigrated = make_database("verify_bare", migrate=False)
    report = verify(unmigrated)
    assert not report.ok and "analytics.customers_cache" in report.problems[0]
    assert "apply the migrations" in report.text()
    empty = make_database("verify_empty")
    with warehouse.connect(empty, autocommit=True) as conn:
        create_marts(conn)
    report = verify(empty)
    assert not report.ok and "no tenant has been synced yet" in report.problems[0]


def test_the_json_form_is_complete_and_serialisable(uri):
    data = json.loads(json.dumps(verify(uri).as_dict()))
    assert data["ok"] is False and data["failed_tenants"] == [B]
    a = next(t for t in data["tenants"] if t["user_id"] == A)
    assert a["phone_share"] == 0.75 and a["invoices_without_customer"] == 1 and a["api_calls"] == 20
    assert a["invoices_without_customer_share"] == round(1 / 21, 6)
    assert {"status": "skipped", "reason": "no_customer", "count": 2} in a["reminders"]
    assert a["sync"]["contacts"]["person_calls"] == 5 and a["sync"]["invoices"]["status"] == "success"
    assert a["thresholds"]["daily_api_budget"] == 1000


# ------------------------------------------------------------------ thresholds


def test_thresholds_defaults_and_overrides():
    assert parse_thresholds(None) == ThresholdConfig() == parse_thresholds("  ")
    config = parse_thresholds('{"daily_api_budget": 5000, "max_budget_share": null, '
                              '"tenants": {"acme": {"min_phone_share": 0.9}}}')
    assert config.default == Thresholds(daily_api_budget=5000, max_budget_share=None)
    assert config.for_tenant("acme") == Thresholds(daily_api_budget=5000, max_budget_share=None, min_phone_share=0.9)
    assert config.for_tenant("other") == config.default
    overridden = config.with_overrides(daily_api_budget=10000, min_phone_share=None)
    assert overridden.default.daily_api_budget == overridden.for_tenant("acme").daily_api_budget == 10000
    assert overridden.for_tenant("acme").min_phone_share == 0.9


def test_invalid_thresholds_list_every_problem():
    with pytest.raises(ThresholdError) as exc:
        parse_thresholds({"min_phone_share": 50, "daily_api_budget": 0, "max_hours_since_sync": "2",
                          "typo": 1, "tenants": {"acme": {"max_budget_share": -1}}})
    message = str(exc.value)
    for part in ("min_phone_share is a share between 0 and 1", "daily_api_budget must be a positive whole number",
                 "max_hours_since_sync must be a number", "unknown keys ['typo']",
                 "tenants.acme: max_budget_share must not be negative"):
        assert part in message
    with pytest.raises(ThresholdError, match="not valid JSON"):
        parse_thresholds("{nope")
    with pytest.raises(ThresholdError, match="cannot be null"):
        parse_thresholds({"daily_api_budget": None})


# ------------------------------------------------------------------ command line


def cli(*args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_VAR_")}
    env.update(env_extra or {})
    env["PYTHONPATH"] = f"{ROOT}:{ROOT / 'plugins'}"
    return subprocess.run([sys.executable, "-m", "zoho.checks.verify", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_cli_exit_codes_options_and_json(uri):
    failed = cli("--uri", uri)
    assert failed.returncode == 1, failed.stderr
    assert f"FAILED: 1 of 2 tenant(s): {B}" in failed.stdout
    ok = cli("--uri", uri, "--tenant", A)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "PASSED: 1 tenant(s) checked" in ok.stdout and f"not checked: {B}" in ok.stdout
    flagged = cli("--uri", uri, "--tenant", A, "--min-phone-share", "0.9", "--json")
    assert flagged.returncode == 1
    data = json.loads(flagged.stdout)
    assert [c["name"] for c in data["tenants"][0]["checks"] if not c["ok"]] == ["min_phone_share"]
    # the Variable as Airflow reads it from the environment; --thresholds replaces it
    env = {"AIRFLOW_VAR_ZOHO_VERIFY_THRESHOLDS": json.dumps({"min_phone_share": 0.9})}
    assert cli("--uri", uri, "--tenant", A, env_extra=env).returncode == 1
    assert cli("--uri", uri, "--tenant", A, "--thresholds", "{}", env_extra=env).returncode == 0
    # the configured tenants come from zoho_tenants when set
    tenants = {"AIRFLOW_VAR_ZOHO_TENANTS": json.dumps([{"user_id": A, "conn_id": "zoho_books_default"}])}
    assert cli("--uri", uri, env_extra=tenants).returncode == 0
    bad = cli("--uri", uri, "--thresholds", '{"min_phone_share": 2}')
    assert bad.returncode == 2 and "min_phone_share is a share between 0 and 1" in bad.stderr


def test_verify_module_does_not_import_airflow():
    code = ("import sys, zoho.checks.verify; bad = sorted(m for m in sys.modules if m == 'airflow' or "
            "m.startswith('airflow.')); print(bad); raise SystemExit(bool(bad))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'plugins'}"}, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
