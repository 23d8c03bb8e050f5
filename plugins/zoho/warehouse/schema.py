"""Schema migrations (Alembic) for the tables the pipeline owns: zoho_raw, zoho_sync, reminders.

    python -m zoho.warehouse.schema upgrade [REVISION]     # default head
    python -m zoho.warehouse.schema downgrade REVISION     # e.g. base
    python -m zoho.warehouse.schema current

The warehouse is ``AIRFLOW_CONN_WAREHOUSE_DEFAULT`` unless ``--uri`` is given. Upgrading is
idempotent; concurrent upgrades are serialised by an advisory lock.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from zoho.warehouse import connection as warehouse

MIGRATIONS = Path(__file__).with_name("migrations")
_LOCK_KEY = 727_001  # advisory lock id for migrations


def _config(uri: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", warehouse.sqlalchemy_url(uri).replace("%", "%%"))
    return cfg


def _locked(uri: str, fn) -> None:
    engine = create_engine(warehouse.sqlalchemy_url(uri))
    with engine.connect() as conn:
        conn.execute(text("select pg_advisory_lock(:k)"), {"k": _LOCK_KEY})
        try:
            fn()
        finally:
            conn.execute(text("select pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})
    engine.dispose()


def upgrade(uri: str, revision: str = "head") -> None:
    _locked(uri, lambda: command.upgrade(_config(uri), revision))


def downgrade(uri: str, revision: str) -> None:
    _locked(uri, lambda: command.downgrade(_config(uri), revision))


def current_revision(uri: str) -> str | None:
    with warehouse.connect(uri) as conn:
        exists = conn.execute("select to_regclass('zoho_sync.alembic_version')").fetchone()[0]
        if not exists:
            return None
        row = conn.execute("select version_num from zoho_sync.alembic_version").fetchone()
        return row[0] if row else None


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m zoho.warehouse.schema", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=["upgrade", "downgrade", "current"])
    p.add_argument("revision", nargs="?", default=None)
    p.add_argument("--uri", default=None, help="warehouse URI (default: AIRFLOW_CONN_WAREHOUSE_DEFAULT)")
    a = p.parse_args(argv)
    uri = a.uri or warehouse.uri_from_env()
    if a.action == "upgrade":
        upgrade(uri, a.revision or "head")
        print(f"warehouse schema at {current_revision(uri)}")
    elif a.action == "downgrade":
        if not a.revision:
            p.error("downgrade needs a revision (e.g. base)")
        downgrade(uri, a.revision)
        print(f"warehouse schema at {current_revision(uri)}")
    else:
        print(current_revision(uri))


if __name__ == "__main__":
    main()
