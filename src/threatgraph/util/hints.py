"""Hints for messages about a value the user mistyped: "did you mean ...?", values cut short.

Loaders, the library, the policy and the commands all name values the user wrote; they share
these so that every message reads the same way.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any


def shown(value: str, limit: int = 80) -> str:
    """``repr(value)``, cut short: a 10,000-character name must not flood the terminal."""
    return repr(value) if len(value) <= limit else repr(value[: limit - 3] + "...")


def suggest(value: str, known: Iterable[str], n: int = 3) -> str:
    """A ' (did you mean ...?)' hint for a misspelt id, or ''."""
    close = difflib.get_close_matches(value, list(known), n=n, cutoff=0.6)
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""


def choice_message(error: Mapping[str, Any]) -> str | None:
    """A shorter message for a pydantic 'enum' or 'literal' error: the closest value.

    Pydantic lists every allowed value (17 for an element kind); the one meant is usually
    a near-spelling (``vectorstore``), so say that, and list them all only when nothing is
    close.
    """
    if error.get("type") not in ("enum", "literal_error") or not isinstance(
        error.get("input"), str
    ):
        return None
    expected = str((error.get("ctx") or {}).get("expected", ""))
    allowed = re.findall(r"'([^']*)'", expected)
    if not allowed:
        return None
    value: str = error["input"]
    hint = suggest(value.lower().replace(" ", "_").replace("-", "_"), allowed, n=2)
    if hint:
        return f"{shown(value)} is not allowed here{hint}"
    return f"{shown(value)} is not allowed here; one of {expected}"
