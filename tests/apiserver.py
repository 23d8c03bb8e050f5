"""A real ``airflow api-server`` for tests: its own metadata database, the simple auth manager with
one user (admin / admin), a JWT from Airflow's own ``/auth/token`` endpoint.

    env = api_server_env(make_database, home, prefix="ui", **{"AIRFLOW_CONN_WAREHOUSE_DEFAULT": uri})
    with ApiServer(env, home) as server:      # migrates the metadata database, starts the server
        ...                                   # (work that may run while it starts)
        server.wait_ready()
        requests.get(server.base + "/api/v2/version", headers=server.auth())
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

USER = PASSWORD = "admin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api_server_env(make_database, home: Path, prefix: str, base_env: dict | None = None,
                   users: dict[str, str] | None = None, **overrides: str) -> dict:
    """The environment of an Airflow whose metadata lives in a new database of the test server;
    ``base_env`` (default: this process's environment) with ``overrides`` on top. ``users``: more
    simple-auth-manager users, name -> role (``viewer``, ``user``, ``op``, ``admin``); each one's
    password is its name."""
    meta_db = make_database(prefix, migrate=False)
    p = urlsplit(meta_db)
    meta = urlunsplit(("postgresql+psycopg2", p.netloc, p.path, p.query, p.fragment))
    home.mkdir(parents=True, exist_ok=True)
    passwords = home / "passwords.json"
    users = {USER: "admin", **(users or {})}
    passwords.write_text(json.dumps({name: (PASSWORD if name == USER else name) for name in users}))
    return {**(os.environ if base_env is None else base_env),
            "AIRFLOW_HOME": str(home / "airflow_home"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": meta,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{n}:{r}" for n, r in users.items()),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            "AIRFLOW__API__BASE_URL": "",
            **overrides}


class ApiServer:
    """``airflow db migrate``, then ``airflow api-server`` in its own process group (stopped on exit)."""

    def __init__(self, env: dict, home: Path, timeout: float = 180) -> None:
        self.env, self.home, self.timeout = env, home, timeout
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = home / "api-server.log"
        self.proc: subprocess.Popen | None = None
        self._token: str | None = None
        self._tokens: dict[str, str] = {}

    def __enter__(self) -> "ApiServer":
        Path(self.env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
        subprocess.run(["airflow", "db", "migrate"], env=self.env, check=True, capture_output=True, timeout=300)
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(["airflow", "api-server", "--port", str(self.port), "--workers", "1"],
                                         env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def wait_ready(self) -> None:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the API server exited ({self.proc.returncode}):\n{self.log.read_text()[-4000:]}")
            try:
                requests.get(self.base + "/api/v2/version", timeout=2)
                return
            except requests.RequestException:
                time.sleep(0.5)
        raise RuntimeError(f"the API server did not answer in {self.timeout} s:\n{self.log.read_text()[-4000:]}")

    @property
    def token(self) -> str:
        """A JWT for admin from Airflow's token endpoint (as any Airflow API client gets one)."""
        if self._token is None:
            r = requests.post(self.base + "/auth/token", json={"username": USER, "password": PASSWORD}, timeout=30)
            assert r.status_code == 201, r.text
            self._token = r.json()["access_token"]
        return self._token

    def auth(self, user: str | None = None) -> dict:
        """Bearer headers of admin, or of another user of ``api_server_env(users=...)``."""
        if user is None or user == USER:
            return {"Authorization": f"Bearer {self.token}"}
        if user not in self._tokens:
            r = requests.post(self.base + "/auth/token", json={"username": user, "password": user}, timeout=30)
            assert r.status_code == 201, r.text
            self._tokens[user] = r.json()["access_token"]
        return {"Authorization": f"Bearer {self._tokens[user]}"}

    def __exit__(self, *exc_info) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)
