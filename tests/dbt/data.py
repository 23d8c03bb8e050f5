"""Realistic Zoho Books records (shapes of docs/ZOHO_API.md sections 3 to 5: contacts, contact persons,
invoices) for two tenants."""
from __future__ import annotations

from tests.dbt.conftest import land_contact, land_invoice

ACME, GLOBEX = "acme", "globex"

BOWMAN = "460000000026049"      # primary person (2nd in Zoho's order) has a mobile: it wins
ZYLKER = "460000000026050"      # no contact mobile; another person's mobile beats all phones
SUPPLIER = "460000000026051"    # a vendor: never in customers_cache
QUIET = "460000000026052"       # no number anywhere
TWICE = "460000000026053"       # landed twice (" id" and "id"): one row, the latest version
GB_SHOP = "460000000026054"     # inactive, contact mobile only
GONE = "460000000026055"        # deleted in Zoho
LATE = "460000000026099"        # referenced by an invoice before it is synced


def contact(contact_id, name, *, contact_type="customer", status="active", email="", phone="",
            mobile="", modified="2024-05-02T10:20:31+0530", **extra):
    return {
        "contact_id": contact_id, "contact_name": name, "company_name": name,
        "contact_type": contact_type, "status": status, "payment_terms": 15,
        "payment_terms_label": "Net 15", "currency_id": "460000000000097", "currency_code": "USD",
        "outstanding_receivable_amount": 250, "unused_credits_receivable_amount": 0,
        "first_name": "", "last_name": "", "email": email, "phone": phone, "mobile": mobile,
        "created_time": "2023-08-05T12:06:10+0530", "last_modified_time": modified, **extra,
    }


def person(person_id, first, last, *, primary=False, email="", phone="", mobile=""):
    return {
        "contact_person_id": person_id, "salutation": "Mr", "first_name": first, "last_name": last,
        "email": email, "phone": phone, "mobile": mobile, "designation": "Accounts",
        "department": "Finance", "skype": "", "is_primary_contact": primary, "enable_portal": False,
        "communication_preference": {"is_sms_enabled": True, "is_whatsapp_enabled": False},
    }


def invoice(invoice_id, customer_id, number, *, status="sent", total=250, balance=None,
            date="2024-05-01", due_date="2024-05-16", modified="2024-05-02T02:02:51-0800", **extra):
    return {
        "invoice_id": invoice_id, "invoice_number": number, "reference_number": "",
        "customer_id": customer_id, "customer_name": "copied by Zoho, not by us",
        "status": status, "date": date, "due_date": due_date, "due_days": "Due in 14 day(s)",
        "currency_id": "460000000000097", "currency_code": "USD", "total": total,
        "balance": total if balance is None else balance, "exchange_rate": 1.0,
        "schedule_time": " ", "created_time": "2024-05-01T02:17:40-0800",
        "last_modified_time": modified, "is_emailed": True, "reminders_sent": 0, **extra,
    }


def land_all(conn) -> None:
    land_contact(
        conn, ACME, contact(BOWMAN, "Bowman and Co", email="willsmith@bowmanfurniture.com",
                            phone="+1-925-921-9201", mobile="+1-4054439562"),
        mobile_e164="+14054439562", phone_e164="+19259219201",
        persons=[(person("460000000026060", "Ann", "Other", mobile="(415) 555-0101"), "+14155550101", None),
                 (person("460000000026061", "Will", "Smith", primary=True, mobile="+1 415 555 0102",
                         phone="+1-925-921-9201"), "+14155550102", "+19259219201")])
    land_contact(
        conn, ACME, contact(ZYLKER, "Zylker Traders", phone="(415) 555-0123"),
        phone_e164="+14155550123",
        persons=[(person("460000000026070", "Priya", "Raman", primary=True, phone="(646) 555-0100"),
                  None, "+16465550100"),
                 (person("460000000026071", "Jon", "Doe", mobile="N/A"), None, None),
                 (person("460000000026072", "Li", "Wei", mobile="415-555-0177"), "+14155550177", None)])
    land_contact(conn, ACME, contact(SUPPLIER, "Supplies Inc", contact_type="vendor",
                                     mobile="+1 415 555 0199"), mobile_e164="+14155550199")
    land_contact(conn, ACME, contact(QUIET, "Quiet Customer", email=" "), persons=[])
    land_contact(conn, ACME, contact(TWICE, "Old Name", modified="2024-04-01T09:00:00+0000"),
                 contact_id=" " + TWICE)
    land_contact(conn, ACME, contact(TWICE, "New Name", modified="2024-05-01T09:00:00+0000"))
    land_contact(conn, ACME, contact(GB_SHOP, "Corner Shop Ltd", status="inactive", mobile="07911 123456"),
                 mobile_e164="+447911123456")
    land_contact(conn, ACME, contact(GONE, "Gone Ltd", mobile="+1 415 555 0150"),
                 mobile_e164="+14155550150", is_deleted=True)
    land_contact(conn, GLOBEX, contact(BOWMAN, "Globex's Bowman", mobile="+44 20 7946 0958"),
                 mobile_e164="+442079460958")

    land_invoice(conn, ACME, invoice("900001", BOWMAN, "INV-00001", status="overdue", total=250))
    land_invoice(conn, ACME, invoice("900002", ZYLKER, "INV-00002", status="paid", total=100, balance=0))
    land_invoice(conn, ACME, invoice("900003", ZYLKER, "INV-00003", status="partially_paid",
                                     total="300.00", balance="120.50"))
    land_invoice(conn, ACME, invoice("900004", LATE, "INV-00004", status="sent", total=80))
    land_invoice(conn, ACME, invoice("900005", BOWMAN, "INV-00005", status="draft", total=40,
                                     due_date=""))
    land_invoice(conn, ACME, invoice("900006", GONE, "INV-00006", status="void", total=60, balance=0))
    land_invoice(conn, GLOBEX, invoice("900001", BOWMAN, "GX-1", status="viewed", total=99.99))
