"""Warehouse connections (psycopg 3), usable without Airflow.

The Airflow tasks pass the URI of the ``warehouse_default`` connection; command-line tools read the
same connection from ``AIRFLOW_CONN_WAREHOUSE_DEFAULT`` (URI or JSON form, as Airflow accepts).
"""
from __future__ import annotations

import json
import os
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg

WAREHOUSE_CONN_ID = "warehouse_default"


def uri_from_env(conn_id: str = WAREHOUSE_CONN_ID) -> str:
    raw = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}")
    if not raw:
        raise RuntimeError(f"connection {conn_id!r} is not configured: set AIRFLOW_CONN_{conn_id.upper()}")
    raw = raw.strip()
    if raw.startswith("{"):
        c = json.loads(raw)
        auth = ""
        if c.get("login"):
            auth = quote(c["login"], safe="")
            if c.get("password"):
                auth += ":" + quote(c["password"], safe="")
            auth += "@"
        port = f":{c['port']}" if c.get("port") else ""
        return f"postgresql://{auth}{c.get('host') or 'localhost'}{port}/{c.get('schema') or ''}"
    return normalise_uri(raw)


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
