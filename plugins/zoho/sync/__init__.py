"""One tenant's extraction: Zoho Books listings into the raw tables (``zoho_raw``).

Owns: the per-tenant sync (``extract``: the incremental pass, watermarks, missing customers, the
lock per run kind), the nightly pass (``nightly``) and its resumable sweep (``sweep``: checkpoints,
generations, deletions confirmed by id), a run's results and ``sync_metadata`` (``metadata``), reading API records into rows or quarantine (``records``), landing
them by COPY and upsert (``loading``, ``sql/``), the tenant list (``tenants``), and the
organisation's API budget kept in the warehouse (``budget``: the gate the client asks before each
request).
May import: ``zoho.rules``, ``zoho.books``, ``zoho.warehouse``. Never Airflow (the task code in
``zoho.airflow`` builds the client from a connection and calls ``sync_tenant``).
"""
