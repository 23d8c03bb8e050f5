"""The API tests' stack: one real ``airflow api-server`` per test module (the plugin mounts the API at
``/customer-sync/api/v1``) on a fresh warehouse with the marts (``tests/reminders/marts.py``, empty:
each module adds its own data).

Users (simple auth manager; password = name): ``admin`` (admin: every tenant), ``alice`` (viewer,
granted tenant ``acme`` read), ``bob`` (viewer, no grant). More grants: ``grants.grant`` on ``api.uri``.

    def test_x(api):
        r = requests.get(api.url("/invoices"), headers=api.server.auth("alice"), timeout=30)
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import pytest

from tests.apiserver import ApiServer, api_server_env
from tests.reminders.marts import create_marts
from zoho.api import grants
from zoho.warehouse import connection as warehouse

API_PREFIX = "/customer-sync/api/v1"
USERS = {"alice": "viewer", "bob": "viewer"}


@dataclass
class Api:
    server: ApiServer
    uri: str  # the warehouse (the server's warehouse_default)

    def url(self, path: str) -> str:
        return self.server.base + API_PREFIX + path


@pytest.fixture(scope="module")
def api(make_database, tmp_path_factory):
    t0 = time.monotonic()
    home = tmp_path_factory.mktemp("api")
    uri = make_database("api")
    env = api_server_env(make_database, home, "apiaf", users=USERS, AIRFLOW_CONN_WAREHOUSE_DEFAULT=uri)
    with ApiServer(env, home) as server:  # migrates its metadata database, then starts
        with warehouse.connect(uri, autocommit=True) as conn:
            create_marts(conn)
            grants.grant(conn, "alice", "acme")
        server.wait_ready()
        print(f"\n[api] server ready in {time.monotonic() - t0:.0f} s")
        yield Api(server, uri)
