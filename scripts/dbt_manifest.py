#!/usr/bin/env python3
"""Build dbt_project/target/manifest.json (``dbt parse``) when the project changed since the last
build, so that cosmos renders the DAGs from the manifest at parse time (fast, no dbt call).

Parsing needs no database: the profile's connection values are placeholders here.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(os.environ.get("DBT_PROJECT_DIR") or Path(__file__).resolve().parents[1] / "dbt_project")
MANIFEST = PROJECT / "target" / "manifest.json"


def newest_source() -> float:
    files = [p for p in PROJECT.rglob("*") if p.is_file()
             and not any(part in ("target", "logs", "dbt_packages") for part in p.relative_to(PROJECT).parts)]
    return max((p.stat().st_mtime for p in files), default=0.0)


def main() -> int:
    if not (PROJECT / "dbt_project.yml").exists():
        print(f"[dbt] no dbt project in {PROJECT}", file=sys.stderr)
        return 0
    if MANIFEST.exists() and MANIFEST.stat().st_mtime >= newest_source() and "--force" not in sys.argv:
        return 0
    env = {**os.environ, "WAREHOUSE_HOST": os.environ.get("WAREHOUSE_HOST", "localhost"),
           "WAREHOUSE_PORT": os.environ.get("WAREHOUSE_PORT", "5432"),
           "WAREHOUSE_USER": os.environ.get("WAREHOUSE_USER", "parse"),
           "WAREHOUSE_DBNAME": os.environ.get("WAREHOUSE_DBNAME", "parse"),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "False", "DO_NOT_TRACK": "1"}
    dbt = Path(sys.executable).parent / "dbt"
    cmd = [str(dbt) if dbt.exists() else "dbt", "parse", "--project-dir", str(PROJECT),
           "--profiles-dir", str(PROJECT), "--quiet"]
    r = subprocess.run(cmd, env=env)
    if r.returncode == 0:
        print(f"[dbt] manifest built: {MANIFEST}", file=sys.stderr)
    return r.returncode


if __name__ == "__main__":
    sys.exit(main())
