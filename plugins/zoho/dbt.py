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

from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import LoadMode, TestBehavior
from cosmos.profiles import PostgresUserPasswordProfileMapping

from zoho.warehouse import WAREHOUSE_CONN_ID

DBT_PROJECT_DIR = Path(os.environ.get("DBT_PROJECT_DIR")
                       or Path(__file__).resolve().parents[2] / "dbt_project")
MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
ANALYTICS_SCHEMA = "analytics"


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
        execution_config=ExecutionConfig(dbt_executable_path=dbt_executable()),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST if has_manifest else LoadMode.AUTOMATIC,
            test_behavior=TestBehavior.AFTER_EACH,
            emit_datasets=False,
        ),
        operator_args={"install_deps": False},
        default_args={"retries": 2},
    )
    for t in group:
        if t.task_id.endswith(".test"):
            t.retries = 0
            t.doc_md = "dbt tests of this model. Not retried: a failed test is a finding, not a glitch."
        elif t.task_id.endswith(".run"):
            t.doc_md = "Build this dbt model (incremental merge). Clear it to rebuild just this model."
    return group
