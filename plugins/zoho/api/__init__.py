"""The JSON API (``/customer-sync/api/v1``): invoices with their customer, customers, reminders, and
the reminder sender's write path. Served by the Airflow API server as a plugin FastAPI app, with
Airflow's authentication; tenant grants in ``zoho_sync.api_grants`` (``python -m zoho.api.grants``).
"""
