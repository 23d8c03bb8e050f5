"""The Zoho Books API v3 client, usable without Airflow and without the warehouse.

Owns: HTTP calls, OAuth (refresh-token grant, shared token cache: ``auth``), the data centres
(``regions``), the endpoints as data (``endpoints``), pagination and streaming listings (``client``),
the client-side rate limiter (``ratelimit``), reading an answer into its body or a typed error
(``responses``), the typed errors with the table of Zoho's error codes (``errors``), Zoho's
timestamps (``timestamps``), the call counters (``stats``) and the settings an Airflow-style
connection holds (``connection``). The entry point is ``zoho.books.client.ZohoBooksClient``.
May import: ``zoho.rules`` only. Never Airflow, never the warehouse.
"""
