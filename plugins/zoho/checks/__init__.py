"""Checks on the modelled data and on a deployment.

Owns: the Great Expectations quality gate (``quality``), the post-deployment verification (the
``python -m zoho.checks.verify`` command in ``verify``, its ``thresholds``, the ``report`` with
``sql/verify/``, the budget ``planner``'s line and warning) and the run summary printed by
``make run`` (``summary``).
May import: ``zoho.rules``, ``zoho.warehouse``, ``zoho.sync`` (the tenant list),
``zoho.reminders`` (the policy's statuses). Never Airflow.
"""
