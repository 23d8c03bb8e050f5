"""Shared fixtures: a real Postgres for every test that needs one.

The server is the project's warehouse (``AIRFLOW_CONN_WAREHOUSE_DEFAULT``, set by ``make test``:
the project-local cluster, or the warehouse the environment configures). Each test module that asks
for a database gets a fresh one on that server, migrated to head, dropped afterwards.
"""
from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
for p in (ROOT, ROOT / "plugins"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from zoho.warehouse import schema
from zoho.warehouse import connection as warehouse  # noqa: E402

pytest_plugins = ["tests.fixtures"]


def _server_uri() -> str:
    try:
        return warehouse.uri_from_env()
    except RuntimeError:
        pytest.exit("AIRFLOW_CONN_WAREHOUSE_DEFAULT is not set: run the tests with `make test`", 2)


def _with_db(uri: str, dbname: str) -> str:
    parts = urlsplit(uri)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


@pytest.fixture(scope="session")
def pg_server_uri() -> str:
    return _server_uri()


@pytest.fixture(scope="session")
def make_database(pg_server_uri):
    """Factory: a new empty database on the warehouse server; all are dropped at session end."""
    created: list[str] = []
    admin = _with_db(pg_server_uri, "postgres")

    def factory(prefix: str = "t", migrate: bool = True) -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}".lower()
        with warehouse.connect(admin, autocommit=True) as conn:
            conn.execute(f'create database "{name}"')
        created.append(name)
        uri = _with_db(pg_server_uri, name)
        if migrate:
            schema.upgrade(uri)
        return uri

    yield factory
    if os.environ.get("KEEP_TEST_DATABASES"):
        return
    with warehouse.connect(admin, autocommit=True) as conn:
        for name in created:
            conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="module")
def warehouse_uri(make_database) -> str:
    """A fresh, migrated warehouse database for one test module."""
    return make_database("wh")
