"""The product's SQL statements: one ``.sql`` file each, in a ``sql/`` folder beside the code that
runs it (``zoho/sync/sql``, ``zoho/reminders/sql``, ...), read once per process.

    load_sql = sql_files(__file__)          # in zoho/sync/loading.py: reads zoho/sync/sql/
    load_sql("upsert_contacts")             # the text of zoho/sync/sql/upsert_contacts.sql
"""
from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Callable


@cache
def _read(path: Path) -> str:
    return path.read_text()


def sql_files(module_file: str) -> Callable[[str], str]:
    """A reader of the ``sql/`` folder beside ``module_file``: ``name`` -> the text of ``sql/<name>.sql``."""
    directory = Path(module_file).resolve().with_name("sql")

    def load_sql(name: str) -> str:
        path = directory / f"{name}.sql"
        if not path.is_file():
            raise FileNotFoundError(f"no SQL file {name!r} in {directory}")
        return _read(path)

    return load_sql
