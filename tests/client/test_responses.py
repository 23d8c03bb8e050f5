"""How the client reads single answers that the sandbox does not produce (non-JSON bodies, odd
page contexts, records without ids). A canned transport stands in for the network here; every
behaviour reachable on the sandbox is tested there (test_client.py)."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
import requests
from requests.adapters import BaseAdapter

from zoho.books.client import ZohoBooksClient
from zoho.books.errors import ApiError, ServerError, UnreadableResponseError

SECRET = "sec-0123456789abcdef"
REFRESH = "1000.refresh-0123456789abcdef"
TOKEN = "1000.access-0123456789abcdef"


class CannedAdapter(BaseAdapter):
    """Answers each request with the next canned (status, body) and records the request."""

    def __init__(self, answers):
        super().__init__()
        self.answers = list(answers)
        self.requests: list[requests.PreparedRequest] = []

    def send(self, request, **kwargs):
        self.requests.append(request)
        status, body = self.answers.pop(0)
        resp = requests.Response()
        resp.status_code = status
        resp._content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        resp.url = request.url
        resp.request = request
        return resp

    def close(self):
        pass


def make_client(answers, **overrides):
    client = ZohoBooksClient(
        client_id="id", client_secret=SECRET, refresh_token=REFRESH, organization_id="42",
        api_base_url="http://zoho.test", accounts_url="http://zoho.test", tenant="acme",
        backoff_base=0.001, **overrides,
    )
    adapter = CannedAdapter(answers)
    session = requests.Session()
    session.mount("http://", adapter)
    client._session = lambda: session
    client._tokens.get = lambda tenant=None: (TOKEN, False)
    return client, adapter


def page(records, has_more, key="invoices", number=1):
    return {"code": 0, "message": "success", key: records,
            "page_context": {"page": number, "per_page": 200, "has_more_page": has_more}}


def test_unreadable_body_raises_quoting_its_beginning():
    html = "<html><body>" + "x" * 500 + TOKEN + "</body></html>"
    client, _ = make_client([(200, html)])
    with pytest.raises(UnreadableResponseError) as info:
        client.get_invoice("1")
    message = str(info.value)
    assert "<html><body>xxx" in message and "x" * 300 not in message and "[tenant acme] invoice" in message


def test_unreadable_body_on_5xx_is_retried_as_server_error():
    client, adapter = make_client([(502, "<html>Bad gateway</html>")] * 3, max_retries=2)
    with pytest.raises(ServerError, match="Bad gateway"):
        client.get_invoice("1")
    assert len(adapter.requests) == 3


def test_response_without_code_raises_api_error():
    client, _ = make_client([(200, {"invoice": {"invoice_id": "1"}})])
    with pytest.raises(ApiError, match="no 'code'"):
        client.get_invoice("1")


def test_money_is_parsed_as_decimal():
    client, _ = make_client([(200, '{"code":0,"message":"success","invoice":{"invoice_id":"1","total":40.6}}')])
    assert client.get_invoice("1")["total"] == Decimal("40.6")


def test_record_without_primary_key_is_still_yielded():
    records = [{"invoice_id": "1"}, {"invoice_number": "INV-2"}, {"invoice_id": ""}, {"invoice_id": "3"}]
    client, _ = make_client([(200, page(records, False))])
    assert list(client.iter_invoices()) == records


def test_listing_stops_on_an_empty_page_claiming_more():
    client, adapter = make_client([(200, page([{"invoice_id": "1"}], True)), (200, page([], True, number=2))])
    assert [r["invoice_id"] for r in client.iter_invoices()] == ["1"]
    assert len(adapter.requests) == 2


def test_listing_stops_when_page_context_is_missing():
    client, adapter = make_client([(200, {"code": 0, "invoices": [{"invoice_id": "1"}]})])
    assert len(list(client.iter_invoices())) == 1 and len(adapter.requests) == 1


def test_duplicates_are_dropped_only_within_a_two_page_window():
    pages = [
        page([{"invoice_id": "1"}, {"invoice_id": "2"}, {"invoice_id": "2"}], True, number=1),
        page([{"invoice_id": "2"}, {"invoice_id": "3"}], True, number=2),
        page([{"invoice_id": "1"}, {"invoice_id": "4"}], False, number=3),  # "1" is 2 pages back
    ]
    client, _ = make_client([(200, p) for p in pages])
    assert [r["invoice_id"] for r in client.iter_invoices()] == ["1", "2", "3", "1", "4"]
    assert client.stats.duplicates_dropped == 2


def test_error_message_never_contains_a_secret_the_server_echoes():
    body = {"code": 2, "message": f"Invalid value {TOKEN} {SECRET} {REFRESH}"}
    client, _ = make_client([(400, body)])
    with pytest.raises(Exception) as info:
        client.get_invoice("1")
    text = str(info.value)
    assert TOKEN not in text and SECRET not in text and REFRESH not in text and "***" in text


def test_client_repr_shows_no_secret():
    client, _ = make_client([])
    assert SECRET not in repr(client) and REFRESH not in repr(client)
