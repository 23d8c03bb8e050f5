"""The latest runs of the sync DAGs, from Airflow's own metadata database (the API server's session).

``sync_metadata`` keeps only the last run of each (tenant, entity). The per-tenant view also wants
the last incremental *and* the last nightly run: those come from Airflow, where each run's ``extract``
task (one mapped instance per tenant, labelled with its ``user_id``) returned the tenant's result as
its XCom: records per entity, API calls, and the client's view of the organisation's daily budget
(``client_stats.daily_limit`` / ``daily_remaining``, known once Zoho reported them).

Best effort by design: anything missing (no run yet, a failed task without a result) is shown as
such, and an error here never breaks the page.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)

SYNC_DAGS = {"incremental": "zoho_sync_incremental", "full": "zoho_sync_nightly"}
EXTRACT_TASK_ID = "extract"


@dataclass
class TenantRun:
    """One tenant's part of one DAG run (the mapped ``extract`` task instance and its result)."""

    state: str | None = None
    end_date: datetime | None = None
    result: dict[str, Any] | None = None

    def _entities(self) -> list[dict[str, Any]]:
        return list((self.result or {}).get("entities") or [])

    @property
    def records_fetched(self) -> int | None:
        return sum(int(e.get("fetched") or 0) for e in self._entities()) if self.result else None

    @property
    def records_upserted(self) -> int | None:
        return sum(int(e.get("upserted") or 0) for e in self._entities()) if self.result else None

    @property
    def api_calls(self) -> int | None:
        if not self.result:
            return None
        stats = self.result.get("client_stats") or {}
        if stats.get("total_calls") is not None:
            return int(stats["total_calls"])
        return sum(int(e.get("api_calls") or 0) for e in self._entities())

    @property
    def daily_limit(self) -> int | None:
        value = ((self.result or {}).get("client_stats") or {}).get("daily_limit")
        return int(value) if value is not None else None

    @property
    def daily_remaining(self) -> int | None:
        value = ((self.result or {}).get("client_stats") or {}).get("daily_remaining")
        return int(value) if value is not None else None


@dataclass
class DagRunInfo:
    dag_id: str
    mode: str
    run_id: str
    state: str | None
    run_after: datetime | None
    end_date: datetime | None
    tenants: dict[str, TenantRun] = field(default_factory=dict)


def latest_sync_runs() -> dict[str, DagRunInfo | None]:
    """``{"incremental": DagRunInfo | None, "full": ...}``: each sync DAG's latest run with its tenants."""
    out: dict[str, DagRunInfo | None] = {mode: None for mode in SYNC_DAGS}
    try:
        from sqlalchemy import select

        from airflow.models.dagrun import DagRun
        from airflow.models.taskinstance import TaskInstance
        from airflow.models.xcom import XComModel
        from airflow.utils.session import create_session

        with create_session() as session:
            for mode, dag_id in SYNC_DAGS.items():
                dr = session.execute(
                    select(DagRun.run_id, DagRun.state, DagRun.run_after, DagRun.end_date)
                    .where(DagRun.dag_id == dag_id)
                    .order_by(DagRun.run_after.desc(), DagRun.id.desc()).limit(1)).first()
                if dr is None:
                    continue
                info = DagRunInfo(dag_id=dag_id, mode=mode, run_id=dr.run_id, state=_str(dr.state),
                                  run_after=dr.run_after, end_date=dr.end_date)
                by_index: dict[int, TenantRun] = {}
                labels: dict[int, str] = {}
                for ti in session.execute(
                        select(TaskInstance.map_index, TaskInstance.rendered_map_index.label("label"),
                               TaskInstance.state, TaskInstance.end_date)
                        .where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == dr.run_id,
                               TaskInstance.task_id == EXTRACT_TASK_ID)):
                    by_index[ti.map_index] = TenantRun(state=_str(ti.state), end_date=ti.end_date)
                    if ti.label and ti.label != str(ti.map_index):  # the map index template: the user_id
                        labels[ti.map_index] = ti.label
                for x in session.execute(
                        select(XComModel.map_index, XComModel.value)
                        .where(XComModel.dag_id == dag_id, XComModel.run_id == dr.run_id,
                               XComModel.task_id == EXTRACT_TASK_ID, XComModel.key == "return_value")):
                    value = XComModel.deserialize_value(x)
                    if isinstance(value, dict):
                        by_index.setdefault(x.map_index, TenantRun()).result = value
                        if value.get("user_id"):
                            labels[x.map_index] = str(value["user_id"])
                for index, tenant_run in by_index.items():
                    if index in labels:
                        info.tenants[labels[index]] = tenant_run
                out[mode] = info
    except Exception:  # the warehouse part of the page must not depend on this
        log.exception("could not read the latest sync DAG runs from the Airflow metadata database")
    return out


def dag_of_run(run_id: str) -> str | None:
    """Which sync DAG a run id belongs to (run ids alone do not name their DAG)."""
    try:
        from sqlalchemy import select

        from airflow.models.dagrun import DagRun
        from airflow.utils.session import create_session

        with create_session() as session:
            return session.execute(select(DagRun.dag_id).where(
                DagRun.run_id == run_id, DagRun.dag_id.in_(list(SYNC_DAGS.values()))).limit(1)).scalar()
    except Exception:
        log.exception("could not look up the DAG of run %r", run_id)
        return None


def _str(state: Any) -> str | None:
    return None if state is None else str(getattr(state, "value", state))
