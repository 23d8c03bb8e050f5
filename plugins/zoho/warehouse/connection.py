"""Warehouse connections (psycopg 3), usable without Airflow.

The Airflow tasks pass the URI of the ``warehouse_default`` connection; command-line tools (and
``dbt_project/dbt_env.py``, which turns it into the dbt profile's variables) read the same connection
from ``AIRFLOW_CONN_WAREHOUSE_DEFAULT`` (URI or JSON form, as Airflow accepts).
"""
from __future__ import annotations

import json
import os
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg

WAREHOUSE_CONN_ID = "warehouse_default"


def uri_from_env(conn_id: str = WAREHOUSE_CONN_ID) -> str:
    """The URI of the connection ``conn_id`` from ``AIRFLOW_CONN_<CONN_ID>`` (URI or JSON form)."""
    raw = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}")
    if not raw:
        raise RuntimeError(f"connection {conn_id!r} is not configured: set AIRFLOW_CONN_{conn_id.upper()}")
    return uri_from_connection(raw)


def uri_from_connection(value: str) -> str:
    """An Airflow connection in URI or JSON form → a libpq URI (JSON ``schema`` is the database)."""
    value = value.strip()
    if not value.startswith("{"):
        return normalise_uri(value)
    conn = json.loads(value)
    auth = ""
    if conn.get("login"):
        auth = quote(conn["login"], safe="")
        if conn.get("password"):
            auth += ":" + quote(conn["password"], safe="")
        auth += "@"
    port = f":{conn['port']}" if conn.get("port") else ""
    return f"postgresql://{auth}{conn.get('host') or 'localhost'}{port}/{conn.get('schema') or ''}"


def normalise_uri(uri: str) -> str:
    """Airflow writes ``postgres://``; libpq wants ``postgresql://`` and no driver suffix."""
    parts = urlsplit(uri)
    scheme = parts.scheme.split("+")[0]
    if scheme in ("postgres", "postgresql"):
        scheme = "postgresql"
    return urlunsplit((scheme, parts.netloc, parts.path, parts.query, parts.fragment))


def connect(uri: str | None = None, **kwargs) -> psycopg.Connection:
    return psycopg.connect(normalise_uri(uri) if uri else uri_from_env(), **kwargs)


def sqlalchemy_url(uri: str) -> str:
    parts = urlsplit(normalise_uri(uri))
    return urlunsplit(("postgresql+psycopg", parts.netloc, parts.path, parts.query, parts.fragment))
