"""Property tests: the record readers and the phone normaliser against whatever Zoho may send.

Whatever the input (missing fields, wrong types, "", huge strings, any Unicode including NUL and
lone surrogates, odd timestamps, NaN): nothing raises; a record is either a row whose every field
Postgres can store (text without NUL, valid UTF-8, jsonb-valid payload, aware timestamps, E.164
phones) or a ``Rejected`` with a reason; phones are E.164 or None.
"""
from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from zoho.rules.phones import normalize_phone
from zoho.sync.records import (ContactRow, InvoiceRow, PersonRow, Rejected, dump_payload, read_contact, read_invoice,
                          read_person)

from .strategies import ANY_CHAR, CONTACT_RECORD, COUNTRY, INVOICE_RECORD, JSON_VALUE, PERSON_RECORD, PHONE

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                             HealthCheck.data_too_large])


def storable(text) -> bool:
    """Text a Postgres text column takes: a str, no NUL, encodable as UTF-8 (no lone surrogate)."""
    if not isinstance(text, str) or "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def walk_strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from walk_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk_strings(v)


def assert_jsonb_ready(payload_json: str, payload_hash: str) -> None:
    """Valid JSON (no NaN/Infinity), no NUL anywhere in it, UTF-8 encodable; hash = its md5."""
    assert storable(payload_json)
    parsed = json.loads(payload_json, parse_constant=lambda c: pytest.fail(f"{c} in the payload"))
    assert all(storable(s) for s in walk_strings(parsed))
    assert payload_hash == hashlib.md5(payload_json.encode("utf-8")).hexdigest()


def assert_rejected(result: Rejected, entity: str) -> None:
    assert result.entity == entity
    assert isinstance(result.reason, str) and result.reason.strip() and storable(result.reason)
    assert result.zoho_id is None or (storable(result.zoho_id) and 0 < len(result.zoho_id) <= 64)


def assert_timestamp(value) -> None:
    assert value is None or (isinstance(value, datetime) and value.utcoffset() == timedelta(0))


@SETTINGS
@given(record=CONTACT_RECORD, country=COUNTRY)
@example(record={"contact_id": "1\x002"}, country="US")
@example(record={"contact_id": "7", "contact_name": "x\\u0000", "mobile": "\ud800"}, country="US")
@example(record={"contact_id": "7", "last_modified_time": "0001-01-01T00:00:00+0100"}, country=None)
@example(record={"contact_id": "7", "notes": float("nan"), "big": Decimal("1E+400")}, country="GB")
def test_read_contact_never_raises_and_returns_a_storable_row_or_a_reason(record, country):
    result = read_contact(record, country)
    if isinstance(result, Rejected):
        assert_rejected(result, "contacts")
        return
    assert isinstance(result, ContactRow)
    assert storable(result.contact_id) and result.contact_id.isprintable() and len(result.contact_id) <= 64
    assert result.contact_id == str(record["contact_id"]).strip()
    assert result.contact_type is None or storable(result.contact_type)
    assert_timestamp(result.last_modified_time)
    for phone in (result.mobile_e164, result.phone_e164):
        assert phone is None or E164.match(phone)
    assert_jsonb_ready(result.payload_json, result.payload_hash)
    assert read_contact(record, country) == result  # deterministic (a stable payload hash)


@SETTINGS
@given(record=PERSON_RECORD, position=st.integers(0, 50), country=COUNTRY)
def test_read_person_never_raises_and_returns_a_storable_row_or_a_reason(record, position, country):
    result = read_person(record, "460000000000001", position, country)
    if isinstance(result, Rejected):
        assert_rejected(result, "contact_persons")
        return
    assert isinstance(result, PersonRow)
    assert storable(result.contact_person_id) and result.contact_person_id.isprintable()
    assert result.position == position and isinstance(result.is_primary_contact, bool)
    for phone in (result.mobile_e164, result.phone_e164):
        assert phone is None or E164.match(phone)
    assert_jsonb_ready(result.payload_json, result.payload_hash)


@SETTINGS
@given(record=INVOICE_RECORD)
@example(record={"invoice_id": "9", "total": "12,5O"})
@example(record={"invoice_id": "9", "due_date": "31/02/2026"})
@example(record={"invoice_id": "9", "customer_id": "\ud800"})
@example(record={"invoice_id": "9", "total": float("nan")})
def test_read_invoice_never_raises_and_returns_a_storable_row_or_a_reason(record):
    result = read_invoice(record)
    if isinstance(result, Rejected):
        assert_rejected(result, "invoices")
        return
    assert isinstance(result, InvoiceRow)
    assert storable(result.invoice_id) and result.invoice_id.isprintable() and len(result.invoice_id) <= 64
    assert result.customer_id is None or (storable(result.customer_id) and result.customer_id.isprintable())
    assert_timestamp(result.last_modified_time)
    assert_jsonb_ready(result.payload_json, result.payload_hash)
    # an accepted amount is a finite number (what cannot be read was rejected, with its reason)
    for field in ("total", "balance"):
        value = record.get(field)
        if value is not None and not (isinstance(value, str) and not value.strip()):
            assert Decimal(str(value).strip()).is_finite()


@pytest.mark.parametrize("record, reason", [
    ({"invoice_id": "9", "total": "12,5O"}, "total"),
    ({"invoice_id": "9", "balance": "NaN"}, "balance"),
    ({"invoice_id": "9", "total": True}, "total"),
    ({"invoice_id": "9", "due_date": "31/02/2026"}, "due_date"),
    ({"invoice_id": "9", "date": "2025-02-30"}, "date"),
    ({"invoice_id": "9", "last_modified_time": "2025-03-10T09:15:00"}, "UTC offset"),
    ({"invoice_id": "9", "customer_id": "12\x0034"}, "customer_id"),
    ({"invoice_id": "1\x002"}, "invoice_id"),
    ({"total": 5}, "invoice_id"),
    ([1, 2], "not a JSON object"),
])
def test_what_cannot_be_read_is_rejected_with_its_reason(record, reason):
    result = read_invoice(record)
    assert isinstance(result, Rejected) and reason in result.reason


@SETTINGS
@given(raw=st.one_of(PHONE, JSON_VALUE), country=COUNTRY)
@example(raw="+" + "9" * 5000, country="US")
@example(raw="\x00+1 415 555 0171", country="US")
def test_normalize_phone_is_e164_or_none_for_any_input_and_idempotent(raw, country):
    result = normalize_phone(raw, country)
    assert result is None or E164.match(result)
    if result is not None:
        assert normalize_phone(result, None) == result  # E.164 reads as itself, whatever the country


@SETTINGS
@given(payload=JSON_VALUE)
@example(payload={"a": "x\\u0000"})
@example(payload={"a\x00": "\\\x00", "b": ["\ud83d\ude00", "\ud800"]})
@example(payload={"n": float("nan"), "i": float("-inf"), "d": Decimal("1E+400")})
def test_dump_payload_always_gives_jsonb_ready_text(payload):
    text, digest = dump_payload(payload)
    assert_jsonb_ready(text, digest)
    assert dump_payload(payload) == (text, digest)


CLEAN_TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=20)
CLEAN_JSON = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-(10**15), 10**15), CLEAN_TEXT),
                          lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                  st.dictionaries(CLEAN_TEXT, inner, max_size=4)),
                          max_leaves=12)


@SETTINGS
@given(payload=CLEAN_JSON)
@example(payload={"a": "x\\u0000", "b": "\\\\u0000", "c": "\\"})
def test_dump_payload_keeps_every_storable_payload_exactly(payload):
    """Only what Postgres cannot hold is changed: anything else round-trips exactly (a backslash
    followed by "u0000" in the text is data, not a NUL)."""
    text, _ = dump_payload(payload)
    assert json.loads(text) == payload


@given(text=st.text(ANY_CHAR, max_size=50))
@settings(max_examples=200, deadline=None)
def test_text_fields_are_made_storable_not_dropped(text):
    row = read_contact({"contact_id": "1", "contact_type": text}, "US")
    assert isinstance(row, ContactRow)
    expected = text.replace("\x00", "").encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace").strip()
    assert row.contact_type == (expected or None)
