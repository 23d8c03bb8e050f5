"""The generated data: deterministic, realistic in the ways the pipeline cares about (no server needed)."""
from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import phonenumbers
import pytest

from zoho_sandbox import Sandbox

TODAY = dt.date(2025, 3, 10)
TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{4}$")


@pytest.fixture(scope="module")
def sb():
    return Sandbox(seed=3, orgs=3, contacts_per_org=400, invoices_per_org=1500, today=TODAY)


def valid(number: str, country: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(number, country))
    except phonenumbers.NumberParseException:
        return False


def test_same_seed_same_data_and_another_seed_other_data(sb):
    again = Sandbox(seed=3, orgs=3, contacts_per_org=400, invoices_per_org=1500, today=TODAY)
    assert [o.as_dict() for o in again.organizations] == [o.as_dict() for o in sb.organizations]
    for org in range(3):
        assert again.contacts(org) == sb.contacts(org)
        assert again.invoices(org) == sb.invoices(org)
    other = Sandbox(seed=4, orgs=1, contacts_per_org=400, invoices_per_org=1500, today=TODAY)
    assert other.organizations[0].organization_id != sb.organizations[0].organization_id
    assert [c["contact_name"] for c in other.contacts(0)] != [c["contact_name"] for c in sb.contacts(0)]


def test_organisations_differ_in_country_zone_and_credentials(sb):
    orgs = sb.organizations
    assert [(o.user_id, o.country, o.time_zone) for o in orgs] == [
        ("acme-us", "US", "America/New_York"), ("brit-gb", "GB", "Europe/London"), ("chai-in", "IN", "Asia/Kolkata")]
    for field in ("organization_id", "client_id", "client_secret", "refresh_token"):
        assert len({getattr(o, field) for o in orgs}) == 3
    assert all(o.organization_id.isdigit() for o in orgs)
    conn = sb.airflow_connection(orgs[1])
    assert conn["login"] == orgs[1].client_id and conn["password"] == orgs[1].client_secret
    assert conn["extra"]["default_country"] == "GB" and conn["extra"]["region"] == "com"


def test_contacts_are_a_realistic_mix(sb):
    contacts = sb.contacts(0)
    types = Counter(c["contact_type"] for c in contacts)
    statuses = Counter(c["status"] for c in contacts)
    assert types["customer"] > 0.8 * len(contacts) and types["vendor"] > 0
    assert statuses["active"] > statuses["inactive"] > 0
    n_persons = Counter(len(c["contact_persons"]) for c in contacts)
    assert set(n_persons) == {0, 1, 2, 3}
    for c in contacts:
        assert c["contact_id"].isdigit()
        persons = c["contact_persons"]
        if persons:
            primaries = [p for p in persons if p["is_primary_contact"]]
            assert len(primaries) == 1
            assert c["primary_contact_id"] == primaries[0]["contact_person_id"]
            # the contact's name/email/phone/mobile are its primary person's
            assert (c["email"], c["phone"], c["mobile"]) == (primaries[0]["email"], primaries[0]["phone"],
                                                             primaries[0]["mobile"])
        assert TS.match(c["created_time"]) and TS.match(c["last_modified_time"])
        assert c["last_modified_time"][-5:] in ("-0500", "-0400")  # New York
        assert c["created_time"] <= c["last_modified_time"] or c["created_time"][:10] <= c["last_modified_time"][:10]
    names = Counter(c["contact_name"] for c in contacts)
    assert any(n > 1 for n in names.values())  # a few duplicates, as in real books


@pytest.mark.parametrize("org", [0, 1, 2])
def test_phone_numbers_are_messy_and_cover_every_scenario(sb, org):
    country = sb.organizations[org].country
    scenarios = Counter()
    all_numbers = []
    for c in sb.contacts(org):
        if c["contact_type"] != "customer":
            continue
        persons = c["contact_persons"]
        all_numbers += [c["phone"], c["mobile"]] + [p[k] for p in persons for k in ("phone", "mobile")]
        if valid(c["mobile"], country):
            scenarios["own_mobile"] += 1
        elif any(valid(p["mobile"], country) for p in persons):
            scenarios["person_mobile_only"] += 1
        elif valid(c["phone"], country) or any(valid(p["phone"], country) for p in persons):
            scenarios["landline_only"] += 1
        else:
            scenarios["nothing"] += 1
    assert all(scenarios[k] >= 5 for k in ("own_mobile", "person_mobile_only", "landline_only", "nothing")), scenarios
    text = " | ".join(all_numbers)
    for marker in ("ext", " x", "(", ".", "-", "+", "N/A", "12345"):
        assert marker in text, marker
    assert "" in all_numbers and any(n.startswith("00") for n in all_numbers)
    invalid = [n for n in all_numbers if n.strip() and not valid(n, country)]
    assert invalid  # some numbers are junk
    if country != "US":
        assert any(n.startswith("0") and not n.startswith("00") for n in all_numbers)  # national trunk prefix


def test_invoices_are_consistent_and_spread_around_today(sb):
    org = sb.organizations[0]
    invoices = sb.invoices(org)
    contacts = {c["contact_id"]: c for c in sb.contacts(org)}
    statuses = Counter(i["status"] for i in invoices)
    assert set(statuses) == {"draft", "sent", "viewed", "overdue", "partially_paid", "unpaid", "paid", "void"}
    today = TODAY.toordinal()
    missing = set()
    for inv in invoices:
        assert inv["invoice_id"].isdigit() and inv["customer_id"].isdigit()
        assert isinstance(inv["total"], float) and isinstance(inv["balance"], float)
        total, balance = inv["total"], inv["balance"]
        if inv["status"] in ("paid", "void"):
            assert balance == 0
        elif inv["status"] == "partially_paid":
            assert 0 < balance < total
        else:
            assert balance == total > 0
        due = dt.date.fromisoformat(inv["due_date"]).toordinal()
        assert -60 <= due - today <= 30
        assert inv["date"] <= inv["due_date"]
        if inv["status"] == "overdue":
            assert due < today
        if inv["status"] in ("sent", "viewed"):
            assert due >= today
        assert TS.match(inv["last_modified_time"]) and inv["created_time"] <= inv["last_modified_time"]
        assert sum(li["item_total"] for li in inv["line_items"]) == pytest.approx(inv["sub_total"])
        if inv["customer_id"] in contacts:
            assert contacts[inv["customer_id"]]["contact_type"] == "customer"
        else:
            missing.add(inv["customer_id"])
    assert len(missing) >= 3  # invoices whose customer does not exist
    # several invoices share one last_modified_time second (bulk edits)
    assert max(Counter(i["last_modified_time"] for i in invoices).values()) > 1


def test_timestamps_use_each_organisation_zone(sb):
    offsets = [{i["created_time"][-5:] for i in sb.invoices(org)[:300]} for org in range(3)]
    assert offsets[0] <= {"-0500", "-0400"} and offsets[1] <= {"+0000", "+0100"} and offsets[2] == {"+0530"}
