"""The sender tests' warehouse: the marts from the dbt contract (no dbt run), emptied before each test."""
from __future__ import annotations

from tests.reminders.conftest import conn, marts_uri  # noqa: F401  (the same fixtures)
