"""``zoho_legacy_backfill`` as operators see it: manual, documented, retried where retrying helps,
with a validated source-table parameter; and the parameter checks of ``zoho.legacy.backfill``."""
from __future__ import annotations

from pathlib import Path

import pytest

from zoho.legacy import backfill as legacy

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def backfill_dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    assert bag.import_errors == {}
    return bag.dags["zoho_legacy_backfill"]


def test_dag_is_manual_and_documented(backfill_dag):
    dag = backfill_dag
    assert type(dag.timetable).__name__ == "NullTimetable"  # schedule=None: triggered by hand
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert {"zoho", "legacy-migration"} <= set(dag.tags)
    assert dag.doc_md and "legacy.invoices_cache" in dag.doc_md


def test_every_task_is_documented_and_retried_unless_it_reports_a_finding(backfill_dag):
    for t in backfill_dag.tasks:
        assert t.doc_md, f"{t.task_id} has no doc_md"
        if t.task_id == "integrity_report":
            assert t.retries == 0, f"{t.task_id}: a failed check is a finding, retrying cannot change it"
        else:
            assert t.retries >= 1, f"{t.task_id} has no retries"


def test_tasks_run_land_then_dbt_then_report(backfill_dag):
    dag = backfill_dag
    assert dag.get_task("migrate_warehouse") in dag.get_task("land_legacy").upstream_list
    models = {t.task_id for t in dag.tasks if t.task_id.startswith("dbt_models.")}
    assert models == {"dbt_models.staging", "dbt_models.customers_cache", "dbt_models.invoices_cache",
                      "dbt_models.analyst_views"}
    report = dag.get_task("integrity_report")
    assert dag.get_task("dbt_models.analyst_views") in report.upstream_list
    # the staging views (the legacy landing tables' among them) are built after the landing
    assert dag.get_task("land_legacy") in dag.get_task("dbt_models.staging").upstream_list


def test_params_default_to_the_spec_table_and_are_validated(backfill_dag):
    from airflow.sdk.exceptions import ParamValidationError

    params = backfill_dag.params
    assert params["source_table"] == "legacy.invoices_cache"
    assert params["default_country"] == "US"
    for bad in ('legacy."invoices"; drop table x', "invoices_cache", "a.b.c", "legacy. invoices"):
        with pytest.raises(ParamValidationError):
            params.get_param("source_table").resolve(bad)
    with pytest.raises(ParamValidationError):
        params.get_param("default_country").resolve("USA")
    assert params.get_param("source_table").resolve("old_system.invoice_rows") == "old_system.invoice_rows"


@pytest.mark.parametrize("value", ["legacy.invoices_cache", "old_system.Invoice_Rows", " legacy.x$1 "])
def test_source_table_accepts_schema_qualified_identifiers(value):
    schema_name, table_name = legacy.parse_source_table(value)
    assert f"{schema_name}.{table_name}" == value.strip()


@pytest.mark.parametrize("value", [
    None, "", "invoices_cache", "legacy.invoices_cache.extra", 'legacy."invoices"', "legacy.invoices; drop table x",
    "legacy.invoices--", "1legacy.invoices", "legacy." + "x" * 64, "legacy .invoices",
])
def test_source_table_refuses_anything_else(value):
    with pytest.raises(legacy.LegacySourceError):
        legacy.parse_source_table(value)


def test_source_statement_quotes_the_identifier():
    from psycopg import sql

    statement = legacy._source_statement("Legacy.Invoices_Cache")
    assert isinstance(statement, sql.Composed)
    assert sql.Identifier("Legacy", "Invoices_Cache") in list(statement)


@pytest.mark.parametrize(("value", "country"), [("us", "US"), (" GB ", "GB")])
def test_country_is_an_alpha2_code(value, country):
    assert legacy.parse_country(value) == country


@pytest.mark.parametrize("value", ["", "USA", "1A", None])
def test_country_refuses_anything_else(value):
    with pytest.raises(legacy.LegacySourceError):
        legacy.parse_country(value)
