"""Airflow DAG zoho_sync_incremental: every 30 minutes (built in zoho.airflow.dag_factory)."""
from zoho.airflow.dag_factory import build_sync_dag

dag = build_sync_dag("incremental")
