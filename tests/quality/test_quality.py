"""The quality gate (Great Expectations) against a real Postgres: one broken invariant per case.

The marts are built from the dbt contract (``tests.reminders.marts.create_marts``) and then stripped of their keys and
NOT NULL constraints, so that every invariant can be broken on purpose: the gate is the second line
behind dbt's enforced contract and has to catch what the constraints would.
"""
from __future__ import annotations

import json
from decimal import Decimal
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from tests.reminders.marts import add_customer, add_invoice, create_marts
from zoho.warehouse import connection as warehouse
from zoho.checks.quality import EXPECTATIONS, MAX_EXAMPLES, QualityGateError, gate_passed, run_quality_gate

RELAX_CONSTRAINTS = """
do $relax$
declare
    item record;
begin
    for item in
        select conrelid::regclass as tbl, conname
        from pg_constraint
        where conrelid in ('analytics.customers_cache'::regclass, 'analytics.invoices_cache'::regclass)
          and contype in ('f', 'p', 'u')
        order by contype <> 'f'
    loop
        execute format('alter table %s drop constraint %I', item.tbl, item.conname);
    end loop;
    for item in
        select indexrelid::regclass as idx
        from pg_index
        where indrelid in ('analytics.customers_cache'::regclass, 'analytics.invoices_cache'::regclass)
          and indisunique
    loop
        execute format('drop index %s', item.idx);
    end loop;
    for item in
        select attrelid::regclass as tbl, attname
        from pg_attribute
        where attrelid in ('analytics.customers_cache'::regclass, 'analytics.invoices_cache'::regclass)
          and attnum > 0 and not attisdropped and attnotnull
    loop
        execute format('alter table %s alter column %I drop not null', item.tbl, item.attname);
    end loop;
end
$relax$
"""


@pytest.fixture(scope="module")
def marts_uri(warehouse_uri):
    with warehouse.connect(warehouse_uri, autocommit=True) as conn:
        create_marts(conn)
        conn.execute(RELAX_CONSTRAINTS)
    return warehouse_uri


@pytest.fixture
def conn(marts_uri):
    """A clean dataset: two tenants sharing Zoho ids, nulls where the contract allows them."""
    with warehouse.connect(marts_uri, autocommit=True) as conn:
        conn.execute("truncate analytics.invoices_cache, analytics.customers_cache, zoho_sync.quality_results")
        add_customer(conn, "acme", "C1", primary_phone="+14155550100")
        add_customer(conn, "acme", "C2", primary_phone=None, status="inactive")
        add_customer(conn, "acme", "C3", primary_phone="+61412345678")              # no invoices
        add_customer(conn, "globex", "C1", primary_phone="+442071838750")
        add_invoice(conn, "acme", "I1", "C1", status="overdue", total=Decimal(100), balance=Decimal(40))
        add_invoice(conn, "acme", "I2", "C2", status="paid", total=Decimal(50), balance=Decimal(0))
        add_invoice(conn, "acme", "I3", "C404", customer_id=None, status="sent")   # missing customer
        add_invoice(conn, "acme", "I4", "C1", status=None, total=None, balance=None)
        add_invoice(conn, "globex", "I1", "C1", status="draft")
        yield conn


def stored(conn, run_id: str) -> list[dict]:
    cur = conn.execute("select run_id, success, expectation, table_name, column_name, unexpected_count, details "
                       "from zoho_sync.quality_results where run_id = %s order by id", (run_id,))
    names = [c.name for c in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def test_clean_dataset_passes(conn, marts_uri):
    gate = run_quality_gate(marts_uri, "clean")
    assert gate.success and gate.failed == []
    rows = stored(conn, "clean")
    assert len(rows) == len(EXPECTATIONS) == len(gate.results)
    assert all(r["success"] and r["unexpected_count"] == 0 for r in rows)
    assert {r["table_name"] for r in rows} == {"analytics.customers_cache", "analytics.invoices_cache"}
    assert gate_passed(conn, "clean") is True
    assert gate.summary().startswith("quality gate clean: PASSED, 14 expectations")


# (id, statements that break one invariant, expectation, table, column, unexpected count, one example)
BROKEN = [
    ("customer-id-null",
     "insert into analytics.customers_cache (id, user_id, zoho_customer_id, status) values (null, 'acme', 'C9', 'active')",
     "expect_column_values_to_not_be_null", "customers_cache", "id", 1, None),
    ("customer-user-id-null",
     "update analytics.customers_cache set user_id = null where zoho_customer_id = 'C3'",
     "expect_column_values_to_not_be_null", "customers_cache", "user_id", 1, None),
    ("customer-zoho-id-null",
     "update analytics.customers_cache set zoho_customer_id = null where primary_phone = '+442071838750'",
     "expect_column_values_to_not_be_null", "customers_cache", "zoho_customer_id", 1, None),
    ("customer-duplicate",
     "insert into analytics.customers_cache (id, user_id, zoho_customer_id, status) "
     "values (gen_random_uuid(), 'acme', 'C1', 'active')",
     "expect_compound_columns_to_be_unique", "customers_cache", "user_id,zoho_customer_id", 2,
     {"user_id": "acme", "zoho_customer_id": "C1"}),
    ("phone-not-e164",
     "update analytics.customers_cache set primary_phone = '0415 555 0100' where zoho_customer_id = 'C2'",
     "expect_column_values_to_match_regex", "customers_cache", "primary_phone", 1, "0415 555 0100"),
    ("phone-leading-zero",
     "update analytics.customers_cache set primary_phone = '+0415550100' where user_id = 'globex'",
     "expect_column_values_to_match_regex", "customers_cache", "primary_phone", 1, "+0415550100"),
    ("customer-status",
     "update analytics.customers_cache set status = 'archived' where zoho_customer_id = 'C2'",
     "expect_column_values_to_be_in_set", "customers_cache", "status", 1, "archived"),
    ("invoice-id-null",
     "update analytics.invoices_cache set id = null where zoho_invoice_id = 'I2'",
     "expect_column_values_to_not_be_null", "invoices_cache", "id", 1, None),
    ("invoice-user-id-null",
     "update analytics.invoices_cache set user_id = null where zoho_invoice_id = 'I3'",
     "expect_column_values_to_not_be_null", "invoices_cache", "user_id", 1, None),
    ("invoice-zoho-id-null",
     "update analytics.invoices_cache set zoho_invoice_id = null where zoho_invoice_id = 'I4'",
     "expect_column_values_to_not_be_null", "invoices_cache", "zoho_invoice_id", 1, None),
    ("invoice-duplicate",
     "insert into analytics.invoices_cache (id, user_id, zoho_invoice_id, status, total, balance) "
     "values (gen_random_uuid(), 'globex', 'I1', 'sent', 1, 1)",
     "expect_compound_columns_to_be_unique", "invoices_cache", "user_id,zoho_invoice_id", 2,
     {"user_id": "globex", "zoho_invoice_id": "I1"}),
    ("invoice-status",
     "update analytics.invoices_cache set status = 'Overdue' where zoho_invoice_id = 'I1' and user_id = 'acme'",
     "expect_column_values_to_be_in_set", "invoices_cache", "status", 1, "Overdue"),
    ("balance-negative",
     "update analytics.invoices_cache set balance = -5 where zoho_invoice_id = 'I1' and user_id = 'acme'",
     "expect_column_values_to_be_between", "invoices_cache", "balance", 1, "-5"),
    ("balance-above-total",
     "update analytics.invoices_cache set balance = 120 where zoho_invoice_id = 'I1' and user_id = 'acme'",
     "expect_column_pair_values_a_to_be_greater_than_b", "invoices_cache", "total,balance", 1, ["100", "120"]),
    ("orphan-customer",
     "update analytics.invoices_cache set customer_id = gen_random_uuid() where zoho_invoice_id = 'I3'",
     "unexpected_rows_expectation", "invoices_cache", "customer_id", 1,
     {"user_id": "acme", "zoho_invoice_id": "I3"}),
    ("customer-of-another-tenant",
     "update analytics.invoices_cache set customer_id = (select id from analytics.customers_cache "
     "where user_id = 'globex') where user_id = 'acme' and zoho_invoice_id = 'I1'",
     "unexpected_rows_expectation", "invoices_cache", "customer_id", 1,
     {"user_id": "acme", "zoho_invoice_id": "I1"}),
]


def _contains(examples: list, expected) -> bool:
    if isinstance(expected, dict):  # a row: its named columns match
        return any(isinstance(e, dict) and all(e.get(k) == v for k, v in expected.items()) for e in examples)
    if isinstance(expected, list):  # a pair of numbers
        return any([str(Decimal(x)) for x in e] == [str(Decimal(x)) for x in expected] for e in examples)
    return expected in examples


@pytest.mark.parametrize(("statement", "expectation", "table", "column", "count", "example"),
                         [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN])
def test_broken_invariant_fails_its_expectation(conn, marts_uri, statement, expectation, table, column, count,
                                                example):
    conn.execute(statement)
    run_id = f"broken-{table}-{column}"
    gate = run_quality_gate(marts_uri, run_id)

    assert not gate.success
    assert [(r.expectation, r.table_name, r.column_name) for r in gate.failed] == \
        [(expectation, f"analytics.{table}", column)]
    [failed] = gate.failed
    assert failed.unexpected_count == count
    assert _contains(failed.details["examples"], example)

    rows = stored(conn, run_id)
    assert len(rows) == len(EXPECTATIONS)
    [row] = [r for r in rows if not r["success"]]
    assert (row["expectation"], row["table_name"], row["column_name"], row["unexpected_count"]) == \
        (expectation, f"analytics.{table}", column, count)
    assert _contains(row["details"]["examples"], example)
    assert row["details"]["description"]
    assert gate_passed(conn, run_id) is False

    summary = gate.summary()
    assert f"quality gate {run_id}: FAILED, 1 of 14" in summary
    assert f"analytics.{table} [{column}] {expectation}" in summary and f": {count} unexpected" in summary


def test_examples_are_few_and_details_stay_small(conn, marts_uri):
    conn.execute("insert into analytics.customers_cache (id, user_id, zoho_customer_id, primary_phone, status) "
                 "select gen_random_uuid(), 'acme', 'X' || g, 'bad-' || g, 'active' from generate_series(1, 500) g")
    gate = run_quality_gate(marts_uri, "many")
    [failed] = gate.failed
    assert failed.unexpected_count == 500
    assert len(failed.details["examples"]) == MAX_EXAMPLES
    [row] = [r for r in stored(conn, "many") if not r["success"]]
    assert len(json.dumps(row["details"])) < 1000


def test_rerun_replaces_the_rows_of_the_same_run(conn, marts_uri):
    conn.execute("update analytics.invoices_cache set balance = -1 where zoho_invoice_id = 'I1'")
    run_quality_gate(marts_uri, "other-run")
    first = run_quality_gate(marts_uri, "rerun")
    assert not first.success and gate_passed(conn, "rerun") is False
    first_ids = {r[0] for r in conn.execute("select id from zoho_sync.quality_results where run_id = 'rerun'")}

    conn.execute("update analytics.invoices_cache set balance = 1 where zoho_invoice_id = 'I1'")  # fixed
    second = run_quality_gate(marts_uri, "rerun")
    assert second.success
    rows = stored(conn, "rerun")
    assert len(rows) == len(EXPECTATIONS) and all(r["success"] for r in rows)
    assert first_ids.isdisjoint(r[0] for r in conn.execute("select id from zoho_sync.quality_results "
                                                           "where run_id = 'rerun'"))
    assert gate_passed(conn, "rerun") is True
    # another run's rows are kept as they were
    assert gate_passed(conn, "other-run") is False and len(stored(conn, "other-run")) == len(EXPECTATIONS)


def test_gate_not_passed_for_a_run_without_rows(conn):
    assert gate_passed(conn, "never-ran") is False


def _uri_with_password(uri: str) -> tuple[str, str]:
    parts = urlsplit(uri)
    if parts.password:
        return uri, parts.password
    secret = "Gate-Test-S3cret"
    netloc = f"{parts.username or 'postgres'}:{secret}@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)), secret


def test_password_is_not_stored_nor_logged(conn, marts_uri, caplog):
    uri, secret = _uri_with_password(marts_uri)
    try:
        psycopg.connect(uri).close()
    except psycopg.OperationalError:
        pytest.skip("the server does not accept a password in the URI")
    conn.execute("update analytics.customers_cache set primary_phone = 'call me' where zoho_customer_id = 'C2'")
    conn.execute("update analytics.invoices_cache set customer_id = gen_random_uuid() where zoho_invoice_id = 'I3'")
    with caplog.at_level("DEBUG"):
        gate = run_quality_gate(uri, "secret")
    assert not gate.success
    dumped = json.dumps(stored(conn, "secret"), default=str)
    assert "call me" in dumped
    assert secret not in dumped
    assert secret not in gate.summary()
    assert secret not in caplog.text


def test_gate_that_cannot_run_is_a_clear_error_without_the_password(make_database):
    uri, secret = _uri_with_password(make_database("nomarts"))  # migrated, but no marts
    try:
        psycopg.connect(uri).close()
    except psycopg.OperationalError:
        pytest.skip("the server does not accept a password in the URI")
    with pytest.raises(QualityGateError) as err:
        run_quality_gate(uri, "no-marts")
    assert "quality gate no-marts could not run" in str(err.value)
    assert secret not in str(err.value)
    with warehouse.connect(uri) as conn:
        assert gate_passed(conn, "no-marts") is False


def test_expectation_that_cannot_run_fails_the_gate_with_its_error(conn, marts_uri):
    conn.execute("alter table analytics.customers_cache rename column status to customer_status")
    try:
        gate = run_quality_gate(marts_uri, "broken-column")
    finally:
        conn.execute("alter table analytics.customers_cache rename column customer_status to status")
    [failed] = gate.failed
    assert (failed.table_name, failed.column_name) == ("analytics.customers_cache", "status")
    assert "status" in failed.details["exception"] and len(failed.details["exception"]) <= 300
    assert "could not run" in gate.summary()
    assert gate_passed(conn, "broken-column") is False
