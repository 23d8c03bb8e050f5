"""A minimal Zoho Books caller for the sandbox tests (real sockets, ``requests``)."""
from __future__ import annotations

import requests


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
