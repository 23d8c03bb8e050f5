"""Record readers: turn a record Zoho returned into a row for the raw tables, or a rejection.

A record that cannot be read (missing id, a timestamp or date that does not parse, a non-numeric
amount) becomes a :class:`Rejected` with the reason; it never raises, whatever the input.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from zoho.books.timestamps import parse_timestamp
from zoho.rules.jsondata import jsonable
from zoho.rules.phones import normalize_phone


@dataclass(frozen=True)
class Rejected:
    entity: str
    zoho_id: str | None
    reason: str
    payload: Any


@dataclass(frozen=True)
class ContactRow:
    contact_id: str
    contact_type: str | None
    last_modified_time: datetime | None
    mobile_e164: str | None
    phone_e164: str | None
    payload_json: str
    payload_hash: str


@dataclass(frozen=True)
class PersonRow:
    contact_id: str
    contact_person_id: str
    position: int
    is_primary_contact: bool
    mobile_e164: str | None
    phone_e164: str | None
    payload_json: str
    payload_hash: str


@dataclass(frozen=True)
class InvoiceRow:
    invoice_id: str
    customer_id: str | None
    last_modified_time: datetime | None
    payload_json: str
    payload_hash: str


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # Money arrives as Decimal (exact parse); a float repr of <= 15 significant digits is
        # value-exact in jsonb's numeric. Beyond float's range (1E+400) it is kept as text.
        if value.is_finite():
            as_float = float(value)
            if math.isfinite(as_float):
                return as_float
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def _finite_or_text(value: Any) -> Any:
    """NaN/Infinity (which Python's json reads) become text; every other value is kept. With
    ``jsonable``, only used when the fast path refused the payload."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


# A JSON "\u0000" escape (not an escaped backslash followed by "u0000"), and any UTF-16 surrogate
# code point: jsonb refuses the first; a lone surrogate cannot even be encoded as UTF-8.
_NUL_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")
_SURROGATE = re.compile("[\ud800-\udfff]")


def storable_text(text: str) -> str:
    """Text Postgres can store: NUL characters removed, lone surrogates replaced by U+FFFD (a
    surrogate pair that arrived as two code points is joined into its character)."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    if _SURROGATE.search(text):
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def dump_payload(payload: Any) -> tuple[str, str]:
    """Canonical JSON text (sorted keys, so the hash is stable) and its md5.

    Whatever the payload holds, the text is valid JSON that Postgres' jsonb accepts: NUL
    characters are dropped (jsonb refuses ``\\u0000``), lone surrogates become U+FFFD, NaN and
    Infinity become strings.
    """
    try:
        text = json.dumps(payload, default=_json_default, sort_keys=True, ensure_ascii=False,
                          separators=(",", ":"), allow_nan=False)
    except (ValueError, TypeError):  # NaN/Infinity, or keys that are not all strings
        text = json.dumps(jsonable(payload, _finite_or_text), default=_json_default, sort_keys=True,
                          ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    if "\\u0000" in text:
        text = _NUL_ESCAPE.sub(r"\1", text)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (the only text UTF-8 cannot encode)
        text = storable_text(text)
        data = text.encode("utf-8")
    return text, hashlib.md5(data).hexdigest()


def _text(value: Any) -> str | None:
    """Zoho sends "" or " " for empty fields: both are None."""
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        return None
    s = storable_text(str(value)).strip()
    return s or None


def _zoho_id(value: Any) -> str | None:
    """An id as Zoho sends them (at most 64 printable characters), else None. Checked before any
    cleaning: an id with a NUL or a lone surrogate is unreadable, never trimmed into another id."""
    if value is None or isinstance(value, (bool, dict, list)):
        return None
    s = str(value).strip()
    if not s or len(s) > 64 or not s.isprintable():
        return None
    return s


def _timestamp(value: Any) -> datetime | None:
    """A ``last_modified_time`` in UTC; None when absent ("" and " " included). Raises ValueError
    when present but unreadable (``zoho.books.timestamps.parse_timestamp``)."""
    s = _text(value)
    if s is None:
        return None
    return parse_timestamp(s).astimezone(timezone.utc)


def _check_date(record: dict, field: str) -> None:
    s = _text(record.get(field))
    if s is not None:
        date.fromisoformat(s[:10]) if len(s) >= 10 and s[4] == "-" else date.fromisoformat(s)


def _check_amount(record: dict, field: str) -> None:
    value = record.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        return
    if isinstance(value, bool):
        raise ValueError(f"{field} is not a number: {value!r}")
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{field} is not a number: {str(value)[:40]!r}") from None
    if not d.is_finite():
        raise ValueError(f"{field} is not a finite number: {str(value)[:40]!r}")


def read_contact(record: Any, default_country: str | None) -> ContactRow | Rejected:
    if not isinstance(record, dict):
        return Rejected("contacts", None, "record is not a JSON object", record)
    contact_id = _zoho_id(record.get("contact_id"))
    if contact_id is None:
        return Rejected("contacts", None, "missing or unreadable contact_id", record)
    try:
        modified = _timestamp(record.get("last_modified_time"))
    except (ValueError, TypeError, OverflowError) as exc:
        return Rejected("contacts", contact_id, storable_text(f"unreadable last_modified_time: {exc}")[:300], record)
    payload_json, payload_hash = dump_payload(record)
    return ContactRow(
        contact_id=contact_id,
        contact_type=_text(record.get("contact_type")),
        last_modified_time=modified,
        mobile_e164=normalize_phone(_text(record.get("mobile")), default_country),
        phone_e164=normalize_phone(_text(record.get("phone")), default_country),
        payload_json=payload_json,
        payload_hash=payload_hash,
    )


def read_person(record: Any, contact_id: str, position: int,
                default_country: str | None) -> PersonRow | Rejected:
    if not isinstance(record, dict):
        return Rejected("contact_persons", None, "record is not a JSON object", record)
    person_id = _zoho_id(record.get("contact_person_id"))
    if person_id is None:
        return Rejected("contact_persons", None, f"missing or unreadable contact_person_id (contact {contact_id})",
                        record)
    payload_json, payload_hash = dump_payload(record)
    primary = record.get("is_primary_contact")
    return PersonRow(
        contact_id=contact_id,
        contact_person_id=person_id,
        position=position,
        is_primary_contact=primary is True or (isinstance(primary, str) and primary.lower() == "true"),
        mobile_e164=normalize_phone(_text(record.get("mobile")), default_country),
        phone_e164=normalize_phone(_text(record.get("phone")), default_country),
        payload_json=payload_json,
        payload_hash=payload_hash,
    )


def read_invoice(record: Any) -> InvoiceRow | Rejected:
    if not isinstance(record, dict):
        return Rejected("invoices", None, "record is not a JSON object", record)
    invoice_id = _zoho_id(record.get("invoice_id"))
    if invoice_id is None:
        return Rejected("invoices", None, "missing or unreadable invoice_id", record)
    try:
        modified = _timestamp(record.get("last_modified_time"))
        for field in ("date", "due_date"):
            try:
                _check_date(record, field)
            except (ValueError, TypeError, IndexError) as exc:
                raise ValueError(f"unreadable {field}: {exc}") from None
        for field in ("total", "balance"):
            _check_amount(record, field)
        customer_id = _zoho_id(record.get("customer_id"))
        if customer_id is None and _text(record.get("customer_id")) is not None:
            raise ValueError(f"unreadable customer_id: {str(record.get('customer_id'))[:40]!r}")
    except (ValueError, TypeError, OverflowError) as exc:
        return Rejected("invoices", invoice_id, storable_text(str(exc))[:300], record)
    payload_json, payload_hash = dump_payload(record)
    return InvoiceRow(
        invoice_id=invoice_id,
        customer_id=customer_id,
        last_modified_time=modified,
        payload_json=payload_json,
        payload_hash=payload_hash,
    )
