"""Helpers shared by the test areas that sync sandbox organisations into a real warehouse
(tests/integration, tests/reliability): a client per organisation, one tenant's sync, queries."""
from __future__ import annotations

from zoho.books.client import ZohoBooksClient
from zoho.sync.extract import Tenant, sync_tenant
from zoho.warehouse import connection as warehouse

# The sandbox's limits are off in the tests that use these helpers and the client's are opened up
# accordingly: what lands and the faults are under test, not the pacing (tests/client and
# tests/reliability/test_many_tenants.py cover the limiter).
FAST = {"requests_per_minute": 100_000, "max_concurrent": 5, "backoff_base": 0.05, "timeout": 5.0}


def client_for(sb, org, tenant=None, **overrides) -> ZohoBooksClient:
    """A client for one sandbox organisation, built like the Airflow hook builds it (``tenant``
    labels its errors and logs; default: the organisation's user_id)."""
    conn = sb.airflow_connection(org)
    return ZohoBooksClient.from_connection_fields(conn["login"], conn["password"],
                                                 {**conn["extra"], **FAST, **overrides},
                                                 tenant=tenant or str(org.user_id))


def sync(sb, uri, org, mode, label=None, *, client=None, run_id=None, **overrides):
    """``sync_tenant`` for one organisation under the tenant ``label`` (default: its user_id);
    returns the result and the client."""
    label = label or org.user_id
    client = client or client_for(sb, org, tenant=label, **overrides)
    result = sync_tenant(client, uri, Tenant(label, org.country), mode, run_id=run_id or f"test-{mode}")
    return result, client


def rows(uri, query, *params):
    with warehouse.connect(uri) as conn:
        return conn.execute(query, params).fetchall()


def scalar(uri, query, *params):
    return rows(uri, query, *params)[0][0]
