"""Shared helpers: databases on the warehouse server, measured subprocesses, the machine."""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_VENV_PY = ROOT / ".local" / "bench-venv" / "bin" / "python"


def with_db(uri: str, dbname: str) -> str:
    parts = urlsplit(uri)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


def db_name(uri: str) -> str:
    return urlsplit(uri).path.lstrip("/")


class Databases:
    """Fresh ``bench_<timestamp>_<label>`` databases on the warehouse server; ``drop_all`` at the end."""

    def __init__(self, server_uri: str, stamp: str | None = None):
        self.server_uri = server_uri
        self.admin_uri = with_db(server_uri, "postgres")
        self.stamp = stamp or datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S")
        self.created: list[str] = []
        self._lock = threading.Lock()  # Alembic's context is process-global: one migration at a time

    def create(self, label: str, migrate: bool = True) -> str:
        from zoho.warehouse import schema
        from zoho.warehouse import connection as warehouse

        name = f"bench_{self.stamp}_{label}".lower()
        with self._lock:
            with warehouse.connect(self.admin_uri, autocommit=True) as conn:
                conn.execute(f'drop database if exists "{name}" with (force)')
                conn.execute(f'create database "{name}"')
            self.created.append(name)
            uri = with_db(self.server_uri, name)
            if migrate:
                schema.upgrade(uri)
        return uri

    def drop_all(self) -> None:
        from zoho.warehouse import connection as warehouse

        with warehouse.connect(self.admin_uri, autocommit=True) as conn:
            for name in self.created:
                conn.execute(f'drop database if exists "{name}" with (force)')
        self.created.clear()


def vm_hwm_mb(pid: int | str = "self") -> float | None:
    """Peak resident memory of a process since its last exec (``VmHWM`` of /proc/PID/status).

    Not ``ru_maxrss``: a child's ``ru_maxrss`` also counts the parent's image it was forked from
    (held until its exec), and the harness holds the sandbox's data."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        return None
    return None


@dataclass
class Measured:
    """What one subprocess did: exit code, wall time, peak resident memory (``VmHWM``, polled, or
    what the child reported as ``self_vm_hwm_mb``)."""
    returncode: int
    wall_s: float
    maxrss_mb: float
    user_s: float
    sys_s: float
    log: Path
    result: dict = field(default_factory=dict)

    def check(self, what: str) -> "Measured":
        if self.returncode != 0:
            tail = self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""
            raise RuntimeError(f"{what} failed (exit {self.returncode}); log {self.log}:\n{tail}")
        return self


def run_measured(cmd: list[str], *, log: Path, env: dict | None = None, result_file: Path | None = None,
                 timeout: float | None = None, cwd: Path = ROOT) -> Measured:
    """Run ``cmd``: exit code, wall time, CPU time (``os.wait4``) and peak resident memory."""
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    peak = 0.0
    with open(log, "wb") as out:
        # Popen returns once the child has exec'd: every VmHWM read below is the new program's
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        deadline = None if timeout is None else started + timeout
        while True:
            peak = max(peak, vm_hwm_mb(proc.pid) or 0.0)
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if deadline is not None and time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    result = {}
    if result_file is not None and result_file.exists():
        result = json.loads(result_file.read_text())
    peak = max(peak, float(result.get("self_vm_hwm_mb") or 0.0))
    return Measured(proc.returncode, wall, peak, usage.ru_utime, usage.ru_stime, log, result)


def python_env(extra: dict | None = None) -> dict:
    env = dict(os.environ)
    paths = [str(ROOT), str(ROOT / "plugins")]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.setdefault("DO_NOT_TRACK", "1")
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
    env.update(extra or {})
    return env


def loadavg() -> str:
    try:
        one, five, fifteen = os.getloadavg()
        return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"
    except OSError:
        return "n/a"


def machine_info(server_uri: str) -> dict:
    info = {"nproc": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "?")
    except OSError:
        info["cpu"] = platform.processor() or "?"
    try:
        with open("/proc/meminfo") as f:
            mem = {ln.split(":")[0]: int(ln.split()[1]) for ln in f if ln.split(":")[0] in ("MemTotal", "MemAvailable")}
        info["mem_total_gb"] = round(mem["MemTotal"] / 1024 / 1024, 1)
        info["mem_available_gb"] = round(mem["MemAvailable"] / 1024 / 1024, 1)
    except (OSError, KeyError, ValueError):
        pass
    try:
        info["nproc"] = int(subprocess.check_output(["nproc"], text=True).strip())
    except (OSError, subprocess.CalledProcessError, ValueError):
        pass
    try:
        from zoho.warehouse import connection as warehouse

        with warehouse.connect(with_db(server_uri, "postgres")) as conn:
            info["postgres"] = conn.execute("show server_version").fetchone()[0]
            info["pg_settings"] = {k: conn.execute(f"show {k}").fetchone()[0]
                                   for k in ("shared_buffers", "fsync", "synchronous_commit", "work_mem")}
    except Exception as exc:  # noqa: BLE001 - informative only
        info["postgres"] = f"unknown ({type(exc).__name__})"
    from importlib import metadata

    versions = {}
    for dist in ("apache-airflow", "astronomer-cosmos", "dbt-core", "dbt-postgres", "psycopg", "requests"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    info["versions"] = versions
    return info


def rolling_minute(times: list[float], window: float = 60.0, step: float = 0.1) -> tuple[int, float]:
    """(busiest, average) number of requests in a rolling ``window`` of seconds.

    Busiest: the most requests in any window. Average: the mean count of the windows starting
    every ``step`` seconds from the first request to one window before the last (a run shorter
    than a window: its request count)."""
    import bisect

    if not times:
        return 0, 0.0
    ts = sorted(times)
    busiest, j = 0, 0
    for i, t in enumerate(ts):
        while ts[j] <= t - window:
            j += 1
        busiest = max(busiest, i - j + 1)
    if ts[-1] - ts[0] <= window:
        return busiest, float(len(ts))
    counts, k = [], 0
    while ts[0] + k * step + window <= ts[-1]:
        start = ts[0] + k * step
        counts.append(bisect.bisect_left(ts, start + window) - bisect.bisect_left(ts, start))
        k += 1
    return busiest, sum(counts) / len(counts)


# --------------------------------------------------------------------------- dbt
DBT_PROJECT = ROOT / "dbt_project"


def dbt_env(uri: str, extra: dict | None = None) -> dict:
    sys.path.insert(0, str(DBT_PROJECT))
    try:
        from dbt_env import env_for_uri
    finally:
        sys.path.remove(str(DBT_PROJECT))
    return python_env({**env_for_uri(uri), "DBT_SEND_ANONYMOUS_USAGE_STATS": "False", "DO_NOT_TRACK": "1",
                       **(extra or {})})


def run_dbt(uri: str, args: list[str], target_path: Path, *, log: Path, env_extra: dict | None = None) -> dict:
    """``dbt <args>`` against ``uri`` (profile env from dbt_project/dbt_env.py); wall time and
    run_results.json figures (seconds spent in models / tests as dbt reports them)."""
    dbt = Path(sys.executable).with_name("dbt")
    cmd = [str(dbt), *args, "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
           "--target-path", str(target_path), "--log-path", str(target_path / "logs")]
    results_file = target_path / "run_results.json"
    results_file.unlink(missing_ok=True)
    m = run_measured(cmd, log=log, env=dbt_env(uri, env_extra))
    out = {"command": "dbt " + " ".join(args), "returncode": m.returncode, "wall_s": round(m.wall_s, 2),
           "log": str(log)}
    if results_file.exists():
        rr = json.loads(results_file.read_text())
        by_type: dict[str, dict] = {}
        failed = []
        for r in rr.get("results", []):
            kind = r["unique_id"].split(".")[0]
            t = by_type.setdefault(kind, {"count": 0, "seconds": 0.0})
            t["count"] += 1
            t["seconds"] = round(t["seconds"] + float(r.get("execution_time") or 0), 3)
            if r.get("status") in ("error", "fail"):
                failed.append(r["unique_id"])
        out["by_type"] = by_type
        out["elapsed_s"] = round(float(rr.get("elapsed_time") or 0), 2)
        out["failed"] = failed
        out["nodes"] = {r["unique_id"].split(".", 2)[-1]: round(float(r.get("execution_time") or 0), 3)
                        for r in rr.get("results", [])}
    return out
