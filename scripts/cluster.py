#!/usr/bin/env python
"""A local Airflow deployment of separate processes, the shape of the compose stack: the API server,
the scheduler, the DAG processor and, with the CeleryExecutor, a broker and Celery workers; Airflow's
metadata in the Postgres the environment names (``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN``).

    python scripts/cluster.py up [--executor celery|local] [--workers 2] [--port 8080] [--redis-db 0]
    python scripts/cluster.py down
    python scripts/cluster.py status

Run it inside the project environment (``scripts/with-env``, as ``make cluster`` does). State, logs and
pid files live in ``$AIRFLOW_HOME/cluster`` (one deployment per Airflow home).

- **Broker** (Celery): ``AIRFLOW__CELERY__BROKER_URL`` when set; else a Redis already listening on
  127.0.0.1:6379 (database ``--redis-db``: deployments sharing one Redis keep apart by database); else
  a Redis of the deployment's own (``redis-server`` on a free port, its data under the cluster
  directory, stopped by ``down``), installed with apt-get when missing and run as root. Results go
  to Airflow's metadata database (``db+postgresql``).
- **Workers**: ``airflow celery worker`` each with its own name (``worker1@host``...) and log-server
  port, ``--concurrency`` task slots each. The ``dbt_warehouse`` pool (one slot) keeps dbt tasks one
  at a time across all of them; a tenant's extraction takes the tenant's budget through the
  warehouse-held limiter, whichever worker runs it.
- ``up`` waits for the API server to answer and the DAG processor to have parsed the project's DAGs;
  ``down`` stops every process of the deployment (process groups), the deployment's own Redis too.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parents[1]
DAG_IDS = ("zoho_sync_incremental", "zoho_sync_nightly", "zoho_legacy_backfill")
EXECUTORS = {"celery": "CeleryExecutor", "local": "LocalExecutor"}


def log(msg: str) -> None:
    print(f"[cluster] {msg}", file=sys.stderr, flush=True)


def home() -> Path:
    path = Path(os.environ["AIRFLOW_HOME"]) / "cluster"
    path.mkdir(parents=True, exist_ok=True)
    return path


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def metadata_url() -> str:
    url = os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "")
    if not url.startswith("postgresql"):
        raise SystemExit("the cluster needs Airflow's metadata in Postgres (AIRFLOW__DATABASE__SQL_ALCHEMY_CONN); "
                         "run it through scripts/with-env, which sets the project-local one")
    return url


# --------------------------------------------------------------------------- the broker
def redis_binary() -> str:
    found = shutil.which("redis-server") or ("/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None)
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log("installing redis-server (apt-get)")
        subprocess.run(["apt-get", "update", "-q"], check=True, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "redis-server"], check=True, capture_output=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        return shutil.which("redis-server") or "/usr/bin/redis-server"
    raise SystemExit("no Redis for the Celery broker: install redis-server (apt-get install redis-server), "
                     "or set AIRFLOW__CELERY__BROKER_URL")


def broker_up(state: dict, redis_db: int) -> str:
    if os.environ.get("AIRFLOW__CELERY__BROKER_URL"):
        return os.environ["AIRFLOW__CELERY__BROKER_URL"]
    if port_open(6379):
        log(f"broker: the Redis on 127.0.0.1:6379 (database {redis_db})")
        return f"redis://127.0.0.1:6379/{redis_db}"
    port, data = free_port(), home() / "redis"
    data.mkdir(exist_ok=True)
    start(state, "redis", [redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data),
                           "--save", "", "--appendonly", "no"], os.environ.copy())
    wait(lambda: port_open(port), 30, "Redis")
    log(f"broker: a Redis of this deployment on 127.0.0.1:{port}")
    return f"redis://127.0.0.1:{port}/{redis_db}"


# --------------------------------------------------------------------------- processes
def start(state: dict, name: str, cmd: list[str], env: dict) -> None:
    out = open(home() / f"{name}.log", "ab")
    proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT)
    state["processes"][name] = proc.pid
    (home() / "state.json").write_text(json.dumps(state, indent=1))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def wait(ready, seconds: float, what: str, state: dict | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():
            return
        dead = [n for n, pid in (state or {}).get("processes", {}).items() if not alive(pid)]
        if dead:
            raise SystemExit(f"{', '.join(dead)} exited while waiting for {what}; see {home()}/<name>.log")
        time.sleep(1)
    raise SystemExit(f"{what} not ready after {seconds:.0f} s; logs in {home()}")


def dags_parsed() -> bool:
    import psycopg

    url = metadata_url().replace("postgresql+psycopg2://", "postgresql://")
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            n = conn.execute("select count(*) from dag where dag_id = any(%s) and not is_stale",
                             (list(DAG_IDS),)).fetchone()[0]
        return n == len(DAG_IDS)
    except psycopg.Error:
        return False


def api_ready(port: int) -> bool:
    try:
        with urlopen(f"http://127.0.0.1:{port}/api/v2/monitor/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def up(args) -> int:
    if (home() / "state.json").exists() and any(alive(p) for p in load_state()["processes"].values()):
        raise SystemExit(f"a deployment is already running from {home()} (python scripts/cluster.py down)")
    url = metadata_url()
    state = {"executor": args.executor, "port": args.port, "processes": {}}
    env = {**os.environ,
           "AIRFLOW__CORE__EXECUTOR": EXECUTORS[args.executor],
           "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{args.port}/execution/",
           "AIRFLOW__API__PORT": str(args.port),
           "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{args.port}",
           # the UI's login, as `make airflow` has it (admin / admin; scripts/setup_airflow.sh writes the file)
           "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": os.environ.get("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS",
                                                                      "admin:admin"),
           "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": os.environ.get(
               "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE",
               str(Path(os.environ["AIRFLOW_HOME"]) / "simple_auth_manager_passwords.json.generated"))}
    if args.executor == "celery":
        parts = urlsplit(url.replace("postgresql+psycopg2://", "postgresql://"))
        env["AIRFLOW__CELERY__BROKER_URL"] = broker_up(state, args.redis_db)
        env["AIRFLOW__CELERY__RESULT_BACKEND"] = "db+" + urlunsplit(parts)
    state["broker"] = env.get("AIRFLOW__CELERY__BROKER_URL")
    subprocess.run(["airflow", "pools", "set", "dbt_warehouse", "1",
                    "dbt model and test tasks, one at a time on the warehouse"], env=env, check=True,
                   capture_output=True, timeout=300)
    start(state, "api-server", ["airflow", "api-server", "--port", str(args.port)], env)
    start(state, "scheduler", ["airflow", "scheduler"], env)
    start(state, "dag-processor", ["airflow", "dag-processor"], env)
    if args.executor == "celery":
        for i in range(1, args.workers + 1):
            worker_env = {**env, "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port())}
            start(state, f"worker{i}", ["airflow", "celery", "worker", "--celery-hostname", f"worker{i}@%h",
                                        "--concurrency", str(args.concurrency), "--without-mingle",
                                        "--without-gossip"], worker_env)
    wait(lambda: api_ready(args.port), 240, "the API server", state)
    wait(dags_parsed, 240, "the DAG processor's first parse", state)
    time.sleep(5)  # a scheduler or worker that cannot load its executor exits within seconds of its start
    dead = [name for name, pid in state["processes"].items() if not alive(pid)]
    if dead:
        down(args)
        raise SystemExit(f"{', '.join(dead)} exited after starting; see {home()}/<name>.log")
    log(f"up: {EXECUTORS[args.executor]}, {', '.join(state['processes'])}; UI http://127.0.0.1:{args.port}; "
        f"logs {home()}")
    return 0


def load_state() -> dict:
    path = home() / "state.json"
    return json.loads(path.read_text()) if path.exists() else {"processes": {}}


def down(_args) -> int:
    state = load_state()
    for name, pid in reversed(list(state["processes"].items())):
        if alive(pid):
            try:
                os.killpg(pid, signal.SIGTERM)
            except OSError:
                pass
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(alive(p) for p in state["processes"].values()):
        time.sleep(0.5)
    for pid in state["processes"].values():
        if alive(pid):
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
    (home() / "state.json").unlink(missing_ok=True)
    log(f"down: stopped {', '.join(state['processes']) or 'nothing'}")
    return 0


def status(_args) -> int:
    state = load_state()
    for name, pid in state["processes"].items():
        print(f"{name:<14} pid {pid:<8} {'running' if alive(pid) else 'stopped'}")
    if state.get("broker"):
        print(f"broker         {state['broker']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    u = sub.add_parser("up")
    u.add_argument("--executor", choices=sorted(EXECUTORS), default="celery")
    u.add_argument("--workers", type=int, default=2)
    u.add_argument("--concurrency", type=int, default=4, help="task slots per worker (default 4)")
    u.add_argument("--port", type=int, default=8080)
    u.add_argument("--redis-db", type=int, default=0)
    sub.add_parser("down")
    sub.add_parser("status")
    args = ap.parse_args(argv)
    return {"up": up, "down": down, "status": status}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
