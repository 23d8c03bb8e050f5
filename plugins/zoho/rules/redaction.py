"""Keeping secrets out of text: every known secret in a message is replaced by ``***``.

Used wherever text that may quote a credential leaves the code: the Zoho Books client's error
messages (client secret, refresh token, access tokens), the token endpoint's errors, and the quality
gate's stored details and errors (the warehouse password).
"""
from __future__ import annotations

from collections.abc import Iterable

MASK = "***"


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each (non-empty) secret replaced by ``***``, in the order
    given (so a secret that contains another must come first)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text
