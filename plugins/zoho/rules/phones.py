"""The primary-phone rule (docs/CONTRACT.md "Primary phone"), with ``phonenumbers``.

- ``normalize_phone``: one raw value -> E.164 or None. Used at load time for every phone field.
- ``resolve_primary_phone``: the first valid candidate in the contract's order (docs/CONTRACT.md "Primary phone"), with its source label. The
  warehouse does the same choice in dbt (``int_customers__phone_resolved``); this copy serves code
  outside the warehouse (legacy migration, the "fetch persons?" decision).
- ``needs_contact_persons``: whether fetching a contact's persons can change the answer.

Candidate order: 1. primary person's ``mobile``; 2. contact's ``mobile``; 3. other persons'
``mobile`` in Zoho's order; 4. primary person's ``phone``; 5. contact's ``phone``; 6. other persons'
``phone``.
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import phonenumbers

PRIMARY_PERSON_MOBILE = "primary_person.mobile"
CONTACT_MOBILE = "contact.mobile"
PERSON_MOBILE = "person.mobile"
PRIMARY_PERSON_PHONE = "primary_person.phone"
CONTACT_PHONE = "contact.phone"
PERSON_PHONE = "person.phone"

SOURCES = (PRIMARY_PERSON_MOBILE, CONTACT_MOBILE, PERSON_MOBILE, PRIMARY_PERSON_PHONE, CONTACT_PHONE, PERSON_PHONE)

# An extension at the end: "ext. 12", "extension 12", "x12", "#12", ";ext=12".
_EXTENSION = re.compile(r"\s*(?:;\s*ext\s*=|ext\.?|extn\.?|extension|x|#)\s*\d{1,7}\s*$", re.IGNORECASE)
_LETTER = re.compile(r"[^\W\d_]")
_MIN_DIGITS = 6


def normalize_phone(raw: object, default_country: str | None) -> str | None:
    """E.164 form of ``raw`` (``+4915123456789``), or None when it is empty, not a phone number,
    too short or invalid. Numbers without a country code are read as ``default_country`` (ISO
    3166 alpha-2); a leading ``00`` is read as ``+``; extensions are dropped; any other letters
    make the value invalid (no vanity-number guessing)."""
    if raw is None or isinstance(raw, bool):
        return None
    text = str(raw).strip()
    if not text:
        return None
    text = _EXTENSION.sub("", text)
    if _LETTER.search(text):
        return None
    digits = re.sub(r"\D", "", text)
    if len(digits) < _MIN_DIGITS:
        return None
    compact = re.sub(r"[\s().\-/]", "", text)
    if compact.startswith("00"):
        text = "+" + compact[2:]
    region = (default_country or "").strip().upper() or None
    if not text.lstrip().startswith("+") and region is None:
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    number.extension = None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _is_primary(person: dict) -> bool:
    flag = person.get("is_primary_contact")
    if isinstance(flag, str):
        return flag.strip().lower() == "true"
    return flag is True


def _split_persons(persons: Sequence[dict] | None) -> tuple[dict | None, list[dict]]:
    primary = None
    others: list[dict] = []
    for person in persons or ():
        if not isinstance(person, dict):
            continue
        if primary is None and _is_primary(person):
            primary = person
        else:
            others.append(person)
    return primary, others


def _candidates(contact: dict, persons: Sequence[dict] | None) -> Iterator[tuple[object, str]]:
    primary, others = _split_persons(persons)
    primary = primary or {}
    yield primary.get("mobile"), PRIMARY_PERSON_MOBILE
    yield contact.get("mobile"), CONTACT_MOBILE
    for person in others:
        yield person.get("mobile"), PERSON_MOBILE
    yield primary.get("phone"), PRIMARY_PERSON_PHONE
    yield contact.get("phone"), CONTACT_PHONE
    for person in others:
        yield person.get("phone"), PERSON_PHONE


def resolve_primary_phone(
    contact: dict, persons: Sequence[dict] | None, default_country: str | None
) -> tuple[str | None, str | None]:
    """``(e164, source)`` of the first candidate that normalises, or ``(None, None)``.

    ``persons`` None means "not fetched": the persons embedded in ``contact`` (a GET contact
    response carries ``contact_persons``) are used if present, else only the contact's own fields.
    """
    contact = contact or {}
    if persons is None:
        embedded = contact.get("contact_persons")
        persons = embedded if isinstance(embedded, list) else None
    for raw, source in _candidates(contact, persons):
        e164 = normalize_phone(raw, default_country)
        if e164 is not None:
            return e164, source
    return None, None


def needs_contact_persons(contact: dict, default_country: str | None) -> bool:
    """True when fetching the contact's persons may change the resolved phone.

    In a contact list record, ``mobile`` and ``phone`` are the primary person's (docs/ZOHO_API.md §3.3),
    so a valid ``mobile`` there is candidate 1 and 2 at once: nothing a person holds can beat it.
    Without one, a person's mobile (candidates 1 and 3) would beat the contact's phone, so the
    persons must be read.
    """
    return normalize_phone((contact or {}).get("mobile"), default_country) is None
