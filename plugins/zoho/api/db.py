"""The API's warehouse sessions: a connection pool on ``warehouse_default`` (per API server process).

``session(read_only=True)`` lends a pooled connection inside one transaction (committed when the
block ends, rolled back on an error), read-only unless asked, with a statement timeout; ``call``
runs one statement that is its own transaction (autocommit). The pool
is built on first use and rebuilt when the connection's URI changes.
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from typing import Iterator

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from zoho.ui.warehouse import WarehouseNotConfigured, warehouse_uri

STATEMENT_TIMEOUT_MS = 5000
POOL_SIZE = int(os.environ.get("ZOHO_API_POOL_SIZE", "10"))


class _Pool:
    lock = threading.Lock()
    uri: str | None = None
    pool: ConnectionPool | None = None


def _pool() -> ConnectionPool:
    try:
        uri = warehouse_uri()
    except Exception as exc:
        raise WarehouseNotConfigured(f"{type(exc).__name__}: {exc}") from None
    with _Pool.lock:
        if _Pool.pool is None or _Pool.uri != uri:
            old = _Pool.pool
            _Pool.pool = ConnectionPool(
                uri, min_size=1, max_size=POOL_SIZE, open=True, timeout=10, name="customer-sync-api",
                kwargs={"connect_timeout": 5, "application_name": "airflow-customer-sync-api", "row_factory": dict_row,
                        "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS} "
                                   f"-c idle_in_transaction_session_timeout=60000"})
            _Pool.uri = uri
            if old is not None:
                old.close(timeout=0)
        return _Pool.pool


@contextmanager
def session(read_only: bool = True) -> Iterator[psycopg.Connection]:
    """A pooled connection in one transaction (read-only unless ``read_only=False``)."""
    with _pool().connection() as conn:
        conn.autocommit = False
        conn.read_only = read_only
        with conn.transaction():
            yield conn


def call(statement: str, params: dict) -> list[dict]:
    """One statement that is a transaction of its own (a call of the sender's functions): run in
    autocommit, without the two round trips of BEGIN and COMMIT; its rows."""
    with _pool().connection() as conn:
        conn.read_only = False
        conn.autocommit = True
        return conn.execute(statement, params).fetchall()


def close() -> None:
    with _Pool.lock:
        if _Pool.pool is not None:
            _Pool.pool.close()
        _Pool.pool, _Pool.uri = None, None
