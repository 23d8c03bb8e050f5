"""The dbt profile's environment (``WAREHOUSE_*``) from a warehouse connection URI.

``profiles.yml`` holds no credentials: it reads ``WAREHOUSE_HOST``, ``WAREHOUSE_PORT``,
``WAREHOUSE_USER``, ``WAREHOUSE_PASSWORD`` and ``WAREHOUSE_DBNAME``. Tests and make targets turn
the ``warehouse_default`` connection into those variables with :func:`env_for_uri`.

Command line (runs a command with the variables added, so no secret is ever printed)::

    python dbt_project/dbt_env.py [--uri URI] -- dbt build --project-dir dbt_project ...

Without ``--uri`` the connection comes from ``AIRFLOW_CONN_WAREHOUSE_DEFAULT`` (URI or JSON form).
Standard library only: importable without Airflow or the ``zoho`` package.
"""
from __future__ import annotations

import json
import os
import sys
from urllib.parse import quote, unquote, urlsplit

CONN_VARIABLE = "AIRFLOW_CONN_WAREHOUSE_DEFAULT"
SCHEMES = ("postgres", "postgresql")


def env_for_uri(uri: str) -> dict[str, str]:
    """``postgresql://user:pw@host:port/db`` → the ``WAREHOUSE_*`` variables of profiles.yml."""
    parts = urlsplit(uri.strip())
    if parts.scheme.split("+")[0] not in SCHEMES:
        raise ValueError(f"not a Postgres URI (scheme {parts.scheme!r})")
    dbname = unquote(parts.path.lstrip("/"))
    if not parts.hostname or not dbname:
        raise ValueError("the warehouse URI needs a host and a database name")
    return {
        "WAREHOUSE_HOST": unquote(parts.hostname),
        "WAREHOUSE_PORT": str(parts.port or 5432),
        "WAREHOUSE_USER": unquote(parts.username or ""),
        "WAREHOUSE_PASSWORD": unquote(parts.password or ""),
        "WAREHOUSE_DBNAME": dbname,
    }


def uri_from_connection(value: str) -> str:
    """An Airflow connection in URI or JSON form → a URI (JSON ``schema`` is the database)."""
    value = value.strip()
    if not value.startswith("{"):
        return value
    conn = json.loads(value)
    auth = ""
    if conn.get("login"):
        auth = quote(conn["login"], safe="")
        if conn.get("password"):
            auth += ":" + quote(conn["password"], safe="")
        auth += "@"
    port = f":{conn['port']}" if conn.get("port") else ""
    return f"postgresql://{auth}{conn.get('host') or 'localhost'}{port}/{conn.get('schema') or ''}"


def main(argv: list[str]) -> int:
    uri = None
    if argv[:1] == ["--uri"] and len(argv) >= 2:
        uri, argv = argv[1], argv[2:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    if uri is None:
        if not os.environ.get(CONN_VARIABLE):
            print(f"{CONN_VARIABLE} is not set and no --uri was given", file=sys.stderr)
            return 2
        uri = uri_from_connection(os.environ[CONN_VARIABLE])
    os.execvpe(argv[0], argv, {**os.environ, **env_for_uri(uri)})
    return 127  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
