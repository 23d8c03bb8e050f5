"""A generated legacy invoice table (the old system: one row per invoice, customer fields copied in)
over the sandbox's organisations, and what the migration must make of it, computed here in Python
independently of the SQL.

Per tenant: customers Zoho also has (all Zoho customers without a valid phone among them, so phones
can be recovered), customers only the legacy table knows, one contact Zoho has as a vendor (the sync
lands customers only, so it stays a legacy customer), one customer Zoho says does not exist (it must
end flagged deleted), legacy rows for invoices Zoho has (some naming
another customer than Zoho: Zoho wins) and for invoices Zoho does not have. Every customer is
copied onto several invoices with conflicting spellings, phones in mixed formats (some invalid,
some blank, a number that changed), and a few invoices appear twice. A third tenant has no Zoho
connection (its phones are read with the DAG's default country). Some rows are broken.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from zoho.rules.phones import normalize_phone

UNCONFIGURED_TENANT = "old-tenant"  # in the legacy table, not in zoho_tenants
SOURCE_COLUMNS = ("user_id", "zoho_invoice_id", "zoho_customer_id", "customer_name", "customer_phone",
                  "customer_email", "updated_at")
INVALID_PHONES = ("N/A", "12345", "call the office", "000-000-0000", "+1 555", "tbd")
BLANKS = ("", "   ", None)

US_AREAS = ("212", "312", "415", "617", "646", "702", "305", "213")


@dataclass
class LegacyCustomer:
    user_id: str
    customer_id: str
    names: list[str]
    emails: list[str]
    numbers: list[str]  # national numbers, in the order the customer used them (last = current)
    country: str


@dataclass
class LegacyTable:
    rows: list[dict] = field(default_factory=list)
    broken: list[dict] = field(default_factory=list)  # rows with the reason they must be rejected

    def all_rows(self) -> list[dict]:
        return self.rows + [r for r, _ in self.broken]


def _us_number(rng: random.Random) -> str:
    while True:
        nsn = f"{rng.choice(US_AREAS)}{rng.randint(2, 9)}{rng.randint(0, 99):02d}{rng.randint(0, 9999):04d}"
        if normalize_phone(nsn, "US"):
            return nsn


def _gb_number(rng: random.Random) -> str:
    while True:
        nsn = "7" + str(rng.randint(4, 9)) + f"{rng.randint(0, 99999999):08d}"
        if normalize_phone("0" + nsn, "GB"):
            return nsn


def _formats(nsn: str, country: str) -> list[str]:
    """The same number as people wrote it: with and without the country code, dots, brackets, 00, an extension."""
    if country == "US":
        a, b, c = nsn[:3], nsn[3:6], nsn[6:]
        return [f"({a}) {b}-{c}", f"+1 {a} {b} {c}", f"{a}.{b}.{c}", f"1-{a}-{b}-{c}", f"{a}{b}{c} ext. 12",
                f"001 {a} {b} {c}", f"{a}-{b}-{c}"]
    return [f"0{nsn[:4]} {nsn[4:]}", f"+44 {nsn[:4]} {nsn[4:]}", f"+44 (0){nsn}", f"0044 {nsn}", f"0{nsn}",
            f"0{nsn[:4]}-{nsn[4:7]}-{nsn[7:]}"]


def _spellings(name: str) -> list[str]:
    return [name, name.upper(), name.lower(), name.replace(" ", "  "), name + " Ltd", name.replace("a", "e", 1)]


def build(sb, seed: int = 11) -> LegacyTable:
    """The legacy table for the sandbox ``sb`` (deterministic for a seed and the sandbox's data)."""
    rng = random.Random(seed)
    table = LegacyTable()
    clock = [datetime(2024, 1, 1, tzinfo=timezone.utc)]

    def tick() -> datetime:  # distinct, increasing-ish timestamps, shuffled by the row order below
        clock[0] += timedelta(minutes=rng.randint(1, 600))
        return clock[0]

    def rows_for(customer: LegacyCustomer, invoice_ids: list[str], *, phone_mode: str) -> None:
        n = len(invoice_ids)
        stamps = sorted(tick() for _ in range(n))
        for k, (invoice_id, stamp) in enumerate(zip(invoice_ids, stamps)):
            latest = k == n - 1
            # names and emails: the latest spelling wins; the latest row sometimes has none
            name = customer.names[min(k, len(customer.names) - 1)] if not (latest and n > 2 and k % 3 == 0) \
                else rng.choice(BLANKS)
            email = customer.emails[min(k, len(customer.emails) - 1)] if rng.random() > 0.15 else None
            number = customer.numbers[0] if k < n // 2 else customer.numbers[-1]
            if phone_mode == "invalid":
                phone = rng.choice(INVALID_PHONES + BLANKS)
            elif phone_mode == "latest_invalid" and latest:
                phone = rng.choice(INVALID_PHONES)
            elif rng.random() < 0.2 and not latest:
                phone = rng.choice(INVALID_PHONES + BLANKS)
            else:
                phone = rng.choice(_formats(number, customer.country))
            table.rows.append({"user_id": customer.user_id, "zoho_invoice_id": invoice_id,
                               "zoho_customer_id": customer.customer_id, "customer_name": name,
                               "customer_phone": phone, "customer_email": email, "updated_at": stamp})

    def new_customer(user_id: str, customer_id: str, name: str, country: str, changed_number: bool) -> LegacyCustomer:
        make = _us_number if country == "US" else _gb_number
        numbers = [make(rng)] + ([make(rng)] if changed_number else [])
        slug = "".join(ch for ch in name.lower() if ch.isalnum())[:12]
        emails = [f"billing@{slug}.example", f"accounts@{slug}.example"][: rng.randint(1, 2)]
        spellings = _spellings(name)
        rng.shuffle(spellings)
        return LegacyCustomer(user_id, customer_id, spellings[: rng.randint(2, 4)], emails, numbers, country)

    for t, org in enumerate(sb.organizations):
        country = org.country
        contacts = sb.contacts(org)
        invoices = sb.invoices(org)
        by_customer: dict[str, list[str]] = {}
        for inv in invoices:
            by_customer.setdefault(inv["customer_id"], []).append(inv["invoice_id"])
        known = {c["contact_id"] for c in contacts}
        customers = [c for c in contacts if c["contact_type"] == "customer"]
        legacy_invoice_seq = iter(range(1, 10_000))

        def legacy_invoice_id() -> str:
            return f"{org.user_id[:2].upper()}-L{t}{next(legacy_invoice_seq):05d}"

        # customers Zoho has: every 2nd one, plus every one Zoho holds without a valid phone
        from zoho.rules.phones import resolve_primary_phone
        no_phone = {c["contact_id"] for c in customers
                    if resolve_primary_phone({k: v for k, v in c.items() if k != "contact_persons"},
                                             sb.contact_persons(org, c["contact_id"]), country) == (None, None)}
        shared = [c for i, c in enumerate(customers) if i % 2 == 0 or c["contact_id"] in no_phone]
        for i, c in enumerate(shared):
            customer = new_customer(org.user_id, c["contact_id"], c["contact_name"], country, changed_number=i % 4 == 1)
            zoho_ids = by_customer.get(c["contact_id"], [])[: rng.randint(1, 5)]
            extra = [legacy_invoice_id() for _ in range(rng.randint(1, 4))]
            mode = "invalid" if i % 7 == 3 else ("latest_invalid" if i % 5 == 2 else "valid")
            rows_for(customer, zoho_ids + extra, phone_mode=mode)

        # customers only the legacy table knows
        legacy_only = []
        for j in range(12):
            cid = f"{org.user_id[:2].upper()}-C{t}{j:03d}"
            customer = new_customer(org.user_id, cid, f"Legacy Client {t}-{j} Trading", country,
                                    changed_number=j % 3 == 0)
            legacy_only.append(customer)
            mode = "invalid" if j % 6 == 5 else ("latest_invalid" if j % 4 == 1 else "valid")
            rows_for(customer, [legacy_invoice_id() for _ in range(rng.randint(4, 12))], phone_mode=mode)

        # a contact Zoho has as a vendor (never landed: the sync lists customers only, so it stays a legacy
        # customer), and a customer Zoho says does not exist (an invoice of Zoho's references it): kept for
        # its invoices, flagged deleted
        vendor = next(c for c in contacts if c["contact_type"] != "customer")
        rows_for(new_customer(org.user_id, vendor["contact_id"], vendor["contact_name"], country, False),
                 [legacy_invoice_id() for _ in range(3)], phone_mode="valid")
        orphans = [inv for inv in invoices if inv["customer_id"] not in known]
        gone = orphans[0]
        rows_for(new_customer(org.user_id, gone["customer_id"], gone["customer_name"], country, False),
                 [gone["invoice_id"], legacy_invoice_id()], phone_mode="valid")
        # an invoice Zoho has whose (non-existent) customer the legacy table names differently: Zoho wins,
        # so the invoice stays without a customer, for a known reason
        other = orphans[1]
        rows_for(legacy_only[0], [other["invoice_id"]], phone_mode="valid")

        # invoices Zoho has, where the legacy table named another customer: Zoho wins
        for inv in [i for i in invoices if i["customer_id"] in known and i["customer_id"] not in
                    {c.customer_id for c in [*legacy_only]}][:2]:
            rows_for(legacy_only[1], [inv["invoice_id"]], phone_mode="valid")

        # the same invoice twice (an older copy), and once under another customer (the newer row wins)
        for row in rng.sample([r for r in table.rows if r["user_id"] == org.user_id and r["updated_at"]], 6):
            copy = dict(row, updated_at=row["updated_at"] - timedelta(days=30))
            table.rows.append(copy)
        moved = rng.choice([r for r in table.rows if r["user_id"] == org.user_id
                            and r["zoho_customer_id"] == legacy_only[2].customer_id])
        other_customer = legacy_only[3]
        table.rows.append(dict(moved, zoho_customer_id=other_customer.customer_id,
                               customer_name=other_customer.names[0], customer_email=other_customer.emails[0],
                               customer_phone=_formats(other_customer.numbers[-1], country)[0],
                               updated_at=moved["updated_at"] - timedelta(days=1)))

    # a tenant without a Zoho connection: numbers without a country code are read as the DAG's default
    for j in range(4):
        customer = new_customer(UNCONFIGURED_TENANT, f"OT-C{j:03d}", f"Old Tenant Client {j}", "US",
                                changed_number=False)
        rows_for(customer, [f"OT-L{j}{k:03d}" for k in range(rng.randint(3, 6))], phone_mode="valid")

    # one row without updated_at (it loses to every dated row of its customer)
    undated = dict(rng.choice([r for r in table.rows if r["user_id"] == UNCONFIGURED_TENANT]),
                   zoho_invoice_id="OT-UNDATED", customer_name="Never The Latest", updated_at=None)
    table.rows.append(undated)

    # rows that cannot be read
    first = sb.organizations[0].user_id
    table.broken += [
        ({**table.rows[0], "zoho_customer_id": None, "zoho_invoice_id": "NO-CUSTOMER-1"}, "missing_customer_id"),
        ({**table.rows[1], "zoho_customer_id": "   "}, "missing_customer_id"),
        ({**table.rows[2], "zoho_customer_id": ""}, "missing_customer_id"),
        ({**table.rows[3], "zoho_invoice_id": None}, "missing_invoice_id"),
        ({**table.rows[4], "zoho_invoice_id": "  "}, "missing_invoice_id"),
        ({**table.rows[5], "user_id": None}, "missing_user_id"),
        ({"user_id": first, "zoho_invoice_id": None, "zoho_customer_id": None, "customer_name": "ghost",
          "customer_phone": None, "customer_email": None, "updated_at": None}, "missing_invoice_id"),
    ]
    return table


# --------------------------------------------------------------------------- what the migration must produce
def _order_key(row: dict):
    """Latest first: updated_at desc (none last), then invoice id desc (the SQL's order; rows here are
    generated so that the row text is never needed to break a tie)."""
    stamp = row["updated_at"]
    return (stamp is not None, stamp or datetime.min.replace(tzinfo=timezone.utc), row["zoho_invoice_id"])


def _clean(value):
    if value is None:
        return None
    text = str(value).strip(" \t\r\n")
    return text or None


def expected_customers(table: LegacyTable, countries: dict[str, str]) -> dict[tuple[str, str], dict]:
    """(user_id, customer_id) -> name, email, phone_e164, rows: latest non-blank value per field;
    the phone is the latest that normalises with the tenant's country."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in table.rows:
        groups.setdefault((row["user_id"], row["zoho_customer_id"]), []).append(row)
    out = {}
    for key, rows in groups.items():
        rows = sorted(rows, key=_order_key, reverse=True)
        country = countries[key[0]]
        e164s = [normalize_phone(_clean(r["customer_phone"]), country) for r in rows]
        out[key] = {
            "name": next((_clean(r["customer_name"]) for r in rows if _clean(r["customer_name"])), None),
            "email": next((_clean(r["customer_email"]) for r in rows if _clean(r["customer_email"])), None),
            "phone_e164": next((p for p in e164s if p), None),
            "rows": len(rows),
        }
    return out


def expected_invoice_customers(table: LegacyTable) -> dict[tuple[str, str], str]:
    """(user_id, invoice_id) -> the customer of the invoice's latest row."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in table.rows:
        groups.setdefault((row["user_id"], row["zoho_invoice_id"]), []).append(row)
    return {key: sorted(rows, key=_order_key, reverse=True)[0]["zoho_customer_id"] for key, rows in groups.items()}


def create_table(conn, qualified_name: str, table: LegacyTable) -> None:
    """The old table as the old system had it (its own serial key, the columns docs/CONTRACT.md "Legacy migration" names)."""
    schema_name, table_name = qualified_name.split(".")
    conn.execute(f'create schema if not exists "{schema_name}"')
    conn.execute(f'drop table if exists "{schema_name}"."{table_name}"')
    conn.execute(f'create table "{schema_name}"."{table_name}" (id bigserial primary key, user_id text, '
                 'zoho_invoice_id text, zoho_customer_id text, customer_name text, customer_phone text, '
                 'customer_email text, updated_at timestamptz)')
    rows = table.all_rows()
    random.Random(5).shuffle(rows)  # the old table had no useful order
    with conn.cursor() as cur:
        with cur.copy(f'copy "{schema_name}"."{table_name}" ({", ".join(SOURCE_COLUMNS)}) from stdin') as copy:
            for row in rows:
                copy.write_row(tuple(row[c] for c in SOURCE_COLUMNS))
