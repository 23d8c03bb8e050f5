"""The dbt profile's environment (``WAREHOUSE_*``) from a warehouse connection URI.

``profiles.yml`` holds no credentials: it reads ``WAREHOUSE_HOST``, ``WAREHOUSE_PORT``,
``WAREHOUSE_USER``, ``WAREHOUSE_PASSWORD`` and ``WAREHOUSE_DBNAME``. Tests and make targets turn
the ``warehouse_default`` connection into those variables with :func:`env_for_uri`.

Command line (runs a command with the variables added, so no secret is ever printed)::

    python dbt_project/dbt_env.py [--uri URI] -- dbt build --project-dir dbt_project ...

Without ``--uri`` the connection comes from ``AIRFLOW_CONN_WAREHOUSE_DEFAULT`` (URI or JSON form),
read by ``zoho.warehouse.connection`` as everywhere else: the ``zoho`` package must be importable
(``plugins/`` on ``PYTHONPATH``, as ``scripts/with-env`` and the Airflow image set it, or installed).
Airflow is not needed.
"""
from __future__ import annotations

import os
import sys
from urllib.parse import unquote, urlsplit

from zoho.warehouse.connection import uri_from_env

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
        try:
            uri = uri_from_env()
        except RuntimeError as exc:
            print(f"{exc}, or pass --uri", file=sys.stderr)
            return 2
    os.execvpe(argv[0], argv, {**os.environ, **env_for_uri(uri)})
    return 127  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
