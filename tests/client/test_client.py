"""ZohoBooksClient against the sandbox over real sockets: listings, filters, auth, errors, retries."""
from __future__ import annotations

import json
import math
import threading
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from tests.client.conftest import settled
from zoho.books.client import ZohoBooksClient
from zoho.books.timestamps import format_timestamp, parse_timestamp
from zoho.books.errors import (
    AuthenticationError,
    BadParameterError,
    InvalidCredentialsError,
    NotFoundError,
    ServerError,
    ThrottledError,
    WrongOrganizationError,
    ZohoConnectionError,
    ZohoError,
)

INVOICES = "/books/v3/invoices"
CONTACTS = "/books/v3/contacts"
TOKEN = "/oauth/v2/token"


# --------------------------------------------------------------------------- timestamps


@pytest.mark.parametrize(
    ("raw", "offset"),
    [
        ("2013-11-18T02:02:51+0530", timedelta(hours=5, minutes=30)),
        ("2013-11-18T02:02:51-0800", timedelta(hours=-8)),
        ("2013-11-18T02:02:51+05:30", timedelta(hours=5, minutes=30)),
        ("2013-11-18T02:02:51Z", timedelta(0)),
    ],
)
def test_parse_timestamp_reads_zoho_offsets(raw, offset):
    assert parse_timestamp(raw) == datetime(2013, 11, 18, 2, 2, 51, tzinfo=timezone(offset))
    assert parse_timestamp(raw).utcoffset() == offset


@pytest.mark.parametrize("raw", ["", " ", "2013-11-18", "2013-11-18T02:02:51", "yesterday"])
def test_parse_timestamp_rejects_what_is_not_an_aware_timestamp(raw):
    with pytest.raises(ValueError):
        parse_timestamp(raw)


def test_format_timestamp_writes_offset_without_colon():
    tz = timezone(timedelta(hours=-8))
    assert format_timestamp(datetime(2024, 1, 2, 3, 4, 5, 999, tzinfo=tz)) == "2024-01-02T03:04:05-0800"


def test_format_timestamp_reads_naive_values_as_utc():
    assert format_timestamp(datetime(2024, 1, 2, 3, 4, 5)) == "2024-01-02T03:04:05+0000"
    assert format_timestamp("2024-01-02T03:04:05+05:30") == "2024-01-02T03:04:05+0530"


# --------------------------------------------------------------------------- listings and filters


def test_iter_invoices_streams_every_page_until_has_more_page_is_false(sb, make_client):
    client = make_client(sb)
    ids = [r["invoice_id"] for r in client.iter_invoices()]
    expected = sb.invoice_ids(0)
    assert sorted(ids) == sorted(expected)
    calls = settled(sb).calls_matching(INVOICES)
    assert len(calls) == math.ceil(len(expected) / 200) >= 5
    assert [c.params["page"] for c in calls] == [str(p) for p in range(1, len(calls) + 1)]
    assert {c.params["per_page"] for c in calls} == {"200"}


def test_iter_invoices_returns_a_generator_that_fetches_lazily(sb, make_client):
    client = make_client(sb)
    listing = client.iter_invoices()
    assert settled(sb).call_count(INVOICES) == 0
    next(listing)
    assert settled(sb).call_count(INVOICES) == 1


def test_iter_contacts_asks_for_customers_of_every_status(sb, make_client):
    client = make_client(sb)
    records = list(client.iter_contacts())
    params = settled(sb).calls_matching(CONTACTS)[0].params
    assert (params["contact_type"], params["filter_by"]) == ("customer", "Status.All")
    assert {r["contact_type"] for r in records} == {"customer"}
    expected = {c["contact_id"] for c in sb.contacts(0) if c["contact_type"] == "customer"}
    assert {r["contact_id"] for r in records} == expected
    assert "sort_column" not in params  # full pass: Zoho's default order


def test_iter_contacts_includes_inactive_customers(sb, make_client):
    statuses = {r["status"] for r in make_client(sb).iter_contacts()}
    assert statuses == {c["status"] for c in sb.contacts(0) if c["contact_type"] == "customer"}
    assert "inactive" in statuses


def test_iter_contacts_modified_since_returns_only_later_changes_ascending(sb, make_client):
    ids = [c["contact_id"] for c in sb.contacts(0) if c["contact_type"] == "customer"][:3]
    since = sb.clock.now() - timedelta(seconds=1)
    for offset, contact_id in enumerate(reversed(ids)):
        sb.clock.advance(1)
        sb.update_contact(0, contact_id, website=f"www.changed{offset}.example")
    records = list(make_client(sb).iter_contacts(modified_since=since))
    assert [r["contact_id"] for r in records] == list(reversed(ids))  # oldest change first
    params = settled(sb).calls_matching(CONTACTS)[-1].params
    assert parse_timestamp(params["last_modified_time"]) == since.replace(microsecond=0)
    assert (params["sort_column"], params["sort_order"]) == ("last_modified_time", "A")


def test_iter_invoices_modified_since_filters_on_last_modified_time(sb, make_client):
    times = sorted(parse_timestamp(i["last_modified_time"]) for i in sb.invoices(0))
    cutoff = times[len(times) * 3 // 4]
    records = list(make_client(sb).iter_invoices(modified_since=cutoff))
    expected = {i["invoice_id"] for i in sb.invoices(0) if parse_timestamp(i["last_modified_time"]) >= cutoff}
    assert {r["invoice_id"] for r in records} == expected and 0 < len(expected) < len(times)
    params = settled(sb).calls_matching(INVOICES)[-1].params
    assert params["last_modified_time"][-5] in "+-" and ":" not in params["last_modified_time"][-5:]
    assert "sort_column" not in params  # invoices keep Zoho's default order (sort by lmt unconfirmed)


def test_duplicate_invoices_across_pages_are_dropped(sb, make_client):
    sb.duplicate_invoices = True
    try:
        client = make_client(sb)
        ids = [r["invoice_id"] for r in client.iter_invoices()]
    finally:
        sb.duplicate_invoices = False
    assert len(ids) == len(set(ids)) == len(sb.invoice_ids(0))
    assert client.stats.duplicates_dropped > 0


def test_every_request_carries_the_organization_id(sb, make_client):
    client = make_client(sb)
    list(client.iter_contacts())
    client.get_invoice(sb.invoice_ids(0)[0])
    books_calls = settled(sb).calls_matching("/books/v3")
    assert books_calls and {c.params.get("organization_id") for c in books_calls} == {client.organization_id}


def test_get_contact_returns_the_contact_with_its_persons(sb, make_client):
    contact_id = sb.contact_ids(0)[0]
    contact = make_client(sb).get_contact(contact_id)
    assert contact["contact_id"] == contact_id
    assert [p["contact_person_id"] for p in contact["contact_persons"]] == [
        p["contact_person_id"] for p in sb.contact(0, contact_id)["contact_persons"]
    ]


def test_list_contact_persons_keeps_zoho_order(sb, make_client):
    contact_id = next(c for c in sb.contact_ids(0) if len(sb.contact_persons(0, c)) > 1)
    persons = make_client(sb).list_contact_persons(contact_id)
    assert persons == sb.contact_persons(0, contact_id)


def test_get_invoice_parses_money_as_decimal(sb, make_client):
    invoice_id = sb.invoice_ids(0)[0]
    invoice = make_client(sb).get_invoice(invoice_id)
    assert invoice["invoice_id"] == invoice_id
    assert isinstance(invoice["total"], Decimal) and invoice["total"] == Decimal(str(sb.invoice(0, invoice_id)["total"]))


def test_list_organizations_returns_the_callers_organisation(sb, make_client):
    client = make_client(sb)
    assert [o["organization_id"] for o in client.list_organizations()] == [client.organization_id]
    assert "organization_id" not in settled(sb).calls_matching("/books/v3/organizations")[0].params


def test_test_connection_succeeds_with_valid_settings(sb, make_client):
    client = make_client(sb)
    ok, message = client.test_connection()
    assert ok and client.organization_id in message


# --------------------------------------------------------------------------- tokens


def test_token_is_fetched_once_for_many_calls(sb, make_client):
    client = make_client(sb)
    list(client.iter_invoices())
    for contact_id in sb.contact_ids(0)[:10]:
        client.get_contact(contact_id)
    assert sb.token_requests == 1
    assert client.stats.token_refreshes == 1 and client.stats.total_calls >= 15


def test_token_is_shared_by_threads_with_one_refresh(sb, make_client):
    client = make_client(sb)
    ids = sb.contact_ids(0)[:16]
    errors: list[Exception] = []

    def fetch(contact_id):
        try:
            client.get_contact(contact_id)
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=fetch, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and sb.token_requests == 1


def test_clients_of_the_same_credentials_share_the_cached_token(sb, make_client):
    make_client(sb).get_contact(sb.contact_ids(0)[0])
    make_client(sb).get_contact(sb.contact_ids(0)[1])
    assert sb.token_requests == 1


def test_expired_token_is_refreshed_once_and_the_call_retried(sb, make_client):
    client = make_client(sb)
    client.get_contact(sb.contact_ids(0)[0])
    sb.expire_tokens()
    assert client.get_contact(sb.contact_ids(0)[1])["contact_id"] == sb.contact_ids(0)[1]
    assert sb.token_requests == 2
    assert settled(sb).call_count("/books/v3", status=401) == 1
    assert (client.stats.token_refreshes, client.stats.retries) == (2, 1)


def test_persisting_401_raises_invalid_credentials_after_one_refresh(sb, make_client):
    client = make_client(sb)
    sb.faults.add("expire_tokens", count=2)
    with pytest.raises(InvalidCredentialsError, match="still rejects"):
        client.get_contact(sb.contact_ids(0)[0])
    assert sb.token_requests == 2 and settled(sb).call_count("/books/v3") == 2


def test_invalid_refresh_token_raises_invalid_credentials_without_api_call(sb, make_client):
    client = make_client(sb, refresh_token="1000.not-a-real-refresh-token")
    with pytest.raises(InvalidCredentialsError, match="invalid_code"):
        client.get_contact(sb.contact_ids(0)[0])
    assert settled(sb).call_count("/books/v3") == 0 and sb.token_requests == 1


def test_wrong_client_secret_raises_invalid_credentials(sb, make_client):
    with pytest.raises(InvalidCredentialsError, match="invalid_client"):
        make_client(sb, client_secret="wrong-secret-value").get_contact(sb.contact_ids(0)[0])


def test_token_is_refreshed_shortly_before_expires_in(sb, make_client):
    client = make_client(sb)
    now = [0.0]
    client._tokens._clock = lambda: now[0]  # the token cache's monotonic clock, moved by hand
    client.get_contact(sb.contact_ids(0)[0])
    now[0] = 3600 - 61  # sandbox tokens live 3600 s; the client refreshes 60 s early
    client.get_contact(sb.contact_ids(0)[1])
    assert sb.token_requests == 1
    now[0] = 3600 - 59
    client.get_contact(sb.contact_ids(0)[2])
    assert sb.token_requests == 2 and settled(sb).call_count("/books/v3", status=401) == 0


def test_token_endpoint_throttle_raises_authentication_error_without_retry(sb, make_client):
    sb.faults.add("throttle_44", count=1, path_prefix=TOKEN)  # Zoho's "Access Denied" answer
    with pytest.raises(AuthenticationError, match="Access Denied") as info:
        make_client(sb).get_contact(sb.contact_ids(0)[0])
    assert not isinstance(info.value, InvalidCredentialsError)
    assert sb.token_requests == 1 and settled(sb).call_count("/books/v3") == 0


def test_token_endpoint_server_error_is_retried(sb, make_client):
    sb.faults.add("http_500", count=1, path_prefix=TOKEN)
    assert make_client(sb).get_contact(sb.contact_ids(0)[0])
    assert sb.token_requests == 2


def test_from_connection_fields_builds_a_working_client(sb):
    conn = sb.airflow_connection(0)
    client = ZohoBooksClient.from_connection_fields(
        conn["login"], conn["password"], json.dumps(conn["extra"]), tenant="acme-us", max_concurrent=2
    )
    try:
        assert client.get_contact(sb.contact_ids(0)[0])
        assert (client.api_base_url, client.max_concurrent) == (sb.url, 2)
    finally:
        client.close()


# --------------------------------------------------------------------------- errors that are not retried


def test_unknown_contact_raises_not_found_without_retry(sb, make_client):
    client = make_client(sb)
    with pytest.raises(NotFoundError) as info:
        client.get_contact("460999999999999")
    assert (info.value.status, info.value.code) == (404, 1002)
    assert settled(sb).call_count(CONTACTS) == 1 and client.stats.retries == 0


def test_foreign_organisation_raises_wrong_organization_without_retry(sb, make_client):
    client = make_client(sb, organization_id=sb.org(1).organization_id)
    with pytest.raises(WrongOrganizationError) as info:
        list(client.iter_invoices())
    assert info.value.code == 6041 and sb.org(1).organization_id in str(info.value)
    assert settled(sb).call_count(INVOICES) == 1 and client.stats.retries == 0


def test_bad_parameter_raises_without_retry(sb, make_client):
    client = make_client(sb)
    with pytest.raises(BadParameterError, match="filter_by") as info:
        list(client.iter_endpoint("invoices", params={"filter_by": "Status.Nope"}))
    assert info.value.code == 2 and settled(sb).call_count(INVOICES) == 1


# --------------------------------------------------------------------------- transient errors, retried


def test_server_error_is_retried_then_succeeds(sb, make_client):
    client = make_client(sb)
    sb.faults.add("http_500", count=2)
    assert client.get_contact(sb.contact_ids(0)[0])
    assert settled(sb).call_count(CONTACTS) == 3 and client.stats.retries == 2


def test_server_error_persisting_raises_after_bounded_retries(sb, make_client):
    client = make_client(sb, max_retries=2)
    sb.faults.add("http_500", count=None)
    with pytest.raises(ServerError, match="gave up after 2 retries") as info:
        client.get_contact(sb.contact_ids(0)[0])
    assert info.value.code == 1000 and settled(sb).call_count(CONTACTS) == 3


def test_html_503_is_retried_as_server_error(sb, make_client):
    client = make_client(sb)
    sb.faults.add("http_503", count=1)
    assert client.get_contact(sb.contact_ids(0)[0])
    assert client.stats.retries == 1


def test_html_503_persisting_quotes_the_body(sb, make_client):
    sb.faults.add("http_503", count=None)
    with pytest.raises(ServerError, match="503 Service Temporarily Unavailable"):
        make_client(sb, max_retries=1).get_contact(sb.contact_ids(0)[0])


@pytest.mark.parametrize("kind", ["throttle_44", "throttle_1070"])
def test_throttle_is_waited_out_and_retried(sb, make_client, kind):
    client = make_client(sb)
    sb.faults.add(kind, count=2)
    assert client.get_contact(sb.contact_ids(0)[0])
    assert settled(sb).call_count(CONTACTS, status=429) == 2 and client.stats.retries == 2


def test_throttle_persisting_raises_throttled_after_bounded_retries(sb, make_client):
    client = make_client(sb, max_retries=3)
    sb.faults.add("throttle_1070", count=None)
    with pytest.raises(ThrottledError, match="gave up after 3 retries") as info:
        client.get_contact(sb.contact_ids(0)[0])
    assert info.value.code == 1070 and settled(sb).call_count(CONTACTS) == 4


def test_retry_after_header_is_honoured(sb, make_client):
    sb.retry_after = True
    try:
        client = make_client(sb, backoff_base=0.001)
        sb.faults.add("throttle_1070", count=1)  # the sandbox sends Retry-After: 1
        client.get_contact(sb.contact_ids(0)[0])
    finally:
        sb.retry_after = False
    assert client.stats.limiter_wait_seconds >= 0.95


def test_retry_after_beyond_max_retry_wait_raises_at_once(sb, make_client):
    sb.retry_after = True
    try:
        client = make_client(sb, max_retry_wait=5)
        sb.faults.add("throttle_44", count=1)  # Retry-After: 60
        with pytest.raises(ThrottledError, match="asks to wait 60 s"):
            client.get_contact(sb.contact_ids(0)[0])
    finally:
        sb.retry_after = False
    assert settled(sb).call_count(CONTACTS) == 1


@pytest.mark.parametrize("kind", ["drop", "drop_mid_body"])
def test_dropped_connection_is_retried(sb, make_client, kind):
    client = make_client(sb)
    sb.faults.add(kind, count=1)
    assert [r["invoice_id"] for r in client.iter_invoices()] != []
    assert client.stats.retries == 1


def test_slow_answer_past_the_timeout_is_retried(sb, make_client):
    client = make_client(sb, timeout=0.3)
    sb.faults.add("slow", count=1, delay=1.0)
    assert client.get_contact(sb.contact_ids(0)[0])
    assert client.stats.retries == 1


def test_unreachable_api_raises_connection_error_after_bounded_retries(sb, make_client):
    client = make_client(sb, api_base_url="http://127.0.0.1:9", max_retries=2)
    with pytest.raises(ZohoConnectionError, match="gave up after 2 retries"):
        client.get_contact("1")
    assert client.stats.total_calls == 3


# --------------------------------------------------------------------------- messages


def test_error_messages_name_tenant_and_endpoint_and_carry_no_secret(sb, make_client):
    org = sb.org(0)
    issued: list[str] = []  # every access token the sandbox handed out during the scenarios

    def client(**overrides):
        return make_client(sb, on_new_token=issued.append, **overrides)

    scenarios = {
        "contact": lambda: client().get_contact("460999999999999"),
        "invoices": lambda: list(client(organization_id=sb.org(1).organization_id).iter_invoices()),
        "invoices ": lambda: list(client().iter_endpoint("invoices", params={"filter_by": "x"})),
        "oauth token": lambda: client(refresh_token=org.refresh_token + "x").get_contact("1"),
        "contact ": lambda: (sb.faults.add("http_500", count=None), client(max_retries=1).get_contact("1")),
        "contact  ": lambda: (sb.faults.add("expire_tokens", count=2), client().get_contact("1")),
        "contact   ": lambda: client(api_base_url="http://127.0.0.1:9", max_retries=0).get_contact("1"),
    }
    messages = []
    for endpoint, scenario in scenarios.items():
        sb.faults.clear()
        with pytest.raises(ZohoError) as info:
            scenario()
        assert str(info.value).startswith(f"[tenant {org.user_id}] {endpoint.strip()}: "), str(info.value)
        messages += [str(info.value), repr(info.value)]
    assert len(issued) >= 2
    for message in messages:
        for secret in (org.client_secret, org.refresh_token, *issued):
            assert secret not in message
