"""The primary-phone rule: normalisation to E.164 and the candidate order of docs/CONTRACT.md "Primary phone"."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zoho.rules.phones import SOURCES, needs_contact_persons, normalize_phone, resolve_primary_phone

# (raw, default_country, expected E.164 or None)
NORMALIZE_CASES = [
    # already international
    ("+1-925-921-9201", None, "+19259219201"),
    ("+1-4054439562", "US", "+14054439562"),
    ("+44 20 7946 0958", "US", "+442079460958"),
    ("+91 98765 43210", None, "+919876543210"),
    ("+49 (0)30 1234567", None, "+49301234567"),
    ("+61 4 1234 5678", "GB", "+61412345678"),
    ("+55 (21) 2345-6789", None, "+552123456789"),
    ("+81 80-1234-5678", None, "+818012345678"),
    ("+1-415-555-0123", "IN", "+14155550123"),  # a country code beats default_country
    # no country code: read with default_country
    ("(415) 555-0123", "US", "+14155550123"),
    ("415.555.0123", "US", "+14155550123"),
    ("(415) 555-0123", "us", "+14155550123"),
    ("020 7946 0958", "GB", "+442079460958"),
    ("07911 123456", "GB", "+447911123456"),
    ("98765 43210", "IN", "+919876543210"),
    ("030 1234567", "DE", "+49301234567"),
    ("0151 23456789", "DE", "+4915123456789"),
    ("0412 345 678", "AU", "+61412345678"),
    ("(02) 9374 4000", "AU", "+61293744000"),
    ("(11) 91234-5678", "BR", "+5511912345678"),
    ("080-1234-5678", "JP", "+818012345678"),
    (4155550123, "US", "+14155550123"),
    # international prefixes
    ("0044 7911 123456", "US", "+447911123456"),
    ("0049 151 23456789", "GB", "+4915123456789"),
    ("011 44 20 7946 0958", "US", "+442079460958"),
    # extensions dropped
    ("202-555-0143 ext. 45", "US", "+12025550143"),
    ("+1 212 555 0199 x12", None, "+12125550199"),
    ("+1 (415) 555-0123 extension 5", None, "+14155550123"),
    ("+12125550199#77", None, "+12125550199"),
    ("+14155550123 ; ext=9", None, "+14155550123"),
    # not numbers
    (None, "US", None),
    ("", "US", None),
    (" ", "US", None),
    ("N/A", "US", None),
    ("call me", "US", None),
    ("1-800-FLOWERS", "US", None),
    ("tel 4155550123", "US", None),
    # too short / invalid
    ("12345", "US", None),
    ("5551234", "US", None),
    ("415555012", "US", None),
    ("0000000000", "US", None),
    ("+999 123456789", None, None),
    # no country code and no default country: cannot be read
    ("98765 43210", None, None),
    ("9876543210", "", None),
]


@pytest.mark.parametrize(("raw", "country", "expected"), NORMALIZE_CASES)
def test_normalize_phone_returns_e164_or_none(raw, country, expected):
    assert normalize_phone(raw, country) == expected


US_MOBILE = "+1 415 555 0123"
US_PHONE = "(212) 555-0199"
GB_MOBILE = "07911 123456"
INVALID = "12345"


def person(mobile=None, phone=None, primary=False, pid="p"):
    return {"contact_person_id": pid, "mobile": mobile, "phone": phone, "is_primary_contact": primary}


# (contact, persons, default_country, expected (e164, source))
RESOLVE_CASES = [
    pytest.param(
        {"mobile": US_MOBILE, "phone": US_PHONE},
        [person(mobile="+14155550100", primary=True)],
        "US",
        ("+14155550100", "primary_person.mobile"),
        id="primary-person-mobile-beats-contact-mobile",
    ),
    pytest.param(
        {"mobile": US_MOBILE, "phone": US_PHONE},
        [person(mobile=INVALID, primary=True)],
        "US",
        ("+14155550123", "contact.mobile"),
        id="invalid-primary-mobile-falls-to-contact-mobile",
    ),
    pytest.param(
        {"mobile": "", "phone": US_PHONE},
        [person(mobile="N/A", phone="(646) 555-0100", primary=True), person(mobile="415-555-0177", pid="o")],
        "US",
        ("+14155550177", "person.mobile"),
        id="other-person-mobile-beats-any-phone",
    ),
    pytest.param(
        {"mobile": "", "phone": US_PHONE},
        [person(primary=True), person(mobile="415-555-0171", pid="a"), person(mobile="415-555-0172", pid="b")],
        "US",
        ("+14155550171", "person.mobile"),
        id="other-persons-in-zoho-order",
    ),
    pytest.param(
        {"mobile": "", "phone": US_PHONE},
        [person(phone="(646) 555-0100", primary=True), person(phone="(646) 555-0111", pid="o")],
        "US",
        ("+16465550100", "primary_person.phone"),
        id="primary-person-phone-when-no-mobile",
    ),
    pytest.param(
        {"mobile": " ", "phone": US_PHONE},
        [person(phone=INVALID, primary=True), person(phone="(646) 555-0111", pid="o")],
        "US",
        ("+12125550199", "contact.phone"),
        id="contact-phone-beats-other-persons-phone",
    ),
    pytest.param(
        {"mobile": None, "phone": None},
        [person(primary=True), person(phone="(646) 555-0111", pid="o")],
        "US",
        ("+16465550111", "person.phone"),
        id="other-person-phone-last",
    ),
    pytest.param(
        {"mobile": GB_MOBILE, "phone": ""},
        None,
        "GB",
        ("+447911123456", "contact.mobile"),
        id="persons-not-fetched-uses-contact",
    ),
    pytest.param(
        {"mobile": "", "phone": "030 1234567"},
        [],
        "DE",
        ("+49301234567", "contact.phone"),
        id="no-persons-contact-phone",
    ),
    pytest.param(
        {"mobile": "N/A", "phone": "call me"},
        [person(mobile=INVALID, phone="", primary=True)],
        "US",
        (None, None),
        id="nothing-valid",
    ),
    pytest.param(
        {"mobile": "", "phone": "", "contact_persons": [person(mobile="0412 345 678", primary=True)]},
        None,
        "AU",
        ("+61412345678", "primary_person.mobile"),
        id="embedded-persons-of-get-contact",
    ),
    pytest.param(
        {"mobile": "", "phone": ""},
        [person(mobile="0151 23456789", pid="a"), person(mobile="(11) 91234-5678", primary="true", pid="b")],
        "BR",
        ("+5511912345678", "primary_person.mobile"),
        id="primary-flag-as-string-and-not-first",
    ),
    pytest.param(
        {"mobile": "98765 43210 ext. 3", "phone": ""},
        [],
        "IN",
        ("+919876543210", "contact.mobile"),
        id="extension-dropped-on-contact-mobile",
    ),
    pytest.param(
        {"mobile": "", "phone": ""},
        [person(mobile="+44 7911 123456", primary=True)],
        "US",
        ("+447911123456", "primary_person.mobile"),
        id="foreign-number-with-country-code",
    ),
    pytest.param(
        {},
        None,
        "US",
        (None, None),
        id="empty-contact",
    ),
]


@pytest.mark.parametrize(("contact", "persons", "country", "expected"), RESOLVE_CASES)
def test_resolve_primary_phone_follows_spec_order(contact, persons, country, expected):
    assert resolve_primary_phone(contact, persons, country) == expected


@pytest.mark.parametrize(
    ("contact", "country", "expected"),
    [
        pytest.param({"mobile": US_MOBILE}, "US", False, id="valid-mobile-needs-no-call"),
        pytest.param({"mobile": "", "phone": US_PHONE}, "US", True, id="phone-only-needs-persons"),
        pytest.param({"mobile": INVALID}, "US", True, id="invalid-mobile-needs-persons"),
        pytest.param({}, "US", True, id="nothing-needs-persons"),
        pytest.param({"mobile": "98765 43210"}, None, True, id="unreadable-without-country-needs-persons"),
    ],
)
def test_needs_contact_persons_only_when_answer_can_change(contact, country, expected):
    assert needs_contact_persons(contact, country) is expected


@settings(max_examples=200, deadline=None)
@given(raw=st.one_of(st.none(), st.text(max_size=40), st.integers()), country=st.sampled_from(["US", "GB", "IN", "DE", "AU", "BR", None]))
def test_normalize_phone_never_raises_on_any_input(raw, country):
    result = normalize_phone(raw, country)
    assert result is None or (result.startswith("+") and result[1:].isdigit())


@settings(max_examples=100, deadline=None)
@given(
    contact=st.fixed_dictionaries({"mobile": st.sampled_from(["", US_MOBILE, INVALID]), "phone": st.sampled_from(["", US_PHONE])}),
    persons=st.lists(
        st.builds(person, mobile=st.sampled_from([None, "415-555-0171", INVALID]), phone=st.sampled_from([None, "(646) 555-0111"]), primary=st.booleans()),
        max_size=4,
    ),
)
def test_resolve_primary_phone_source_is_a_known_label_when_found(contact, persons):
    e164, source = resolve_primary_phone(contact, persons, "US")
    assert (e164 is None) == (source is None)
    assert source is None or source in SOURCES
