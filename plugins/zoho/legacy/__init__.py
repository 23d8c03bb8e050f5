"""The one-off migration of the old invoice table (customer fields embedded) into the new model.

Owns: landing the legacy rows with quarantine (``backfill``, ``sql/``) and the integrity report.
The merge below Zoho's records is dbt's (``int_*__legacy_merged``).
May import: ``zoho.rules``, ``zoho.warehouse``. Never Airflow.
"""
