"""``sync_tenant`` in a process of its own (the fault suite SIGKILLs it mid-run).

    python tests/reliability/sync_runner.py '{"connection": {...}, "uri": ..., "label": ..., "country": ...,
                                             "mode": "full", "run_id": ...}'
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for p in (ROOT, ROOT / "plugins"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from zoho.books.client import ZohoBooksClient  # noqa: E402
from zoho.sync.extract import Tenant, sync_tenant  # noqa: E402

FAST = {"requests_per_minute": 100_000, "max_concurrent": 5, "backoff_base": 0.05, "timeout": 60.0}


def main(spec: dict) -> None:
    conn = spec["connection"]
    client = ZohoBooksClient.from_connection_fields(conn["login"], conn["password"], {**conn["extra"], **FAST},
                                                   tenant=spec["label"])
    result = sync_tenant(client, spec["uri"], Tenant(spec["label"], spec["country"]), spec["mode"],
                         run_id=spec.get("run_id"))
    print(json.dumps(result.as_dict()))


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
