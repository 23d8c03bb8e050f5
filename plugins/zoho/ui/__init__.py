"""The "Customer sync" page in the Airflow UI.

Owns:
- ``queries`` (with ``sql/``): read-only SQL on the warehouse (no Airflow import; testable on its own);
- ``runs``: the latest runs of the sync DAGs from Airflow's own metadata (extract results per tenant);
- ``security``: Airflow 3 authentication (the ``_token`` cookie or a bearer token) and authorisation;
- ``app``: the FastAPI app, mounted by the API server under ``/customer-sync`` by
  ``plugins/customer_sync_plugin.py``, which also adds the navigation entry.
May import: ``zoho.rules``, ``zoho.warehouse``, ``zoho.reminders`` (the policy's statuses); Airflow's
API server (authentication, its metadata database), lazily.
"""
