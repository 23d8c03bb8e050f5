"""DAG integrity: the project's DAG files import cleanly, fast, without warnings, and are configured
as the operators expect (ids, schedules, retries, catchup, tags, docs)."""
from __future__ import annotations

import time
import warnings
from pathlib import Path

import pytest

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
EXPECTED = {
    "zoho_sync_incremental": "*/30 * * * *",
    "zoho_sync_nightly": "0 2 * * *",
}


@pytest.fixture(scope="module")
def parsed():
    from airflow.dag_processing.dagbag import DagBag

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        started = time.monotonic()
        bag = DagBag(dag_folder=str(DAGS_FOLDER))
        seconds = time.monotonic() - started
    ours = [w for w in caught if str(DAGS_FOLDER.parent) in str(w.filename)
            and ".venv" not in str(w.filename)]
    print(f"DagBag parse of {DAGS_FOLDER}: {seconds:.2f} s")
    return bag, ours


def test_dags_import_without_errors(parsed):
    bag, _ = parsed
    assert bag.import_errors == {}


def test_dags_parse_without_warnings_from_project_code(parsed):
    _, ours = parsed
    assert [f"{w.filename}:{w.lineno}: {w.message}" for w in ours] == []


def test_expected_dag_ids_are_present(parsed):
    bag, _ = parsed
    assert set(EXPECTED) <= set(bag.dag_ids)


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_sync_dag_is_configured_for_operations(parsed, dag_id):
    dag = parsed[0].dags[dag_id]
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert "zoho" in dag.tags
    assert dag.doc_md and len(dag.doc_md) > 100
    assert dag.timetable.expression == EXPECTED[dag_id]
    assert str(dag.timetable.timezone) == "UTC"
    findings_not_glitches = {"quality_gate", "run_failed"}  # a failed check is data: retrying cannot change it
    for t in dag.tasks:
        if t.task_id in findings_not_glitches:
            assert t.retries == 0, f"{t.task_id} should not be retried"
        else:
            assert t.retries >= 1, f"{t.task_id} has no retries"
        assert t.doc_md, f"{t.task_id} has no doc_md"


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_dbt_runs_as_one_build_task_per_mart_named_after_it(parsed, dag_id):
    dag = parsed[0].dags[dag_id]
    dbt_tasks = [t for t in dag.tasks if t.task_id.startswith("dbt_models.")]
    assert [t.task_id for t in dbt_tasks] == [f"dbt_models.{name}" for name in
                                              ("staging", "customers_cache", "invoices_cache", "analyst_views")]
    for before, after in zip(dbt_tasks, dbt_tasks[1:]):
        assert before in after.upstream_list
    for t in dbt_tasks:
        assert t.base_cmd == ["build"] and t.selector == t.task_id.split(".")[1]
        assert t.pool == "dbt_warehouse"
    unit_tests_left_out = ["--exclude-resource-type", "unit_test"]
    assert all((t.dbt_cmd_flags == unit_tests_left_out) == (dag_id == "zoho_sync_incremental") for t in dbt_tasks)
    gate = dag.get_task("quality_gate")
    assert dag.get_task("dbt_models.analyst_views") in gate.upstream_list
    assert dag.get_task("generate_reminders") in gate.downstream_list


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_extract_is_mapped_per_tenant_with_user_id_label(parsed, dag_id):
    dag = parsed[0].dags[dag_id]
    extract = dag.get_task("extract")
    assert extract.map_index_template == "{{ tenant_user_id }}"
    assert dag.get_task("migrate_warehouse") in extract.upstream_list
