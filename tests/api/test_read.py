"""The API's GET endpoints over HTTP, against a real Airflow API server (tests/api/conftest.py).

Data: tenants ``acme`` (alice's) and ``beta``, a few customers, invoices and reminders each, built with
tests/reminders/marts.py; the expected answers are written out below. Paging under concurrent change
uses a third tenant (``churn``) so that the other tests' data never moves.
"""
from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import requests

from tests.reminders.marts import add_customer, add_invoice, natural_key_uuid, reminder_uuid
from zoho.warehouse import connection as warehouse

pytestmark = [pytest.mark.integration]

TODAY = datetime.now(timezone.utc).date()
OLD = datetime(2025, 1, 1, tzinfo=timezone.utc)
RECENT = datetime.now(timezone.utc) - timedelta(hours=1)
GET_PATHS = ["/invoices", "/invoices/{id}", "/customers", "/customers/{id}", "/reminders", "/reminders/{id}"]


def get(api, path: str, user: str | None = "admin", **params) -> requests.Response:
    headers = api.server.auth(user) if user else {}
    return requests.get(api.url(path), params=params, headers=headers, timeout=30)


def ok(api, path: str, user: str = "admin", **params) -> dict:
    r = get(api, path, user, **params)
    assert r.status_code == 200, (path, params, r.status_code, r.text)
    return r.json()


def ids(body: dict) -> set[str]:
    return {item["id"] for item in body["items"]}


def u(*values) -> set[str]:
    return {str(v) for v in values}


def error(api, path: str, code: int, field: str, user: str = "admin", **params) -> str:
    """The request fails with ``code`` and a detail naming ``field`` (``field: message``)."""
    r = get(api, path, user, **params)
    assert r.status_code == code, (path, params, r.status_code, r.text)
    detail = r.json()["detail"]
    assert detail.startswith(f"{field}:") or f"; {field}:" in detail, detail
    return detail


def add_reminder(conn, tenant: str, invoice_id, customer_id, offset_days: int, status: str = "pending",
                 reason: str | None = None, scheduled_for: date | None = None, phone: str | None = "+14155550101"):
    rid = reminder_uuid(invoice_id, offset_days)
    conn.execute("insert into analytics.payment_reminders (id, user_id, invoice_id, customer_id, phone, offset_days,"
                 " scheduled_for, status, reason) values (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                 (rid, tenant, invoice_id, customer_id, phone, offset_days,
                  scheduled_for or TODAY + timedelta(days=offset_days), status, reason))
    return rid


@dataclass
class Data:
    c: dict = field(default_factory=dict)   # name -> customer id
    i: dict = field(default_factory=dict)   # name -> invoice id
    r: dict = field(default_factory=dict)   # name -> reminder id


@pytest.fixture(scope="module")
def data(api) -> Data:
    d = Data()
    with warehouse.connect(api.uri, autocommit=True) as conn:
        d.c["obrien"] = add_customer(conn, "acme", "C1", customer_name="Sean O'Brien", company_name="O'Brien Ltd",
                                     email="sean@obrien.example", primary_phone="+14155550101", updated_at=RECENT)
        d.c["ada"] = add_customer(conn, "acme", "C2", customer_name="Ada 100%_Lovelace", company_name="Analytical",
                                  email="ada@example.com", phone="(415) 555-0102", primary_phone="+14155550102",
                                  updated_at=OLD)
        d.c["gone"] = add_customer(conn, "acme", "C3", customer_name="Gone Away", is_deleted=True, updated_at=OLD)
        d.c["beta"] = add_customer(conn, "beta", "B1", customer_name="Beta Buyer", company_name="Beta GmbH",
                                   email="buyer@beta.example", primary_phone="+442071234567", updated_at=OLD)
        inv = d.i
        inv["overdue"] = add_invoice(conn, "acme", "I1", "C1", invoice_number="INV-1", status="overdue",
                                     due_date=TODAY - timedelta(days=10), total=Decimal("100.00"),
                                     balance=Decimal("50.00"), updated_at=RECENT)
        inv["sent"] = add_invoice(conn, "acme", "I2", "C1", invoice_number="INV-2", status="sent",
                                  due_date=TODAY + timedelta(days=10), total=Decimal("200.00"),
                                  balance=Decimal("200.00"), currency_code="EUR", updated_at=OLD)
        inv["paid"] = add_invoice(conn, "acme", "I3", "C2", invoice_number="INV-3", status="paid",
                                  due_date=TODAY - timedelta(days=30), balance=Decimal("0.00"), updated_at=OLD)
        inv["draft"] = add_invoice(conn, "acme", "I4", "C2", invoice_number="INV-4", status="draft",
                                   due_date=TODAY - timedelta(days=5), balance=Decimal("300.00"), updated_at=OLD)
        inv["orphan"] = add_invoice(conn, "acme", "I5", None, invoice_number="INV-5", status="unpaid",
                                    due_date=TODAY - timedelta(days=1), total=Decimal("10.50"),
                                    balance=Decimal("10.50"), updated_at=RECENT)
        inv["deleted"] = add_invoice(conn, "acme", "I6", "C2", invoice_number="INV-6", status="overdue",
                                     due_date=TODAY - timedelta(days=3), is_deleted=True, updated_at=OLD)
        inv["beta"] = add_invoice(conn, "beta", "J1", "B1", invoice_number="BETA-1", status="overdue",
                                  due_date=TODAY - timedelta(days=7), balance=Decimal("70.00"), updated_at=OLD)
        d.r["sent"] = add_reminder(conn, "acme", inv["overdue"], d.c["obrien"], -3,
                                   scheduled_for=TODAY - timedelta(days=13))
        d.r["pending"] = add_reminder(conn, "acme", inv["overdue"], d.c["obrien"], 14,
                                      scheduled_for=TODAY + timedelta(days=4))
        d.r["skipped"] = add_reminder(conn, "acme", inv["sent"], d.c["obrien"], 0, status="skipped",
                                      reason="phone_pending", scheduled_for=TODAY + timedelta(days=10))
        d.r["beta"] = add_reminder(conn, "beta", inv["beta"], d.c["beta"], 0, scheduled_for=TODAY - timedelta(days=7),
                                   phone="+442071234567")
        # history of the sent one: created -> claimed -> sent (events written by the trigger)
        conn.execute("update analytics.payment_reminders set lease_id = gen_random_uuid(), claimed_by = 'bot-1',"
                     " claimed_at = now(), lease_until = now() + interval '5 minutes' where id = %s", (d.r["sent"],))
        conn.execute("update analytics.payment_reminders set status = 'sent', sent_at = now(), provider = 'twilio',"
                     " provider_message_id = 'SM1', lease_until = null where id = %s", (d.r["sent"],))
    return d


# --------------------------------------------------------------------------- auth, schema
def test_anonymous_and_forged_callers_get_401(api, data):
    some = str(uuid.uuid4())
    for path in GET_PATHS:
        r = get(api, path.replace("{id}", some), user=None)
        assert r.status_code == 401, (path, r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/json") and "detail" in r.json()
    r = requests.get(api.url("/invoices"), headers={"Authorization": "Bearer not-a-jwt"}, timeout=30)
    assert r.status_code in (401, 403)


def test_openapi_lists_every_get_path_with_a_response_model(api):
    r = requests.get(api.url("/openapi.json"), headers=api.server.auth(), timeout=30)
    assert r.status_code == 200, r.text
    schema = r.json()
    for path in GET_PATHS:
        op = schema["paths"][path]["get"]
        ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        name = ref.rsplit("/", 1)[1]
        assert schema["components"]["schemas"][name]["properties"], (path, name)
    params = {p["name"] for p in schema["paths"]["/invoices"]["get"]["parameters"]}
    assert {"tenant", "status", "due_from", "due_to", "customer_id", "overdue", "changed_since", "limit",
            "cursor"} <= params
    assert {"tenant", "q", "changed_since", "limit", "cursor"} <= {
        p["name"] for p in schema["paths"]["/customers"]["get"]["parameters"]}
    assert {"tenant", "status", "scheduled_from", "scheduled_to", "limit", "cursor"} <= {
        p["name"] for p in schema["paths"]["/reminders"]["get"]["parameters"]}
    invoice = schema["components"]["schemas"]["Invoice"]["properties"]
    assert "decimal string" in invoice["balance"]["description"]


# --------------------------------------------------------------------------- invoices
def test_invoices_filters(api, data):
    i = data.i
    live = u(i["overdue"], i["sent"], i["paid"], i["draft"], i["orphan"])
    assert ids(ok(api, "/invoices", "alice")) == live
    assert ids(ok(api, "/invoices", "alice", include_deleted="true")) == live | u(i["deleted"])
    assert ids(ok(api, "/invoices", tenant="acme")) == live
    assert ids(ok(api, "/invoices", tenant="beta")) == u(i["beta"])
    assert ids(ok(api, "/invoices", "alice", status="open")) == u(i["overdue"], i["sent"], i["orphan"])
    assert ids(ok(api, "/invoices", "alice", status="paid")) == u(i["paid"])
    assert ids(ok(api, "/invoices", "alice", status="void")) == set()
    assert ids(ok(api, "/invoices", "alice", overdue="true")) == u(i["overdue"], i["orphan"])
    assert ids(ok(api, "/invoices", "alice", overdue="false")) == u(i["sent"], i["paid"], i["draft"])
    assert ids(ok(api, "/invoices", "alice", due_from=str(TODAY - timedelta(days=10)),
                  due_to=str(TODAY - timedelta(days=1)))) == u(i["overdue"], i["draft"], i["orphan"])
    assert ids(ok(api, "/invoices", "alice", customer_id=str(data.c["obrien"]))) == u(i["overdue"], i["sent"])
    assert ids(ok(api, "/invoices", "alice", changed_since=(RECENT - timedelta(minutes=1)).isoformat())) == \
        u(i["overdue"], i["orphan"])
    # a timestamp without an offset is UTC; a date alone is its midnight
    naive = (RECENT - timedelta(minutes=1)).replace(tzinfo=None).isoformat()
    assert ids(ok(api, "/invoices", "alice", changed_since=naive)) == u(i["overdue"], i["orphan"])
    assert ids(ok(api, "/invoices", "alice", changed_since="2024-12-31")) == live
    # combined
    assert ids(ok(api, "/invoices", "alice", status="open", overdue="true", customer_id=str(data.c["obrien"]))) == \
        u(i["overdue"])


def test_invoice_fields_and_customer_read_at_query_time(api, data):
    items = {x["id"]: x for x in ok(api, "/invoices", "alice")["items"]}
    inv = items[str(data.i["overdue"])]
    assert inv == {
        "id": str(data.i["overdue"]), "tenant": "acme", "zoho_invoice_id": "I1", "invoice_number": "INV-1",
        "status": "overdue", "open": True, "overdue": True, "invoice_date": "2026-01-01",
        "due_date": str(TODAY - timedelta(days=10)), "currency_code": "USD", "total": "100.00", "balance": "50.00",
        "is_deleted": False, "updated_at": inv["updated_at"], "customer_id": str(data.c["obrien"]),
        "customer": {"id": str(data.c["obrien"]), "zoho_customer_id": "C1", "name": "Sean O'Brien",
                     "company": "O'Brien Ltd", "email": "sean@obrien.example", "primary_phone": "+14155550101"},
    }
    assert datetime.fromisoformat(inv["updated_at"]) == RECENT
    assert items[str(data.i["orphan"])]["customer"] is None and items[str(data.i["orphan"])]["balance"] == "10.50"
    assert items[str(data.i["sent"])]["currency_code"] == "EUR"
    assert ok(api, f"/invoices/{data.i['sent']}", "alice")["balance"] == "200.00"
    # the customer's fields are read when asked: a change shows at once
    with warehouse.connect(api.uri, autocommit=True) as conn:
        conn.execute("update analytics.customers_cache set customer_name = 'Sean B. O''Brien', email = 'new@x.example'"
                     " where id = %s", (data.c["obrien"],))
        try:
            inv = ok(api, f"/invoices/{data.i['overdue']}", "alice")
            assert inv["customer"]["name"] == "Sean B. O'Brien" and inv["customer"]["email"] == "new@x.example"
        finally:
            conn.execute("update analytics.customers_cache set customer_name = 'Sean O''Brien', "
                         "email = 'sean@obrien.example' where id = %s", (data.c["obrien"],))


# --------------------------------------------------------------------------- customers
def test_customers_filters_and_search(api, data):
    c = data.c
    assert ids(ok(api, "/customers", "alice")) == u(c["obrien"], c["ada"])
    assert ids(ok(api, "/customers", "alice", include_deleted="true")) == u(c["obrien"], c["ada"], c["gone"])
    assert ids(ok(api, "/customers")) == u(c["obrien"], c["ada"], c["beta"])
    assert ids(ok(api, "/customers", tenant="beta")) == u(c["beta"])
    search = {"O'Brien": {c["obrien"]}, "o'brien ltd": {c["obrien"]}, "analytical": {c["ada"]},
              "ADA@EXAMPLE": {c["ada"]}, "555-0102": {c["ada"]}, "+1 415 555 0101": {c["obrien"]},
              "100%_": {c["ada"]}, "%": {c["ada"]}, "_": {c["ada"]}, "%%%": set(), "'; drop table x; --": set(),
              "\\": set(), "Robert'); DROP TABLE customers_cache;--": set(), "beta": set()}
    for q, expected in search.items():
        assert ids(ok(api, "/customers", "alice", q=q)) == u(*expected), q
    assert ids(ok(api, "/customers", q="beta")) == u(c["beta"])
    assert ids(ok(api, "/customers", "alice", changed_since=(RECENT - timedelta(minutes=1)).isoformat())) == \
        u(c["obrien"])
    first = next(x for x in ok(api, "/customers", "alice")["items"] if x["id"] == str(c["ada"]))
    assert first["name"] == "Ada 100%_Lovelace" and first["phone"] == "(415) 555-0102" and first["tenant"] == "acme"


def test_customer_detail(api, data):
    body = ok(api, f"/customers/{data.c['obrien']}", "alice")
    assert body["name"] == "Sean O'Brien" and body["company"] == "O'Brien Ltd" and body["is_deleted"] is False
    assert [x["id"] for x in body["open_invoices"]] == [str(data.i["overdue"]), str(data.i["sent"])]
    assert body["open_invoices"][0]["balance"] == "50.00" and body["open_invoices"][0]["overdue"] is True
    assert [x["id"] for x in body["reminders"]] == [str(data.r["skipped"]), str(data.r["pending"]), str(data.r["sent"])]
    assert body["more_reminders"] is False
    assert body["reminders"][0]["reason"] == "phone_pending"
    ada = ok(api, f"/customers/{data.c['ada']}", "alice")
    assert ada["open_invoices"] == [] and ada["reminders"] == []  # paid, draft and deleted are not open
    gone = ok(api, f"/customers/{data.c['gone']}", "alice")
    assert gone["is_deleted"] is True


# --------------------------------------------------------------------------- reminders
def test_reminders_filters_and_fields(api, data):
    r = data.r
    acme = u(r["sent"], r["pending"], r["skipped"])
    assert ids(ok(api, "/reminders", "alice")) == acme
    assert ids(ok(api, "/reminders")) == acme | u(r["beta"])
    assert ids(ok(api, "/reminders", tenant="beta")) == u(r["beta"])
    assert ids(ok(api, "/reminders", "alice", status="pending")) == u(r["pending"])
    assert ids(ok(api, "/reminders", "alice", status="sent")) == u(r["sent"])
    assert ids(ok(api, "/reminders", "alice", status="failed")) == set()
    assert ids(ok(api, "/reminders", "alice", scheduled_from=str(TODAY))) == u(r["pending"], r["skipped"])
    assert ids(ok(api, "/reminders", "alice", scheduled_to=str(TODAY))) == u(r["sent"])
    assert ids(ok(api, "/reminders", "alice", scheduled_from=str(TODAY + timedelta(days=4)),
                  scheduled_to=str(TODAY + timedelta(days=4)))) == u(r["pending"])
    assert ids(ok(api, "/reminders", "alice", invoice_id=str(data.i["sent"]))) == u(r["skipped"])
    assert ids(ok(api, "/reminders", "alice", customer_id=str(data.c["obrien"]))) == acme
    item = next(x for x in ok(api, "/reminders", "alice", status="sent")["items"])
    assert item["invoice_number"] == "INV-1" and item["amount_due"] == "50.00" and item["currency_code"] == "USD"
    assert item["customer"] == {"id": str(data.c["obrien"]), "name": "Sean O'Brien", "primary_phone": "+14155550101"}
    assert item["provider"] == "twilio" and item["provider_message_id"] == "SM1" and item["claimed_by"] == "bot-1"
    assert item["scheduled_for"] == str(TODAY - timedelta(days=13)) and item["offset_days"] == -3


def test_reminder_detail_with_its_history(api, data):
    body = ok(api, f"/reminders/{data.r['sent']}", "alice")
    assert body["status"] == "sent" and body["invoice_number"] == "INV-1"
    events = body["events"]
    assert [e["event"] for e in events] == ["created", "claimed", "sent"]
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    assert events[-1]["actor"] == "bot-1" and events[-1]["detail"]["provider_message_id"] == "SM1"
    assert events[0]["detail"]["offset_days"] == -3
    skipped = ok(api, f"/reminders/{data.r['skipped']}", "alice")
    assert [(e["event"], e["reason"]) for e in skipped["events"]] == [("withheld", "phone_pending")]


# --------------------------------------------------------------------------- isolation
def test_bob_without_grants_sees_nothing(api, data):
    for path in ("/invoices", "/customers", "/reminders"):
        body = ok(api, path, "bob")
        assert body == {"items": [], "next_cursor": None}, path
        error(api, path, 404, "tenant", "bob", tenant="acme")
    records = (("/invoices", data.i["overdue"]), ("/customers", data.c["obrien"]), ("/reminders", data.r["sent"]))
    for path, rid in records:
        assert get(api, f"{path}/{rid}", "bob").status_code == 404


def test_alice_sees_acme_only(api, data):
    for path, rid in (("/invoices", data.i["beta"]), ("/customers", data.c["beta"]), ("/reminders", data.r["beta"])):
        r = get(api, f"{path}/{rid}", "alice")
        assert r.status_code == 404, (path, r.text)
        assert "Beta" not in r.text and "beta" not in r.text
        assert get(api, f"{path}/{rid}").status_code == 200  # admin sees it
        error(api, path, 404, "tenant", "alice", tenant="beta")
    # filters naming beta's records find nothing
    assert ok(api, "/invoices", "alice", customer_id=str(data.c["beta"]))["items"] == []
    assert ok(api, "/reminders", "alice", invoice_id=str(data.i["beta"]))["items"] == []
    assert ok(api, "/customers", "alice", q="Beta Buyer")["items"] == []
    # unknown ids and tenants: 404
    for path in ("/invoices", "/customers", "/reminders"):
        assert get(api, f"{path}/{uuid.uuid4()}", "alice").status_code == 404
        error(api, path, 404, "tenant", "admin", tenant="nope")
        error(api, path, 404, "tenant", "alice", tenant="nope")
    tenants = {x["tenant"] for x in ok(api, "/invoices")["items"]}
    assert {"acme", "beta"} <= tenants


# --------------------------------------------------------------------------- bad input
def test_bad_input_is_a_4xx_naming_the_field(api, data):
    error(api, "/invoices", 422, "due_from", due_from="2026-13-01")
    error(api, "/invoices", 422, "due_to", due_to="yesterday")
    error(api, "/invoices", 422, "changed_since", changed_since="not-a-time")
    error(api, "/invoices", 422, "limit", limit="10000")
    error(api, "/invoices", 422, "limit", limit="0")
    error(api, "/invoices", 422, "limit", limit="ten")
    error(api, "/invoices", 422, "cursor", cursor="abc")
    error(api, "/invoices", 422, "cursor", cursor="'; drop table x; --")
    error(api, "/invoices", 422, "status", status="bogus")
    error(api, "/invoices", 422, "overdue", overdue="maybe")
    error(api, "/invoices", 422, "customer_id", customer_id="O'Brien")
    error(api, "/customers", 422, "limit", limit="501")
    error(api, "/customers", 422, "cursor", cursor="zz")
    error(api, "/customers", 422, "changed_since", changed_since="2026-02-30")
    error(api, "/reminders", 422, "scheduled_from", scheduled_from="2026-02-30")
    error(api, "/reminders", 422, "scheduled_to", scheduled_to="x")
    error(api, "/reminders", 422, "status", status="withheld")
    error(api, "/reminders", 422, "cursor", cursor="1")
    for path in ("/invoices/", "/customers/", "/reminders/"):
        error(api, path + "not-a-uuid", 422, "id")
    assert ok(api, "/invoices", limit="500")["next_cursor"] is None


def test_sql_looking_text_is_an_ordinary_value(api, data):
    for text in ("O'Brien", "'; drop table x; --", "1 or 1=1", "\\'", "%' or '1'='1"):
        error(api, "/invoices", 404, "tenant", tenant=text)   # an unknown tenant, not an error
        error(api, "/reminders", 404, "tenant", "alice", tenant=text)
        assert get(api, "/customers", "alice", q=text).status_code == 200
    assert ids(ok(api, "/customers", "alice", q="O'Brien")) == u(data.c["obrien"])
    with warehouse.connect(api.uri) as conn:
        assert conn.execute("select count(*) from analytics.customers_cache").fetchone()[0] >= 4


# --------------------------------------------------------------------------- paging
def page_all(api, path: str, user: str, limit: int, between=None, **params) -> list[str]:
    seen, cursor, n = [], None, 0
    while True:
        body = ok(api, path, user, limit=limit, **({"cursor": cursor} if cursor else {}), **params)
        page = [x["id"] for x in body["items"]]
        assert page == sorted(page, key=uuid.UUID) and len(page) <= limit
        seen += page
        cursor = body["next_cursor"]
        if cursor is None:
            return seen
        assert cursor == page[-1] and len(page) == limit
        n += 1
        if between:
            between(n)


def test_paging_without_changes_matches_the_listing(api, data):
    for path, params in (("/invoices", {"include_deleted": "true"}), ("/customers", {}), ("/reminders", {})):
        full = [x["id"] for x in ok(api, path, "admin", **params)["items"]]
        for limit in (1, 2, 3):
            assert page_all(api, path, "admin", limit, **params) == full, (path, limit)
    assert page_all(api, "/invoices", "alice", 2, status="open") == sorted(
        u(data.i["overdue"], data.i["sent"], data.i["orphan"]), key=uuid.UUID)


def test_paging_to_the_end_while_rows_change(api, data):
    """Rows inserted, updated and deleted between page requests (before and after the cursor): every
    row that existed throughout is listed exactly once, nothing twice, nothing that never existed."""
    rnd = random.Random(11)
    with warehouse.connect(api.uri, autocommit=True) as conn:
        customers = [add_customer(conn, "churn", f"K{n}", customer_name=f"Churn {n}") for n in range(40)]
        invoices = [add_invoice(conn, "churn", f"V{n}", f"K{n % 10}", due_date=TODAY) for n in range(40)]
        reminders = [add_reminder(conn, "churn", inv, natural_key_uuid("churn", f"K{n % 10}"), 0)
                     for n, inv in enumerate(invoices)]
        counter = iter(range(1000, 100000))

        def churn(table: str, rows: list, deletable: list, deleted: set, inserted: set):
            def step(_page: int) -> None:
                for _ in range(3):  # insert: random ids, so some land before the cursor and some after
                    n = next(counter)
                    if table == "customers":
                        new = add_customer(conn, "churn", f"K{n}", id=uuid.uuid4())
                    elif table == "invoices":
                        new = add_invoice(conn, "churn", f"V{n}", "K1", id=uuid.uuid4(), due_date=TODAY)
                    else:
                        inv = add_invoice(conn, "churn", f"V{n}", "K1", due_date=TODAY)
                        new = add_reminder(conn, "churn", inv, natural_key_uuid("churn", "K1"), 0)
                    inserted.add(str(new))
                for victim in rnd.sample(rows, 3):  # update rows (not their id)
                    if table == "customers":
                        conn.execute("update analytics.customers_cache set customer_name = customer_name || '+', "
                                     "updated_at = now() where id = %s", (victim,))
                    elif table == "invoices":
                        conn.execute("update analytics.invoices_cache set balance = balance - 1, status = 'sent', "
                                     "updated_at = now() where id = %s", (victim,))
                    else:
                        conn.execute("update analytics.payment_reminders set scheduled_for = scheduled_for + 1, "
                                     "phone = '+14155550199', updated_at = now() where id = %s", (victim,))
                if deletable:
                    victim = deletable.pop(rnd.randrange(len(deletable)))
                    table_name = {"customers": "customers_cache", "invoices": "invoices_cache"}[table]
                    conn.execute(f"delete from analytics.{table_name} where id = %s", (victim,))
                    deleted.add(str(victim))
            return step

        cases = [
            # customers 10.. have no invoices: those may be deleted
            ("/customers", customers, customers[10:20]),
            # invoices (reminders have no foreign key to them)
            ("/invoices", invoices, invoices[20:30]),
            # reminders cannot be deleted (their history references them): inserted and updated only
            ("/reminders", reminders, []),
        ]
        for path, rows, deletable in cases:
            deletable = list(deletable)
            existing_before = set(map(str, rows)) | {x["id"] for x in ok(api, path, tenant="churn", limit=500)["items"]}
            deleted, inserted = set(), set()
            seen = page_all(api, path, "admin", 7, churn(path.strip("/"), [r for r in rows if r not in deletable],
                                                          deletable, deleted, inserted), tenant="churn")
            throughout = existing_before - deleted
            assert len(seen) == len(set(seen)), f"{path}: a row listed twice"
            assert throughout <= set(seen), f"{path}: rows skipped: {throughout - set(seen)}"
            assert set(seen) <= existing_before | inserted, f"{path}: a row that never existed"
            assert inserted and (deleted or path == "/reminders")
