"""The dbt selectors the DAGs build (``dbt_project/selectors.yml``, one Airflow task each) cover every
model and test of the project exactly once, in an order in which each part only reads what earlier
parts built; and the mart tasks are named after their mart."""
from __future__ import annotations

import json

import pytest
import yaml

from zoho.airflow.dbt import DBT_TASKS

from .conftest import PROJECT, env_for_uri

RESOURCES = ["--resource-types", "model", "test", "unit_test"]


@pytest.fixture(scope="module")
def dbt_ls(tmp_path_factory):
    """``dbt ls`` in this process (dbt's Python API): unique_id → the nodes it depends on."""
    from dbt.cli.main import dbtRunner

    target = tmp_path_factory.mktemp("dbt_ls")
    mp = pytest.MonkeyPatch()
    for key, value in env_for_uri("postgresql://nobody@127.0.0.1:1/unused").items():  # ls needs no database
        mp.setenv(key, value)
    runner = dbtRunner()

    def ls(*args: str) -> dict[str, list[str]]:
        result = runner.invoke(["ls", "-q", "--output", "json", "--output-keys", "unique_id", "depends_on",
                                *RESOURCES, "--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT),
                                "--target-path", str(target), "--log-path", str(target), *args])
        assert result.success, result.exception
        nodes = [json.loads(line) for line in result.result]
        return {n["unique_id"]: n["depends_on"]["nodes"] for n in nodes}
    yield ls
    mp.undo()


@pytest.fixture(scope="module")
def parts(dbt_ls):
    return {name: dbt_ls("--selector", name) for name, _ in DBT_TASKS}


def test_the_dag_tasks_are_the_selectors_in_order():
    selectors = [s["name"] for s in yaml.safe_load((PROJECT / "selectors.yml").read_text())["selectors"]]
    assert [name for name, _ in DBT_TASKS] == selectors


def test_the_selectors_cover_every_node_exactly_once(dbt_ls, parts):
    assert all(parts.values()), parts
    seen = [uid for part in parts.values() for uid in part]
    assert sorted(seen) == sorted(dbt_ls()), "a node is in no selector or in two"
    assert {u for u in parts["customers_cache"] if u.startswith("model.")} == {"model.zoho_books.customers_cache"}
    assert {u for u in parts["invoices_cache"] if u.startswith("model.")} == {"model.zoho_books.invoices_cache"}
    # the integrity tests that read both marts or the staging views run with the invoices mart
    assert any(u.startswith("test.zoho_books.relationships_invoices_cache_customer_id") for u in parts["invoices_cache"])
    assert "test.zoho_books.assert_open_balance_matches_staging" in parts["invoices_cache"]


def test_each_part_reads_only_what_it_or_earlier_parts_build(parts):
    built: set[str] = set()
    for name, part in parts.items():
        built |= {u for u in part if u.startswith("model.")}
        reads = {d for deps in part.values() for d in deps if d.startswith("model.")}
        assert reads <= built, f"{name} reads models built after it: {sorted(reads - built)}"
