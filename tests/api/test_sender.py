"""The reminder sender's endpoints over HTTP, against a real Airflow API server and Postgres:
claim, sent, failed; refusals (401, 403, 404, 409, 413, 422); a claim race between processes.

``bob`` is granted ``send`` on ``acme`` here (his own server: the fixture is per module); ``alice``
reads ``acme`` only; ``admin`` sends for every tenant.
"""
from __future__ import annotations

import multiprocessing
import time

import pytest
import requests

from tests.api.conftest import API_PREFIX
from tests.reminders.marts import truncate
from tests.sender.reminders import due_reminders, events, run, status
from zoho.api import grants
from zoho.warehouse import connection as warehouse

TIMEOUT = 30


@pytest.fixture
def wh(api):
    with warehouse.connect(api.uri, autocommit=True) as conn:
        truncate(conn)
        grants.grant(conn, "bob", "acme", send=True)
        yield conn


def post(api, path: str, body: dict | None = None, user: str | None = "bob", **kwargs) -> requests.Response:
    headers = api.server.auth(user) if user else {}
    return requests.post(api.url(path), json=body, headers=headers, timeout=TIMEOUT, **kwargs)


def claim(api, user="bob", **body) -> dict:
    r = post(api, "/reminders/claim", {"sender": "test", **body}, user)
    assert r.status_code == 200, r.text
    return r.json()


def test_claim_then_sent_over_http_is_idempotent(api, wh):
    due_reminders(wh, 3)
    due_reminders(wh, 2, "beta", prefix="B")
    got = claim(api, batch_size=10)
    assert len(got["reminders"]) == 3 and {r["user_id"] for r in got["reminders"]} == {"acme"}
    first = got["reminders"][0]
    assert first["lease_id"] == got["lease_id"] and first["phone"] == "+14155550100"
    assert first["amount_due"] == "100.00" and first["invoice_number"].startswith("INV-")
    body = {"lease_id": got["lease_id"], "provider": "twilio", "provider_message_id": "SM-1"}
    one = post(api, f"/reminders/{first['reminder_id']}/sent", body)
    two = post(api, f"/reminders/{first['reminder_id']}/sent", body)
    assert (one.status_code, two.status_code) == (200, 200)
    assert (one.json()["outcome"], two.json()["outcome"]) == ("ok", "unchanged")
    assert one.json()["reminder"] == two.json()["reminder"]
    assert one.json()["reminder"]["status"] == "sent" and one.json()["reminder"]["claimed_by"] == "bob/test"
    assert [e[0] for e in events(wh, first["reminder_id"])] == ["created", "claimed", "sent"]
    # a different message for the same reminder is refused
    again = post(api, f"/reminders/{first['reminder_id']}/sent", {**body, "provider_message_id": "SM-2"})
    assert again.status_code == 409 and "already marked sent" in again.json()["detail"]


def test_failed_retryable_and_permanent(api, wh):
    due_reminders(wh, 2)
    got = claim(api)
    a, b = got["reminders"]
    retry = post(api, f"/reminders/{a['reminder_id']}/failed",
                 {"lease_id": got["lease_id"], "error": "provider 503", "retryable": True})
    assert retry.status_code == 200 and retry.json()["reminder"]["status"] == "pending"
    assert retry.json()["reminder"]["next_attempt_at"] and retry.json()["reminder"]["attempts"] == 1
    final = post(api, f"/reminders/{b['reminder_id']}/failed",
                 {"lease_id": got["lease_id"], "error": "not a mobile number", "retryable": False})
    assert final.status_code == 200 and (final.json()["reminder"]["status"], final.json()["reminder"]["reason"]) \
        == ("failed", "send_failed")
    assert claim(api)["reminders"] == []   # one backs off, the other is final


def test_a_cancellation_after_the_claim_answers_409(api, wh):
    due_reminders(wh, 1)
    got = claim(api)
    (r,) = got["reminders"]
    wh.execute("update analytics.invoices_cache set status = 'void' where id = %s", (r["invoice_id"],))
    run(wh)
    refused = post(api, f"/reminders/{r['reminder_id']}/sent",
                   {"lease_id": got["lease_id"], "provider": "twilio", "provider_message_id": "SM-9"})
    assert refused.status_code == 409
    assert "cancelled (invoice_void)" in refused.json()["detail"]
    assert refused.json()["reminder"]["status"] == "cancelled"
    assert status(wh, r["reminder_id"]) == ("cancelled", "invoice_void")


def test_an_expired_lease_taken_by_another_sender_answers_409(api, wh):
    due_reminders(wh, 1)
    first = claim(api, lease_seconds=1)
    time.sleep(1.2)
    second = claim(api, user="admin", sender="other")
    assert [r["reminder_id"] for r in second["reminders"]] == [first["reminders"][0]["reminder_id"]]
    rid = first["reminders"][0]["reminder_id"]
    late = post(api, f"/reminders/{rid}/sent", {"lease_id": first["lease_id"], "provider": "p", "provider_message_id": "m"})
    assert late.status_code == 409 and "is now held by admin/other" in late.json()["detail"]
    ok = post(api, f"/reminders/{rid}/sent", {"lease_id": second["lease_id"], "provider": "p", "provider_message_id": "m"},
              user="admin")
    assert ok.status_code == 200


def test_who_may_send(api, wh):
    due_reminders(wh, 1, "beta", prefix="B")
    assert post(api, "/reminders/claim", {}, user=None).status_code == 401
    refused = post(api, "/reminders/claim", {}, user="alice")   # reads acme, sends for nobody
    assert refused.status_code == 403 and "may not send" in refused.json()["detail"]
    assert post(api, "/reminders/claim", {"tenant": "beta"}).status_code == 404   # not bob's tenant
    assert claim(api)["reminders"] == []                                          # beta's is not bob's
    admin = claim(api, user="admin")
    (r,) = admin["reminders"]
    # bob may not mark beta's reminder, even with the lease: it is not one of his tenants
    other = post(api, f"/reminders/{r['reminder_id']}/sent",
                 {"lease_id": admin["lease_id"], "provider": "p", "provider_message_id": "m"})
    assert other.status_code == 404 and other.json()["detail"].startswith("reminder_id:")


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/reminders/claim", {"batch_size": 1000}, "batch_size"),
    ("/reminders/claim", {"lease_seconds": 0}, "lease_seconds"),
    ("/reminders/claim", {"sender": "a b; drop table x"}, "sender"),
    ("/reminders/claim", {"colour": "red"}, "colour"),
    ("/reminders/00000000-0000-0000-0000-000000000000/sent", {"provider": "p", "provider_message_id": "m"}, "lease_id"),
    ("/reminders/not-a-uuid/sent", {"lease_id": "00000000-0000-0000-0000-000000000000", "provider": "p",
                                    "provider_message_id": "m"}, "reminder_id"),
    ("/reminders/00000000-0000-0000-0000-000000000000/failed",
     {"lease_id": "00000000-0000-0000-0000-000000000000", "error": "", "retryable": True}, "error"),
])
def test_bad_input_gets_a_4xx_naming_the_field(api, wh, path, body, field):
    r = post(api, path, body)
    assert r.status_code == 422, r.text
    assert field in r.json()["detail"]


def test_an_oversized_body_gets_413_and_sql_looking_text_is_a_value(api, wh):
    r = post(api, "/reminders/claim", None, data="{" + " " * 20000 + "}",)
    assert r.status_code == 413 and "body" in r.json()["detail"]
    due_reminders(wh, 1)
    got = claim(api)
    rid = got["reminders"][0]["reminder_id"]
    odd = post(api, f"/reminders/{rid}/failed", {"lease_id": got["lease_id"], "retryable": False,
                                                 "error": "O'Brien'); delete from analytics.payment_reminders; --"})
    assert odd.status_code == 200 and odd.json()["reminder"]["last_error"].startswith("O'Brien')")
    assert wh.execute("select count(*) from analytics.payment_reminders").fetchone() == (1,)


def _http_sender(base: str, headers: dict, name: str, out, start) -> None:
    sent = []
    with requests.Session() as s:
        s.headers.update(headers)
        start.wait(60)
        while True:
            got = s.post(base + "/reminders/claim", json={"sender": name, "batch_size": 10}, timeout=TIMEOUT).json()
            if not got["reminders"]:
                break
            for r in got["reminders"]:
                answer = s.post(base + f"/reminders/{r['reminder_id']}/sent", timeout=TIMEOUT,
                                json={"lease_id": got["lease_id"], "provider": "p", "provider_message_id": name})
                if answer.status_code == 200:
                    sent.append(r["reminder_id"])
    out.put(sent)


def test_parallel_claimers_over_http_never_get_the_same_reminder(api, wh):
    due_reminders(wh, 120)
    ctx = multiprocessing.get_context("spawn")
    out, start = ctx.Queue(), ctx.Barrier(3)
    base = api.server.base + API_PREFIX
    procs = [ctx.Process(target=_http_sender, args=(base, api.server.auth("bob"), f"p{i}", out, start))
             for i in range(3)]
    for p in procs:
        p.start()
    results = [out.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(30)
    sent = [rid for ids in results for rid in ids]
    assert len(sent) == len(set(sent)) == 120
    assert wh.execute("select count(*) from analytics.payment_reminder_events where event = 'sent'").fetchone() == (120,)


def test_the_openapi_schema_lists_the_sender_endpoints_with_their_models(api):
    schema = requests.get(api.url("/openapi.json"), timeout=TIMEOUT).json()
    for path, model in (("/reminders/claim", "ClaimRequest"), ("/reminders/{reminder_id}/sent", "SentRequest"),
                        ("/reminders/{reminder_id}/failed", "FailedRequest")):
        op = schema["paths"][path]["post"]
        assert op["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(model)
        assert "200" in op["responses"] and "$ref" in str(op["responses"]["200"])
    assert {"ClaimResponse", "MarkResponse", "Refusal"} <= set(schema["components"]["schemas"])


def test_the_page_shows_a_reminders_send_record_and_history(api, wh):
    due_reminders(wh, 1)
    got = claim(api)
    rid = got["reminders"][0]["reminder_id"]
    post(api, f"/reminders/{rid}/failed", {"lease_id": got["lease_id"], "error": "carrier <b>busy</b>", "retryable": True})
    r = requests.get(api.server.base + f"/customer-sync/reminders/{rid}", headers=api.server.auth(), timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    html = r.text
    for event in ("created", "claimed", "failed"):
        assert f'data-event="{event}"' in html
    assert "bob/test" in html and "send_failed_retryable" in html
    assert "carrier &lt;b&gt;busy&lt;/b&gt;" in html and "<b>busy</b>" not in html  # escaped
    # the API answers the same history
    detail = requests.get(api.url(f"/reminders/{rid}"), headers=api.server.auth("bob"), timeout=TIMEOUT).json()
    assert [e["event"] for e in detail["events"]] == ["created", "claimed", "failed"]
