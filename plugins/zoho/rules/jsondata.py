"""Values made fit for JSON (and Postgres' jsonb): one walk over dicts and lists, one rule per leaf.

``jsonable(value, leaf)`` copies ``value`` with every dict key as text and every list or tuple as a
list, recursively, and passes each other value through ``leaf``. What a leaf becomes depends on the
caller: the raw payloads keep numbers and only turn NaN/Infinity into text
(``zoho.sync.records``); the quality gate's details turn every value into plain JSON types
(``zoho.checks.quality``).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _unchanged(value: Any) -> Any:
    return value


def jsonable(value: Any, leaf: Callable[[Any], Any] = _unchanged) -> Any:
    """A copy of ``value`` whose dicts have text keys and whose lists and tuples are lists, with
    every other value replaced by ``leaf(value)``."""
    if isinstance(value, dict):
        return {str(k): jsonable(v, leaf) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v, leaf) for v in value]
    return leaf(value)
