"""Hypothesis strategies for "whatever Zoho sends": the values a JSON body can hold once Python's
``json.loads(..., parse_float=Decimal)`` has read it (what the client hands the readers).

- text: any Unicode, lone surrogates included (JSON's ``"\\ud800"`` escape reads as one), NUL and
  other control characters, ``""`` and ``" "``, look-alike digits, huge strings;
- numbers: ints, exact Decimals (any magnitude), and the NaN / Infinity that Python's json accepts;
- booleans, null, nested lists and objects (wrong types wherever a reader expects text);
- timestamps, dates, amounts and phones that are almost right.
"""
from __future__ import annotations

from decimal import Decimal

from hypothesis import strategies as st

ANY_CHAR = st.characters(exclude_categories=())  # every code point, surrogates and controls included
TRICKY_TEXT = st.sampled_from([
    "", " ", "  \t\n", "\x00", "a\x00b", "\\u0000", "x\\u0000", "\\\x00", "\ud800", "\udfff", "\ud83d\ude00",
    "null", "None", "NaN", "-", "N/A", "０１２３", "٠١٢٣٤٥٦٧٨٩", "\u200b", "\ufeff", "\u2028", "e\u0301",
    "'; drop table zoho_raw.contacts; --", '"quoted"', "Łódź-ü",
])
TEXT = st.one_of(st.text(ANY_CHAR, max_size=30), TRICKY_TEXT,
                 st.builds(lambda ch, n: ch * n, st.text(ANY_CHAR, min_size=1, max_size=3),
                           st.integers(1_000, 60_000)))

NUMBER = st.one_of(
    st.integers(-(10**40), 10**40),
    st.decimals(allow_nan=False, allow_infinity=False),  # parse_float=Decimal: exact, any size
    st.sampled_from([Decimal("1E+400"), Decimal("-1E-400"), Decimal("0E-10"), Decimal("12.50")]),
    st.sampled_from([float("nan"), float("inf"), float("-inf")]),  # "NaN" / "Infinity" in the body
)
SCALAR = st.one_of(st.none(), st.booleans(), NUMBER, TEXT)
JSON_VALUE = st.recursive(SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                          st.dictionaries(TEXT, inner, max_size=4)),
                          max_leaves=12)

TIMESTAMP = st.one_of(
    st.sampled_from([
        "2025-03-10T09:15:00+0530", "2025-03-10T09:15:00+05:30", "2025-03-10T09:15:00Z", "2025-03-10 09:15:00+0000",
        "2025-03-10T09:15:00", "2025-03-10", "2025-02-30T10:00:00+0000", "2025-03-10T24:00:00+0000",
        "0001-01-01T00:00:00+0100", "9999-12-31T23:59:59-2359", "2025-03-10T09:15:00+9999", "20250310T091500Z",
        "2025-W11-1", "2025-03-10T09:15:00.123456+0000", "2025-03-10T09:15:00.1234567890+0000", "1741598100",
        "2025-03-10T09:15:00+0000\x00", "２０２５-03-10T09:15:00+0000",
    ]),
    st.datetimes().map(lambda d: d.isoformat()),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S%z")),
    JSON_VALUE,
)
DATE = st.one_of(
    st.sampled_from(["2025-03-10", "2025-02-29", "2024-02-29", "31/02/2026", "2025-13-01", "0000-01-01",
                     "2025-03-10T00:00:00+0000", "20250310", "2025-W11-1", "2025-069", "  2025-03-10 "]),
    st.dates().map(str), JSON_VALUE,
)
AMOUNT = st.one_of(
    st.sampled_from(["12,5O", "1e400", "1e99999", "NaN", "-0", "Infinity", " 12.50 ", "1_000", "٣", "0x1F",
                     "12.5.3", "+.5", "1E+2", ""]),
    NUMBER, JSON_VALUE,
)
PHONE = st.one_of(
    st.sampled_from(["+1 415 555 0171", "(415) 555-0171", "0044 20 7946 0958", "+44 (0)20 7946 0958",
                     "+91 98765 43210 ext. 12", "12345", "N/A", "+1 555", "+٩١٩٨٧٦٥٤٣٢١٠", "+1-415-555-0171;ext=9",
                     "+" + "9" * 300, "\x00+14155550171", "+1 415 555 0171\ud800"]),
    TEXT, JSON_VALUE,
)
ZOHO_ID = st.one_of(st.integers(1, 10**15).map(str), st.integers(0, 10**15), st.just("460000000000001"),
                    TEXT, JSON_VALUE)


def _record(fields: dict) -> st.SearchStrategy:
    """An object with any subset of ``fields`` (each from its strategy) plus unexpected keys."""
    keys = sorted(fields)
    return st.builds(
        lambda present, values, extra: {**extra, **{k: v for k, v in zip(keys, values) if k in present}},
        st.sets(st.sampled_from(keys)),
        st.tuples(*(fields[k] for k in keys)),
        st.dictionaries(TEXT, JSON_VALUE, max_size=3),
    )


CONTACT = _record({
    "contact_id": ZOHO_ID, "contact_name": TEXT, "company_name": TEXT, "contact_type": st.one_of(
        st.sampled_from(["customer", "vendor", "", None]), TEXT), "status": TEXT, "email": TEXT,
    "mobile": PHONE, "phone": PHONE, "last_modified_time": TIMESTAMP,
    "contact_persons": st.one_of(st.none(), st.lists(JSON_VALUE, max_size=3)),
})
PERSON = _record({
    "contact_person_id": ZOHO_ID, "first_name": TEXT, "mobile": PHONE, "phone": PHONE,
    "is_primary_contact": st.one_of(st.booleans(), st.sampled_from(["true", "false", "TRUE", 1, None]), JSON_VALUE),
})
INVOICE = _record({
    "invoice_id": ZOHO_ID, "customer_id": ZOHO_ID, "invoice_number": TEXT, "status": TEXT, "date": DATE,
    "due_date": DATE, "total": AMOUNT, "balance": AMOUNT, "currency_code": TEXT, "last_modified_time": TIMESTAMP,
})
# what a listing page holds: mostly objects, sometimes not even that
CONTACT_RECORD = st.one_of(CONTACT, CONTACT, CONTACT, JSON_VALUE)
PERSON_RECORD = st.one_of(PERSON, PERSON, JSON_VALUE)
INVOICE_RECORD = st.one_of(INVOICE, INVOICE, INVOICE, JSON_VALUE)
COUNTRY = st.one_of(st.sampled_from(["US", "GB", "IN", "DE", "AU", "CA", "BR", "us", " gb ", "XX", "", None]),
                    st.text(ANY_CHAR, max_size=4))
