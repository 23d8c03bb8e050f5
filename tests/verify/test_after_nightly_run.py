"""After a real nightly run (``dag.test()``: real Airflow, cosmos + dbt, Great Expectations) against
the sandbox and a fresh warehouse:

- the run ends with a passing ``verify_deployment`` task;
- every figure of its report (the task's XCom) matches the tables, counted here independently, and
  the sandbox's own data and request log;
- a crossed threshold fails the task with the readable report;
- the example queries of docs/ANALYST_GUIDE.md run and return rows.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from tests.docs.markdown import blocks
from zoho.warehouse import connection as warehouse

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SIZE = {"seed": 23, "orgs": 2, "contacts_per_org": 60, "invoices_per_org": 400}
ANALYST_QUERIES = blocks("docs/ANALYST_GUIDE.md", "sql")


@dataclass
class Nightly:
    sandbox: object
    uri: str
    run: object
    states: dict
    report: dict
    monkeypatch: pytest.MonkeyPatch


def rows(uri, query, *params):
    with warehouse.connect(uri) as conn:
        return conn.execute(query, params).fetchall()


@pytest.fixture(scope="module")
def nightly(sandbox_factory, make_database):
    from airflow.dag_processing.dagbag import DagBag

    sb = sandbox_factory(**SIZE)
    uri = make_database("verify_dagrun")
    mp = pytest.MonkeyPatch()
    for key, value in {**sb.airflow_env(), "AIRFLOW_CONN_WAREHOUSE_DEFAULT": uri}.items():
        mp.setenv(key, value)
    mp.delenv("AIRFLOW_VAR_ZOHO_REMINDER_POLICY", raising=False)
    mp.delenv("AIRFLOW_VAR_ZOHO_VERIFY_THRESHOLDS", raising=False)
    bag = DagBag(dag_folder=str(Path(__file__).resolve().parents[2] / "dags"))
    assert bag.import_errors == {}
    now = datetime.now(timezone.utc).replace(microsecond=0)
    dr = bag.dags["zoho_sync_nightly"].test(logical_date=now, run_after=now)
    states = {ti.task_id + (f"[{ti.map_index}]" if ti.map_index >= 0 else ""): ti.state
              for ti in dr.get_task_instances()}
    ti = dr.get_task_instance("verify_deployment")
    report = ti.xcom_pull(task_ids="verify_deployment") if ti is not None else None
    yield Nightly(sb, uri, dr, states, report, mp)
    mp.undo()


def test_the_nightly_run_ends_with_a_passing_verification(nightly):
    assert nightly.run.state == "success", {k: v for k, v in nightly.states.items() if v != "success"}
    assert nightly.states["verify_deployment"] == "success"
    assert nightly.report["ok"] is True and nightly.report["problems"] == []
    assert [t["user_id"] for t in nightly.report["tenants"]] == [o.user_id for o in nightly.sandbox.organizations]
    for tenant in nightly.report["tenants"]:
        assert all(c["ok"] for c in tenant["checks"]), tenant["checks"]
        assert {c["name"] for c in tenant["checks"]} == {
            "min_phone_share", "max_invoices_without_customer_share", "max_hours_since_sync",
            "max_hours_since_full_sync", "max_budget_share"}


def test_report_figures_match_the_tables_and_the_sandbox(nightly):
    sb, uri = nightly.sandbox, nightly.uri
    customers = rows(uri, "select user_id, is_deleted, primary_phone from analytics.customers_cache")
    invoices = rows(uri, "select user_id, is_deleted, customer_id from analytics.invoices_cache")
    reminders = Counter(rows(uri, "select user_id, status, reason from analytics.payment_reminders"))
    sync = rows(uri, "select user_id, entity, status, last_mode, api_calls, person_calls, missing_customers "
                     "from zoho_sync.sync_metadata")
    for org in sb.organizations:
        t = next(x for x in nightly.report["tenants"] if x["user_id"] == org.user_id)
        # against the tables, counted here
        live = [c for c in customers if c[0] == org.user_id and not c[1]]
        assert t["customers"] == len(live)
        assert t["customers_with_phone"] == sum(1 for c in live if c[2] is not None)
        assert t["phone_share"] == round(t["customers_with_phone"] / t["customers"], 6)
        live_invoices = [i for i in invoices if i[0] == org.user_id and not i[1]]
        assert t["invoices"] == len(live_invoices)
        assert t["invoices_without_customer"] == sum(1 for i in live_invoices if i[2] is None)
        assert {(r["status"], r["reason"]): r["count"] for r in t["reminders"]} == \
            {(s, r): n for (u, s, r), n in reminders.items() if u == org.user_id}
        mine = [s for s in sync if s[0] == org.user_id]
        assert {s[1]: (s[2], s[3]) for s in mine} == {"contacts": ("success", "full"), "invoices": ("success", "full")}
        assert t["api_calls"] == sum(s[4] for s in mine)
        assert t["sync"]["contacts"]["person_calls"] == next(s[5] for s in mine if s[1] == "contacts")
        assert t["customers_missing_in_zoho"] == next(s[6] for s in mine if s[1] == "invoices")
        assert t["budget_share"] == round(t["api_calls"] / 1000, 6)
        assert 0 <= t["hours_since_sync"] < 1 and 0 <= t["hours_since_full_sync"] < 1
        # against the sandbox: its customers and invoices, and the Books API requests it answered
        zoho_customers = {c["contact_id"] for c in sb.contacts(org) if c["contact_type"] == "customer"}
        assert t["customers"] == len(zoho_customers)
        zoho_invoices = sb.invoices(org)
        assert t["invoices"] == len(zoho_invoices)
        assert t["invoices_without_customer"] == sum(1 for i in zoho_invoices if i["customer_id"] not in zoho_customers)
        assert t["invoices_without_customer"] >= 1  # the sandbox always has some
        assert t["api_calls"] == sb.call_count(path_prefix="/books/", org_id=org.organization_id)


def test_a_crossed_threshold_fails_the_task_with_the_readable_report(nightly):
    from airflow.sdk.exceptions import AirflowFailException

    from zoho.airflow import tasks

    tenants = [{"user_id": o.user_id, "conn_id": "unused"} for o in nightly.sandbox.organizations]
    nightly.monkeypatch.setenv("AIRFLOW_VAR_ZOHO_VERIFY_THRESHOLDS", json.dumps(
        {"min_phone_share": 0.99, "tenants": {tenants[1]["user_id"]: {"min_phone_share": 0.1}}}))
    try:
        with pytest.raises(AirflowFailException) as exc:
            tasks.verify_deployment(tenants)
        text = str(exc.value)
        assert f"FAILED: 1 of 2 tenant(s): {tenants[0]['user_id']}" in text
        assert "FAIL  min_phone_share" in text and "< minimum 99.0 %" in text
        nightly.monkeypatch.setenv("AIRFLOW_VAR_ZOHO_VERIFY_THRESHOLDS", '{"min_phone_share": "high"}')
        with pytest.raises(AirflowFailException, match="min_phone_share must be a number"):
            tasks.verify_deployment(tenants)
    finally:
        nightly.monkeypatch.delenv("AIRFLOW_VAR_ZOHO_VERIFY_THRESHOLDS")


@pytest.fixture(scope="module")
def sender_acted(nightly):
    """A sender's day on the nightly's reminders, through the SQL functions: one reminder sent, one
    failed for good, one failed for a retry (the analyst guide's history queries read them)."""
    with warehouse.connect(nightly.uri, autocommit=True) as conn:
        batch = conn.execute("select reminder_id, lease_id from analytics.claim_reminders('guide-sender', 3, 300)").fetchall()
        assert len(batch) == 3, f"the nightly made {len(batch)} due reminders; the guide's queries need 3"
        (sent, lease), (failed, _), (retry, _) = batch
        conn.execute("select analytics.mark_reminder_sent(%s, %s, 'twilio', 'SM-guide')", (sent, lease))
        conn.execute("select analytics.mark_reminder_failed(%s, %s, 'not a mobile number', false)", (failed, lease))
        conn.execute("select analytics.mark_reminder_failed(%s, %s, 'carrier timeout', true)", (retry, lease))
    return nightly


@pytest.mark.parametrize("query", ANALYST_QUERIES, ids=[q.where for q in ANALYST_QUERIES])
def test_analyst_guide_query_runs_and_returns_rows(nightly, sender_acted, query):
    with warehouse.connect(nightly.uri) as conn:
        cur = conn.execute(query.body)
        result = cur.fetchall()
        columns = [d.name for d in cur.description]
    assert result, f"{query.where} returned no rows"
    print(f"\n{query.where}: {len(result)} rows, columns {columns}; first: {result[0]}")
    if "overdue_balance" in columns:  # the overdue query sums money exactly, per currency
        assert all(isinstance(r[columns.index("overdue_balance")], Decimal) for r in result)
