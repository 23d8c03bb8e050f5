"""The dbt models as Airflow tasks (astronomer-cosmos): one run task and one test task per model.

- Profile: mapped from the ``warehouse_default`` connection (no credentials in any file); the dbt
  schema is passed separately since the connection's schema field is the database.
- Parse speed: rendered from the pre-built ``target/manifest.json`` (``scripts/dbt_manifest.py``,
  run by the make targets and the compose init service).
- Models are retried; test tasks are not (a failed test is data, retrying does not change it).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

# No call home from cosmos or dbt at run time (this product makes no internet calls).
os.environ.setdefault("AIRFLOW__COSMOS__ENABLE_TELEMETRY", "False")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")

from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import InvocationMode, LoadMode, TestBehavior
from cosmos.profiles import PostgresUserPasswordProfileMapping

from zoho.warehouse.connection import WAREHOUSE_CONN_ID

DBT_PROJECT_DIR = Path(os.environ.get("DBT_PROJECT_DIR")
                       or Path(__file__).resolve().parents[3] / "dbt_project")
MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
ANALYTICS_SCHEMA = "analytics"
# One dbt task at a time on the warehouse: the nightly and the incremental run may overlap, and two
# merges into the same mart would collide. Created by `make` set-up and the compose init service.
DBT_POOL = "dbt_warehouse"


class WarehouseProfileMapping(PostgresUserPasswordProfileMapping):
    """``warehouse_default`` → dbt profile; a password-less (trust / peer / .pgpass) login is allowed."""

    required_fields = ["host", "user", "dbname"]

    def get_dbt_value(self, name: str):
        value = super().get_dbt_value(name)
        if name == "password" and value is None:
            return ""
        return value


def dbt_executable() -> str:
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else "dbt"


def profile_config() -> ProfileConfig:
    return ProfileConfig(
        profile_name="zoho_books",
        target_name="warehouse",
        profile_mapping=WarehouseProfileMapping(conn_id=WAREHOUSE_CONN_ID,
                                                profile_args={"schema": ANALYTICS_SCHEMA}),
    )


def models_task_group(group_id: str = "dbt_models") -> DbtTaskGroup:
    has_manifest = MANIFEST.exists()
    group = DbtTaskGroup(
        group_id=group_id,
        project_config=ProjectConfig(
            dbt_project_path=DBT_PROJECT_DIR,
            manifest_path=MANIFEST if has_manifest else None,
        ),
        profile_config=profile_config(),
        # dbt's Python runner in the worker process: no interpreter start per model task
        execution_config=ExecutionConfig(dbt_executable_path=dbt_executable(),
                                         invocation_mode=InvocationMode.DBT_RUNNER),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST if has_manifest else LoadMode.AUTOMATIC,
            test_behavior=TestBehavior.AFTER_EACH,
            emit_datasets=False,
            # a test over several models (e.g. the open-balance integrity test) runs after all of them
            should_detach_multiple_parents_tests=True,
        ),
        operator_args={"install_deps": False, "pool": DBT_POOL},
        default_args={"retries": 2},
    )
    for t in group.dag.task_group_dict[group_id].iter_tasks() if group.dag else _walk(group):
        model = t.task_id.split(".")[1] if "." in t.task_id else t.task_id
        if t.task_id.endswith(".test"):
            t.retries = 0
            t.doc_md = (f"dbt tests of `{model}`. Not retried: a failed test is a finding, not a glitch; "
                        "fix the data or the model, then clear the model's run task.")
        else:
            t.doc_md = (f"Build the dbt model `{model.removesuffix('_run')}`. Clear this task to rebuild just "
                        "this model (and, with downstream, what depends on it).")
    return group


def _walk(group):
    for child in group.children.values():
        if hasattr(child, "children"):
            yield from _walk(child)
        else:
            yield child
