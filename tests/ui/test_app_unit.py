"""The Customer sync app without a browser or a server: search parsing, paging bounds, and the pages a
data engineer sees when the warehouse is missing or unreachable (FastAPI's TestClient, the login
dependency replaced)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from zoho.ui import queries as q


@pytest.mark.parametrize("text,kind,digits,e164", [
    ("", "none", "", None),
    ("   ", "none", "", None),
    ("Acme Ltd", "name", "", None),
    ("+44 7700 900123", "phone", "447700900123", "+447700900123"),
    ("(415) 555-0100", "phone", "4155550100", None),
    ("0412 345", "phone", "0412345", None),
    ("123", "name", "", None),          # too short to be a phone: a name search
    ("Unit 42/7", "name", "", None),
])
def test_a_search_is_a_phone_or_a_name(text, kind, digits, e164):
    s = q.parse_search(text)
    assert (s.kind, s.digits, s.e164) == (kind, digits, e164)


def test_like_patterns_and_pages_are_bounded():
    assert q.escape_like("50%_off\\") == "50\\%\\_off\\\\"
    assert q.parse_search("100% sure").like == "%100\\% sure%"
    assert len(q.parse_search("x" * 500).text) == q.MAX_QUERY_LENGTH
    assert [q.clamp_page(p) for p in ("abc", None, "-3", "0", "7", "999999")] == [1, 1, 1, 1, 7, q.MAX_PAGE]


@pytest.fixture()
def client(monkeypatch):
    from fastapi.testclient import TestClient

    from zoho.ui import app as ui_app
    from zoho.ui.security import require_user

    monkeypatch.setattr(ui_app, "_airflow_base", lambda: "")
    ui_app.app.dependency_overrides[require_user] = lambda: SimpleNamespace(get_name=lambda: "tester")
    try:
        yield TestClient(ui_app.app), ui_app, monkeypatch
    finally:
        ui_app.app.dependency_overrides.clear()


def test_an_unreachable_warehouse_is_a_readable_503(client):
    c, ui_app, monkeypatch = client
    from zoho.ui import warehouse

    monkeypatch.setattr(warehouse, "warehouse_uri", lambda: "postgresql://nobody@127.0.0.1:1/nowhere")
    r = c.get("/customers?q=<b>x</b>")
    assert r.status_code == 503 and "cannot be reached" in r.text
    assert "<b>x</b>" not in r.text


def test_a_missing_connection_is_a_readable_503(client):
    c, ui_app, monkeypatch = client

    def missing():
        raise LookupError("The conn_id `warehouse_default` isn't defined")

    from zoho.ui import warehouse

    monkeypatch.setattr(warehouse, "warehouse_uri", missing)
    r = c.get("/")
    assert r.status_code == 503 and "warehouse_default" in r.text and "isn&#39;t defined" in r.text


def test_unknown_paths_and_methods(client):
    c, _, _ = client
    assert c.get("/static/nope.js").status_code == 404
    assert c.post("/").status_code == 405
