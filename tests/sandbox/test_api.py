"""The Books API over real sockets: envelopes, pagination, filters, errors, OAuth."""
from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import pytest
import requests

from tests.sandbox.helpers import Zoho

PAGE_KEYS = {"page", "per_page", "has_more_page", "applied_filter", "sort_column", "sort_order"}


@pytest.fixture(scope="module")
def sb(sandbox_factory):
    return sandbox_factory(seed=5, contacts_per_org=450, invoices_per_org=1100, per_minute_limit=None,
                           daily_limit=None, max_concurrent=None, token_limit=None)


@pytest.fixture(scope="module")
def z(sb):
    api = Zoho(sb, 0)
    yield api
    api.close()


# ------------------------------------------------------------------------------------------------ OAuth
def token_request(sb, how="form", **params):
    org = sb.organizations[0]
    data = {"refresh_token": org.refresh_token, "client_id": org.client_id, "client_secret": org.client_secret,
            "grant_type": "refresh_token", **params}
    if how == "query":
        return requests.post(sb.url + "/oauth/v2/token", params=data, timeout=10)
    if how == "multipart":
        return requests.post(sb.url + "/oauth/v2/token", files={k: (None, v) for k, v in data.items()}, timeout=10)
    return requests.post(sb.url + "/oauth/v2/token", data=data, timeout=10)


@pytest.mark.parametrize("how", ["form", "query", "multipart"])
def test_refresh_grant_returns_a_working_token(sb, how):
    before = sb.token_requests
    r = token_request(sb, how)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"access_token", "api_domain", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["api_domain"] == sb.url
    assert sb.token_requests == before + 1
    org = sb.organizations[0]
    r = requests.get(sb.url + "/books/v3/contacts", params={"organization_id": org.organization_id, "per_page": 1},
                     headers={"Authorization": "Zoho-oauthtoken " + body["access_token"]}, timeout=10)
    assert r.status_code == 200 and r.json()["code"] == 0


@pytest.mark.parametrize("override, error", [
    ({"refresh_token": "1000.nope.nope"}, "invalid_code"),
    ({"client_id": "1000.WRONG"}, "invalid_client"),
    ({"client_secret": "wrong"}, "invalid_client"),
])
def test_bad_credentials_get_http_200_with_an_error_key(sb, override, error):
    r = token_request(sb, **override)
    assert r.status_code == 200 and r.json() == {"error": error}


def test_refresh_token_of_another_client_is_invalid_code(sb):
    other = sb.organizations[1]
    r = token_request(sb, refresh_token=other.refresh_token)
    assert r.json() == {"error": "invalid_code"}


def test_token_endpoint_throttles_after_ten_tokens_in_ten_minutes(sandbox_factory):
    sb = sandbox_factory(contacts_per_org=5, invoices_per_org=5)
    answers = [token_request(sb) for _ in range(11)]
    assert [r.status_code for r in answers[:10]] == [200] * 10
    assert all("access_token" in r.json() for r in answers[:10])
    assert answers[10].status_code == 400
    assert answers[10].json() == {"error": "Access Denied", "status": "failure", "error_description":
                                  "You have made too many requests continuously. Please try again after some time."}
    assert sb.token_requests == 11
    sb.clock.advance(601)
    assert "access_token" in token_request(sb).json()


@pytest.mark.parametrize("header", [None, "Bearer {t}", "Zoho-oauthtoken 1000.unknown", "zoho-oauthtoken{t}"])
def test_missing_or_wrong_authorization_is_401_code_57(sb, z, header):
    headers = {} if header is None else {"Authorization": header.format(t=z.token)}
    r = requests.get(sb.url + "/books/v3/invoices", params={"organization_id": z.org.organization_id},
                     headers=headers, timeout=10)
    assert r.status_code == 401
    assert r.json() == {"code": 57, "message": "You are not authorized to perform this operation"}


def test_token_expires_after_an_hour_of_sandbox_time(sandbox_factory):
    sb = sandbox_factory(contacts_per_org=5, invoices_per_org=5)
    z = Zoho(sb)
    assert z.get("/invoices").status_code == 200
    sb.clock.advance(3599)
    assert z.get("/invoices").status_code == 200
    sb.clock.advance(2)
    assert z.get("/invoices").json()["code"] == 57


def test_thirty_first_token_deletes_the_oldest(sandbox_factory):
    sb = sandbox_factory(contacts_per_org=5, invoices_per_org=5)
    z = Zoho(sb)  # holds the oldest token
    assert z.get("/invoices").status_code == 200
    tokens = [sb.access_token(0) for _ in range(30)]
    assert z.get("/invoices").status_code == 401
    assert z.get("/invoices", token=tokens[0]).status_code == 200


# ------------------------------------------------------------------------------------- organisations
def test_organizations_lists_only_the_token_owners_org_without_page_context(sb, z):
    body = z.ok("/organizations", org_id=None)
    assert "page_context" not in body
    assert [o["organization_id"] for o in body["organizations"]] == [z.org.organization_id]
    org = body["organizations"][0]
    assert org["currency_code"] == "USD" and org["time_zone"] == "America/New_York"


def test_foreign_or_unknown_organisation_is_400_code_6041(sb, z):
    other = sb.organizations[1].organization_id
    for org_id in (other, "123456"):
        r = z.get("/contacts", org_id=org_id)
        assert r.status_code == 400
        assert r.json() == {"code": 6041,
                            "message": f"This user is not associated with the CompanyID/CompanyName:{org_id}."}


def test_missing_organization_id_is_rejected(z):
    r = z.get("/contacts", org_id=None)
    assert r.status_code == 400 and r.json()["code"] == 2


# ------------------------------------------------------------------------------------------ envelopes
def test_contacts_list_envelope_and_records(z):
    body = z.ok("/contacts", per_page=50)
    assert set(body) == {"code", "message", "contacts", "page_context"}
    pc = body["page_context"]
    assert set(pc) == PAGE_KEYS
    assert pc == {"page": 1, "per_page": 50, "has_more_page": True, "applied_filter": "Status.All",
                  "sort_column": "contact_name", "sort_order": "A"}
    assert len(body["contacts"]) == 50
    for c in body["contacts"]:
        assert "contact_persons" not in c
        for key in ("contact_id", "contact_name", "company_name", "contact_type", "status", "email", "phone", "mobile",
                    "first_name", "last_name", "created_time", "last_modified_time", "currency_code",
                    "outstanding_receivable_amount"):
            assert key in c, key
        assert isinstance(c["contact_id"], str) and c["contact_id"].isdigit()
        assert isinstance(c["outstanding_receivable_amount"], float)
    names = [c["contact_name"].lower() for c in body["contacts"]]
    assert names == sorted(names)


def test_contact_detail_has_contact_persons_and_persons_endpoint_agrees(sb, z):
    with_persons = next(c for c in sb.contacts(0) if len(c["contact_persons"]) >= 2)
    cid = with_persons["contact_id"]
    contact = z.ok(f"/contacts/{cid}")["contact"]
    assert contact["contact_id"] == cid
    assert [p["contact_person_id"] for p in contact["contact_persons"]] == \
        [p["contact_person_id"] for p in with_persons["contact_persons"]]
    assert all("enable_portal" in p for p in contact["contact_persons"])
    body = z.ok(f"/contacts/{cid}/contactpersons")
    assert body["page_context"] == {"page": 1, "per_page": 200, "has_more_page": False,
                                    "sort_column": "contact_person_id", "sort_order": "A"}
    listed = body["contact_persons"]
    assert [(p["contact_person_id"], p["mobile"], p["phone"]) for p in listed] == \
        [(p["contact_person_id"], p["mobile"], p["phone"]) for p in contact["contact_persons"]]
    assert all("is_added_in_portal" in p for p in listed)
    one = z.ok(f"/contacts/{cid}/contactpersons/{listed[1]['contact_person_id']}")["contact_person"]
    assert one["contact_id"] == cid and one["contact_person_id"] == listed[1]["contact_person_id"]


def test_invoices_list_envelope_and_default_sort(z):
    body = z.ok("/invoices")
    pc = body["page_context"]
    assert pc == {"page": 1, "per_page": 200, "has_more_page": True, "report_name": "Invoices",
                  "applied_filter": "Status.All", "sort_column": "created_time", "sort_order": "D"}
    invoices = body["invoices"]
    assert len(invoices) == 200
    created = [i["created_time"] for i in invoices]
    stamps = [dt.datetime.strptime(c, "%Y-%m-%dT%H:%M:%S%z") for c in created]
    assert stamps == sorted(stamps, reverse=True)
    for inv in invoices:
        for key in ("invoice_id", "invoice_number", "customer_id", "customer_name", "status", "date", "due_date",
                    "currency_code", "total", "balance", "last_modified_time", "created_time"):
            assert key in inv, key
        assert "line_items" not in inv


def test_invoice_detail(z):
    inv = z.ok("/invoices", per_page=1)["invoices"][0]
    detail = z.ok(f"/invoices/{inv['invoice_id']}")["invoice"]
    assert detail["invoice_id"] == inv["invoice_id"] and detail["total"] == inv["total"]
    assert detail["line_items"] and "sub_total" in detail and "contact_persons_associated" in detail


def test_response_option_1_adds_totals(z):
    pc = z.ok("/invoices", per_page=100, response_option=1)["page_context"]
    assert pc["total"] == 1100 and pc["total_pages"] == 11 and pc["response_option"] == 1


# ----------------------------------------------------------------------------------------- pagination
def test_pagination_walks_every_record_exactly_once(sb, z):
    bodies = z.pages("/invoices", "invoices", per_page=37)
    ids = [i["invoice_id"] for b in bodies for i in b["invoices"]]
    assert len(bodies) == -(-1100 // 37)
    assert [b["page_context"]["page"] for b in bodies] == list(range(1, len(bodies) + 1))
    assert len(ids) == len(set(ids)) == 1100
    assert set(ids) == set(sb.invoice_ids(0))
    contacts = z.all("/contacts", "contacts")
    assert {c["contact_id"] for c in contacts} == set(sb.contact_ids(0))


def test_page_past_the_end_is_empty(z):
    body = z.ok("/invoices", page=99)
    assert body["invoices"] == [] and body["page_context"]["has_more_page"] is False


def test_per_page_defaults_to_200_and_is_capped_at_200(z):
    assert len(z.ok("/contacts")["contacts"]) == 200
    body = z.ok("/contacts", per_page=500)
    assert len(body["contacts"]) == 200 and body["page_context"]["per_page"] == 200


# -------------------------------------------------------------------------------------------- filters
def test_contact_type_and_status_filters(sb, z):
    truth = sb.contacts(0)
    vendors = z.all("/contacts", "contacts", contact_type="vendor")
    assert {c["contact_id"] for c in vendors} == {c["contact_id"] for c in truth if c["contact_type"] == "vendor"}
    inactive = z.all("/contacts", "contacts", filter_by="Status.Inactive")
    assert {c["contact_id"] for c in inactive} == {c["contact_id"] for c in truth if c["status"] == "inactive"}
    active_customers = z.all("/contacts", "contacts", filter_by="Status.Active", contact_type="customer")
    assert {c["contact_id"] for c in active_customers} == {
        c["contact_id"] for c in truth if c["status"] == "active" and c["contact_type"] == "customer"}
    assert z.ok("/contacts", filter_by="Status.Inactive")["page_context"]["applied_filter"] == "Status.Inactive"


def test_contact_filter_by_duplicates_portal_and_invoice_state(sb, z):
    truth = {c["contact_id"]: c for c in sb.contacts(0)}
    names = [c["contact_name"].lower() for c in truth.values()]
    dup = z.all("/contacts", "contacts", filter_by="Status.Duplicate")
    assert dup and {c["contact_id"] for c in dup} == {cid for cid, c in truth.items()
                                                      if names.count(c["contact_name"].lower()) > 1}
    enabled = {c["contact_id"] for c in z.all("/contacts", "contacts", filter_by="Status.PortalEnabled")}
    disabled = {c["contact_id"] for c in z.all("/contacts", "contacts", filter_by="Status.PortalDisabled")}
    assert enabled and disabled and not enabled & disabled and enabled | disabled == set(truth)
    assert all(truth[cid]["portal_status"] == "enabled" for cid in enabled)
    overdue_customers = {i["customer_id"] for i in sb.invoices(0) if i["status"] == "overdue"}
    got = {c["contact_id"] for c in z.all("/contacts", "contacts", filter_by="Invoice.OverDue")}
    assert got == overdue_customers & set(truth)
    unpaid = {c["contact_id"] for c in z.all("/contacts", "contacts", filter_by="Invoice.Unpaid")}
    assert unpaid == {cid for cid, c in truth.items() if c["outstanding_receivable_amount"] > 0}
    assert z.ok("/contacts", filter_by="Status.Crm")["contacts"] == []


def test_contact_name_search(sb, z):
    target = sb.contacts(0)[17]["contact_name"]
    word = target.split()[0].lower()
    found = z.all("/contacts", "contacts", contact_name_contains=word)
    assert found and all(word in c["contact_name"].lower() for c in found)
    assert target in [c["contact_name"] for c in z.all("/contacts", "contacts", contact_name=target.upper())]


@pytest.mark.parametrize("status", ["draft", "sent", "overdue", "paid", "void", "partially_paid", "viewed"])
def test_invoice_status_filter(sb, z, status):
    got = {i["invoice_id"] for i in z.all("/invoices", "invoices", status=status)}
    assert got == {i["invoice_id"] for i in sb.invoices(0) if i["status"] == status}
    assert got


def test_invoice_unpaid_and_filter_by(sb, z):
    unpaid = {"sent", "viewed", "overdue", "partially_paid", "unpaid"}
    truth = {i["invoice_id"] for i in sb.invoices(0) if i["status"] in unpaid}
    assert {i["invoice_id"] for i in z.all("/invoices", "invoices", status="unpaid")} == truth
    assert {i["invoice_id"] for i in z.all("/invoices", "invoices", filter_by="Status.Unpaid")} == truth
    overdue = z.all("/invoices", "invoices", filter_by="Status.OverDue")
    assert overdue and {i["status"] for i in overdue} == {"overdue"}


def test_customer_id_filter(sb, z):
    inv = z.ok("/invoices", per_page=1)["invoices"][0]
    got = z.all("/invoices", "invoices", customer_id=inv["customer_id"])
    assert {i["invoice_id"] for i in got} == {
        i["invoice_id"] for i in sb.invoices(0) if i["customer_id"] == inv["customer_id"]}


@pytest.mark.parametrize("field, key", [("date", "date"), ("due_date", "due_date")])
def test_date_range_filters_are_inclusive(sb, z, field, key):
    values = sorted({i[key] for i in sb.invoices(0)})
    lo, hi = values[5], values[15]
    got = z.all("/invoices", "invoices", **{f"{field}_start": lo, f"{field}_end": hi})
    assert {i["invoice_id"] for i in got} == {i["invoice_id"] for i in sb.invoices(0) if lo <= i[key] <= hi}
    before = z.all("/invoices", "invoices", **{f"{field}_before": lo})
    assert {i["invoice_id"] for i in before} == {i["invoice_id"] for i in sb.invoices(0) if i[key] < lo}
    exact = z.all("/invoices", "invoices", **{field: lo})
    assert exact and {i[key] for i in exact} == {lo}


def test_created_date_and_search_text(sb, z):
    invoices = sb.invoices(0)
    day = sorted({i["created_time"][:10] for i in invoices})[3]
    got = z.all("/invoices", "invoices", created_date=day)
    assert got
    assert {i["invoice_id"] for i in got} == {i["invoice_id"] for i in invoices if i["created_time"][:10] == day}
    after = z.all("/invoices", "invoices", created_date_after=day)
    assert {i["invoice_id"] for i in after} == {i["invoice_id"] for i in invoices if i["created_time"][:10] > day}
    number = invoices[42]["invoice_number"]
    assert [i["invoice_number"] for i in z.all("/invoices", "invoices", search_text=number.lower())] == [number]
    word = invoices[7]["customer_name"].split()[0]
    by_name = z.all("/invoices", "invoices", customer_name_startswith=word)
    assert by_name and all(i["customer_name"].lower().startswith(word.lower()) for i in by_name)


def test_last_modified_time_is_an_inclusive_lower_bound(sb, z):
    stamps = sorted(sb.invoices(0), key=lambda i: dt.datetime.strptime(i["last_modified_time"], "%Y-%m-%dT%H:%M:%S%z"))
    pivot = stamps[len(stamps) // 2]["last_modified_time"]
    pivot_dt = dt.datetime.strptime(pivot, "%Y-%m-%dT%H:%M:%S%z")
    expected = {i["invoice_id"] for i in stamps
                if dt.datetime.strptime(i["last_modified_time"], "%Y-%m-%dT%H:%M:%S%z") >= pivot_dt}
    got = z.all("/invoices", "invoices", last_modified_time=pivot)  # requests encodes '+' as %2B
    assert {i["invoice_id"] for i in got} == expected
    assert pivot in {i["last_modified_time"] for i in got}
    # the same instant written in another offset selects the same records
    utc = pivot_dt.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S%z")
    assert {i["invoice_id"] for i in z.all("/invoices", "invoices", last_modified_time=utc)} == expected
    contacts = z.all("/contacts", "contacts", last_modified_time=utc)
    assert all(dt.datetime.strptime(c["last_modified_time"], "%Y-%m-%dT%H:%M:%S%z") >= pivot_dt for c in contacts)


def test_unencoded_plus_in_last_modified_time_is_rejected(sb, z):
    raw = (f"{sb.url}/books/v3/invoices?organization_id={z.org.organization_id}"
           "&last_modified_time=2024-01-15T10:20:31+0530")
    auth = {"Authorization": f"Zoho-oauthtoken {z.token}"}
    r = z.session.get(raw, headers=auth, timeout=10)
    assert r.status_code == 400
    assert r.json() == {"code": 2, "message": "Invalid value passed for last_modified_time"}
    encoded = raw.replace("+0530", quote("+0530"))
    assert z.session.get(encoded, headers=auth, timeout=10).status_code == 200


@pytest.mark.parametrize("column", ["total", "due_date", "invoice_number", "customer_name", "last_modified_time"])
@pytest.mark.parametrize("order", ["A", "D"])
def test_invoice_sorting(z, column, order):
    body = z.ok("/invoices", sort_column=column, sort_order=order, per_page=120)
    assert (body["page_context"]["sort_column"], body["page_context"]["sort_order"]) == (column, order)
    def key(i):
        v = i[column]
        if column == "last_modified_time":
            return dt.datetime.strptime(v, "%Y-%m-%dT%H:%M:%S%z")
        return v.lower() if isinstance(v, str) else v
    values = [key(i) for i in body["invoices"]]
    assert values == sorted(values, reverse=order == "D")


def test_contacts_sorted_by_last_modified_time_ascending(z):
    contacts = z.all("/contacts", "contacts", sort_column="last_modified_time", sort_order="A")
    stamps = [dt.datetime.strptime(c["last_modified_time"], "%Y-%m-%dT%H:%M:%S%z") for c in contacts]
    assert stamps == sorted(stamps) and len(contacts) == 450


# --------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("path, params, name", [
    ("/contacts", {"filter_by": "Bogus"}, "filter_by"),
    ("/invoices", {"filter_by": "Status.Overdue"}, "filter_by"),  # Zoho spells it Status.OverDue
    ("/contacts", {"per_page": "abc"}, "per_page"),
    ("/contacts", {"page": "0"}, "page"),
    ("/contacts", {"contact_type": "partner"}, "contact_type"),
    ("/invoices", {"status": "open"}, "status"),
    ("/invoices", {"sort_column": "colour"}, "sort_column"),
    ("/invoices", {"sort_order": "up"}, "sort_order"),
    ("/invoices", {"date_start": "01/02/2024"}, "date_start"),
    ("/invoices", {"last_modified_time": "2024-01-15"}, "last_modified_time"),
])
def test_bad_parameter_values_are_400_code_2(z, path, params, name):
    r = z.get(path, **params)
    assert r.status_code == 400
    assert r.json() == {"code": 2, "message": f"Invalid value passed for {name}"}


def test_not_found_records(z):
    for path, message in (("/invoices/460299999999999", "Invoice does not exist."),
                          ("/contacts/460099999999999", "Contact does not exist."),
                          ("/contacts/460099999999999/contactpersons", "Contact does not exist.")):
        r = z.get(path)
        assert r.status_code == 404 and r.json() == {"code": 1002, "message": message}


def test_unknown_path_and_method(sb, z):
    r = z.get("/estimates")
    assert r.status_code == 404 and r.json() == {"code": 5, "message": "Invalid URL Passed"}
    r = requests.post(sb.url + "/books/v3/invoices", headers={"Authorization": f"Zoho-oauthtoken {z.token}"},
                      timeout=10)
    assert r.status_code == 405


def test_calls_are_recorded_with_org_status_and_redacted_secrets(sb, z):
    sb.reset_calls()
    z.ok("/invoices", per_page=5)
    z.get("/nope")
    token_request(sb)
    calls = sb.calls
    assert [(c.method, c.path, c.status) for c in calls] == [
        ("GET", "/books/v3/invoices", 200), ("GET", "/books/v3/nope", 404), ("POST", "/oauth/v2/token", 200)]
    assert calls[0].org_id == z.org.organization_id and calls[0].code == 0
    assert calls[0].params == {"per_page": "5", "organization_id": z.org.organization_id}
    assert calls[2].params["client_secret"] == "***" and calls[2].params["refresh_token"] == "***"
    assert calls[2].org_id == z.org.organization_id  # the refresh token's organisation
    assert sb.call_count("/books/v3/invoices") == 1 and sb.call_count(org_id=z.org.organization_id) == 3
    assert sb.call_count(status=404) == 1
    assert sb.token_requests == 1
