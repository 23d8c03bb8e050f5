"""The Airflow face of the product: the only part (with ``zoho.ui``) that imports Airflow.

Owns: the ``zoho_books`` connection type and its hook (``hooks``), the provider registration
(``provider``), the task callables (``tasks``: thin wrappers that read connections and Variables,
call the parts below and log), the DAG factory for the sync DAGs (``dag_factory``) and the cosmos
glue that renders the dbt project as task groups (``dbt``).
May import: every part of ``zoho``; Airflow, cosmos.
"""
