"""Airflow DAG zoho_sync_nightly: daily at 02:00 UTC, full pass with deletion detection (built in zoho.airflow.dag_factory)."""
from zoho.airflow.dag_factory import build_sync_dag

dag = build_sync_dag("full")
