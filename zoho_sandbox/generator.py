"""Deterministic, seeded data: organisations, contacts (with messy phones) and invoices.

Only the columns that listings filter and sort on are generated eagerly (compact ``array``s, see
``data.py``). Everything else about a contact (its persons, addresses, ...) is derived on demand
from a per-record RNG, so it is the same on every call and costs no memory until it is rendered.
"""
from __future__ import annotations

import random
import re
import unicodedata
from array import array
from dataclasses import dataclass, field

from .clock import TimeFormatter

M64 = (1 << 64) - 1

# Zoho-style ids: 15-digit strings; one id range per organisation and per kind of record.
KIND_CONTACT, KIND_PERSON, KIND_INVOICE, KIND_MISSING = 0, 1, 2, 3
KIND_SPAN = 10**11

STATUSES = ("draft", "sent", "viewed", "overdue", "partially_paid", "unpaid", "paid", "void")
STATUS_CODE = {s: i for i, s in enumerate(STATUSES)}
TERMS = ((0, "Due on Receipt"), (15, "Net 15"), (30, "Net 30"), (45, "Net 45"), (60, "Net 60"))


def mix(x: int) -> int:
    """splitmix64: a cheap, well-spread integer hash for derived cosmetic fields."""
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def record_rng(seed: int, org_index: int, kind: int, i: int) -> random.Random:
    return random.Random(mix(mix(mix(seed) ^ (org_index * 131 + kind)) ^ i))


@dataclass
class Org:
    """One Zoho organisation (= one tenant of the product) and the OAuth credentials of its owner."""
    index: int
    user_id: str
    organization_id: str
    name: str
    country: str
    time_zone: str
    currency_code: str
    currency_symbol: str
    client_id: str
    client_secret: str
    refresh_token: str
    id_base: int = 0
    email: str = ""
    extra: dict = field(default_factory=dict)

    PUBLIC = ("user_id", "organization_id", "client_id", "client_secret", "refresh_token", "country",
              "time_zone")

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.PUBLIC}

    def __getitem__(self, key: str):
        return getattr(self, key)

    def zoho_record(self) -> dict:
        """The organisation as ``GET /organizations`` lists it."""
        return {
            "organization_id": self.organization_id, "name": self.name, "contact_name": "Owner " + self.user_id,
            "email": self.email, "is_default_org": self.index == 0, "plan_type": 130, "plan_name": "PROFESSIONAL",
            "plan_period": "Monthly", "language_code": "en", "fiscal_year_start_month": 0,
            "account_created_date": "2019-02-15", "time_zone": self.time_zone, "is_org_active": True,
            "currency_id": str(self.id_base + 97), "currency_code": self.currency_code,
            "currency_symbol": self.currency_symbol, "currency_format": "###,##0.00", "price_precision": 2,
            "country": self.extra["country_name"],
        }


PROFILES = (
    # key, country, zone, currency, symbol, org name, company suffixes, country name, domain
    ("acme", "US", "America/New_York", "USD", "$", "Acme Supplies Inc",
     ("Inc", "LLC", "Corp", "Co."), "U.S.A", "com"),
    ("brit", "GB", "Europe/London", "GBP", "£", "Britannia Trading Ltd",
     ("Ltd", "PLC", "LLP", "& Sons"), "United Kingdom", "co.uk"),
    ("chai", "IN", "Asia/Kolkata", "INR", "₹", "Chai Point Traders Pvt Ltd",
     ("Pvt Ltd", "Enterprises", "Traders", "LLP"), "India", "in"),
    ("koala", "AU", "Australia/Sydney", "AUD", "$", "Koala Kitchens Pty Ltd",
     ("Pty Ltd", "Pty. Ltd.", "Group", "& Co"), "Australia", "com.au"),
    ("berg", "DE", "Europe/Berlin", "EUR", "€", "Bergmann Werkzeuge GmbH",
     ("GmbH", "AG", "KG", "e.K."), "Germany", "de"),
    ("maple", "CA", "America/Toronto", "CAD", "$", "Maple Leaf Outfitters Inc",
     ("Inc.", "Ltd.", "Corp", "Co."), "Canada", "ca"),
)
CURRENCY_SCALE = {"INR": 60, "USD": 1, "GBP": 1, "AUD": 1.5, "EUR": 1, "CAD": 1.3}

FIRST = ("Will", "Maria", "James", "Aisha", "Chen", "Olivia", "Raj", "Priya", "Liam", "Emma", "Noah", "Sofia",
         "Lucas", "Mia", "Arjun", "Ananya", "Jack", "Charlotte", "Oliver", "Amelia", "Hiroshi", "Fatima", "Jürgen",
         "Zoë", "Seán", "Wei", "Kwame", "Isabella", "Mateo", "Grace", "Ethan", "Chloe", "Vikram", "Sunita")
LAST = ("Smith", "Bowman", "Patel", "Sharma", "Nguyen", "Garcia", "Müller", "O'Brien", "Johnson", "Williams",
        "Brown", "Taylor", "Singh", "Kumar", "Wilson", "Martin", "Anderson", "Thompson", "White", "Harris",
        "Clarke", "Walker", "Young", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Iyer", "Reddy")
NOUNS = ("Furniture", "Bakery", "Logistics", "Dental", "Plumbing", "Motors", "Textiles", "Foods", "Hardware",
         "Consulting", "Studios", "Electricals", "Pharmacy", "Garden Supplies", "Printing", "Builders", "Café",
         "Analytics", "Auto Parts", "Florists", "Catering", "Roofing", "Optics", "Travel", "Security")
ADJ = ("Northern", "Pacific", "Riverside", "Golden", "Summit", "Bright", "Evergreen", "Harbour", "Royal",
       "Metro", "Blue Sky", "Silver Oak", "Redwood", "Sunrise", "Coastal", "Prime", "Urban", "Highland")
DESIGNATIONS = ("Owner", "Accounts Payable", "Office Manager", "Director", "Finance Manager", "Purchasing",
                "CEO", "Bookkeeper", "")
DEPARTMENTS = ("Finance", "Sales", "Operations", "Admin", "Procurement", "")
INVALID_PHONES = ("12345", "N/A", "n/a", "-", "0000000000", "TBD", "123", "+1 555", "call reception", "none")
EXTENSIONS = (" ext. 12", " x12", " ext 205", " x 7", " Ext. 3")
STREETS = ("High Street", "Main St", "Station Road", "Park Avenue", "MG Road", "George St", "King Street",
           "Church Lane", "Queen St W", "Hauptstraße")
CITIES = {"US": ("Pleasanton", "Boston", "Austin", "Seattle"), "GB": ("London", "Manchester", "Leeds", "Bristol"),
          "IN": ("Mumbai", "Bengaluru", "Chennai", "Pune"), "AU": ("Sydney", "Melbourne", "Brisbane", "Perth"),
          "DE": ("Berlin", "München", "Hamburg", "Köln"), "CA": ("Toronto", "Vancouver", "Montréal", "Ottawa")}


def make_orgs(seed: int, count: int) -> list[Org]:
    rng = random.Random(mix(seed) ^ 0x0F0F)
    orgs = []
    for k in range(count):
        key, country, zone, cur, sym, name, _suffixes, country_name, tld = PROFILES[k % len(PROFILES)]
        round_ = k // len(PROFILES)
        user_id = f"{key}-{country.lower()}" + (f"-{round_ + 1}" if round_ else "")
        hexs = lambda n: "".join(rng.choice("0123456789abcdef") for _ in range(n))  # noqa: E731
        orgs.append(Org(
            index=k, user_id=user_id, organization_id=str(60_000_000_000 + rng.randrange(10**9) * 10 + k % 10),
            name=name if not round_ else f"{name} ({round_ + 1})", country=country, time_zone=zone,
            currency_code=cur, currency_symbol=sym,
            client_id="1000." + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(30)),
            client_secret=hexs(42), refresh_token=f"1000.{hexs(32)}.{hexs(32)}",
            id_base=(460 + k) * 10**12, email=f"books@{key}.example.{tld}",
            extra={"country_name": country_name, "tld": tld, "suffixes": PROFILES[k % len(PROFILES)][6]},
        ))
    return orgs


# ----------------------------------------------------------------------------------------- phones
def _digits(rng: random.Random, n: int) -> str:
    return "%0*d" % (n, rng.randrange(10**n))


def _nanp(rng, areas):
    while True:
        ex = rng.randrange(200, 1000)
        if ex % 100 != 11 and ex != 555:
            return rng.choice(areas) + str(ex) + _digits(rng, 4)


# country -> (calling code, trunk prefix, mobile NSN maker, landline NSN maker, grouping(nsn) -> parts)
def _groups(nsn: str, sizes) -> list[str]:
    out, pos = [], 0
    for s in sizes:
        out.append(nsn[pos:pos + s])
        pos += s
    if pos < len(nsn):
        out[-1] += nsn[pos:]
    return out


PHONE_PLANS = {
    "US": ("1", "", lambda r: _nanp(r, ("212", "312", "415", "617", "512", "305", "206", "404", "646", "718")),
           lambda r: _nanp(r, ("303", "702", "919", "216")), (3, 3, 4)),
    "CA": ("1", "", lambda r: _nanp(r, ("416", "647", "604", "514")), lambda r: _nanp(r, ("613", "403")), (3, 3, 4)),
    "GB": ("44", "0", lambda r: r.choice(("7400", "7412", "7511", "7723", "7801", "7812", "7900", "7912", "7944",
                                          "7956")) + _digits(r, 6),
           lambda r: r.choice(("2079460", "1614960", "1214960")) + _digits(r, 3), (4, 6)),
    "IN": ("91", "0", lambda r: r.choice(("98", "99", "97", "94", "90", "70", "81", "95")) + _digits(r, 8),
           lambda r: r.choice(("222", "223", "224", "804", "802", "114")) + _digits(r, 7), (5, 5)),
    "AU": ("61", "0", lambda r: "4" + r.choice(("00", "12", "23", "38", "47", "51", "68", "81")) + _digits(r, 6),
           lambda r: r.choice(("29", "39", "28", "38", "73")) + _digits(r, 7), (3, 3, 3)),
    "DE": ("49", "0", lambda r: r.choice(("151" + _digits(r, 8), "170" + _digits(r, 7), "176" + _digits(r, 8))),
           lambda r: r.choice(("30", "89", "40")) + _digits(r, 8), (3, 4, 4)),
}


def format_phone(rng: random.Random, country: str, nsn: str) -> str:
    """One number written the way people type them: with/without +CC, 00, trunk 0, separators, extension."""
    cc, trunk, _m, _l, sizes = PHONE_PLANS[country]
    g = _groups(nsn, sizes)
    if cc == "1":
        a, e, n = g
        styles = (f"+1 {a}-{e}-{n}", f"+1 ({a}) {e}-{n}", f"({a}) {e}-{n}", f"{a}.{e}.{n}", f"{a}-{e}-{n}",
                  f"1-{a}-{e}-{n}", f"+1{nsn}", nsn, f"001 {a} {e} {n}", f"+1.{a}.{e}.{n}")
    else:
        sp = " ".join(g)
        styles = (f"+{cc} {sp}", f"+{cc}-{'-'.join(g)}", f"+{cc}{nsn}", f"00{cc} {sp}", f"+{cc} ({trunk}){sp}",
                  f"{trunk}{sp}", f"{trunk}{'-'.join(g)}", f"({trunk}{g[0]}) {' '.join(g[1:])}", f"{trunk}{nsn}",
                  nsn, f"{trunk}{'.'.join(g)}")
    s = rng.choice(styles)
    if rng.random() < 0.08:
        s += rng.choice(EXTENSIONS)
    return s


def valid_phone(rng: random.Random, country: str, mobile: bool) -> str:
    """A valid number, usually of the org's country; sometimes a foreign one written with its +CC."""
    if rng.random() < 0.06:
        other = rng.choice([c for c in PHONE_PLANS if c != country])
        cc, _t, mk, lk, sizes = PHONE_PLANS[other]
        return f"+{cc} " + " ".join(_groups((mk if mobile else lk)(rng), sizes))
    _cc, _t, mk, lk, _s = PHONE_PLANS[country if country in PHONE_PLANS else "US"]
    return format_phone(rng, country if country in PHONE_PLANS else "US", (mk if mobile else lk)(rng))


def junk_phone(rng: random.Random) -> str:
    """Empty ("" or " ") or not a phone number at all."""
    x = rng.random()
    return "" if x < 0.55 else " " if x < 0.65 else rng.choice(INVALID_PHONES)


# --------------------------------------------------------------------------------------- contacts
def _ascii_slug(text: str) -> str:
    return _NON_ALNUM.sub("", unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower())


_NON_ALNUM = re.compile(r"[^a-z0-9]")


def company_name(rng: random.Random, suffixes) -> str:
    x = rng.random()
    if x < 0.3:
        if rng.random() < 0.3:
            return f"{rng.choice(LAST)} and Co"
        return f"{rng.choice(LAST)} {rng.choice(NOUNS)} {rng.choice(suffixes)}"
    if x < 0.8:
        return f"{rng.choice(ADJ)} {rng.choice(NOUNS)} {rng.choice(suffixes)}"
    return f"{rng.choice(LAST)} & {rng.choice(LAST)} {rng.choice(suffixes)}"


def gen_contact_columns(org: Org, seed: int, n: int, end_ts: int) -> dict:
    """Eager columns: type (0 customer, 1 vendor), status (0 active, 1 inactive), times, names, terms."""
    rng = random.Random(mix(seed) ^ mix(org.index * 7 + 1))
    suffixes = org.extra["suffixes"]
    ctype, status, terms, cur = array("B"), array("B"), array("B"), array("B")
    created, lmt, names, companies = array("q"), array("q"), [], []
    for i in range(n):
        ctype.append(1 if rng.random() < 0.1 else 0)
        status.append(1 if rng.random() < 0.12 else 0)
        terms.append(rng.choice((0, 1, 1, 2, 2, 2, 3, 4)))
        cur.append(0 if rng.random() < 0.94 else rng.randrange(1, 3))
        c = end_ts - rng.randrange(30 * 86400, 1100 * 86400)
        created.append(c)
        lmt.append(c if rng.random() < 0.3 else rng.randrange(c, end_ts))
        if names and rng.random() < 0.02:  # the same customer entered twice (Status.Duplicate)
            j = rng.randrange(len(names))
            name, company = names[j], companies[j]
        elif rng.random() < 0.25:  # an individual
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            company = company_name(rng, suffixes) if rng.random() < 0.3 else ""
        else:
            name = company = company_name(rng, suffixes)
        names.append(name)
        companies.append(company)
    return {"ctype": ctype, "status": status, "terms": terms, "cur": cur, "created": created, "lmt": lmt,
            "name": names, "company": companies}


def contact_profile(seed: int, org: Org, i: int, name: str, company: str) -> dict:
    """The lazily derived part of a generated contact: its persons and cosmetic fields.

    Phone scenarios (the point of the data): the primary person (or the contact itself when it has no
    persons) has a valid mobile; or only another person has one; or only landlines are valid; or
    nothing usable at all. Formats are messy on purpose.
    """
    rng = record_rng(seed, org.index, KIND_CONTACT, i)
    country = org.country
    n_persons = rng.choice((0, 0, 1, 1, 1, 1, 1, 2, 2, 3))
    scenario = rng.choices(("mobile", "other_person", "landline", "none"), (50, 20, 15, 15))[0]
    if scenario == "other_person" and n_persons < 2:
        n_persons = 2
    tld = org.extra["tld"]
    slug = _ascii_slug(company or name)[:18] or "mail"
    domain = f"{slug}.{tld}"

    def person(j: int, primary: bool) -> dict:
        if primary and not company:  # an individual: the primary person is the customer
            first, last = (name.split(" ", 1) + [""])[:2]
        else:
            first, last = rng.choice(FIRST), rng.choice(LAST)
        email = "" if rng.random() < 0.1 else f"{_ascii_slug(first)}.{_ascii_slug(last)}@{domain}"
        return {"contact_person_id": str(org.id_base + KIND_PERSON * KIND_SPAN + i * 4 + j),
                "salutation": rng.choice(("Mr.", "Ms.", "Mrs.", "Dr.", "")), "first_name": first, "last_name": last,
                "email": email, "phone": "", "mobile": "", "is_primary_contact": primary,
                "designation": rng.choice(DESIGNATIONS), "department": rng.choice(DEPARTMENTS),
                "skype": "", "enable_portal": rng.random() < 0.2,
                "communication_preference": {"is_sms_enabled": rng.random() < 0.5,
                                             "is_whatsapp_enabled": rng.random() < 0.3}}

    persons = [person(j, j == 0) for j in range(n_persons)]
    if len(persons) > 1 and rng.random() < 0.3:  # the primary is not always listed first
        persons.append(persons.pop(0))
    own = {"phone": "", "mobile": "", "email": "", "first_name": "", "last_name": ""}
    holders = persons or [own]
    primary = next((p for p in holders if p.get("is_primary_contact", True)), holders[0])
    others = [p for p in holders if p is not primary]
    for p in holders:  # start from junk everywhere, then place the valid numbers per scenario
        p["mobile"] = junk_phone(rng)
        p["phone"] = junk_phone(rng) if rng.random() < 0.5 else valid_phone(rng, country, False)
    if scenario == "mobile":
        primary["mobile"] = valid_phone(rng, country, True)
    elif scenario == "other_person":
        rng.choice(others)["mobile"] = valid_phone(rng, country, True)
    elif scenario == "landline":
        holder = primary if rng.random() < 0.6 or not others else rng.choice(others)
        holder["phone"] = valid_phone(rng, country, False)
    if scenario != "landline" and scenario != "mobile" and rng.random() < 0.5:
        for p in holders:
            p["phone"] = junk_phone(rng)
    if scenario == "none":
        for p in holders:
            p["phone"] = junk_phone(rng)
    if not persons:
        own["email"] = "" if rng.random() < 0.3 else f"accounts@{domain}"
    city = rng.choice(CITIES.get(country, CITIES["US"]))
    addr = {"attention": "", "address": f"{rng.randrange(1, 999)} {rng.choice(STREETS)}", "street2": "",
            "state_code": "", "city": city, "state": "", "zip": _digits(rng, 5), "country": org.extra["country_name"],
            "fax": "", "phone": ""}
    return {
        "persons": persons, "own": own, "scenario": scenario,
        "customer_sub_type": "business" if company else "individual",
        "website": "" if rng.random() < 0.5 else f"www.{domain}",
        "portal": rng.random() < 0.15, "billing_address": addr,
        "shipping_address": dict(addr) if rng.random() < 0.7 else {k: "" for k in addr},
        "notes": rng.choice(("", "", "Payment option : Through check", "Prefers WhatsApp", " ")),
        "credit_limit": rng.choice((0, 0, 1000, 5000)), "twitter": "", "facebook": "",
    }


# --------------------------------------------------------------------------------------- invoices
def gen_invoice_columns(org: Org, seed: int, m: int, contacts: dict, today: int, end_ts: int,
                        fmt: TimeFormatter) -> dict:
    """Eager invoice columns. ``cust`` holds the customer's row index, or -(k+1) for missing customer k."""
    rng = random.Random(mix(seed) ^ mix(org.index * 7 + 2))
    customers = [i for i, t in enumerate(contacts["ctype"]) if t == 0]
    rng.shuffle(customers)
    scale = CURRENCY_SCALE.get(org.currency_code, 1)
    n_missing = 0 if m == 0 else max(3, m // 400) if m >= 30 else 1
    missing_at = set(rng.sample(range(m), min(n_missing, m))) if m else set()
    missing: list[tuple[str, str]] = []
    cust, status, terms_col = array("l"), array("B"), array("B")
    date, due, total, balance, created, lmt = array("l"), array("l"), array("q"), array("q"), array("q"), array("q")
    st_weights = (5, 30, 7, 0, 8, 2, 40, 3)  # draft sent viewed overdue partially_paid unpaid paid void
    for i in range(m):
        if i in missing_at or not customers:
            missing.append((str(org.id_base + KIND_MISSING * KIND_SPAN + 1000 + len(missing) * 7),
                            f"Former Customer {len(missing) + 1}"))
            c, term_ix = -len(missing), 2
        else:
            c = customers[int(len(customers) * rng.random() ** 1.7)]
            term_ix = contacts["terms"][c]
        due_off = rng.randint(-60, 30)
        while TERMS[term_ix][0] < due_off + 1:  # invoices are dated yesterday at the latest
            term_ix += 1
        d = today + due_off - TERMS[term_ix][0]
        s = rng.choices(range(8), st_weights)[0]
        if STATUSES[s] in ("sent", "viewed") and due_off < 0:
            s = STATUS_CODE["overdue"]
        tot = max(2, int(rng.lognormvariate(5.3, 1.0) * 100 * scale))
        bal = 0 if STATUSES[s] in ("paid", "void") else rng.randrange(1, tot) if s == 4 else tot
        c_ts = min(fmt.local_to_epoch(d, rng.randrange(8 * 3600, 18 * 3600)), end_ts)
        if lmt and rng.random() < 0.04 and lmt[-1] >= c_ts:
            l_ts = lmt[-1]  # bulk edits: several invoices share one last_modified_time second
        elif rng.random() < 0.3:
            l_ts = c_ts
        else:
            l_ts = rng.randrange(c_ts, end_ts + 1)
        cust.append(c); status.append(s); terms_col.append(term_ix); date.append(d); due.append(today + due_off)
        total.append(tot); balance.append(bal); created.append(c_ts); lmt.append(l_ts)
    return {"cust": cust, "status": status, "terms": terms_col, "date": date, "due": due, "total": total,
            "balance": balance, "created": created, "lmt": lmt, "missing": missing}


