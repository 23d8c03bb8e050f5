"""Business rules without I/O, shared by several parts.

Owns: the phone rule (``phones``: normalising to E.164, choosing the primary phone, deciding whether
a contact's persons must be fetched), how the product reads a JSON setting (``settings``), how
secrets are kept out of text (``redaction``) and how values are made fit for JSON (``jsondata``).
May import: nothing of ``zoho`` (the bottom layer); no Airflow, no database, no HTTP.
"""
