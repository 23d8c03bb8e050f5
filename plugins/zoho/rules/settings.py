"""How the product reads a JSON setting (an Airflow Variable, or the same value from the environment).

A setting arrives as JSON text (a Variable, ``AIRFLOW_VAR_*``, a command-line option), as an object
already parsed (``Variable.get(..., deserialize_json=True)``, tests) or not at all. Unset (``None`` or
blank text) means "use the defaults"; anything else must be a JSON object, or the error names the
setting, so that whoever edits it knows which one to fix.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def read_json_setting(raw: str | Mapping | list | None, name: str, *, expected: str = "",
                      error: type[Exception] = ValueError, kind: type = dict) -> Any:
    """The value held by the setting ``name``: a dict (``kind=dict``, the default) or a list
    (``kind=list``), or None when the setting is unset.

    ``raw``: JSON text, an already parsed value, or None. Raises ``error`` (the caller's own
    ``ValueError`` subclass) with a message that starts with ``name`` when the text is not JSON or
    the value is not of that kind; ``expected`` says what it holds (``"with keys a, b"``).
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise error(f"{name} is not valid JSON: {exc}") from None
    if kind is list:
        if not isinstance(raw, list):
            raise error(f"{name} must be a JSON list" + (f" {expected}" if expected else ""))
        return list(raw)
    if not isinstance(raw, Mapping):
        raise error(f"{name} must be a JSON object" + (f" {expected}" if expected else ""))
    return dict(raw)
