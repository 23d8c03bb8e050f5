"""Airflow DAG zoho_legacy_backfill: the one-off, manual migration of the old invoice table (built in zoho.airflow.dag_factory)."""
from zoho.airflow.dag_factory import build_legacy_dag

dag = build_legacy_dag()
