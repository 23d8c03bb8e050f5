"""Zoho Books customer sync with payment reminders: the package ``zoho``.

One sub-package per part; each says in its docstring what it owns and what it may import, and
``docs/ARCHITECTURE.md`` holds the table of allowed imports that ``tests/unit/test_layout.py``
enforces. From the bottom up:

- ``zoho.rules``: business rules without I/O (the phone rule, reading a JSON setting);
- ``zoho.books``: the Zoho Books API client (HTTP, OAuth, rate limits, regions, endpoints, errors);
- ``zoho.warehouse``: the Postgres warehouse (connections, schema migrations, the SQL file reader);
- ``zoho.sync``: one tenant's extraction from Zoho Books into the raw tables;
- ``zoho.reminders``: the reminder policy and reminder generation;
- ``zoho.checks``: the quality gate, post-deployment verification, the run summary;
- ``zoho.legacy``: the one-off migration of the old invoice table;
- ``zoho.ui``: the Customer sync page in the Airflow UI;
- ``zoho.airflow``: the Airflow face (hook, task callables, DAG factory, cosmos glue, provider info).

Everything but ``zoho.airflow`` and ``zoho.ui`` is importable without Airflow.
"""
