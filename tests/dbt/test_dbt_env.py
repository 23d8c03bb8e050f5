"""dbt_project/dbt_env.py: the dbt profile's WAREHOUSE_* variables from a connection URI, and its
command line (``make docs`` runs dbt through it)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.dbt.conftest import PROJECT  # noqa: F401  (puts dbt_project on sys.path)
from dbt_env import env_for_uri
from zoho.warehouse.connection import uri_from_connection

PRINT_ENV = ["-c", "import json, os; print(json.dumps({k: v for k, v in os.environ.items() "
                   "if k.startswith('WAREHOUSE_')}))"]


def test_env_for_uri_splits_every_part():
    assert env_for_uri("postgresql://etl:s3cret@db.internal:6543/warehouse") == {
        "WAREHOUSE_HOST": "db.internal", "WAREHOUSE_PORT": "6543", "WAREHOUSE_USER": "etl",
        "WAREHOUSE_PASSWORD": "s3cret", "WAREHOUSE_DBNAME": "warehouse",
    }


def test_env_for_uri_decodes_percent_escapes_and_defaults_the_port():
    env = env_for_uri("postgres://etl%40corp:p%40ss%3Aw%2Fd@localhost/wh")
    assert (env["WAREHOUSE_USER"], env["WAREHOUSE_PASSWORD"], env["WAREHOUSE_PORT"]) == ("etl@corp", "p@ss:w/d", "5432")


def test_env_for_uri_without_password_gives_empty_password():
    assert env_for_uri("postgresql+psycopg2://etl@localhost:5432/wh")["WAREHOUSE_PASSWORD"] == ""


@pytest.mark.parametrize("uri", ["mysql://u:p@h/db", "postgresql://u:p@h:5432/", "postgresql:///db"])
def test_env_for_uri_rejects_what_is_not_a_postgres_database(uri):
    with pytest.raises(ValueError):
        env_for_uri(uri)


def test_uri_from_connection_reads_airflow_json_form():
    conn = json.dumps({"conn_type": "postgres", "host": "db", "port": 5433, "login": "etl",
                       "password": "p@ss", "schema": "warehouse"})
    assert env_for_uri(uri_from_connection(conn))["WAREHOUSE_PASSWORD"] == "p@ss"
    assert env_for_uri(uri_from_connection(conn))["WAREHOUSE_DBNAME"] == "warehouse"


def _dbt_env(*args: str, conn: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "AIRFLOW_CONN_WAREHOUSE_DEFAULT"}
    if conn is not None:
        env["AIRFLOW_CONN_WAREHOUSE_DEFAULT"] = conn
    return subprocess.run([sys.executable, str(PROJECT / "dbt_env.py"), *args], env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("args", "conn"), [
    (["--uri", "postgresql://etl:p%40ss@db:6543/wh"], None),
    ([], "postgres://etl:p%40ss@db:6543/wh"),
    ([], json.dumps({"conn_type": "postgres", "host": "db", "port": 6543, "login": "etl", "password": "p@ss",
                     "schema": "wh"})),
])
def test_command_line_runs_the_command_with_the_profile_variables(args, conn):
    proc = _dbt_env(*args, "--", sys.executable, *PRINT_ENV, conn=conn)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {
        "WAREHOUSE_HOST": "db", "WAREHOUSE_PORT": "6543", "WAREHOUSE_USER": "etl",
        "WAREHOUSE_PASSWORD": "p@ss", "WAREHOUSE_DBNAME": "wh",
    }
    assert "p@ss" not in proc.stderr


def test_command_line_without_a_connection_or_a_command_says_so():
    proc = _dbt_env("--", sys.executable, "-c", "pass", conn=None)
    assert proc.returncode == 2 and "AIRFLOW_CONN_WAREHOUSE_DEFAULT" in proc.stderr and "--uri" in proc.stderr
    assert _dbt_env(conn="postgresql://etl@db/wh").returncode == 2  # usage
