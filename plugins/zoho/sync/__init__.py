"""One tenant's extraction: Zoho Books listings into the raw tables (``zoho_raw``).

Owns: the per-tenant sync (``extract``: watermarks, full and incremental passes, deletions, missing
customers, ``sync_metadata``), reading API records into rows or quarantine (``records``), landing
them by COPY and upsert (``loading``, ``sql/``), the tenant list (``tenants``), and the
organisation's API budget kept in the warehouse (``budget``: the gate the client asks before each
request).
May import: ``zoho.rules``, ``zoho.books``, ``zoho.warehouse``. Never Airflow (the task code in
``zoho.airflow`` builds the client from a connection and calls ``sync_tenant``).
"""
