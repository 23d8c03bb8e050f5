# The project's Airflow image: the official Airflow 3 image plus the project's pinned dependencies
# and the project itself, installed as the package `zoho-customer-sync` (pyproject.toml), whose
# apache_airflow_provider entry point registers the zoho_books connection type with Airflow.
FROM apache/airflow:3.3.2-python3.11
USER airflow
COPY --chown=airflow:root requirements.txt constraints.txt /opt/project/
RUN pip install --no-cache-dir -r /opt/project/requirements.txt -c /opt/project/constraints.txt
COPY --chown=airflow:root pyproject.toml /opt/project/
COPY --chown=airflow:root plugins/zoho/ /opt/project/plugins/zoho/
RUN pip install --no-cache-dir -c /opt/project/constraints.txt /opt/project \
    && rm -rf /opt/project/build /opt/project/plugins/*.egg-info
# Baked in for deployments without mounts; docker-compose.yaml mounts the working copy over them.
COPY --chown=airflow:root dags/ /opt/airflow/dags/
COPY --chown=airflow:root plugins/ /opt/airflow/plugins/
COPY --chown=airflow:root dbt_project/ /opt/airflow/dbt_project/
COPY --chown=airflow:root zoho_sandbox/ /opt/airflow/zoho_sandbox/
COPY --chown=airflow:root scripts/ /opt/airflow/scripts/
# A checkout's editable-install metadata (plugins/*.egg-info) must not shadow the installed package's.
RUN rm -rf /opt/airflow/plugins/*.egg-info
ENV PYTHONPATH=/opt/airflow:/opt/airflow/plugins \
    DBT_PROJECT_DIR=/opt/airflow/dbt_project
