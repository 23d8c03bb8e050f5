"""The product's SQL statements: one ``.sql`` file each under ``zoho/sql`` (read once per process)."""
from __future__ import annotations

from functools import cache
from pathlib import Path

SQL_DIR = Path(__file__).with_name("sql")


@cache
def load_sql(name: str) -> str:
    """The statement in ``zoho/sql/<name>.sql``: ``load_sql("upsert_contacts")``, ``load_sql("legacy/reject")``."""
    return (SQL_DIR / f"{name}.sql").read_text()
