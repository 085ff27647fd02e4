"""Text from inputs made safe where people read it: a terminal or CI log, and JSON on stdout.

Model, rule, decisions and config text (names, titles, descriptions, reasons, file names)
reaches the terminal in messages and in the text output of every command. :func:`terminal`
is the one escaper for that: an escape sequence could restyle or clear the terminal or
carry an OSC 8 link, a bidirectional override could make a line read differently from what
it says, and a line that starts with ``::`` is a GitHub Actions workflow command
(``::error::``, ``::add-mask::``, ``::stop-commands::``), as is ``##[...]`` in the older
syntax. Markdown has its own escaper, :func:`threatgraph.formats.markdown.escape`.

This module imports nothing from threatgraph, so that every other module can use it.
"""

from __future__ import annotations

import re

#: What a terminal must never receive raw: C0 controls (line breaks included), DEL, C1
#: controls, the bidirectional marks, embeddings, overrides and isolates, the Unicode line
#: and paragraph separators, and lone surrogates (not text; they cannot even be encoded).
_UNSAFE_CLASS = (
    "\\x00-\\x1f\\x7f-\\x9f\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069"
    "\\ud800-\\udfff"
)
_UNSAFE = re.compile(f"[{_UNSAFE_CLASS}]")
#: The same, but for text laid out over lines by the caller: line feeds stay.
_UNSAFE_KEEP_LF = re.compile("[\\x00-\\x09\\x0b-" + _UNSAFE_CLASS[len("\\x00-") :] + "]")
#: The characters JSON text may hold raw (ensure_ascii=False) that a terminal must not get.
_JSON_UNSAFE = re.compile(
    "[\\x7f-\\x9f\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069\\ud800-\\udfff]"
)
#: A workflow command: '::' at the start of a line (GitHub trims leading blanks first).
_COMMAND_START = re.compile(r"^([^\S\n]*)::", re.MULTILINE)
#: The older workflow command syntax, '##[name ...]', read anywhere in a line.
_OLD_COMMAND = "##["
#: Lone surrogates: a decoded string holds a surrogate code point only when it is unpaired.
_SURROGATE = re.compile("[\\ud800-\\udfff]")


def _shown(m: re.Match[str]) -> str:
    c = m.group()
    if c in "\t\n\r":
        return {"\t": "\\t", "\n": "\\n", "\r": "\\r"}[c]
    n = ord(c)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}"


def terminal(text: str, *, multiline: bool = False) -> str:
    """``text`` safe for a terminal or a CI log; printable text comes back unchanged.

    Control characters, bidirectional controls and lone surrogates are shown as Python-style
    escapes (``\\x1b``, ``\\u202e``); a ``:`` that would start a workflow command (``::``
    at the start of a line, after blanks) becomes ``\\x3a``, and the ``[`` of ``##[``
    becomes ``\\x5b``. With ``multiline`` the line feeds of ``text`` stay and every line is
    made safe on its own (for a block the caller laid out); without it the text is one
    line (a line feed shows as ``\\n``), so a piece of text cannot start a line of its own.
    """
    if text.isprintable() and "::" not in text and _OLD_COMMAND not in text:
        return text
    t = (_UNSAFE_KEEP_LF if multiline else _UNSAFE).sub(_shown, text)
    if "::" in t:
        t = _COMMAND_START.sub(r"\1\\x3a:", t)
    if _OLD_COMMAND in t:
        t = t.replace(_OLD_COMMAND, "##\\x5b")
    return t


def terminal_json(text: str) -> str:
    """JSON text safe for a terminal, and still the same JSON value.

    JSON written with ``ensure_ascii=False`` keeps C1 controls, bidirectional controls and
    line separators raw inside its strings (C0 controls are always escaped). Each becomes
    its ``\\uXXXX`` escape, which is valid there: in JSON text they can only occur inside
    strings. So does the ``[`` of ``##[`` (the older workflow command syntax).
    """
    if _OLD_COMMAND in text:  # '#' is not JSON syntax: this is inside a string
        text = text.replace(_OLD_COMMAND, "##\\u005b")
    if text.isascii():
        return text
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


#: The message for an input string holding a lone surrogate, whatever its source.
LONE_SURROGATE = "a string holds a lone surrogate (\\ud800-\\udfff): not Unicode text"


def has_lone_surrogate(text: str) -> bool:
    """``text`` holds an unpaired UTF-16 surrogate (not Unicode text: it cannot be written)."""
    return _SURROGATE.search(text) is not None


def lone_surrogate_in(value: object, path: str = "") -> str | None:
    """The field path of the first string (key or value) holding a lone surrogate in a
    nested structure of dicts, lists, tuples, sets and pydantic models; None if none does.
    ``""`` when ``value`` itself is such a string.
    """
    if isinstance(value, str):
        return path if _SURROGATE.search(value) else None
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)  # type: ignore[assignment]
    elif isinstance(value, (set, frozenset)):
        items = ((i, v) for i, v in enumerate(sorted(value, key=repr)))  # type: ignore[assignment]
    elif hasattr(value, "__pydantic_fields__") and hasattr(value, "__dict__"):
        items = vars(value).items()
    else:
        return None
    for k, v in items:
        if isinstance(k, str) and _SURROGATE.search(k):
            return path  # the key itself cannot be shown
        found = lone_surrogate_in(v, f"{path}.{k}" if path else str(k))
        if found is not None:
            return found
    return None
