"""The reminder tests' warehouse: the marts created from the dbt contract, emptied before each test."""
from __future__ import annotations

import pytest

from tests.reminders.marts import create_marts, truncate
from zoho.warehouse import connection as warehouse


@pytest.fixture(scope="module")
def marts_uri(warehouse_uri):
    with warehouse.connect(warehouse_uri, autocommit=True) as conn:
        create_marts(conn)
    return warehouse_uri


@pytest.fixture
def conn(marts_uri):
    with warehouse.connect(marts_uri, autocommit=True) as conn:
        truncate(conn)
        yield conn
