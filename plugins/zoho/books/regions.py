"""Zoho data centres: region code -> (accounts server, API host).

Source: docs/ZOHO_API.md §1.1 (accounts servers, from Zoho Books' OAuth page and Zoho Accounts'
multi-DC page) and §2.1 (API hosts, "8 different domains for Zoho Books' APIs"). Canada is the odd
one: its accounts server is ``accounts.zohocloud.ca`` while its API host is ``www.zohoapis.ca``.

Both values are *roots*, like Zoho's own: the client appends ``/oauth/v2/token`` to the accounts
server and ``/books/v3/...`` to the API host. ``api_base_url`` / ``accounts_url`` from the
connection override them (the sandbox and tests use this).
"""
from __future__ import annotations

from dataclasses import dataclass

from zoho.books.errors import ConfigurationError


@dataclass(frozen=True)
class Region:
    code: str
    accounts_url: str
    api_base_url: str


REGIONS: dict[str, Region] = {
    r.code: r
    for r in (
        Region("com", "https://accounts.zoho.com", "https://www.zohoapis.com"),
        Region("eu", "https://accounts.zoho.eu", "https://www.zohoapis.eu"),
        Region("in", "https://accounts.zoho.in", "https://www.zohoapis.in"),
        Region("com.au", "https://accounts.zoho.com.au", "https://www.zohoapis.com.au"),
        Region("jp", "https://accounts.zoho.jp", "https://www.zohoapis.jp"),
        Region("ca", "https://accounts.zohocloud.ca", "https://www.zohoapis.ca"),
        Region("com.cn", "https://accounts.zoho.com.cn", "https://www.zohoapis.com.cn"),
        Region("sa", "https://accounts.zoho.sa", "https://www.zohoapis.sa"),
    )
}

DEFAULT_REGION = "com"


def _root(url: str) -> str:
    """Normalise a configured root: no trailing slash, and tolerate a pasted ``/books/v3`` or
    ``/oauth/v2/token`` suffix (people copy full URLs from Zoho's docs)."""
    url = url.strip().rstrip("/")
    for suffix in ("/books/v3", "/books", "/oauth/v2/token", "/oauth/v2"):
        if url.endswith(suffix):
            url = url[: -len(suffix)]
    return url


def resolve(
    region: str | None = None,
    api_base_url: str | None = None,
    accounts_url: str | None = None,
) -> tuple[str, str]:
    """Return ``(accounts_url, api_base_url)`` roots for a region, with overrides applied.

    An unknown region is an error unless both hosts are given explicitly.
    """
    code = (region or DEFAULT_REGION).strip().lower().lstrip(".")
    known = REGIONS.get(code)
    if known is None and not (api_base_url and accounts_url):
        raise ConfigurationError(
            f"unknown Zoho region {region!r}; expected one of {', '.join(REGIONS)} "
            "(or give both api_base_url and accounts_url)",
            endpoint="configuration",
        )
    accounts = _root(accounts_url) if accounts_url else known.accounts_url
    api = _root(api_base_url) if api_base_url else known.api_base_url
    return accounts, api
