"""Zoho Books customer sync: client, loading, phone rule, reminders.

Importable without Airflow; only ``zoho.hooks`` and ``zoho.tasks`` import Airflow.
"""
