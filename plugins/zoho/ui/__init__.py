"""The "Customer sync" page in the Airflow UI (issue 11).

- ``queries``: read-only SQL on the warehouse (no Airflow import; testable on its own);
- ``runs``: the latest runs of the sync DAGs from Airflow's own metadata (extract results per tenant);
- ``security``: Airflow 3 authentication (the ``_token`` cookie or a bearer token) and authorisation;
- ``app``: the FastAPI app, mounted by the API server under ``/customer-sync`` by
  ``plugins/customer_sync_plugin.py``, which also adds the navigation entry.
"""
