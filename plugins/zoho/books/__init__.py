"""The Zoho Books API v3 client, usable without Airflow and without the warehouse.

Owns: HTTP calls, OAuth (refresh-token grant, shared token cache), the data centres (``regions``),
the endpoints as data (``endpoints``), pagination and streaming listings, the client-side rate
limiter (``ratelimit``), Zoho's timestamps (``timestamps``), and the typed errors with Zoho's error
codes (``errors``). The entry point is ``zoho.books.client.ZohoBooksClient``.
May import: ``zoho.rules`` only. Never Airflow, never the warehouse.
"""
