"""The Postgres warehouse the product writes to.

Owns: connections from the ``warehouse_default`` URI (``connection``), the Alembic migrations of the
tables the product owns (``schema``, ``migrations/``) and the reader of the ``.sql`` files that sit
beside the code that runs them (``sqlfiles``).
May import: nothing of ``zoho``. Never Airflow.
"""
