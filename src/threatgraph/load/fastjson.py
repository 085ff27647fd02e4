"""A JSON model file read the quick way, for files that are valid models.

The general reader (:func:`threatgraph.util.yamlsafe.parse_json`) gives every object and
array of a document its line, so that any problem can be reported where it is. A valid
model only needs the lines of its declared items (and of controls written as objects),
which become their locations. This reader finds just those: the C decoder parses each item
and says where it ends, and the lines come from counting newlines up to where each item
starts.

It gives up (returns None) on anything unusual: invalid JSON, a duplicate key, a missing
format version, a schema error, a lone surrogate (``"\\ud800"``). The caller then reads
the file the general way, which finds the same problem and reports it with its line. So a
valid file gives the same model either way, and an invalid one the same error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from threatgraph.model.schema import Location, SystemModel
from threatgraph.util.safetext import lone_surrogate_in
from threatgraph.util.yamlsafe import JSON_BRACKETS, SURROGATE_ESCAPE

#: Top-level sections whose items get a location (as ``declarative._stamp`` gives them).
SECTIONS = frozenset({"boundaries", "data", "elements", "flows", "decisions"})

_BLANKS = re.compile(r"[ \t\n\r]*")


def _skip(text: str, at: int) -> int:
    """The position of the first non-blank character from ``at``."""
    m = _BLANKS.match(text, at)
    return m.end() if m is not None else at


class _GiveUp(Exception):
    """Not a plain valid model: the general reader will say what is wrong."""


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _GiveUp  # a duplicate key
    return out


#: The decoder's scanner: one value from a position, and where it ends (the C scanner).
_SCAN: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder(object_pairs_hook=_object).scan_once  # type: ignore[attr-defined]


def _expect(text: str, at: int, char: str) -> int:
    """The position after ``char`` (and the blanks around it), which must come next."""
    at = _skip(text, at)
    if text[at : at + 1] != char:
        raise _GiveUp
    return _skip(text, at + 1)


def _top(text: str) -> tuple[dict[str, Any], int, list[tuple[int, int, Any]]]:
    """The document, the position of its '{', and each section item as (start, end,
    value) in the order of the text."""
    try:
        return _walk(text)
    except (StopIteration, ValueError, IndexError, RecursionError):
        raise _GiveUp from None  # not JSON the way a model file is: the general reader says


def _walk(text: str) -> tuple[dict[str, Any], int, list[tuple[int, int, Any]]]:
    scan, blanks = _SCAN, _BLANKS.match
    start = _skip(text, 0)
    if text[start : start + 1] != "{":
        raise _GiveUp
    doc: dict[str, Any] = {}
    items: list[tuple[int, int, Any]] = []
    add = items.append
    at = _skip(text, start + 1)
    if text[at : at + 1] == "}":
        at += 1
    else:
        while True:
            if text[at : at + 1] != '"':
                raise _GiveUp
            key, at = scan(text, at)
            if key in doc:
                raise _GiveUp
            at = _expect(text, at, ":")
            if key in SECTIONS and text[at : at + 1] == "[":
                value: list[Any] = []
                at = _skip(text, at + 1)
                if text[at : at + 1] == "]":
                    at += 1
                else:
                    while True:  # one item of the section per turn, parsed in C
                        item, end = scan(text, at)
                        add((at, end, item))
                        value.append(item)
                        at = blanks(text, end).end()  # type: ignore[union-attr]
                        sep = text[at]
                        if sep == ",":
                            at = blanks(text, at + 1).end()  # type: ignore[union-attr]
                        elif sep == "]":
                            at += 1
                            break
                        else:
                            raise _GiveUp
            else:
                value, at = scan(text, at)
            doc[key] = value
            at = _skip(text, at)
            if text[at : at + 1] == "}":
                at += 1
                break
            at = _expect(text, at, ",")
    if _skip(text, at) != len(text):
        raise _GiveUp  # more after the document
    return doc, start, items


def _containers(value: Any, out: list[Any]) -> None:
    """Every object and array inside ``value`` (itself first), in the order of the text."""
    out.append(value)
    for v in value.values() if isinstance(value, dict) else value:
        if isinstance(v, (dict, list)):
            _containers(v, out)


def _object_lines(text: str, item: Any, start: int, end: int, line: int) -> dict[int, int]:
    """Line of each object and array of one item (by identity), its '{' at ``start``."""
    found: list[Any] = []
    _containers(item, found)
    lines: dict[int, int] = {}
    last = start
    opening = (m.start(1) for m in JSON_BRACKETS.finditer(text, start, end) if m.group(1) in "[{")
    for value, pos in zip(found, opening, strict=False):
        line += text.count("\n", last, pos)
        last = pos
        lines[id(value)] = line
    return lines


def load_model(text: str, file: str) -> SystemModel | None:
    """The model in a JSON model file, or None when the file needs the general reader."""
    try:
        doc, start, items = _top(text)
    except _GiveUp:
        return None
    if SURROGATE_ESCAPE.search(text) is not None and lone_surrogate_in(doc) is not None:
        return None  # not text: the general reader reports it with its line
    if "threatgraph" not in doc:
        return None
    line = text.count("\n", 0, start) + 1
    doc_line, last = line, start
    for begin, end, item in items:
        line += text.count("\n", last, begin)
        last = begin
        if not isinstance(item, dict):
            continue  # the schema says what is wrong
        if "location" in item:
            return None  # refused, with the key's line, by the general reader
        item["location"] = {"file": file, "line": line}
        controls = item.get("controls")
        if isinstance(controls, list) and any(isinstance(c, dict) for c in controls):
            try:
                lines = _object_lines(text, item, begin, end, line)
            except RecursionError:
                return None
            for ctl in controls:
                if isinstance(ctl, dict) and "location" not in ctl:
                    ctl["location"] = {"file": file, "line": lines[id(ctl)]}
    try:
        model = SystemModel.model_validate(doc)
    except ValidationError:
        return None
    model.location = Location(file=file, line=doc_line)
    return model
