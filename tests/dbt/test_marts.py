"""The marts built by dbt from landed raw rows: contract, dedupe, phone choice, incremental runs.

One scenario per module (dbt invocations cost seconds): the ``scenario`` fixture lands the raw
rows, runs dbt several times (build, a run with nothing new, a run after changes, a full refresh of
each mart, a run after a late customer arrives) and records what each step left behind; the tests
assert on those records.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import psycopg
import pytest
from psycopg.rows import dict_row

from tests.dbt.conftest import connect, land_contact
from tests.reminders.marts import MARTS, create_marts
from tests.dbt.data import (ACME, BOWMAN, GB_SHOP, GLOBEX, GONE, LATE, QUIET, SUPPLIER, TWICE, ZYLKER,
                            contact, land_all, person)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CUSTOMER_COLUMNS = [
    "id", "user_id", "zoho_customer_id", "customer_name", "company_name", "email", "phone", "mobile",
    "primary_phone", "primary_phone_source", "phone_pending", "contact_persons", "status", "is_deleted",
    "customer_hash", "zoho_last_modified_time", "updated_at",
]
INVOICE_COLUMNS = [
    "id", "user_id", "zoho_invoice_id", "customer_id", "zoho_customer_id", "invoice_number", "status",
    "invoice_date", "due_date", "currency_code", "total", "balance", "is_deleted", "invoice_hash",
    "zoho_last_modified_time", "updated_at",
]
REMINDER_ID = uuid.uuid4()


@dataclass
class Step:
    customers: dict[tuple[str, str], dict]
    invoices: dict[tuple[str, str], dict]
    fk_rejects_unknown_customer: bool | None = None
    rows_affected: dict[str, int] = field(default_factory=dict)


def _snapshot(uri: str) -> Step:
    with connect(uri) as conn, conn.cursor(row_factory=dict_row) as cur:
        customers = {(r["user_id"], r["zoho_customer_id"]): r
                     for r in cur.execute("select * from analytics.customers_cache").fetchall()}
        invoices = {(r["user_id"], r["zoho_invoice_id"]): r
                    for r in cur.execute("select * from analytics.invoices_cache").fetchall()}
    return Step(customers, invoices)


def _fk_rejects_unknown_customer(uri: str) -> bool:
    """Insert an invoice pointing at a customer id that does not exist: Postgres must refuse."""
    with connect(uri) as conn:
        try:
            with conn.transaction():
                conn.execute(
                    "insert into analytics.invoices_cache (id, user_id, zoho_invoice_id, customer_id, "
                    "is_deleted, invoice_hash, updated_at) values (%s, 'acme', 'fk-probe', %s, false, 'x', now())",
                    (uuid.uuid4(), uuid.uuid4()))
        except psycopg.errors.ForeignKeyViolation:
            return True
        conn.execute("delete from analytics.invoices_cache where zoho_invoice_id = 'fk-probe'")
        return False


def _rows_affected(result) -> dict[str, int]:
    marts = ("customers_cache", "invoices_cache")
    return {r["unique_id"].split(".")[-1]: r["adapter_response"].get("rows_affected")
            for r in result.results if r["unique_id"].split(".")[-1] in marts}


@pytest.fixture(scope="module")
def scenario(dbt_db) -> dict[str, Step]:
    uri, dbt = dbt_db
    steps: dict[str, Step] = {}
    with connect(uri) as conn:
        land_all(conn)
        conn.execute(  # owned by Alembic: dbt must never drop or touch it
            "insert into analytics.payment_reminders (id, user_id, invoice_id, offset_days, scheduled_for, status) "
            "values (%s, 'acme', %s, 0, '2024-05-16', 'pending')", (REMINDER_ID, uuid.uuid4()))

    dbt("build")
    steps["built"] = _snapshot(uri)
    steps["built"].fk_rejects_unknown_customer = _fk_rejects_unknown_customer(uri)

    result = dbt("run")
    steps["rerun"] = _snapshot(uri)
    steps["rerun"].rows_affected = _rows_affected(result)

    with connect(uri) as conn:
        # a business change (email) and a change Zoho made to a field the mart does not hold
        land_contact(conn, ACME, contact(BOWMAN, "Bowman and Co", email="accounts@bowman.example",
                                         phone="+1-925-921-9201", mobile="+1-4054439562",
                                         modified="2024-06-01T08:00:00+0000"),
                     mobile_e164="+14054439562", phone_e164="+19259219201")
        land_contact(conn, ACME, contact(GB_SHOP, "Corner Shop Ltd", status="inactive", mobile="07911 123456",
                                         modified="2024-06-01T08:00:00+0000", payment_terms=30),
                     mobile_e164="+447911123456")
    result = dbt("run")
    steps["changed"] = _snapshot(uri)
    steps["changed"].rows_affected = _rows_affected(result)

    dbt("run", "--full-refresh", "--select", "customers_cache")
    steps["customers_refreshed"] = _snapshot(uri)
    steps["customers_refreshed"].fk_rejects_unknown_customer = _fk_rejects_unknown_customer(uri)

    dbt("run", "--full-refresh", "--select", "invoices_cache")
    steps["invoices_refreshed"] = _snapshot(uri)
    steps["invoices_refreshed"].fk_rejects_unknown_customer = _fk_rejects_unknown_customer(uri)

    with connect(uri) as conn:
        land_contact(conn, ACME, contact(LATE, "Late Arrival GmbH", mobile="0151 23456789"),
                     mobile_e164="+4915123456789",
                     persons=[(person("460000000026098", "Eva", "Late", primary=True), None, None)])
    dbt("run")
    steps["late_customer"] = _snapshot(uri)
    steps["late_customer"].fk_rejects_unknown_customer = _fk_rejects_unknown_customer(uri)

    with connect(uri) as conn:  # a customer that is no longer one: gone from a rebuilt customers_cache
        land_contact(conn, ACME, contact(GONE, "Gone Ltd", contact_type="vendor", mobile="+1 415 555 0150",
                                         modified="2024-06-02T08:00:00+0000"),
                     mobile_e164="+14155550150", is_deleted=True)
    dbt("run", "--full-refresh", "--select", "customers_cache")
    steps["no_longer_customer"] = _snapshot(uri)
    steps["no_longer_customer"].fk_rejects_unknown_customer = _fk_rejects_unknown_customer(uri)

    with connect(uri) as conn:
        steps["reminders"] = conn.execute("select count(*) from analytics.payment_reminders where id = %s",
                                          (REMINDER_ID,)).fetchone()[0]
    return steps


def _columns(uri: str, table: str) -> list[str]:
    with connect(uri) as conn:
        return [r[0] for r in conn.execute(
            "select column_name from information_schema.columns where table_schema = 'analytics' "
            "and table_name = %s order by ordinal_position", (table,)).fetchall()]


def test_marts_have_exactly_the_spec_columns_in_order(scenario, dbt_db):
    uri, _ = dbt_db
    assert _columns(uri, "customers_cache") == CUSTOMER_COLUMNS
    assert _columns(uri, "invoices_cache") == INVOICE_COLUMNS


def test_keys_and_spec_indexes_exist(scenario, dbt_db):
    uri, _ = dbt_db
    with connect(uri) as conn:
        indexes = {(r[0], r[1], r[2]) for r in conn.execute(
            """
            select t.relname, i.indisunique or i.indisprimary,
                   string_agg(a.attname, ',' order by k.ord)
            from pg_index i
            join pg_class t on t.oid = i.indrelid
            join pg_namespace n on n.oid = t.relnamespace and n.nspname = 'analytics'
            cross join lateral unnest(i.indkey) with ordinality as k(attnum, ord)
            join pg_attribute a on a.attrelid = t.oid and a.attnum = k.attnum
            group by t.relname, i.indexrelid, i.indisunique, i.indisprimary
            """).fetchall()}
        constraints = {(r[0], r[1]) for r in conn.execute(
            "select conrelid::regclass::text, contype::text from pg_constraint "
            "where connamespace = 'analytics'::regnamespace").fetchall()}
    assert {
        ("customers_cache", True, "id"),
        ("customers_cache", True, "user_id,zoho_customer_id"),
        ("customers_cache", False, "user_id,primary_phone"),
        ("invoices_cache", True, "id"),
        ("invoices_cache", True, "user_id,zoho_invoice_id"),
        ("invoices_cache", False, "customer_id"),
        ("invoices_cache", False, "user_id,status,due_date"),
    } <= indexes
    assert {("analytics.customers_cache", "p"), ("analytics.invoices_cache", "p"),
            ("analytics.invoices_cache", "f")} <= constraints


def _shape(uri: str) -> dict[str, list[tuple]]:
    """The marts' columns (order, type, NOT NULL), constraints and indexes (without generated names)."""
    tables = [f"analytics.{name}" for name in MARTS]
    with connect(uri) as conn:
        return {
            "columns": conn.execute(
                "select attrelid::regclass::text, attname, format_type(atttypid, atttypmod), attnotnull "
                "from pg_attribute where attrelid = any(%s::regclass[]) and attnum > 0 and not attisdropped "
                "order by attrelid::regclass::text, attnum", (tables,)).fetchall(),
            "constraints": conn.execute(
                "select conrelid::regclass::text, contype::text, pg_get_constraintdef(oid) from pg_constraint "
                "where conrelid = any(%s::regclass[]) order by 1, 2, 3", (tables,)).fetchall(),
            "indexes": conn.execute(
                "select indrelid::regclass::text, regexp_replace(pg_get_indexdef(indexrelid), ' INDEX \\S+ ON ', "
                "' INDEX ON ') from pg_index where indrelid = any(%s::regclass[]) order by 1, 2", (tables,)).fetchall(),
        }


def test_the_reminder_tests_create_the_marts_dbt_builds(scenario, dbt_db, make_database):
    """tests/reminders/marts.py creates the marts from the dbt contract, without dbt: the same
    tables as dbt's build (after incremental runs and full refreshes)."""
    uri, _ = dbt_db
    from_contract = make_database("contract", migrate=False)
    with connect(from_contract) as conn:
        create_marts(conn)
    assert _shape(from_contract) == _shape(uri)


def test_customers_are_deduplicated_and_only_customers(scenario):
    customers = scenario["built"].customers
    assert set(customers) == {(ACME, BOWMAN), (ACME, ZYLKER), (ACME, QUIET), (ACME, TWICE), (ACME, GB_SHOP),
                              (ACME, GONE), (GLOBEX, BOWMAN)}
    assert (ACME, SUPPLIER) not in customers
    assert customers[(ACME, TWICE)]["customer_name"] == "New Name"
    assert customers[(ACME, GONE)]["is_deleted"] is True
    assert customers[(ACME, GB_SHOP)]["status"] == "inactive"
    assert customers[(ACME, QUIET)]["email"] is None  # " " reads as null
    assert customers[(ACME, BOWMAN)]["id"] != customers[(GLOBEX, BOWMAN)]["id"]
    assert customers[(ACME, BOWMAN)]["id"] == uuid.UUID(__import__("hashlib").md5(
        f"{ACME}|{BOWMAN}".encode()).hexdigest())


def test_primary_phone_follows_the_spec_order(scenario):
    customers = scenario["built"].customers
    chosen = {key[1] if key[0] == ACME else "globex": (row["primary_phone"], row["primary_phone_source"])
              for key, row in customers.items()}
    assert chosen == {
        BOWMAN: ("+14155550102", "primary_person.mobile"),  # primary person is 2nd in Zoho's order
        ZYLKER: ("+14155550177", "person.mobile"),          # other person's mobile beats all phones
        QUIET: (None, None),
        TWICE: (None, None),
        GB_SHOP: ("+447911123456", "contact.mobile"),
        GONE: ("+14155550150", "contact.mobile"),
        "globex": ("+442079460958", "contact.mobile"),
    }
    persons = customers[(ACME, BOWMAN)]["contact_persons"]
    assert [p["contact_person_id"] for p in persons] == ["460000000026060", "460000000026061"]
    assert customers[(ACME, QUIET)]["contact_persons"] == []


def test_invoices_reference_customers_and_hold_no_customer_fields(scenario):
    built = scenario["built"]
    invoices, customers = built.invoices, built.customers
    assert len(invoices) == 7
    assert invoices[(ACME, "900001")]["customer_id"] == customers[(ACME, BOWMAN)]["id"]
    assert invoices[(GLOBEX, "900001")]["customer_id"] == customers[(GLOBEX, BOWMAN)]["id"]
    assert invoices[(ACME, "900004")]["customer_id"] is None       # customer not synced (yet)
    assert invoices[(ACME, "900004")]["zoho_customer_id"] == LATE
    assert str(invoices[(ACME, "900003")]["balance"]) == "120.50"
    assert invoices[(ACME, "900005")]["due_date"] is None          # "" reads as null
    assert not any("customer_name" in row or "email" in row for row in invoices.values())


def test_foreign_key_rejects_unknown_customer_after_every_rebuild(scenario):
    assert scenario["built"].fk_rejects_unknown_customer
    assert scenario["customers_refreshed"].fk_rejects_unknown_customer
    assert scenario["invoices_refreshed"].fk_rejects_unknown_customer
    assert scenario["late_customer"].fk_rejects_unknown_customer
    assert scenario["no_longer_customer"].fk_rejects_unknown_customer


def test_rebuilt_customers_drop_a_former_customer_and_unlink_its_invoices(scenario):
    step = scenario["no_longer_customer"]
    assert (ACME, GONE) not in step.customers
    assert step.invoices[(ACME, "900006")]["customer_id"] is None
    assert step.invoices[(ACME, "900006")]["zoho_customer_id"] == GONE
    linked = {key for key, row in scenario["late_customer"].invoices.items() if row["customer_id"]}
    assert {key for key, row in step.invoices.items() if row["customer_id"]} == linked - {(ACME, "900006")}


def test_a_run_with_nothing_new_writes_nothing(scenario):
    assert scenario["rerun"].rows_affected == {"customers_cache": 0, "invoices_cache": 0}
    assert scenario["rerun"].customers == scenario["built"].customers
    assert scenario["rerun"].invoices == scenario["built"].invoices


def test_updated_at_moves_only_for_the_changed_customer(scenario):
    before, after = scenario["built"].customers, scenario["changed"].customers
    assert after[(ACME, BOWMAN)]["email"] == "accounts@bowman.example"
    assert after[(ACME, BOWMAN)]["customer_hash"] != before[(ACME, BOWMAN)]["customer_hash"]
    assert after[(ACME, BOWMAN)]["updated_at"] > before[(ACME, BOWMAN)]["updated_at"]
    # modified in Zoho but not in a field of the mart: new modified time, same hash, same updated_at
    assert after[(ACME, GB_SHOP)]["zoho_last_modified_time"] > before[(ACME, GB_SHOP)]["zoho_last_modified_time"]
    assert after[(ACME, GB_SHOP)]["customer_hash"] == before[(ACME, GB_SHOP)]["customer_hash"]
    assert after[(ACME, GB_SHOP)]["updated_at"] == before[(ACME, GB_SHOP)]["updated_at"]
    for key in set(before) - {(ACME, BOWMAN), (ACME, GB_SHOP)}:
        assert after[key] == before[key], key
    assert scenario["changed"].invoices == scenario["built"].invoices
    assert scenario["changed"].rows_affected == {"customers_cache": 2, "invoices_cache": 0}


@pytest.mark.parametrize("step", ["customers_refreshed", "invoices_refreshed"])
def test_full_refresh_keeps_ids_hashes_and_updated_at(scenario, step):
    before, after = scenario["changed"], scenario[step]
    assert after.customers == before.customers
    assert after.invoices == before.invoices


def test_a_late_customer_gets_linked_to_its_invoices(scenario):
    step = scenario["late_customer"]
    late = step.customers[(ACME, LATE)]
    assert (late["primary_phone"], late["primary_phone_source"]) == ("+4915123456789", "contact.mobile")
    invoice = step.invoices[(ACME, "900004")]
    assert invoice["customer_id"] == late["id"]
    # linking a customer is not a change of the invoice's business fields
    before = scenario["invoices_refreshed"].invoices[(ACME, "900004")]
    assert (invoice["invoice_hash"], invoice["updated_at"]) == (before["invoice_hash"], before["updated_at"])


def test_payment_reminders_survive_every_run(scenario):
    assert scenario["reminders"] == 1
