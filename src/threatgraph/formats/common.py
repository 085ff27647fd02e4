"""Helpers shared by output formats: locations, references, summaries, JSON text."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from json.encoder import encode_basestring
from operator import attrgetter
from pathlib import Path
from typing import Any

from threatgraph.engine.findings import STATUSES, Finding
from threatgraph.engine.rules import SEVERITIES
from threatgraph.model.schema import Location
from threatgraph.util.jsonvalue import JSONValue
from threatgraph.util.paths import display_path


def location_dict(loc: Location, base: Path | None = None) -> dict[str, Any]:
    """A location as JSON."""
    return {"file": display_path(loc.file, base), "line": loc.line}


_STATUS = attrgetter("status")


def summary(findings: Iterable[Finding]) -> dict[str, Any]:
    """Counts by status and, for open findings, by severity."""
    fs = list(findings)
    by_status = Counter(map(_STATUS, fs))
    open_sev = Counter([f.severity for f in fs if f.status == "open"])
    return {
        "total": len(fs),
        "by_status": {s: by_status.get(s, 0) for s in STATUSES},
        "open_by_severity": {s: open_sev.get(s, 0) for s in reversed(SEVERITIES)},
    }


def reference_url(ref: str, index: dict[str, Any]) -> str | None:
    """The URL of a pinned reference ``scheme:ID@edition`` from the reference index."""
    try:
        scheme, rest = ref.split(":", 1)
        rid = rest.rsplit("@", 1)[0]
    except ValueError:
        return None
    entry = (index.get("entries", {}).get(scheme) or {}).get(rid)
    if isinstance(entry, dict) and entry.get("url"):
        return str(entry["url"])
    sch = index.get("schemes", {}).get(scheme)
    if isinstance(sch, dict) and sch.get("url"):
        return str(sch["url"])
    return None


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "))


#: A string as JSON text (the C encoder's, as json_text writes strings).
json_string: Callable[[str], str] = encode_basestring


def count_text(n: int, word: str) -> str:
    """'1 finding', '2 findings': a count and a noun that takes an 's' in the plural."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def json_compact(value: JSONValue) -> str:
    """One value as compact JSON, as :func:`json_text` writes its inner levels (C encoder)."""
    return _ENCODER.encode(value)


class EncodedItems(list[str]):
    """A JSON array whose items are already JSON text, as :func:`json_text` would write them
    where they stand: compact (:func:`json_compact`) at depth ``expand`` and deeper, laid out
    over lines above that (findings.sarif's results).

    :func:`json_text` writes the items as they are (one per line when the array is one of
    its outer ``expand`` levels), wherever it lays a value out itself: down to depth
    ``expand``. Deeper, inside a value the C encoder writes, it would be a list of strings.
    Formats use it for items they encode from pieces made once (a big report repeats the
    same rule text thousands of times).
    """

    __slots__ = ()


def json_text(value: JSONValue, expand: int = 2) -> str:
    """Deterministic JSON, indented for the outer ``expand`` levels and compact below.

    Python's json drops to a slow pure-Python encoder whenever ``indent`` is set; encoding
    the inner values compactly keeps the C encoder and still gives one item per line.
    The items of an :class:`EncodedItems` array are written as they are.
    """
    enc = _ENCODER.encode
    # Pieces joined once at the end: a big report is tens of MB, and every concatenation
    # of a level's text would copy all of it again.
    out: list[str] = []
    put = out.append

    def emit(v: JSONValue, depth: int) -> None:
        if isinstance(v, EncodedItems) and (depth >= expand or not v):
            put("[" + ", ".join(v) + "]")
            return
        if depth >= expand or not v or not isinstance(v, dict | list):
            put(enc(v))
            return
        inner = "  " * (depth + 1)
        sep = ",\n" + inner
        if isinstance(v, dict):
            put("{\n" + inner)
            for i, (k, x) in enumerate(v.items()):
                put(f"{sep if i else ''}{enc(k)}: ")
                emit(x, depth + 1)
            put("\n" + "  " * depth + "}")
        elif isinstance(v, EncodedItems):
            put("[\n" + inner)
            for i, x in enumerate(v):
                if i:
                    put(sep)
                put(x)
            put("\n" + "  " * depth + "]")
        else:
            put("[\n" + inner)
            for i, x in enumerate(v):
                if i:
                    put(sep)
                emit(x, depth + 1)
            put("\n" + "  " * depth + "]")

    emit(value, 0)
    put("\n")
    return "".join(out)
