"""The warehouse as the API server's apps reach it: the ``warehouse_default`` Airflow connection.

``warehouse_uri()`` resolves the connection (environment variable, secrets backend or metadata
database) and caches it for a minute; ``read_only_connection()`` opens a read-only session with a
statement timeout (the Customer sync page).
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Iterator

import psycopg

from zoho.warehouse import connection as warehouse

STATEMENT_TIMEOUT_MS = 5000
URI_CACHE_SECONDS = 60


class _UriCache:
    lock = threading.Lock()
    value: tuple[float, str] | None = None


def warehouse_uri() -> str:
    """The ``warehouse_default`` connection (env var, secrets backend or metadata DB), cached a minute."""
    with _UriCache.lock:
        cached = _UriCache.value
        if cached and time.monotonic() - cached[0] < URI_CACHE_SECONDS:
            return cached[1]
    try:
        from airflow.sdk import BaseHook

        uri = BaseHook.get_connection(warehouse.WAREHOUSE_CONN_ID).get_uri()
    except Exception:  # server-side lookup when the task SDK cannot resolve it here
        from airflow.models.connection import Connection

        uri = Connection.get_connection_from_secrets(warehouse.WAREHOUSE_CONN_ID).get_uri()
    uri = warehouse.normalise_uri(uri)
    with _UriCache.lock:
        _UriCache.value = (time.monotonic(), uri)
    return uri


class WarehouseNotConfigured(RuntimeError):
    pass


@contextmanager
def read_only_connection() -> Iterator[psycopg.Connection]:
    try:
        uri = warehouse_uri()
    except Exception as exc:
        raise WarehouseNotConfigured(f"{type(exc).__name__}: {exc}") from None
    conn = psycopg.connect(
        uri, connect_timeout=5, application_name="airflow-customer-sync-page",
        options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c default_transaction_read_only=on "
                f"-c idle_in_transaction_session_timeout=60000")
    try:
        conn.read_only = True
        yield conn
    finally:
        try:
            conn.rollback()
        finally:
            conn.close()
