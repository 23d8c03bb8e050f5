"""Per-organisation store: compact columns, indexes, cached query results, rendering and mutations.

Layout: every table keeps the fields listings filter and sort on as ``array`` columns indexed by row
number (row ``i`` has id ``id_base + i``), a ``last_modified_time`` index (row numbers sorted by
time, with a parallel key array for ``bisect``), and an LRU of result lists per query signature, so
page N of a listing is a slice, not a re-filter. Records are rendered to Zoho's JSON shape only for
the rows of the requested page. Mutations bump ``last_modified_time`` and the store's version,
which invalidates cached results.
"""
from __future__ import annotations

import random
import threading
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter, OrderedDict

from .clock import TimeFormatter, format_date, parse_date, parse_timestamp
from .generator import (KIND_CONTACT, KIND_INVOICE, KIND_PERSON, KIND_SPAN, STATUS_CODE, STATUSES, TERMS, Org,
                        contact_profile, gen_contact_columns, gen_invoice_columns, mix, valid_phone)
from .query import ListQuery

UNPAID = frozenset(STATUS_CODE[s] for s in ("sent", "viewed", "overdue", "partially_paid", "unpaid"))
INVOICE_FILTER_STATUS = {
    "Status.Sent": {STATUS_CODE["sent"]}, "Status.Draft": {STATUS_CODE["draft"]},
    "Status.OverDue": {STATUS_CODE["overdue"]}, "Status.Paid": {STATUS_CODE["paid"]},
    "Status.Void": {STATUS_CODE["void"]}, "Status.Unpaid": set(UNPAID),
    "Status.PartiallyPaid": {STATUS_CODE["partially_paid"]}, "Status.Viewed": {STATUS_CODE["viewed"]},
    "Date.PaymentExpectedDate": set(),  # no generated invoice has an expected payment date
}
TAX_RATE = {"US": 0.0, "GB": 0.20, "IN": 0.18, "AU": 0.10, "DE": 0.19, "CA": 0.13}
PERSON_KEYS = ("contact_person_id", "salutation", "first_name", "last_name", "email", "phone", "mobile",
               "designation", "department", "skype", "is_primary_contact")
OWN_KEYS = ("phone", "mobile", "email", "first_name", "last_name")
CACHE_SIZE = 48


class Settings:
    """Switches read at render time (shared by all stores of a sandbox)."""

    def __init__(self, empty_as_blank: bool = True, duplicate_invoices: bool = False, duplicate_count: int = 2):
        self.empty_as_blank = empty_as_blank
        self.duplicate_invoices = duplicate_invoices
        self.duplicate_count = duplicate_count


def _money(cents: int) -> float:
    return cents / 100


def _cents(value) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(round(float(value) * 100))
    except (TypeError, ValueError):
        return None


class NotFound(KeyError):
    pass


class Table:
    kind = KIND_CONTACT

    def __init__(self, store: "OrgStore", cols: dict, n: int) -> None:
        self.store = store
        self.base = store.org.id_base + self.kind * KIND_SPAN
        self.n = n
        self.deleted = bytearray(n)
        self.n_deleted = 0
        self.overrides: dict[int, dict] = {}
        self.lmt: array = cols["lmt"]
        self.created: array = cols["created"]
        self._cache: OrderedDict = OrderedDict()
        self._orders: dict[str, tuple[int, array]] = {}
        self._created_order: array | None = None
        order = sorted(range(n), key=self.lmt.__getitem__)
        self._lmt_idx = array("l", order)
        self._lmt_key = array("q", (self.lmt[i] for i in order))

    # ids and rows
    def id_of(self, i: int) -> str:
        return str(self.base + i)

    def row(self, record_id, include_deleted: bool = False) -> int:
        s = str(record_id)
        i = int(s) - self.base if s.isdigit() else -1
        if not 0 <= i < self.n or (self.deleted[i] and not include_deleted):
            raise NotFound(s)
        return i

    def live(self):
        if not self.n_deleted:
            return range(self.n)
        return [i for i in range(self.n) if not self.deleted[i]]

    # last_modified_time index
    def _unindex(self, i: int) -> None:
        pos = bisect_left(self._lmt_key, self.lmt[i])
        while self._lmt_idx[pos] != i:
            pos += 1
        del self._lmt_idx[pos]
        del self._lmt_key[pos]

    def _index(self, i: int) -> None:
        pos = bisect_right(self._lmt_key, self.lmt[i])
        self._lmt_idx.insert(pos, i)
        self._lmt_key.insert(pos, self.lmt[i])

    def touch(self, i: int, ts: int | None = None) -> None:
        self._unindex(i)
        self.lmt[i] = int(self.store.clock.time()) if ts is None else ts
        self._index(i)
        self.store.version += 1

    def _append_row(self, ts: int) -> int:
        i = self.n
        self.n += 1
        self.deleted.append(0)
        self.created.append(ts)
        self.lmt.append(ts)
        self._index(i)
        co = self._created_order
        if co is not None:
            if not co or self.created[co[-1]] <= ts:
                co.append(i)
            else:
                self._created_order = None
        self.store.version += 1
        return i

    def delete(self, i: int) -> None:
        self._unindex(i)
        self.deleted[i] = 1
        self.n_deleted += 1
        self.store.version += 1

    # queries
    def select(self, q: ListQuery) -> array:
        key = q.signature()
        hit = self._cache.get(key)
        if hit is not None and hit[0] == self.store.version:
            self._cache.move_to_end(key)
            return hit[1]
        rows = self._compute(q)
        self._cache[key] = (self.store.version, rows)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return rows

    def _compute(self, q: ListQuery) -> array:
        preds = self.predicates(q)
        if q.lmt_from is not None:  # the cursor filter: a bisect into the last_modified_time index
            rows = self._lmt_idx[bisect_left(self._lmt_key, q.lmt_from):]
            for pred in preds:
                rows = [i for i in rows if pred(i)]
            if q.sort_column != "last_modified_time":
                rows = sorted(rows, key=self.sort_key(q.sort_column))
        else:  # walk the rows in the requested order, keeping the matching ones
            rows = self._order(q.sort_column)
            if self.n_deleted and q.sort_column != "last_modified_time":
                preds.insert(0, lambda i: not self.deleted[i])
            for pred in preds:
                rows = [i for i in rows if pred(i)]
        rows = array("l", rows)
        if q.sort_order == "D":
            rows.reverse()
        return rows

    def _order(self, column: str) -> array:
        """Every row (deleted ones included) sorted ascending by ``column``, ties by row number.

        ``created_time`` never changes and new rows are created "now", so that order (the default
        sort of invoices) survives mutations; other orders are rebuilt after a change."""
        if column == "last_modified_time":
            return self._lmt_idx
        if column == "created_time" and self._created_order is not None:
            return self._created_order
        hit = self._orders.get(column)
        if hit is not None and hit[0] == self.store.version:
            return hit[1]
        order = array("l", sorted(range(self.n), key=self.sort_key(column)))
        if column == "created_time":
            self._created_order = order
        else:
            self._orders[column] = (self.store.version, order)
        return order

    def _text_preds(self, filters: dict, field: str, value_of) -> list:
        preds = []
        if field in filters:
            v = filters[field]
            preds.append(lambda i: value_of(i).lower() == v)
        if field + "_startswith" in filters:
            v = filters[field + "_startswith"]
            preds.append(lambda i: value_of(i).lower().startswith(v))
        if field + "_contains" in filters:
            v = filters[field + "_contains"]
            preds.append(lambda i: v in value_of(i).lower())
        return preds

    def predicates(self, q: ListQuery) -> list:
        raise NotImplementedError

    def sort_key(self, column: str):
        raise NotImplementedError

    def _override(self, i: int, rec: dict) -> dict:
        extra = self.overrides.get(i)
        if extra:
            rec.update(extra)
        return rec


class Contacts(Table):
    kind = KIND_CONTACT

    def __init__(self, store: "OrgStore", cols: dict) -> None:
        n = len(cols["ctype"])
        super().__init__(store, cols, n)
        self.generated = n
        self.ctype, self.status, self.terms, self.cur = cols["ctype"], cols["status"], cols["terms"], cols["cur"]
        self.name, self.company = cols["name"], cols["company"]
        self.outstanding = array("q", bytes(8 * n))
        self.persons_set: dict[int, list[dict]] = {}
        self.own_set: dict[int, dict] = {}
        self._profiles: OrderedDict = OrderedDict()
        self._salt = mix(store.seed ^ (store.org.index << 20))

    def profile(self, i: int) -> dict:
        p = self._profiles.get(i)
        if p is None:
            if i < self.generated:
                p = contact_profile(self.store.seed, self.store.org, i, self.name[i], self.company[i])
            else:
                p = {"persons": [], "own": dict.fromkeys(OWN_KEYS, ""), "customer_sub_type": "business",
                     "website": "", "billing_address": {}, "shipping_address": {}, "notes": "", "credit_limit": 0,
                     "twitter": "", "facebook": ""}
            self._profiles[i] = p
            if len(self._profiles) > 8192:
                self._profiles.popitem(last=False)
        return p

    def persons(self, i: int) -> list[dict]:
        got = self.persons_set.get(i)
        return got if got is not None else self.profile(i)["persons"]

    def top(self, i: int) -> dict:
        """Where the list record's first_name/last_name/email/phone/mobile come from: the primary person."""
        for p in self.persons(i):
            if p.get("is_primary_contact"):
                return p
        got = self.own_set.get(i)
        return got if got is not None else self.profile(i)["own"]

    def portal(self, i: int) -> bool:
        return mix(self._salt ^ i) % 100 < 15

    def currency(self, i: int) -> tuple[str, str]:
        codes = self.store.currencies
        ix = self.cur[i] if self.cur[i] < len(codes) else 0
        return codes[ix], str(self.store.org.id_base + 97 + ix)

    def predicates(self, q: ListQuery) -> list:
        f = dict(q.filters)
        preds = []
        if "contact_type" in f:
            want = 0 if f["contact_type"] == "customer" else 1
            preds.append(lambda i: self.ctype[i] == want)
        fb = q.filter_by
        if fb == "Status.Active":
            preds.append(lambda i: self.status[i] == 0)
        elif fb == "Status.Inactive":
            preds.append(lambda i: self.status[i] == 1)
        elif fb == "Status.Duplicate":
            counts = Counter(self.name[i].lower() for i in self.live())
            preds.append(lambda i: counts[self.name[i].lower()] > 1)
        elif fb in ("Status.PortalEnabled", "Status.PortalDisabled"):
            want_portal = fb == "Status.PortalEnabled"
            preds.append(lambda i: self.portal(i) == want_portal)
        elif fb == "Invoice.OverDue":
            inv = self.store.invoices
            overdue = {inv.cust[j] for j in inv.live() if inv.status[j] == STATUS_CODE["overdue"]}
            preds.append(lambda i: i in overdue)
        elif fb == "Invoice.Unpaid":
            preds.append(lambda i: self.outstanding[i] > 0)
        elif fb in ("Status.CreditLimitExceed", "Status.Crm"):
            preds.append(lambda i: False)
        preds += self._text_preds(f, "contact_name", self.name.__getitem__)
        preds += self._text_preds(f, "company_name", self.company.__getitem__)
        if "search_text" in f:
            v = f["search_text"]
            preds.append(lambda i: v in self.name[i].lower() or v in self.company[i].lower())
        return preds

    def sort_key(self, column: str):
        if column == "contact_name":
            return lambda i: self.name[i].lower()
        if column in ("first_name", "last_name", "email"):
            return lambda i: (self.top(i).get(column) or "").lower()
        if column == "outstanding_receivable_amount":
            return self.outstanding.__getitem__
        return (self.created if column == "created_time" else self.lmt).__getitem__

    # rendering
    def list_record(self, i: int) -> dict:
        b = self.store.blank
        fmt = self.store.fmt
        p = self.profile(i)
        top = self.top(i)
        name, customer = self.name[i], self.ctype[i] == 0
        code, cur_id = self.currency(i)
        out = _money(self.outstanding[i])
        days, label = TERMS[self.terms[i]]
        created, lmt = self.created[i], self.lmt[i]
        rec = {
            "contact_id": self.id_of(i), "contact_name": name,
            "customer_name": name if customer else b(""), "vendor_name": b("") if customer else name,
            "company_name": b(self.company[i]), "website": b(p["website"]), "language_code": "en",
            "language_code_formatted": "English", "contact_type": "customer" if customer else "vendor",
            "contact_type_formatted": "Customer" if customer else "Vendor",
            "status": "inactive" if self.status[i] else "active", "customer_sub_type": p["customer_sub_type"],
            "source": "user", "is_linked_with_zohocrm": False, "payment_terms": days, "payment_terms_label": label,
            "currency_id": cur_id, "twitter": b(p["twitter"]), "facebook": b(p["facebook"]), "currency_code": code,
            "outstanding_receivable_amount": out, "outstanding_receivable_amount_bcy": out,
            "outstanding_payable_amount": 0.0, "outstanding_payable_amount_bcy": 0.0,
            "unused_credits_receivable_amount": 0.0, "unused_credits_receivable_amount_bcy": 0.0,
            "unused_credits_payable_amount": 0.0, "unused_credits_payable_amount_bcy": 0.0,
            "first_name": b(top.get("first_name", "")), "last_name": b(top.get("last_name", "")),
            "email": b(top.get("email", "")), "phone": b(top.get("phone", "")), "mobile": b(top.get("mobile", "")),
            "portal_status": "enabled" if self.portal(i) else "disabled",
            "created_time": fmt.format(created), "created_time_formatted": self.store.display_date(created),
            "last_modified_time": fmt.format(lmt), "last_modified_time_formatted": self.store.display_date(lmt),
            "custom_fields": [], "custom_field_hash": {}, "ach_supported": False, "has_attachment": False,
        }
        return self._override(i, rec)

    def render_person(self, p: dict, embedded: bool) -> dict:
        b = self.store.blank
        out = {k: b(p.get(k, "")) for k in PERSON_KEYS}
        out["is_primary_contact"] = bool(p.get("is_primary_contact"))
        out["enable_portal" if embedded else "is_added_in_portal"] = bool(p.get("enable_portal"))
        out["communication_preference"] = dict(p.get("communication_preference")
                                               or {"is_sms_enabled": False, "is_whatsapp_enabled": False})
        for k, v in p.items():  # fields a test set explicitly
            if k not in out and k != "enable_portal":
                out[k] = v
        return out

    def detail(self, i: int) -> dict:
        b = self.store.blank
        p = self.profile(i)
        persons = self.persons(i)
        primary = next((x for x in persons if x.get("is_primary_contact")), None)
        rec = self.list_record(i)
        code, _ = self.currency(i)
        address = lambda a: {k: b(v) for k, v in a.items()}  # noqa: E731
        rec.update({
            "has_transaction": self.outstanding[i] > 0, "credit_limit": p["credit_limit"], "pricebook_id": b(""),
            "contact_number": f"CNT-{i + 1:06d}", "is_taxable": True, "owner_id": b(""),
            "primary_contact_id": primary["contact_person_id"] if primary else b(""),
            "currency_symbol": self.store.org.currency_symbol if code == self.store.org.currency_code else code,
            "payment_reminder_enabled": True, "billing_address": address(p["billing_address"]),
            "shipping_address": address(p["shipping_address"]), "notes": b(p["notes"]),
            "contact_persons": [self.render_person(x, embedded=True) for x in persons],
            "default_templates": {},
        })
        country = self.store.org.country
        if country == "IN":
            rec.update({"gst_treatment": "business_gst" if p["customer_sub_type"] == "business" else "consumer",
                        "gst_no": b(""), "place_of_contact": "MH"})
        elif country in ("GB", "DE"):
            rec.update({"vat_treatment": "uk" if country == "GB" else "eu_vat_registered", "tax_reg_no": b("")})
        else:
            rec.update({"tax_id": b(""), "tax_name": b(""), "tax_percentage": b("")})
        return self._override(i, rec)


class Invoices(Table):
    kind = KIND_INVOICE

    def __init__(self, store: "OrgStore", cols: dict) -> None:
        n = len(cols["cust"])
        super().__init__(store, cols, n)
        self.cust, self.status, self.terms = cols["cust"], cols["status"], cols["terms"]
        self.date, self.due, self.total, self.balance = cols["date"], cols["due"], cols["total"], cols["balance"]
        self.missing: list[tuple[str, str]] = cols["missing"]
        self._salt = mix(store.seed ^ (store.org.index << 24) ^ 0xABC)
        self._templates: dict[bool, dict] = {}

    def customer_id(self, i: int) -> str:
        c = self.cust[i]
        return self.store.contacts.id_of(c) if c >= 0 else self.missing[-c - 1][0]

    def customer_name(self, i: int) -> str:
        c = self.cust[i]
        return self.store.contacts.name[c] if c >= 0 else self.missing[-c - 1][1]

    def invoice_number(self, i: int) -> str:
        extra = self.overrides.get(i)
        if extra and isinstance(extra.get("invoice_number"), str):
            return extra["invoice_number"]
        return f"INV-{i + 1:06d}"

    def cust_code(self, customer_id: str) -> int | None:
        contacts = self.store.contacts
        try:
            return contacts.row(customer_id, include_deleted=True)
        except NotFound:
            for k, (mid, _name) in enumerate(self.missing):
                if mid == customer_id:
                    return -k - 1
        return None

    def predicates(self, q: ListQuery) -> list:
        f = dict(q.filters)
        preds = []
        if "status" in f:
            s = f["status"]
            wanted = UNPAID if s == "unpaid" else {STATUS_CODE[s]}
            preds.append(lambda i: self.status[i] in wanted)
        if q.filter_by != "Status.All":
            fb_wanted = INVOICE_FILTER_STATUS[q.filter_by]
            preds.append(lambda i: self.status[i] in fb_wanted)
        if "customer_id" in f:
            code = self.cust_code(f["customer_id"])
            preds.append(lambda i: self.cust[i] == code)
        for field, col in (("date", self.date), ("due_date", self.due), ("created_date", None)):
            get = col.__getitem__ if col is not None else (lambda i: self.store.fmt.local_ordinal(self.created[i]))
            for suffix, test in (("", lambda a, v: a == v), ("_start", lambda a, v: a >= v),
                                 ("_end", lambda a, v: a <= v), ("_before", lambda a, v: a < v),
                                 ("_after", lambda a, v: a > v)):
                if field + suffix in f:
                    preds.append(lambda i, g=get, t=test, v=f[field + suffix]: t(g(i), v))
        preds += self._text_preds(f, "invoice_number", self.invoice_number)
        preds += self._text_preds(f, "customer_name", self.customer_name)
        if "search_text" in f:
            v = f["search_text"]
            preds.append(lambda i: v in self.invoice_number(i).lower() or v in self.customer_name(i).lower())
        return preds

    def sort_key(self, column: str):
        if column == "customer_name":
            return lambda i: self.customer_name(i).lower()
        if column == "invoice_number":
            return self.invoice_number
        return {"date": self.date, "due_date": self.due, "total": self.total, "balance": self.balance,
                "created_time": self.created, "last_modified_time": self.lmt}[column].__getitem__

    def currency(self, i: int) -> tuple[str, str]:
        c = self.cust[i]
        if c >= 0:
            return self.store.contacts.currency(c)
        return self.store.currencies[0], str(self.store.org.id_base + 97)

    def _template(self) -> dict:
        """The list record's keys in Zoho's order, with the values most records share."""
        store = self.store
        blank = store.settings.empty_as_blank
        tpl = self._templates.get(blank)
        if tpl is None:
            E, SP = ("", " ") if blank else (None, None)  # noqa: N806
            addr = store.empty_address()
            tpl = {
                "invoice_id": None, "ach_payment_initiated": False, "customer_name": None, "customer_id": None,
                "company_name": E, "status": None, "color_code": E, "current_sub_status_id": E,
                "current_sub_status": None, "invoice_number": None, "reference_number": E, "date": None,
                "due_date": None, "due_days": E, "currency_id": None, "schedule_time": E, "email": E,
                "currency_code": None, "currency_symbol": None, "template_type": "standard",
                "is_viewed_by_client": False, "has_attachment": False, "client_viewed_time": E, "total": None,
                "balance": None, "created_time": None, "last_modified_time": None, "updated_time": None,
                "is_emailed": True, "reminders_sent": 0, "last_reminder_sent_date": E, "payment_expected_date": E,
                "last_payment_date": SP, "custom_fields": None, "custom_field_hash": None, "documents": E,
                "salesperson_id": E, "salesperson_name": E, "shipping_charge": 0.0, "adjustment": 0.0,
                "write_off_amount": 0.0, "exchange_rate": 1.0, "phone": E, "country": E, "billing_address": addr,
                "shipping_address": addr, "transaction_type": "invoice", "zcrm_potential_id": E,
                "zcrm_potential_name": E, "location_id": E, "location_name": E, "project_name": E, "created_by": E,
                "invoice_url": None,
            }
            self._templates[blank] = tpl
        return tpl

    def list_record(self, i: int) -> dict:
        store = self.store
        fmt, org = store.fmt, store.org
        rec = dict(self._template())
        status = STATUSES[self.status[i]]
        h = mix(self._salt ^ i)
        code, cur_id = self.currency(i)
        lmt = fmt.format(self.lmt[i])
        c = self.cust[i]
        rec["invoice_id"] = self.id_of(i)
        rec["customer_name"] = self.customer_name(i)
        rec["customer_id"] = self.customer_id(i)
        if c >= 0 and store.contacts.company[c]:
            rec["company_name"] = store.contacts.company[c]
        rec["status"] = rec["current_sub_status"] = status
        rec["invoice_number"] = self.invoice_number(i)
        ref = (h >> 4) % 3
        if ref:
            rec["reference_number"] = f"PO-{(h >> 8) % 100000:05d}" if ref == 2 else store.blank(" ")
        rec["date"] = format_date(self.date[i])
        rec["due_date"] = format_date(self.due[i])
        if status not in ("paid", "void", "draft"):
            diff = self.due[i] - store.today_local()
            rec["due_days"] = (f"Due in {diff} day(s)" if diff > 0 else "Due Today" if diff == 0
                               else f"Overdue by {-diff} day(s)")
        rec["currency_id"] = cur_id
        rec["currency_code"] = code
        rec["currency_symbol"] = org.currency_symbol if code == org.currency_code else code
        if status == "viewed":
            rec["is_viewed_by_client"] = True
            rec["client_viewed_time"] = lmt
        rec["total"] = self.total[i] / 100
        rec["balance"] = self.balance[i] / 100
        rec["created_time"] = fmt.format(self.created[i])
        rec["last_modified_time"] = rec["updated_time"] = lmt
        if status == "draft":
            rec["is_emailed"] = False
        elif status == "overdue":
            rec["reminders_sent"] = (h >> 12) % 3
        if status in ("paid", "partially_paid"):
            rec["last_payment_date"] = format_date(fmt.local_ordinal(self.lmt[i]))
        rec["custom_fields"] = []
        rec["custom_field_hash"] = {}
        if code != org.currency_code:
            rec["exchange_rate"] = 1.25
        if h % 5 == 0:  # a stale copy of some number the customer once had
            rec["phone"] = valid_phone(random.Random(h), org.country, True)
        rec["invoice_url"] = f"https://books.zoho.com/portal/{org.user_id}/secure?CInvoiceID={h:016x}"
        extra = self.overrides.get(i)
        if extra:
            rec.update(extra)
        return rec

    def detail(self, i: int) -> dict:
        store = self.store
        b = store.blank
        rec = self.list_record(i)
        h = mix(self._salt ^ i ^ 0x5A5A)
        total = self.total[i]
        status = STATUSES[self.status[i]]
        rate = TAX_RATE.get(store.org.country, 0.0)
        tax = int(round(total * rate / (1 + rate)))
        sub = total - tax
        k = 1 + h % 3
        shares = [sub // k] * k
        shares[0] += sub - sum(shares)
        items = []
        for j, amount in enumerate(shares):
            items.append({"line_item_id": str(self.base + KIND_SPAN // 2 + i * 4 + j),
                          "item_id": str(store.org.id_base + 9 * KIND_SPAN // 2 + (h >> (j * 4)) % 40),
                          "name": f"Item {(h >> (j * 4)) % 40 + 1}", "description": b(""), "item_order": j + 1,
                          "rate": _money(amount), "quantity": 1.0, "unit": b(""), "discount": 0.0,
                          "tax_name": b("VAT" if rate else ""), "tax_percentage": round(rate * 100, 2),
                          "item_total": _money(amount)})
        c = self.cust[i]
        persons = store.contacts.persons(c) if c >= 0 and not store.contacts.deleted[c] else []
        paid = 0 if status == "void" else total - self.balance[i]
        days, label = TERMS[self.terms[i]]
        rec.update({
            "line_items": items, "sub_total": _money(sub), "tax_total": _money(tax),
            "taxes": [{"tax_name": "VAT", "tax_amount": _money(tax)}] if tax else [],
            "payment_made": _money(paid), "credits_applied": 0.0, "payment_terms": days, "payment_terms_label": label,
            "contact_persons": [p["contact_person_id"] for p in persons if p.get("is_primary_contact")],
            "contact_persons_associated": [
                {"contact_person_id": p["contact_person_id"],
                 "contact_person_name": f"{p.get('first_name', '')} {p.get('last_name', '')}".strip(),
                 "first_name": b(p.get("first_name", "")), "last_name": b(p.get("last_name", "")),
                 "contact_person_email": b(p.get("email", "")), "phone": b(p.get("phone", "")),
                 "mobile": b(p.get("mobile", "")),
                 "communication_preference": {"is_email_enabled": True, "is_sms_enabled": False,
                                              "is_whatsapp_enabled": False}}
                for p in persons if p.get("is_primary_contact")],
            "notes": b("Thanks for your business."), "terms": b(""),
        })
        return self._override(i, rec)


class OrgStore:
    """All data of one organisation. Callers hold ``lock`` around reads that span several calls."""

    def __init__(self, org: Org, seed: int, n_contacts: int, n_invoices: int, today: int, end_ts: int,
                 clock, settings: Settings) -> None:
        self.org, self.seed, self.clock, self.settings = org, seed, clock, settings
        self.fmt = TimeFormatter(org.time_zone)
        self.lock = threading.RLock()
        self.version = 0
        self.currencies = [org.currency_code] + [c for c in ("USD", "EUR", "GBP") if c != org.currency_code][:2]
        ccols = gen_contact_columns(org, seed, n_contacts, end_ts)
        icols = gen_invoice_columns(org, seed, n_invoices, ccols, today, end_ts, self.fmt)
        self.contacts = Contacts(self, ccols)
        self.invoices = Invoices(self, icols)
        inv = self.invoices
        for j in range(inv.n):
            if inv.cust[j] >= 0 and inv.status[j] in UNPAID:
                self.contacts.outstanding[inv.cust[j]] += inv.balance[j]
        self._addr = {}
        self._person_seq = 0

    # rendering helpers
    def blank(self, v):
        if v == "" or v == " ":
            return v if self.settings.empty_as_blank else None
        return v

    def empty_address(self) -> dict:
        key = self.settings.empty_as_blank
        if key not in self._addr:
            self._addr[key] = {k: self.blank("") for k in ("address", "street2", "city", "state", "zipcode", "country",
                                                            "phone", "fax", "attention")}
        return self._addr[key]

    def today_local(self) -> int:
        return self.fmt.local_ordinal(int(self.clock.time()))

    def display_date(self, ts: int) -> str:
        y, m, d = format_date(self.fmt.local_ordinal(ts)).split("-")
        return f"{m}/{d}/{y}" if self.org.country in ("US", "CA") else f"{d}/{m}/{y}"

    # ------------------------------------------------------------------ mutations (hold the lock)
    def _set_lmt(self, table: Table, i: int, fields: dict) -> None:
        raw = fields.pop("last_modified_time", None)
        ts = None
        if isinstance(raw, (int, float)):
            ts = int(raw)
        elif isinstance(raw, str):
            ts = parse_timestamp(raw)
        table.touch(i, ts)

    def _new_person(self, p: dict) -> dict:
        person = {"salutation": "", "first_name": "", "last_name": "", "email": "", "phone": "", "mobile": "",
                  "designation": "", "department": "", "skype": "", "is_primary_contact": False,
                  "enable_portal": False}
        person.update(p)
        if not person.get("contact_person_id"):
            self._person_seq += 1
            person["contact_person_id"] = str(self.org.id_base + KIND_PERSON * KIND_SPAN + 4 * 10**10
                                              + self._person_seq)
        return person

    def set_contact_persons(self, contact_id, persons: list[dict], bump: bool = True) -> list[dict]:
        c = self.contacts
        i = c.row(contact_id)
        c.persons_set[i] = [self._new_person(dict(p)) for p in persons]
        if bump:
            c.touch(i)
        return c.persons_set[i]

    def _apply_contact_fields(self, i: int, fields: dict) -> None:
        c = self.contacts
        if "contact_persons" in fields:
            self.set_contact_persons(c.id_of(i), fields.pop("contact_persons"), bump=False)
        if "contact_name" in fields:
            c.name[i] = str(fields.pop("contact_name"))
        if "company_name" in fields:
            c.company[i] = str(fields.pop("company_name") or "")
        if fields.get("contact_type") in ("customer", "vendor"):
            c.ctype[i] = 0 if fields.pop("contact_type") == "customer" else 1
        if fields.get("status") in ("active", "inactive"):
            c.status[i] = 0 if fields.pop("status") == "active" else 1
        own_fields = {k: fields.pop(k) for k in OWN_KEYS if k in fields}
        if own_fields:
            persons = c.persons(i)
            if any(p.get("is_primary_contact") for p in persons):
                persons = [dict(p) for p in persons]
                next(p for p in persons if p.get("is_primary_contact")).update(own_fields)
                c.persons_set[i] = persons
            else:
                own = dict(c.own_set.get(i) or c.profile(i)["own"])
                own.update(own_fields)
                c.own_set[i] = own
        if fields:
            c.overrides.setdefault(i, {}).update(fields)

    def update_contact(self, contact_id, fields: dict) -> dict:
        fields = dict(fields)
        i = self.contacts.row(contact_id)
        self._set_lmt(self.contacts, i, fields)
        self._apply_contact_fields(i, fields)
        return self.contacts.detail(i)

    def add_contact(self, fields: dict) -> str:
        fields = dict(fields)
        c = self.contacts
        now = int(self.clock.time())
        i = c._append_row(now)
        c.ctype.append(0)
        c.status.append(0)
        c.terms.append(2)
        c.cur.append(0)
        c.outstanding.append(0)
        c.name.append(str(fields.pop("contact_name", f"New Contact {i + 1}")))
        c.company.append(str(fields.pop("company_name", "") or ""))
        c.persons_set[i] = []
        self._set_lmt(c, i, fields)
        self._apply_contact_fields(i, fields)
        return c.id_of(i)

    def delete_contact(self, contact_id) -> None:
        c = self.contacts
        c.delete(c.row(contact_id))

    def _apply_invoice_fields(self, i: int, fields: dict) -> None:
        inv = self.invoices
        extra = inv.overrides.setdefault(i, {})
        old_c, old_contrib = inv.cust[i], inv.balance[i] if inv.status[i] in UNPAID else 0
        if "customer_id" in fields:
            cid = str(fields.pop("customer_id"))
            code = inv.cust_code(cid)
            if code is None:
                inv.missing.append((cid, str(fields.get("customer_name") or "Unknown Customer")))
                code = -len(inv.missing)
            inv.cust[i] = code
        if "status" in fields and fields["status"] in STATUS_CODE:
            inv.status[i] = STATUS_CODE[fields.pop("status")]
            if STATUSES[inv.status[i]] in ("paid", "void") and "balance" not in fields:
                inv.balance[i] = 0
        for name, col in (("date", inv.date), ("due_date", inv.due)):
            if name in fields:
                ordinal = parse_date(fields[name]) if isinstance(fields[name], str) else None
                if ordinal is not None:
                    col[i] = ordinal
                    fields.pop(name)
                    extra.pop(name, None)
        for name, col in (("total", inv.total), ("balance", inv.balance)):
            if name in fields:
                cents = _cents(fields[name])
                if cents is not None:
                    col[i] = cents
                    fields.pop(name)
                    extra.pop(name, None)
        extra.update(fields)  # anything else, including malformed values a test wants to serve as-is
        if not extra:
            inv.overrides.pop(i, None)
        outstanding = self.contacts.outstanding
        if old_c >= 0:
            outstanding[old_c] -= old_contrib
        if inv.cust[i] >= 0 and inv.status[i] in UNPAID:
            outstanding[inv.cust[i]] += inv.balance[i]

    def update_invoice(self, invoice_id, fields: dict) -> dict:
        fields = dict(fields)
        i = self.invoices.row(invoice_id)
        self._set_lmt(self.invoices, i, fields)
        self._apply_invoice_fields(i, fields)
        return self.invoices.detail(i)

    def add_invoice(self, fields: dict) -> str:
        fields = dict(fields)
        if "customer_id" not in fields:
            raise ValueError("add_invoice needs customer_id")
        inv = self.invoices
        today = self.today_local()
        i = inv._append_row(int(self.clock.time()))
        total = _cents(fields.get("total", 100)) or 10000
        for col, value in ((inv.cust, 0), (inv.status, STATUS_CODE["draft"]), (inv.terms, 2), (inv.date, today),
                           (inv.due, today + 30), (inv.total, total), (inv.balance, total)):
            col.append(value)  # a draft placeholder: no outstanding contribution until the fields apply
        self._set_lmt(inv, i, fields)
        self._apply_invoice_fields(i, {"status": "sent", **fields})
        return inv.id_of(i)

    def delete_invoice(self, invoice_id) -> None:
        inv = self.invoices
        i = inv.row(invoice_id)
        if inv.cust[i] >= 0 and inv.status[i] in UNPAID:
            self.contacts.outstanding[inv.cust[i]] -= inv.balance[i]
        inv.delete(i)
