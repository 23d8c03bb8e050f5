"""The JSON API, mounted by the Airflow API server under ``/customer-sync/api/v1``.

Owns:
- ``app``: the FastAPI app (JSON errors naming the field, body-size limit, the OpenAPI schema);
- ``read`` (with ``models`` and ``sql/``): invoices with their customer, customers, reminders with their
  history, keyset-paginated;
- ``sender``: the reminder sender's claim and marks, over the warehouse's SQL functions;
- ``access``: who the caller is (Airflow's authentication, from ``zoho.ui.security``) and which tenants
  it sees (Airflow admins: all; others: their ``zoho_sync.api_grants``);
- ``grants``: the command that manages those grants (``python -m zoho.api.grants``);
- ``db``: the warehouse connection pool of the API server process.
May import: ``zoho.rules``, ``zoho.warehouse``, ``zoho.reminders`` (the reminder history), ``zoho.ui``
(authentication, the warehouse connection, the page's status lists); Airflow's API server, lazily.
"""
