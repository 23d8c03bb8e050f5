"""``zoho_legacy_backfill`` end to end (``dag.test()``: real Airflow, cosmos + dbt, Postgres) on a
generated legacy table over the sandbox's organisations, in both orders:

- order A (warehouse A): the backfill DAG, then the first Zoho sync (the nightly DAG);
- order B (warehouse B): the first Zoho sync (its extract and dbt, without Airflow, to keep the
  module short), then the backfill DAG reading the same rows from a table of another name, then the
  same backfill again.

The scenario fixture runs the DAGs once and keeps snapshots; the tests assert on them. The last
tests break the end state on purpose and show that the integrity report fails.
"""
from __future__ import annotations

import uuid
from hashlib import md5

import pytest

from tests.legacy import data
from tests.legacy.conftest import (DEFAULT_SOURCE, OTHER_SOURCE, Run, rows, scalar, snapshot, sync_directly,
                                   tenant_countries)
from zoho.legacy import backfill as legacy
from zoho.warehouse import connection as warehouse
from zoho.rules.phones import needs_contact_persons, resolve_primary_phone

# whole-DAG runs on two cores: the module takes minutes (well over the suite's default per-test timeout)
pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(3600)]

TIMESTAMPS = {"updated_at", "_synced_at", "started_at", "finished_at"}
BACKFILL, NIGHTLY = "zoho_legacy_backfill", "zoho_sync_nightly"
CONF_B = {"source_table": OTHER_SOURCE, "default_country": "CA"}


def key_uuid(user_id: str, zoho_id: str) -> uuid.UUID:
    return uuid.UUID(md5(f"{user_id}|{zoho_id}".encode()).hexdigest())


def without(records: list[dict], columns: set[str]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in columns} for r in records]


@pytest.fixture(scope="module")
def scenario(deployment, tmp_path_factory):
    d = deployment
    steps = {}
    steps["a_backfill"] = d.run(BACKFILL, d.uri_a)
    steps["a_after_backfill"] = snapshot(d.uri_a)
    steps["a_sync"] = d.run(NIGHTLY, d.uri_a)
    steps["a_final"] = snapshot(d.uri_a)

    seconds = sync_directly(d.sb, d.uri_b, tmp_path_factory.mktemp("dbt_b"))
    d.runs.append(Run("first sync: extract + dbt build", "success", {}, "direct-full-sync", seconds))
    steps["b_before_backfill"] = snapshot(d.uri_b)
    steps["b_backfill"] = d.run(BACKFILL, d.uri_b, conf=CONF_B)
    steps["b_after_backfill"] = snapshot(d.uri_b)
    steps["b_rerun"] = d.run(BACKFILL, d.uri_b, conf=CONF_B)
    steps["b_final"] = snapshot(d.uri_b)
    return steps


@pytest.fixture(scope="module")
def zoho(deployment):
    """What Zoho (the sandbox) holds, per tenant: customers with their resolved phone, other contacts,
    invoices' customers."""
    sb = deployment.sb
    out = {}
    for org in sb.organizations:
        contacts = sb.contacts(org)
        customers = {}
        for c in contacts:
            if c["contact_type"] != "customer":
                continue
            listed = {k: v for k, v in c.items() if k != "contact_persons"}
            persons = sb.contact_persons(org, c["contact_id"]) if needs_contact_persons(c, org.country) else None
            customers[c["contact_id"]] = {"name": c["contact_name"],
                                          "phone": resolve_primary_phone(listed, persons, org.country)}
        out[org.user_id] = {
            "customers": customers,
            "contacts": {c["contact_id"] for c in contacts},
            "invoices": {i["invoice_id"]: i["customer_id"] for i in sb.invoices(org)},
        }
    return out


@pytest.fixture(scope="module")
def expected(deployment):
    table = deployment.table
    return {"customers": data.expected_customers(table, tenant_countries(deployment.sb)),
            "invoices": data.expected_invoice_customers(table)}


def expected_final(expected, zoho):
    """What the marts must hold for the legacy keys once Zoho has been synced (either order)."""
    customers, invoices = {}, {}
    for (user_id, cid), legacy_customer in expected["customers"].items():
        z = zoho.get(user_id)
        if z and cid in z["customers"]:
            zc = z["customers"][cid]
            phone, source = zc["phone"]
            if phone is None and legacy_customer["phone_e164"]:
                phone, source = legacy_customer["phone_e164"], legacy.PHONE_SOURCE
            customers[(user_id, cid)] = {"customer_name": zc["name"], "primary_phone": phone,
                                         "primary_phone_source": source, "is_deleted": False}
        else:
            customers[(user_id, cid)] = {
                "customer_name": legacy_customer["name"], "email": legacy_customer["email"],
                "primary_phone": legacy_customer["phone_e164"],
                "primary_phone_source": legacy.PHONE_SOURCE if legacy_customer["phone_e164"] else None,
                # an invoice of Zoho's names it and Zoho says it does not exist. (A contact Zoho has as a
                # vendor is not flagged: the sync lands customers only, so the warehouse never sees it.)
                "is_deleted": bool(z) and cid not in z["contacts"] and cid in z["invoices"].values(),
            }
    for (user_id, iid), legacy_customer in expected["invoices"].items():
        z = zoho.get(user_id)
        cid = z["invoices"][iid] if z and iid in z["invoices"] else legacy_customer
        linked = (user_id, cid) in customers or (z and cid in z["customers"])
        invoices[(user_id, iid)] = key_uuid(user_id, cid) if linked else None
    return customers, invoices


# --------------------------------------------------------------------------- the runs
def test_every_run_succeeds(scenario):
    for name in ("a_backfill", "a_sync", "b_backfill", "b_rerun"):
        run = scenario[name]
        assert run.state == "success", (name, {k: v for k, v in run.states.items() if v != "success"})
    backfill = scenario["a_backfill"].states
    assert {"migrate_warehouse", "land_legacy", "integrity_report", "dbt_models.staging", "dbt_models.customers_cache",
            "dbt_models.invoices_cache", "dbt_models.analyst_views"} <= set(backfill)


# --------------------------------------------------------------------------- after the backfill alone (order A)
def test_backfill_builds_one_customer_per_key_with_the_latest_values(scenario, expected):
    mart = {(r["user_id"], r["zoho_customer_id"]): r for r in scenario["a_after_backfill"]["customers"]}
    assert set(mart) == set(expected["customers"])  # nothing but legacy customers yet: Zoho was never synced
    for key, want in expected["customers"].items():
        got = mart[key]
        assert got["id"] == key_uuid(*key)
        assert (got["customer_name"], got["email"]) == (want["name"], want["email"]), key
        assert got["primary_phone"] == want["phone_e164"], key
        assert got["primary_phone_source"] == (legacy.PHONE_SOURCE if want["phone_e164"] else None)
        assert got["status"] == "active" and got["is_deleted"] is False and got["contact_persons"] == []
    # duplicates really were collapsed: a few dozen customers from hundreds of rows
    assert len(mart) * 4 < len(scenario["a_after_backfill"]["invoices"])


def test_backfill_links_every_legacy_invoice_to_exactly_one_customer(scenario, expected):
    mart = {(r["user_id"], r["zoho_invoice_id"]): r for r in scenario["a_after_backfill"]["invoices"]}
    assert set(mart) == set(expected["invoices"])
    for key, customer in expected["invoices"].items():
        assert mart[key]["customer_id"] == key_uuid(key[0], customer), key
        assert mart[key]["zoho_customer_id"] == customer
        assert mart[key]["id"] == key_uuid(*key)
        # the old table held no invoice fields: nothing is made up
        assert mart[key]["status"] is None and mart[key]["total"] is None and mart[key]["balance"] is None


def test_phones_are_read_with_each_tenants_country(scenario, deployment, expected):
    landed = {(r["user_id"], r["customer_id"]): r for r in scenario["a_after_backfill"]["legacy_customers"]}
    for key, want in expected["customers"].items():
        assert landed[key]["phone_e164"] == want["phone_e164"], (key, landed[key]["phone"])
    gb = next(o.user_id for o in deployment.sb.organizations if o.country == "GB")
    # a UK number written the national way (07...) only normalises when read as GB (the connection's country)
    national = [r for r in landed.values() if r["user_id"] == gb and (r["phone"] or "").startswith("07")
                and r["phone_e164"]]
    assert national and all(r["phone_e164"].startswith("+447") for r in national)
    reports = {r["run_id"]: r for r in scenario["a_after_backfill"]["reports"]}
    countries = reports[scenario["a_backfill"].run_id]["landing"]["countries"]
    assert countries == tenant_countries(deployment.sb)  # the unconfigured tenant gets the param default (US)
    b_reports = {r["run_id"]: r for r in scenario["b_final"]["reports"]}
    assert b_reports[scenario["b_backfill"].run_id]["landing"]["countries"][data.UNCONFIGURED_TENANT] == "CA"


def test_unreadable_rows_are_quarantined_with_their_reason(scenario, deployment):
    rejected = scenario["a_after_backfill"]["rejected"]
    want = {}
    for _, reason in deployment.table.broken:
        want[reason] = want.get(reason, 0) + 1
    got = {}
    for r in rejected:
        got[r["reason"]] = got.get(r["reason"], 0) + 1
        assert set(data.SOURCE_COLUMNS) <= set(r["payload"])  # the row is kept whole
    assert got == want
    report = scenario["a_after_backfill"]["reports"][0]
    assert report["rows_rejected"] == len(deployment.table.broken)
    assert report["report"]["rejected_by_reason"] == want
    # an invoice named only by a row without a customer id is reported as such, not dropped silently
    assert report["report"]["unlinked_by_reason"] == {"legacy_row_has_no_customer_id": 1}


def test_backfill_report_counts_reconcile(scenario, deployment, expected):
    report = scenario["a_after_backfill"]["reports"][0]
    table = deployment.table
    assert report["status"] == "success" and report["failed_checks"] == []
    assert report["rows_read"] == len(table.all_rows())
    assert report["customers_found"] == len(expected["customers"])
    assert report["duplicates_collapsed"] == len(table.rows) - len(expected["customers"])
    assert report["customers_created"] == len(expected["customers"]) and report["customers_known_to_zoho"] == 0
    assert report["invoices_found"] == report["invoices_linked"] == len(expected["invoices"])
    # the only invoice without a customer: one named only by a row without a customer id
    assert report["invoices_unlinked"] == report["report"]["invoices_only_in_rejected_rows"] == 1
    with_phone = sum(1 for c in expected["customers"].values() if c["phone_e164"])
    assert report["phones_valid"] == report["phones_recovered"] == with_phone
    assert report["phones_invalid"] > 0


# --------------------------------------------------------------------------- idempotency
def test_rerunning_the_backfill_changes_nothing(scenario):
    before, after = scenario["b_after_backfill"], scenario["b_final"]
    for name in ("customers", "invoices", "legacy_customers", "legacy_invoices", "rejected"):
        assert after[name] == before[name], name  # timestamps included: nothing was rewritten
    first, second = after["reports"]
    assert second["landing"]["customers_written"] == second["landing"]["invoices_written"] == 0
    assert second["landing"]["rejected_recorded"] == 0
    assert without([first], TIMESTAMPS | {"run_id", "landing"}) == without([second], TIMESTAMPS | {"run_id", "landing"})


# --------------------------------------------------------------------------- Zoho wins, in either order
@pytest.mark.parametrize("step", ["a_final", "b_final"])
def test_after_sync_zoho_wins_and_legacy_fills_only_missing_phones(scenario, expected, zoho, step):
    want_customers, want_invoices = expected_final(expected, zoho)
    customers = {(r["user_id"], r["zoho_customer_id"]): r for r in scenario[step]["customers"]}
    for key, want in want_customers.items():
        got = customers[key]
        assert got["id"] == key_uuid(*key)
        assert {k: got[k] for k in want} == want, key
    recovered_for_zoho = [k for k, c in customers.items() if c["primary_phone_source"] == legacy.PHONE_SOURCE
                          and k[1] in zoho.get(k[0], {}).get("customers", {})]
    assert recovered_for_zoho  # Zoho customers without a valid phone got the legacy one
    # Zoho's own customers that the legacy table does not know are exactly as Zoho has them
    for user_id, z in zoho.items():
        for cid, zc in z["customers"].items():
            if (user_id, cid) not in want_customers:
                got = customers[(user_id, cid)]
                assert (got["customer_name"], got["primary_phone"], got["primary_phone_source"]) == \
                    (zc["name"], *zc["phone"])
    invoices = {(r["user_id"], r["zoho_invoice_id"]): r for r in scenario[step]["invoices"]}
    for key, customer_id in want_invoices.items():
        assert invoices[key]["customer_id"] == customer_id, key


def test_a_later_sync_replaces_the_legacy_fields_of_migrated_customers(scenario, zoho):
    before = {(r["user_id"], r["zoho_customer_id"]): r for r in scenario["a_after_backfill"]["customers"]}
    after = {(r["user_id"], r["zoho_customer_id"]): r for r in scenario["a_final"]["customers"]}
    migrated = [k for k in before if k[1] in zoho.get(k[0], {}).get("customers", {})]
    assert migrated
    renamed = 0
    for key in migrated:
        assert after[key]["id"] == before[key]["id"]
        assert after[key]["customer_name"] == zoho[key[0]]["customers"][key[1]]["name"]
        assert after[key]["zoho_last_modified_time"] is not None and before[key]["zoho_last_modified_time"] is None
        renamed += before[key]["customer_name"] != after[key]["customer_name"]
        if before[key]["customer_hash"] != after[key]["customer_hash"]:
            assert after[key]["updated_at"] > before[key]["updated_at"]
    assert renamed > 0  # conflicting legacy spellings were replaced by Zoho's name


def test_both_orders_reach_the_same_marts(scenario):
    a, b = scenario["a_final"], scenario["b_final"]
    for name in ("customers", "invoices"):
        assert len(a[name]) == len(b[name])
        assert without(a[name], TIMESTAMPS) == without(b[name], TIMESTAMPS), name
    for name in ("legacy_customers", "legacy_invoices"):
        assert without(a[name], TIMESTAMPS | {"source_table"}) == without(b[name], TIMESTAMPS | {"source_table"})
    assert without(a["rejected"], set()) == without(b["rejected"], set())


def test_final_reports_agree_and_explain_every_unlinked_invoice(scenario, deployment, zoho):
    report_b = {r["run_id"]: r for r in scenario["b_final"]["reports"]}[scenario["b_backfill"].run_id]
    assert report_b["status"] == "success", report_b["failed_checks"]
    assert report_b["customers_known_to_zoho"] > 0
    assert report_b["customers_created"] + report_b["customers_known_to_zoho"] == report_b["customers_found"]
    assert report_b["invoices_linked"] + report_b["invoices_unlinked"] == \
        report_b["invoices_found"] + report_b["report"]["invoices_only_in_rejected_rows"]
    # per tenant, one Zoho invoice whose customer Zoho says does not exist (and the legacy table named another)
    assert report_b["report"]["unlinked_by_reason"] == {
        "zoho_customer_does_not_exist": len(zoho), "legacy_row_has_no_customer_id": 1}
    assert report_b["report"]["invoices_unlinked_without_reason"] == 0
    assert report_b["report"]["phones_recovered_for_zoho_customers"] > 0
    # per tenant, the customer Zoho says does not exist
    assert report_b["report"]["customers_created_flagged_deleted"] == len(zoho)
    # order A's report, computed again now that Zoho is synced, says the same
    again = legacy.integrity_report(deployment.uri_a, DEFAULT_SOURCE, "check-after-sync")
    assert again.ok, again.failed_checks
    assert {k: again.counts[k] for k in ("customers_created", "customers_known_to_zoho", "invoices_linked",
                                 "invoices_unlinked", "phones_recovered")} == \
        {k: report_b[k] for k in ("customers_created", "customers_known_to_zoho", "invoices_linked",
                                  "invoices_unlinked", "phones_recovered")}
    assert "phones recovered" in again.table() and "duplicates collapsed" in again.table()


# --------------------------------------------------------------------------- failing runs
def test_a_missing_source_table_fails_the_run_without_retry(deployment):
    run = deployment.run(BACKFILL, deployment.uri_a, conf={"source_table": "legacy.no_such_table"})
    assert run.state == "failed"
    assert run.states["land_legacy"] == "failed"
    assert run.states["integrity_report"] == "upstream_failed"
    report = scalar(deployment.uri_a, "select count(*) from zoho_sync.legacy_backfill_runs where run_id = %s",
                    run.run_id)
    assert report == 0


def test_report_fails_when_an_invoice_is_left_without_a_customer(deployment, expected):
    uri = deployment.uri_a
    user_id, invoice_id = next(k for k, c in expected["invoices"].items() if "-L" in k[1])
    with warehouse.connect(uri, autocommit=True) as conn:
        conn.execute("update analytics.invoices_cache set customer_id = null where user_id = %s "
                     "and zoho_invoice_id = %s", (user_id, invoice_id))
    try:
        report = legacy.integrity_report(uri, DEFAULT_SOURCE, "probe-unlinked")
    finally:
        with warehouse.connect(uri, autocommit=True) as conn:
            conn.execute("update analytics.invoices_cache set customer_id = %s where user_id = %s "
                         "and zoho_invoice_id = %s",
                         (key_uuid(user_id, expected["invoices"][(user_id, invoice_id)]), user_id, invoice_id))
    assert not report.ok
    assert any("without a reason: 1 != 0" in check for check in report.failed_checks)
    assert [user_id, invoice_id, "unexplained"] in report.counts["problem_examples"]
    stored = rows(uri, "select status, failed_checks from zoho_sync.legacy_backfill_runs "
                       "where run_id = 'probe-unlinked'")
    assert stored[0]["status"] == "failed" and stored[0]["failed_checks"] == report.failed_checks


def test_the_run_fails_when_the_marts_disagree_with_the_legacy_table(deployment):
    """A recovered phone changed behind dbt's back: the report task (run alone here, to keep the module
    short) fails, and with it the run."""
    uri = deployment.uri_a
    target = rows(uri, "select user_id, zoho_customer_id, primary_phone from analytics.customers_cache "
                       "where primary_phone_source = %s order by 1, 2 limit 1", legacy.PHONE_SOURCE)[0]
    with warehouse.connect(uri, autocommit=True) as conn:
        conn.execute("update analytics.customers_cache set primary_phone = '+12025550100' where user_id = %s "
                     "and zoho_customer_id = %s", (target["user_id"], target["zoho_customer_id"]))
    try:
        run = deployment.run(BACKFILL, uri, task_ids=["integrity_report"])
    finally:
        with warehouse.connect(uri, autocommit=True) as conn:
            conn.execute("update analytics.customers_cache set primary_phone = %s where user_id = %s "
                         "and zoho_customer_id = %s",
                         (target["primary_phone"], target["user_id"], target["zoho_customer_id"]))
    assert run.state == "failed"
    assert run.states == {"integrity_report": "failed"}
    stored = rows(uri, "select status, failed_checks from zoho_sync.legacy_backfill_runs where run_id = %s", run.run_id)
    assert stored[0]["status"] == "failed"
    assert any("primary phone disagrees" in check for check in stored[0]["failed_checks"])


def test_timings(deployment, capsys):
    """Not an assertion on speed: the seconds of each run, written to the terminal for the record."""
    with capsys.disabled():
        print()
        for run in deployment.runs:
            print(f"  {run.dag_id:34} {run.state:8} {run.seconds:7.1f} s")
    assert deployment.runs
