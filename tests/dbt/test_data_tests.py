"""The dbt tests guard what they claim: each fails when its invariant is broken on purpose.

Invariants Postgres enforces itself (primary keys, the natural keys, not null) cannot be broken in
the data, so for those the test checks that Postgres refuses the write.
"""
from __future__ import annotations

import json
import uuid

import psycopg
import pytest

from tests.dbt.conftest import connect
from tests.dbt.data import ACME, BOWMAN, GB_SHOP, GLOBEX, QUIET, ZYLKER, land_all

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# the data test that must fail → the statement that breaks its invariant (and nothing else's)
BREAKS = {
    "accepted_values_customers_cache_status":
        f"update analytics.customers_cache set status = 'dormant' where zoho_customer_id = '{BOWMAN}' and user_id = '{ACME}'",
    "accepted_values_customers_cache_primary_phone_source":
        f"update analytics.customers_cache set primary_phone_source = 'fax' where zoho_customer_id = '{ZYLKER}'",
    "customers_cache_primary_phone_is_e164":
        f"update analytics.customers_cache set primary_phone = '07911 123456' where zoho_customer_id = '{GB_SHOP}'",
    "customers_cache_primary_phone_has_source":
        f"update analytics.customers_cache set primary_phone_source = 'contact.phone' where zoho_customer_id = '{QUIET}'",
    "customers_cache_contact_persons_is_array":
        f"update analytics.customers_cache set contact_persons = '{{}}' where zoho_customer_id = '{BOWMAN}' and user_id = '{GLOBEX}'",
    "invoices_cache_balance_between_zero_and_total":  # a paid invoice: not open, the balance total is unchanged
        "update analytics.invoices_cache set balance = 150 where zoho_invoice_id = '900002'",
    "invoices_cache_unpaid_invoices_have_due_date":
        f"update analytics.invoices_cache set due_date = null where zoho_invoice_id = '900001' and user_id = '{ACME}'",
    "accepted_values_invoices_cache_status":
        "update analytics.invoices_cache set status = 'lost' where zoho_invoice_id = '900006'",
    "assert_open_balance_matches_staging":  # still between 0 and total, but not what Zoho says
        f"update analytics.invoices_cache set balance = 50 where zoho_invoice_id = '900001' and user_id = '{GLOBEX}'",
    "relationships_invoices_cache_customer_id":  # possible only once the foreign key is gone
        "alter table analytics.invoices_cache drop constraint invoices_cache_customer_id_fkey; "
        "update analytics.invoices_cache set customer_id = gen_random_uuid() where zoho_invoice_id = '900005'",
}


@pytest.fixture(scope="module")
def built(dbt_db):
    uri, dbt = dbt_db
    with connect(uri) as conn:
        land_all(conn)
    result = dbt("build")
    return uri, dbt, result


def test_build_runs_every_test_and_all_pass(built):
    _, _, result = built
    kinds = [uid.split(".")[0] for uid in result.statuses()]
    assert kinds.count("unit_test") >= 5
    assert kinds.count("test") >= 20
    assert not result.failed()


def test_unit_tests_pass(built):
    _, dbt, _ = built
    result = dbt("test", "--select", "test_type:unit")
    assert len(result.results) >= 5
    assert set(result.statuses().values()) == {"pass"}


def test_docs_generate_offline_and_every_model_and_column_is_described(built):
    _, dbt, _ = built
    dbt("docs", "generate")
    manifest = json.loads((dbt.target_path / "manifest.json").read_text())
    catalog = json.loads((dbt.target_path / "catalog.json").read_text())
    models = {uid: node for uid, node in manifest["nodes"].items() if node["resource_type"] == "model"}
    names = {node["name"] for node in models.values()}
    assert {"customers_cache", "invoices_cache", "invoices_with_customer", "reminders_with_customer",
            "int_customers__phone_resolved", "stg_zoho_books__contacts", "stg_zoho_books__contact_persons",
            "stg_zoho_books__invoices"} <= names
    undocumented = [uid for uid, node in models.items() if "one row per" not in node["description"].lower()]
    for uid, node in models.items():
        for column in catalog["nodes"][uid]["columns"]:
            if not node["columns"].get(column, {}).get("description", "").strip():
                undocumented.append(f"{uid}.{column}")
    assert not undocumented


def test_each_data_test_fails_when_its_invariant_is_broken(built):
    uri, dbt, _ = built
    with connect(uri) as conn:  # the build passed every test on this data (test above)
        with conn.transaction():
            for statement in BREAKS.values():
                conn.execute(statement)
    result = dbt("test", "--exclude", "test_type:unit", expect_ok=False)
    failed = result.failed_names()
    missing = {name for name in BREAKS if not any(f.startswith(name) for f in failed)}
    assert not missing, f"not caught: {sorted(missing)}; failed: {sorted(failed)}"
    # the keys were not broken, so their tests still pass
    assert not {f for f in failed if f.startswith(("unique_", "not_null_"))}


@pytest.mark.parametrize(("statement", "error"), [
    pytest.param("update analytics.customers_cache set id = (select id from analytics.customers_cache "
                 "order by id limit 1) where id = (select id from analytics.customers_cache order by id desc limit 1)",
                 psycopg.errors.UniqueViolation, id="customer-id-unique"),
    pytest.param(f"insert into analytics.customers_cache (id, user_id, zoho_customer_id, phone_pending, "
                 f"contact_persons, status, is_deleted, customer_hash, updated_at) values ('{uuid.uuid4()}', "
                 f"'{ACME}', '{BOWMAN}', false, '[]', 'active', false, 'x', now())",
                 psycopg.errors.UniqueViolation, id="customer-natural-key-unique"),
    pytest.param("update analytics.customers_cache set user_id = null", psycopg.errors.NotNullViolation,
                 id="customer-user-id-not-null"),
    pytest.param(f"insert into analytics.invoices_cache (id, user_id, zoho_invoice_id, is_deleted, invoice_hash, "
                 f"updated_at) values ('{uuid.uuid4()}', '{ACME}', '900001', false, 'x', now())",
                 psycopg.errors.UniqueViolation, id="invoice-natural-key-unique"),
    pytest.param("update analytics.invoices_cache set zoho_invoice_id = null", psycopg.errors.NotNullViolation,
                 id="invoice-id-not-null"),
])
def test_postgres_enforces_the_keys(built, statement, error):
    uri, _, _ = built
    with connect(uri) as conn, pytest.raises(error):
        with conn.transaction():
            conn.execute(statement)
