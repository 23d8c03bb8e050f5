"""The peer: dlt's REST API source loading the same contacts and invoices from the same sandbox into
the same Postgres. Runs under the bench-only virtualenv (``.local/bench-venv``: dlt and its
dependencies, ``requirements-bench.txt``), so it imports nothing from the project.

    python bench/dlt_peer.py SPEC.json OUT.json

SPEC: ``{"warehouse_uri", "pipelines_dir", "tenants": [{"user_id", "organization_id", "api_base_url",
"access_token"}]}``. One pipeline per tenant (dataset ``dlt_<user_id>``), resources ``contacts``
(``contact_type=customer``, ``filter_by=Status.All``, as our extraction lists them) and
``invoices``, 200 per page, page numbers from 1 following ``page_context.has_more_page``,
``merge`` on the Zoho id (one current row per id, like ``zoho_raw``). The OAuth access token is
obtained once by the caller and sent as ``Authorization: Zoho-oauthtoken ...`` (an ``api_key``
auth in the header). Everything else is dlt's defaults.
"""
from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("DLT_TELEMETRY", "false")


def source_for(tenant: dict):
    from dlt.sources.rest_api import rest_api_source

    paginator = {"type": "page_number", "base_page": 1, "page_param": "page", "total_path": None,
                 "has_more_path": "page_context.has_more_page"}
    common = {"organization_id": tenant["organization_id"], "per_page": 200}
    return rest_api_source({
        "client": {
            "base_url": tenant["api_base_url"].rstrip("/") + "/books/v3/",
            "auth": {"type": "api_key", "name": "Authorization", "location": "header",
                     "api_key": f"Zoho-oauthtoken {tenant['access_token']}"},
            "paginator": paginator,
        },
        "resource_defaults": {"write_disposition": "merge"},
        "resources": [
            {"name": "contacts", "primary_key": "contact_id",
             "endpoint": {"path": "contacts", "data_selector": "contacts",
                          "params": {**common, "contact_type": "customer", "filter_by": "Status.All"}}},
            {"name": "invoices", "primary_key": "invoice_id",
             "endpoint": {"path": "invoices", "data_selector": "invoices", "params": dict(common)}},
        ],
    })


def credentials(uri: str) -> str:
    """dlt insists on a password; a password-less login (trust auth, as the project-local server
    uses) gets a placeholder that the server ignores."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(uri)
    if parts.password is None and parts.username:
        netloc = f"{parts.username}:unused@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)


def main(argv: list[str]) -> int:
    spec_file, out_file = argv
    spec = json.loads(Path(spec_file).read_text())
    import dlt

    out = {"dlt_version": dlt.__version__, "tenants": []}
    started = time.perf_counter()
    for tenant in spec["tenants"]:
        name = re.sub(r"[^a-z0-9_]", "_", tenant["user_id"].lower())
        pipeline = dlt.pipeline(pipeline_name=f"zoho_peer_{name}",
                                destination=dlt.destinations.postgres(credentials=credentials(spec["warehouse_uri"])),
                                dataset_name=f"dlt_{name}", pipelines_dir=spec["pipelines_dir"],
                                progress=None)
        t0 = time.perf_counter()
        pipeline.extract(source_for(tenant))
        t1 = time.perf_counter()
        pipeline.normalize()
        t2 = time.perf_counter()
        info = pipeline.load()
        t3 = time.perf_counter()
        rows = {}
        with pipeline.sql_client() as client:
            for table in ("contacts", "invoices"):
                rows[table] = client.execute_sql(f"select count(*) from {client.make_qualified_table_name(table)}")[0][0]
            tables = client.execute_sql(
                "select count(*) from information_schema.tables where table_schema = %s", pipeline.dataset_name)[0][0]
        out["tenants"].append({"user_id": tenant["user_id"], "extract_s": round(t1 - t0, 3),
                               "normalize_s": round(t2 - t1, 3), "load_s": round(t3 - t2, 3),
                               "wall_s": round(t3 - t0, 3), "rows": rows, "tables": tables,
                               "failed_jobs": bool(info.has_failed_jobs)})
    out["wall_s"] = round(time.perf_counter() - started, 3)
    try:  # peak resident memory since exec (see bench.common.vm_hwm_mb)
        with open("/proc/self/status") as f:
            out["self_vm_hwm_mb"] = next(int(ln.split()[1]) / 1024 for ln in f if ln.startswith("VmHWM:"))
    except (OSError, StopIteration, ValueError):
        pass
    Path(out_file).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
