"""Whole-DAG runs (``dag.test()``: real Airflow, real cosmos + dbt, real Great Expectations) against
the sandbox and a fresh warehouse database; the tables are checked against the sandbox's data."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from zoho.warehouse import connection as warehouse
from zoho.rules.phones import needs_contact_persons, resolve_primary_phone
from zoho.reminders.policy import parse_policy

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SIZE = {"seed": 23, "orgs": 2, "contacts_per_org": 60, "invoices_per_org": 400}


def rows(uri, sql, *params):
    with warehouse.connect(uri) as conn:
        return conn.execute(sql, params).fetchall()


def scalar(uri, sql, *params):
    return rows(uri, sql, *params)[0][0]


@pytest.fixture(scope="module")
def dags():
    from pathlib import Path

    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(Path(__file__).resolve().parents[2] / "dags"))
    assert bag.import_errors == {}
    return bag.dags


@pytest.fixture(scope="module")
def deployment(sandbox_factory, make_database):
    """Sandbox (Zoho's default limits enforced) + fresh warehouse, wired through AIRFLOW_* variables."""
    sb = sandbox_factory(**SIZE)
    uri = make_database("dagrun")
    env = {**sb.airflow_env(), "AIRFLOW_CONN_WAREHOUSE_DEFAULT": uri}
    mp = pytest.MonkeyPatch()
    for k, v in env.items():
        mp.setenv(k, v)
    mp.delenv("AIRFLOW_VAR_ZOHO_REMINDER_POLICY", raising=False)
    yield sb, uri, mp
    mp.undo()


def run(dag, when: datetime):
    dr = dag.test(logical_date=when, run_after=when)
    states = {ti.task_id + (f"[{ti.map_index}]" if ti.map_index >= 0 else ""): ti.state
              for ti in dr.get_task_instances()}
    return dr, states


def expected_reminders(sb, org, run_date: date) -> dict[tuple[str, int], str]:
    """What the sandbox's data implies for one tenant: (zoho_invoice_id, step) -> pending/skipped."""
    policy = parse_policy(None)
    start, end = policy.window(run_date)
    contacts = {c["contact_id"]: c for c in sb.contacts(org)}
    out = {}
    for inv in sb.invoices(org):
        if inv["status"] not in policy.eligible_statuses or not inv.get("due_date"):
            continue
        if Decimal(str(inv["balance"] or 0)) <= 0:
            continue
        due = date.fromisoformat(inv["due_date"])
        for step in policy.steps:
            if start <= due + timedelta(days=step) <= end:
                contact = contacts.get(inv["customer_id"])
                persons = sb.contact_persons(org, contact["contact_id"]) if contact else []
                if contact and contact.get("contact_type") != "customer":
                    contact = None
                phone, _ = resolve_primary_phone(contact, persons, org.country) if contact else (None, None)
                out[(inv["invoice_id"], step)] = "pending" if phone else "skipped"
    return out


def test_nightly_then_incremental_build_marts_that_match_the_sandbox(dags, deployment):
    sb, uri, _ = deployment
    now = datetime.now(timezone.utc).replace(microsecond=0)
    dr, states = run(dags["zoho_sync_nightly"], now)
    assert dr.state == "success", {k: v for k, v in states.items() if v != "success"}

    for org in sb.organizations:
        customers = [c for c in sb.contacts(org) if c["contact_type"] == "customer"]
        mart = {r[0]: r[1:] for r in rows(uri, "select zoho_customer_id, customer_name, status, primary_phone, "
                                               "primary_phone_source from analytics.customers_cache "
                                               "where user_id = %s and not is_deleted", org.user_id)}
        assert set(mart) == {c["contact_id"] for c in customers}
        for c in customers:
            name, status, phone, source = mart[c["contact_id"]]
            assert name == c["contact_name"]
            assert status == c["status"]
            # the dbt phone choice agrees with the Python rule on the sandbox's data (persons are only
            # fetched where the rule needs them: a valid own mobile needs no call, docs/CONTRACT.md "Primary phone")
            listed = {k: v for k, v in c.items() if k != "contact_persons"}  # as the listing returns it
            persons = sb.contact_persons(org, c["contact_id"]) if needs_contact_persons(c, org.country) else None
            assert (phone, source) == resolve_primary_phone(listed, persons, org.country), c["contact_id"]
        invoices = {i["invoice_id"]: i for i in sb.invoices(org)}
        inv_mart = {r[0]: r[1:] for r in rows(uri, "select zoho_invoice_id, status, total, balance, due_date "
                                                   "from analytics.invoices_cache where user_id = %s", org.user_id)}
        assert set(inv_mart) == set(invoices)
        for iid, (status, total, balance, due) in inv_mart.items():
            src = invoices[iid]
            assert status == src["status"]
            assert total == Decimal(str(src["total"])) and balance == Decimal(str(src["balance"]))
            assert (due.isoformat() if due else None) == (src.get("due_date") or None)

    # reminders: exactly what the data implies for the run's date
    for org in sb.organizations:
        expected = expected_reminders(sb, org, now.date())
        got = {(r[0], r[1]): r[2] for r in rows(
            uri, "select i.zoho_invoice_id, r.offset_days, r.status from analytics.payment_reminders r "
                 "join analytics.invoices_cache i on i.id = r.invoice_id where r.user_id = %s", org.user_id)}
        assert got == expected
    assert scalar(uri, "select count(*) from zoho_sync.quality_results where run_id = %s and not success",
                  dr.run_id) == 0
    # the analyst views join, never copy: one row per invoice / reminder, customer fields from the mart
    assert scalar(uri, "select count(*) from analytics.invoices_with_customer") == \
        scalar(uri, "select count(*) from analytics.invoices_cache")
    assert scalar(uri, "select count(*) from analytics.reminders_with_customer") == \
        scalar(uri, "select count(*) from analytics.payment_reminders")
    assert scalar(uri, "select count(*) from analytics.invoices_with_customer v join analytics.customers_cache c "
                       "on c.id = v.customer_id where v.customer_primary_phone is distinct from c.primary_phone") == 0

    # a phone changed in Zoho reaches primary_phone after an incremental run; only that customer moves
    org = sb.organizations[0]
    target = next(c for c in sb.contacts(org) if c["contact_type"] == "customer" and c.get("mobile"))
    new_mobile = "+1 415 555 0199" if org.country == "US" else "+44 7700 900123"
    before = dict(rows(uri, "select zoho_customer_id, updated_at from analytics.customers_cache where user_id = %s",
                       org.user_id))
    ids_before = dict(rows(uri, "select zoho_customer_id, id from analytics.customers_cache"))
    sb.update_contact(org, target["contact_id"], mobile=new_mobile)
    dr2, states2 = run(dags["zoho_sync_incremental"], now + timedelta(minutes=30))
    assert dr2.state == "success", {k: v for k, v in states2.items() if v != "success"}
    after = dict(rows(uri, "select zoho_customer_id, updated_at from analytics.customers_cache where user_id = %s",
                      org.user_id))
    moved = {k for k in after if after[k] != before.get(k)}
    assert moved == {target["contact_id"]}
    phone = scalar(uri, "select primary_phone from analytics.customers_cache where user_id = %s "
                        "and zoho_customer_id = %s", org.user_id, target["contact_id"])
    assert phone == resolve_primary_phone(sb.contact(org, target["contact_id"]),
                                          sb.contact_persons(org, target["contact_id"]), org.country)[0]
    assert dict(rows(uri, "select zoho_customer_id, id from analytics.customers_cache")) == ids_before
    meta = rows(uri, "select user_id, entity, last_mode, status from zoho_sync.sync_metadata order by 1, 2")
    assert {(m[2], m[3]) for m in meta} == {("incremental", "success")}

    # re-running the same incremental run date changes no reminder
    snapshot = rows(uri, "select id, status, reason, phone, updated_at from analytics.payment_reminders order by id")
    dr3, _ = run(dags["zoho_sync_incremental"], now + timedelta(minutes=31))
    assert dr3.state == "success"
    assert rows(uri, "select id, status, reason, phone, updated_at from analytics.payment_reminders "
                     "order by id") == snapshot


def test_a_tenant_with_a_bad_refresh_token_fails_alone(dags, deployment):
    sb, uri, mp = deployment
    broken = sb.airflow_connection(sb.organizations[1])
    broken["extra"] = {**broken["extra"], "refresh_token": "1000.revoked-refresh-token-value"}
    tenants = json.loads(__import__("os").environ["AIRFLOW_VAR_ZOHO_TENANTS"])
    mp.setenv("AIRFLOW_CONN_ZOHO_BOOKS_BROKEN", json.dumps(broken))
    mp.setenv("AIRFLOW_VAR_ZOHO_TENANTS", json.dumps(tenants + [{"user_id": "broken-tenant",
                                                                  "conn_id": "zoho_books_broken"}]))
    before = scalar(uri, "select max(finished_at) from zoho_sync.sync_metadata where user_id = %s",
                    sb.organizations[0].user_id)
    when = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(hours=1)
    dr, states = run(dags["zoho_sync_incremental"], when)
    assert dr.state == "failed"
    failed = sorted(k for k, v in states.items() if v == "failed")
    assert failed == ["extract[2]", "run_failed"], states
    assert states["generate_reminders"] == "success"
    assert scalar(uri, "select max(finished_at) from zoho_sync.sync_metadata where user_id = %s",
                  sb.organizations[0].user_id) > before
    error = scalar(uri, "select last_error from zoho_sync.sync_metadata where user_id = 'broken-tenant' "
                        "and entity = 'contacts'")
    assert error is None or "broken-tenant" in error
    assert "revoked-refresh-token-value" not in json.dumps(rows(uri, "select * from zoho_sync.sync_metadata"),
                                                           default=str)
