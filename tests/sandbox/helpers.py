"""A minimal Zoho Books caller for the sandbox tests (real sockets, ``requests``)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


class Zoho:
    """Calls one organisation of a sandbox with a valid token (minted, so no token request is spent)."""

    def __init__(self, sb, org=0) -> None:
        self.sb = sb
        self.org = sb.org(org)
        self.session = requests.Session()
        self.token = sb.access_token(self.org)

    def get(self, path: str, token: str | None = None, org_id=..., **params) -> requests.Response:
        """``org_id``: default this organisation; None sends no organization_id."""
        if org_id is not None:
            params["organization_id"] = self.org.organization_id if org_id is ... else org_id
        headers = {"Authorization": f"Zoho-oauthtoken {token or self.token}"}
        return self.session.get(self.sb.url + "/books/v3" + path, params=params, headers=headers, timeout=30)

    def ok(self, path: str, **params) -> dict:
        r = self.get(path, **params)
        assert r.status_code == 200, (r.status_code, r.text[:300])
        body = r.json()
        assert body["code"] == 0 and body["message"] == "success"
        return body

    def pages(self, path: str, key: str, **params) -> list[dict]:
        """Every page of a listing, following has_more_page; returns the page bodies."""
        bodies, page = [], 1
        while True:
            body = self.ok(path, page=page, **params)
            bodies.append(body)
            if not body["page_context"]["has_more_page"]:
                return bodies
            page += 1

    def all(self, path: str, key: str, **params) -> list[dict]:
        return [rec for body in self.pages(path, key, **params) for rec in body[key]]

    def close(self) -> None:
        self.session.close()


@contextmanager
def cli_sandbox(info_file: Path, *args: str):
    """``python -m zoho_sandbox --port 0 --info-file ... *args`` started; yields ``(proc, info)``
    once the info file is written; terminated on exit (``proc.returncode`` and ``proc.stderr_text``
    are set then)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "zoho_sandbox", "--port", "0", *args, "--info-file", str(info_file)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            if info_file.exists() or proc.poll() is not None:
                break
            time.sleep(0.1)
        yield proc, json.loads(info_file.read_text())
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
        proc.stderr_text = err


def first_contacts_page(info: dict, org: dict) -> requests.Response:
    """A token for ``org`` of a CLI sandbox (its info file's entry), then its first contacts page."""
    token = requests.post(info["url"] + "/oauth/v2/token", params={
        "grant_type": "refresh_token", "client_id": org["client_id"], "client_secret": org["client_secret"],
        "refresh_token": org["refresh_token"]}, timeout=10).json()["access_token"]
    return requests.get(info["url"] + "/books/v3/contacts", params={"organization_id": org["organization_id"]},
                        headers={"Authorization": "Zoho-oauthtoken " + token}, timeout=10)
