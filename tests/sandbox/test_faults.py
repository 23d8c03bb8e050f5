"""Faults on demand, duplicate injection, the "" quirk, mutations, the HTTP control API and the CLI."""
from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
import requests

from tests.sandbox.helpers import Zoho, cli_sandbox, first_contacts_page

ROOT = Path(__file__).resolve().parents[2]
FMT = "%Y-%m-%dT%H:%M:%S%z"


@pytest.fixture
def sb(sandbox_factory):
    return sandbox_factory(contacts_per_org=120, invoices_per_org=430, per_minute_limit=None, daily_limit=None)


@pytest.fixture
def z(sb):
    api = Zoho(sb, 0)
    yield api
    api.close()


def stamp(sb) -> str:
    return sb.clock.now().astimezone(dt.timezone.utc).strftime(FMT)


# ----------------------------------------------------------------------------------------------- faults
def test_http_500_for_n_requests_on_one_path(sb, z):
    sb.faults.add("http_500", count=2, path_prefix="/books/v3/invoices")
    assert z.get("/contacts").status_code == 200  # another path is not affected
    for _ in range(2):
        r = z.get("/invoices")
        assert r.status_code == 500 and r.json() == {"code": 1000, "message": "Internal error"}
    assert z.get("/invoices").status_code == 200
    assert [c.fault for c in sb.calls_matching("/books/v3/invoices")] == ["http_500", "http_500", None]


def test_http_503_is_not_json(sb, z):
    sb.faults.add("http_503")
    r = z.get("/contacts")
    assert r.status_code == 503 and r.headers["Content-Type"].startswith("text/html")
    with pytest.raises(ValueError):
        r.json()


@pytest.mark.parametrize("kind, code", [("throttle_44", 44), ("throttle_1070", 1070), ("daily_45", 45)])
def test_injected_throttles(sb, z, kind, code):
    sb.faults.add(kind, count=1)
    r = z.get("/invoices")
    assert r.status_code == 429 and r.json()["code"] == code
    assert z.get("/invoices").status_code == 200


def test_slow_response(sb, z):
    sb.faults.add("slow", delay=0.6)
    t0 = time.perf_counter()
    r = z.get("/contacts", per_page=1)
    assert r.status_code == 200 and time.perf_counter() - t0 >= 0.6


def test_dropped_connections(sb, z):
    sb.faults.add("drop")
    with pytest.raises(requests.ConnectionError):
        z.get("/invoices")
    sb.faults.add("drop_mid_body")
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
        z.get("/invoices")
    assert z.get("/invoices").status_code == 200


def test_expire_tokens_fault_invalidates_every_issued_token(sb, z):
    other = Zoho(sb, 1)
    sb.faults.add("expire_tokens", path_prefix="/books/v3/contacts")
    assert z.get("/invoices").status_code == 200
    r = z.get("/contacts")
    assert r.status_code == 401 and r.json()["code"] == 57
    assert z.get("/invoices").status_code == 401 and other.get("/invoices").status_code == 401
    z.token = sb.access_token(0)
    assert z.get("/invoices").status_code == 200
    assert sb.expire_tokens() >= 1 and z.get("/invoices").status_code == 401


def test_faults_target_an_organisation_and_can_start_later(sb, z):
    other = Zoho(sb, 1)
    sb.faults.add("http_500", count=None, org_id=sb.organizations[1].organization_id, after=2)
    assert [other.get("/contacts").status_code for _ in range(4)] == [200, 200, 500, 500]
    assert z.get("/contacts").status_code == 200
    assert sb.faults.pending()[0]["fired"] == 2
    sb.faults.clear()
    assert other.get("/contacts").status_code == 200


def test_token_endpoint_faults_only_when_targeted(sb, z):
    org = sb.organizations[0]
    form = {"grant_type": "refresh_token", "client_id": org.client_id, "client_secret": org.client_secret,
            "refresh_token": org.refresh_token}
    sb.faults.add("http_500")  # untargeted: the Books API only
    assert "access_token" in requests.post(sb.url + "/oauth/v2/token", data=form, timeout=10).json()
    assert z.get("/contacts").status_code == 500
    sb.faults.add("http_500", path_prefix="/oauth")
    assert requests.post(sb.url + "/oauth/v2/token", data=form, timeout=10).status_code == 500
    sb.faults.add("throttle_44", path_prefix="/oauth")
    r = requests.post(sb.url + "/oauth/v2/token", data=form, timeout=10)
    assert r.status_code == 400 and r.json()["error"] == "Access Denied"


def test_stop_hangs_up_and_start_serves_again_on_the_same_port(sb, z):
    assert z.get("/contacts", per_page=1).status_code == 200  # a kept-alive connection now exists
    port = sb.port
    sb.stop()
    with pytest.raises(requests.ConnectionError):
        z.get("/contacts", per_page=1)
    sb.start()
    assert sb.port == port and z.get("/contacts", per_page=1).status_code == 200


def test_unknown_fault_kind_is_refused(sb):
    with pytest.raises(ValueError, match="unknown fault kind"):
        sb.faults.add("http_418")


# ------------------------------------------------------------------------------------------- duplicates
def test_duplicate_invoices_repeat_the_end_of_the_previous_page(sb, z):
    sb.duplicate_invoices = True
    bodies = z.pages("/invoices", "invoices", per_page=50)
    pages = [[i["invoice_id"] for i in b["invoices"]] for b in bodies]
    dup = sb.duplicate_count
    assert dup >= 1
    for prev, cur in zip(pages, pages[1:]):
        assert cur[:dup] == prev[-dup:]
    ids = [i for p in pages for i in p]
    assert len(ids) > 430 and set(ids) == set(sb.invoice_ids(0))
    assert len(pages) == -(-(430 - dup) // (50 - dup))
    contacts = [c["contact_id"] for c in z.all("/contacts", "contacts", per_page=50)]
    assert len(contacts) == len(set(contacts))  # contacts are not duplicated
    sb.duplicate_invoices = False
    assert len([i["invoice_id"] for i in z.all("/invoices", "invoices", per_page=50)]) == 430


# -------------------------------------------------------------------------------------------- "" quirk
def test_empty_optional_fields_are_empty_strings_by_default_and_null_when_switched_off(sb, z):
    contacts = z.all("/contacts", "contacts")
    empty_mobile = [c["contact_id"] for c in contacts if c["mobile"] == ""]
    assert empty_mobile and any(c["mobile"] == " " for c in contacts)
    invoices = z.ok("/invoices", status="overdue")["invoices"]
    assert {i["last_payment_date"] for i in invoices} == {" "} and {i["schedule_time"] for i in invoices} == {""}
    sb.empty_as_blank = False
    contacts = {c["contact_id"]: c for c in z.all("/contacts", "contacts")}
    assert all(contacts[cid]["mobile"] is None for cid in empty_mobile)
    assert not any(v in ("", " ") for c in contacts.values() for v in c.values())
    invoices = z.ok("/invoices", status="overdue")["invoices"]
    assert {i["last_payment_date"] for i in invoices} == {None}


# -------------------------------------------------------------------------------------------- mutations
def test_contact_changes_bump_last_modified_time_and_show_up_incrementally(sb, z):
    org_id = sb.organizations[0].organization_id
    sb.clock.advance(3600)
    z.token = sb.access_token(0)
    since = stamp(sb)
    assert z.ok("/contacts", last_modified_time=since)["contacts"] == []
    sb.clock.advance(5)
    target, persons_target = sb.contact_ids(0)[:2]
    renamed = sb.update_contact(org_id, target, contact_name="Zed Renamed Ltd", mobile="+1 415 555 0100")
    assert dt.datetime.strptime(renamed["last_modified_time"], FMT).timestamp() == int(sb.clock.time())
    sb.set_contact_persons(org_id, persons_target, [
        {"first_name": "Ada", "last_name": "L", "mobile": "07700 900123", "is_primary_contact": True}])
    new_id = sb.add_contact(org_id, contact_name="Brand New Co", phone="020 7946 0000")
    changed = z.all("/contacts", "contacts", last_modified_time=since)
    assert {c["contact_id"] for c in changed} == {target, persons_target, new_id}
    listed = {c["contact_id"]: c for c in changed}
    assert listed[target]["contact_name"] == "Zed Renamed Ltd" and listed[target]["mobile"] == "+1 415 555 0100"
    assert listed[persons_target]["mobile"] == "07700 900123"  # the new primary person
    assert listed[new_id]["phone"] == "020 7946 0000"
    persons = z.ok(f"/contacts/{persons_target}/contactpersons")["contact_persons"]
    assert [(p["first_name"], p["is_primary_contact"]) for p in persons] == [("Ada", True)]
    assert persons[0]["contact_person_id"].isdigit()
    # a listing sorted by last_modified_time D starts with the newest change (cached results were invalidated)
    newest = z.ok("/contacts", sort_column="last_modified_time", sort_order="D", per_page=3)["contacts"]
    assert newest[0]["contact_id"] == new_id


def test_deleted_contact_disappears_but_its_invoices_keep_its_id(sb, z):
    org_id = sb.organizations[0].organization_id
    inv = z.ok("/invoices", per_page=1)["invoices"][0]
    customer = inv["customer_id"]
    if customer not in sb.contact_ids(0):
        pytest.skip("first invoice has a missing customer")
    sb.delete_contact(org_id, customer)
    assert customer not in {c["contact_id"] for c in z.all("/contacts", "contacts")}
    r = z.get(f"/contacts/{customer}")
    assert r.status_code == 404 and r.json()["code"] == 1002
    assert z.ok(f"/invoices/{inv['invoice_id']}")["invoice"]["customer_id"] == customer


def test_invoice_changes(sb, z):
    org_id = sb.organizations[0].organization_id
    sb.clock.advance(60)
    since = stamp(sb)
    unpaid = z.ok("/invoices", status="overdue", per_page=2)["invoices"]
    paid = sb.update_invoice(org_id, unpaid[0]["invoice_id"], status="paid")
    assert paid["status"] == "paid" and paid["balance"] == 0
    sb.update_invoice(org_id, unpaid[1]["invoice_id"], total="12,5O", due_date="31/02/2026")
    customer = sb.contact_ids(0)[0]
    new_id = sb.add_invoice(org_id, customer_id=customer, total=99.5, status="sent")
    orphan = sb.add_invoice(org_id, customer_id="9999999999999", customer_name="Ghost Ltd")
    gone = z.ok("/invoices", status="paid", per_page=1)["invoices"][0]["invoice_id"]
    sb.delete_invoice(org_id, gone)
    changed = {i["invoice_id"]: i for i in z.all("/invoices", "invoices", last_modified_time=since)}
    assert set(changed) == {unpaid[0]["invoice_id"], unpaid[1]["invoice_id"], new_id, orphan}
    assert changed[unpaid[0]["invoice_id"]]["status"] == "paid"
    assert changed[unpaid[1]["invoice_id"]]["total"] == "12,5O"  # served as-is, like a bad upstream value
    assert changed[unpaid[1]["invoice_id"]]["due_date"] == "31/02/2026"
    assert changed[new_id]["total"] == 99.5 and changed[new_id]["balance"] == 99.5
    assert changed[orphan]["customer_id"] == "9999999999999" and changed[orphan]["customer_name"] == "Ghost Ltd"
    assert z.get(f"/invoices/{gone}").status_code == 404
    assert unpaid[0]["invoice_id"] in {i["invoice_id"] for i in z.all("/invoices", "invoices", status="paid")}
    assert len(sb.invoices(0)) == 430 + 2 - 1


# ------------------------------------------------------------------------------------- HTTP control API
def test_http_control_api(sb, z):
    base = sb.url + "/_sandbox"
    info = requests.get(base + "/info", timeout=10).json()
    assert info["organizations"] == [o.as_dict() for o in sb.organizations] and info["url"] == sb.url
    org_id = sb.organizations[0].organization_id
    requests.post(base + "/faults", json={"kind": "http_500", "count": 1, "path_prefix": "/books/v3/contacts"},
                  timeout=10)
    assert z.get("/contacts").status_code == 500
    before = sb.clock.time()
    assert requests.post(base + "/clock", json={"advance": 30}, timeout=10).json()["now"] >= before + 30
    cid = sb.contact_ids(0)[3]
    r = requests.patch(f"{base}/orgs/{org_id}/contacts/{cid}", json={"contact_name": "Via HTTP"}, timeout=10)
    assert r.json()["contact"]["contact_name"] == "Via HTTP"
    assert z.ok(f"/contacts/{cid}")["contact"]["contact_name"] == "Via HTTP"
    new = requests.post(f"{base}/orgs/acme-us/contacts", json={"contact_name": "Posted"}, timeout=10).json()
    requests.put(f"{base}/orgs/{org_id}/contacts/{new['contact_id']}/persons",
                 json={"persons": [{"first_name": "P", "mobile": "+14155550101", "is_primary_contact": True}]},
                 timeout=10)
    assert z.ok(f"/contacts/{new['contact_id']}")["contact"]["mobile"] == "+14155550101"
    iid = sb.invoice_ids(0)[0]
    assert requests.delete(f"{base}/orgs/{org_id}/invoices/{iid}", timeout=10).json() == {"ok": True}
    assert requests.get(f"{base}/orgs/{org_id}/invoices/{iid}", timeout=10).status_code == 404
    requests.post(base + "/settings", json={"duplicate_invoices": True}, timeout=10)
    assert sb.duplicate_invoices is True
    calls = requests.get(base + "/calls", params={"path_prefix": "/books/v3/contacts"}, timeout=10).json()
    assert calls["count"] == sb.call_count("/books/v3/contacts") >= 3
    requests.post(base + "/expire_tokens", timeout=10)
    assert z.get("/contacts").status_code == 401
    assert requests.post(base + "/settings", json={"bogus": 1}, timeout=10).status_code == 400


# ------------------------------------------------------------------------------------------------- CLI
def test_cli_serves_and_writes_the_info_file(tmp_path):
    info_file = tmp_path / "info.json"
    with cli_sandbox(info_file, "--orgs", "1", "--contacts", "20", "--invoices", "50") as (proc, info):
        assert set(info) == {"port", "url", "organizations"} and info["url"] == f"http://127.0.0.1:{info['port']}"
        org = info["organizations"][0]
        assert set(org) == {"user_id", "organization_id", "client_id", "client_secret", "refresh_token", "country",
                            "time_zone"}
        r = first_contacts_page(info, org)
        assert len(r.json()["contacts"]) == 20 and r.headers["X-Rate-Limit-Limit"] == "5000"
    err = proc.stderr_text
    assert proc.returncode == 0
    assert not info_file.exists()
    assert b"GET /books" not in err  # quiet by default: no per-request lines
