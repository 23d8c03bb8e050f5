"""dbt_env.env_for_uri: the dbt profile's WAREHOUSE_* variables from a connection URI."""
from __future__ import annotations

import json

import pytest

from tests.dbt.conftest import PROJECT  # noqa: F401  (puts dbt_project on sys.path)
from dbt_env import env_for_uri, uri_from_connection


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
