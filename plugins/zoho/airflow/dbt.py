"""The dbt project as Airflow tasks: one ``dbt build`` task per part of the project (astronomer-cosmos
operators), in one task group.

The parts are the dbt selectors of ``dbt_project/selectors.yml`` and the tasks are named after them:
``staging`` (the staging and intermediate views), ``customers_cache``, ``invoices_cache`` (one task
per mart model, the model and its tests) and ``analyst_views``. Four dbt invocations a run, each
paying dbt's start-up once, instead of one per model and one per model's tests: a one-record
incremental run spends its time on its changes, not on dbt starting 24 times. Clearing one mart's
task rebuilds that mart and re-runs its tests, which is how a data engineer retries a failed model.

- Profile: mapped from the ``warehouse_default`` connection (no credentials in any file); the dbt
  schema is passed separately since the connection's schema field is the database.
- dbt runs inside the task's process (``InvocationMode.DBT_RUNNER``) with partial parsing.
- A task whose model failed is retried (a lost connection, a lock timeout); a task where only tests
  failed is not: a failed test is a finding, and retrying it does not change the data.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

# No call home from cosmos or dbt at run time (this product makes no internet calls).
os.environ.setdefault("AIRFLOW__COSMOS__ENABLE_TELEMETRY", "False")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")

from airflow.sdk import TaskGroup
from airflow.sdk.exceptions import AirflowFailException
from cosmos import ProfileConfig
from cosmos import settings as cosmos_settings
from cosmos.constants import InvocationMode
from cosmos.dbt.runner import handle_exception_if_needed
from cosmos.operators.local import DbtBuildLocalOperator
from cosmos.profiles import PostgresUserPasswordProfileMapping

from zoho.warehouse.connection import WAREHOUSE_CONN_ID

DBT_PROJECT_DIR = Path(os.environ.get("DBT_PROJECT_DIR")
                       or Path(__file__).resolve().parents[3] / "dbt_project")
MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
ANALYTICS_SCHEMA = "analytics"
# One dbt task at a time on the warehouse: the nightly and the incremental run may overlap, and two
# merges into the same mart would collide. Created by `make` set-up and the compose init service.
DBT_POOL = "dbt_warehouse"

# (task id = selector of dbt_project/selectors.yml, the task's doc), in build order.
DBT_TASKS = (
    ("staging", """
`dbt build --selector staging`: the staging views (one per `zoho_raw` table) and the intermediate
views (dedupe, legacy merge, phone choice), and the tests that read only them (dbt unit tests of the
rules, uniqueness of the deduplicated views). Views are cheap to rebuild; this is one task so that
their dozen nodes cost one dbt start-up. Clear it after a change to the dbt project's views.
"""),
    ("customers_cache", """
`dbt build --selector customers_cache`: the incremental `analytics.customers_cache` mart (only the
customers whose raw rows changed are recomputed and merged) and its tests. Clear this task to
rebuild just this mart and re-run its tests (with "Downstream", the invoices mart and the views too).
"""),
    ("invoices_cache", """
`dbt build --selector invoices_cache`: the incremental `analytics.invoices_cache` mart and its tests,
including those that also read the customers mart or the staging views (the `customer_id` foreign
key, the open-balance integrity test). Clear this task to rebuild just this mart and re-run its tests.
"""),
    ("analyst_views", """
`dbt build --selector analyst_views`: the analysts' views over the marts (`invoices_with_customer`,
`reminders_with_customer`) and their tests.
"""),
)

RETRY_NOTE = ("\nRetried when a model failed (a lost connection, a lock); not when only tests failed: a failed "
              "test is a finding, so fix the data or the model, then clear this task.")


class WarehouseProfileMapping(PostgresUserPasswordProfileMapping):
    """``warehouse_default`` → dbt profile; a password-less (trust / peer / .pgpass) login is allowed."""

    required_fields = ["host", "user", "dbname"]

    def get_dbt_value(self, name: str):
        value = super().get_dbt_value(name)
        if name == "password" and value is None:
            return ""
        return value


class DbtBuildTask(DbtBuildLocalOperator):
    """``dbt build`` of one selector; a failure of tests alone fails the task without a retry."""

    def handle_exception_dbt_runner(self, result) -> None:
        failed = [r for r in getattr(result.result, "results", None) or []
                  if str(r.status) in ("error", "fail", "runtime error")]
        if not result.success and result.exception is None and failed and all(
                r.node.resource_type in ("test", "unit_test") for r in failed):
            names = ", ".join(sorted(r.node.name for r in failed))
            raise AirflowFailException(f"dbt tests failed (not retried: a failed test is a finding): {names}")
        handle_exception_if_needed(result)


def dbt_executable() -> str:
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else "dbt"


def profile_config() -> ProfileConfig:
    return ProfileConfig(
        profile_name="zoho_books",
        target_name="warehouse",
        # threads: the independent nodes of one build (a mart's tests, the views) run side by side
        profile_mapping=WarehouseProfileMapping(conn_id=WAREHOUSE_CONN_ID,
                                                profile_args={"schema": ANALYTICS_SCHEMA, "threads": 4}),
    )


def partial_parse_cache(identifier: str) -> Path | None:
    """cosmos's cache directory for dbt's partial-parse file (``[cosmos] cache_dir``, per DAG): each task
    starts from the last task's parse instead of parsing the whole project. None (no cache) when the
    directory cannot be created: dbt then parses in full, slower but correct."""
    if not cosmos_settings.enable_cache or not cosmos_settings.enable_cache_partial_parse:
        return None
    path = Path(cosmos_settings.cache_dir) / identifier
    try:
        (path / "target").mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return path


def models_task_group(group_id: str = "dbt_models", mode: str = "full") -> TaskGroup:
    """The four ``dbt build`` tasks, one after another (each part reads what the one before built).

    ``mode="incremental"`` leaves out dbt's unit tests (fixed inputs, they test the models' code, not
    the data: every nightly run and the test suite run them), 48 times a day.
    """
    profile = profile_config()
    flags = ["--exclude-resource-type", "unit_test"] if mode == "incremental" else []
    with TaskGroup(group_id, tooltip="dbt build, one task per selector of dbt_project/selectors.yml") as group:
        cache_dir = partial_parse_cache(f"{group.dag_id}__{group_id}")
        previous = None
        for selector, doc in DBT_TASKS:
            task = DbtBuildTask(
                task_id=selector,
                selector=selector,
                project_dir=str(DBT_PROJECT_DIR),
                profile_config=profile,
                invocation_mode=InvocationMode.DBT_RUNNER,
                dbt_executable_path=dbt_executable(),
                install_deps=False,
                emit_datasets=False,
                cache_dir=cache_dir,
                dbt_cmd_flags=list(flags),
                pool=DBT_POOL,
                retries=2,
                doc_md=doc + RETRY_NOTE,
            )
            if previous is not None:
                previous >> task
            previous = task
    return group
