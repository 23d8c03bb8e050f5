"""Record readers: turn a record Zoho returned into a row for the raw tables, or a rejection.

A record that cannot be read (missing id, a timestamp or date that does not parse, a non-numeric
amount) becomes a :class:`Rejected` with the reason; it never raises, whatever the input.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from zoho.phones import normalize_phone


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
        # value-exact in jsonb's numeric.
        return float(value) if value.is_finite() else str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def dump_payload(payload: Any) -> tuple[str, str]:
    """Canonical JSON text (sorted keys, so the hash is stable) and its md5."""
    text = json.dumps(payload, default=_json_default, sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"))
    text = text.replace("\\u0000", "")  # Postgres jsonb refuses NUL characters
    return text, hashlib.md5(text.encode("utf-8", "surrogatepass")).hexdigest()


def _text(value: Any) -> str | None:
    """Zoho sends "" or " " for empty fields: both are None."""
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        return None
    s = str(value).strip()
    return s or None


def _zoho_id(value: Any) -> str | None:
    s = _text(value)
    if s is None or isinstance(value, bool) or len(s) > 64:
        return None
    return s


def parse_timestamp(value: Any) -> datetime | None:
    """Zoho's ``YYYY-MM-DDTHH:MM:SS+HHMM`` (also ``+HH:MM``, ``Z``); None when absent.

    Raises ValueError when present but unreadable.
    """
    s = _text(value)
    if s is None:
        return None
    if s.endswith("Z"):
        s = s[:-1] + "+0000"
    try:
        dt = datetime.strptime(s, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        dt = datetime.fromisoformat(s)
    if dt.tzinfo is None:
        raise ValueError(f"timestamp without a UTC offset: {s[:40]!r}")
    return dt.astimezone(timezone.utc)


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
        return Rejected("contacts", None, "missing contact_id", record)
    try:
        modified = parse_timestamp(record.get("last_modified_time"))
    except (ValueError, TypeError, OverflowError) as exc:
        return Rejected("contacts", contact_id, f"unreadable last_modified_time: {exc}", record)
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
        return Rejected("contact_persons", None, f"missing contact_person_id (contact {contact_id})", record)
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
        return Rejected("invoices", None, "missing invoice_id", record)
    try:
        modified = parse_timestamp(record.get("last_modified_time"))
        for field in ("date", "due_date"):
            try:
                _check_date(record, field)
            except (ValueError, TypeError, IndexError) as exc:
                raise ValueError(f"unreadable {field}: {exc}") from None
        for field in ("total", "balance"):
            _check_amount(record, field)
    except (ValueError, TypeError, OverflowError) as exc:
        return Rejected("invoices", invoice_id, str(exc)[:300], record)
    payload_json, payload_hash = dump_payload(record)
    return InvoiceRow(
        invoice_id=invoice_id,
        customer_id=_zoho_id(record.get("customer_id")),
        last_modified_time=modified,
        payload_json=payload_json,
        payload_hash=payload_hash,
    )
