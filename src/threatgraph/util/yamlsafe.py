"""Safe YAML/JSON reading that remembers line numbers and refuses hostile documents.

Only PyYAML's safe constructors run (no Python tags). Documents are bounded in size,
nesting depth and alias use, so a "billion laughs" file or a deeply nested one is an
input error, not a hang.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from threatgraph.util.errors import InputError, Problem
from threatgraph.util.hints import choice_message
from threatgraph.util.readfile import MAX_BYTES as MAX_BYTES  # the limit lives with the reader
from threatgraph.util.readfile import read_input
from threatgraph.util.safetext import LONE_SURROGATE, has_lone_surrogate, lone_surrogate_in

MAX_DEPTH = 64
MAX_NODES = 5_000_000
#: Most characters of scalar text (keys and values) in one document, counting every alias
#: as a copy of what it names: a document cannot hold more text than a file of the size limit
#: could, so aliases repeating one long string do not multiply the memory a run uses.
MAX_CHARS = MAX_BYTES

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class LineDict(dict[str, Any]):
    """A mapping that knows the line of itself and of each key (1-based)."""

    line: int = 0
    #: Key lines in key order, turned into ``key_lines`` only when something asks (error
    #: messages, mostly): most documents never need them.
    _key_lines: dict[str, int] | None = None
    #: For JSON: the document text and the offset of this object's '{'.
    _source: tuple[str, int] | None = None

    @property
    def key_lines(self) -> dict[str, int]:
        """Key -> line of the key."""
        if self._key_lines is None:
            order = _json_key_lines(*self._source) if self._source is not None else []
            self._key_lines = dict(zip(self.keys(), order, strict=False))
        return self._key_lines

    @key_lines.setter
    def key_lines(self, value: dict[str, int]) -> None:
        self._key_lines = value


class LineList(list[Any]):
    """A sequence that knows the line of itself and of each item (1-based)."""

    line: int = 0
    item_lines: list[int]


class _Loader(_BaseLoader):  # type: ignore[misc,valid-type]
    """Safe loader (C-accelerated when available) that counts aliases and nodes."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.aliases = 0
        self.nodes = 0  # nodes as if every alias were expanded in place
        self.chars = 0  # scalar characters as if every alias were expanded in place
        self.sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (nodes, chars) below it
        self._tags: dict[tuple[Any, ...], str] = {}
        self._flat: set[int] = set()  # ids of mapping nodes whose merge keys are flattened

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        # Implicit tag resolution runs a regex list per scalar; models repeat the same
        # scalars (kinds, protocols, booleans) thousands of times, so remember answers.
        if kind is not yaml.ScalarNode:
            return super().resolve(kind, value, implicit)
        key = (value, implicit)
        tag = self._tags.get(key)
        if tag is None:
            tag = self._tags[key] = super().resolve(kind, value, implicit)
        return tag

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        """PyYAML's merge-key (``<<``) flattening, with the merged pairs counted.

        Each merge copies the pairs of the merged mappings into this one before anything
        else counts them, and merged mappings may merge others: without a bound, a few lines
        of nested merges build billions of pairs.
        """
        if id(node) in self._flat:  # merged again through another alias: done already
            return
        self._flat.add(id(node))
        merge: list[tuple[yaml.Node, yaml.Node]] = []
        index = 0
        while index < len(node.value):
            key_node, value_node = node.value[index]
            if key_node.tag == "tag:yaml.org,2002:merge":
                del node.value[index]
                if isinstance(value_node, yaml.MappingNode):
                    subnodes = [value_node]
                elif isinstance(value_node, yaml.SequenceNode):
                    subnodes = list(value_node.value)
                else:
                    raise _Refused(
                        value_node.start_mark.line + 1,
                        f"expected a mapping or list of mappings for merging, "
                        f"but found {value_node.id}",
                    )
                submerge = []
                for sub in subnodes:
                    if not isinstance(sub, yaml.MappingNode):
                        raise _Refused(
                            sub.start_mark.line + 1,
                            f"expected a mapping for merging, but found {sub.id}",
                        )
                    self.flatten_mapping(sub)
                    submerge.append(sub.value)
                for value in reversed(submerge):
                    if len(merge) + len(value) > MAX_NODES:
                        raise _Refused(
                            key_node.start_mark.line + 1,
                            f"merge keys ('<<') expand to more than {MAX_NODES} nodes",
                        )
                    merge.extend(value)
            elif key_node.tag == "tag:yaml.org,2002:value":
                key_node.tag = _STR_TAG
                index += 1
            else:
                index += 1
        if merge:
            node.value = merge + node.value


class _Refused(Exception):
    """A document refused for its shape, at a line."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_STR_TAG = "tag:yaml.org,2002:str"


def _to_python(node: yaml.Node, loader: _Loader, depth: int, seen: dict[int, Any]) -> Any:
    line = node.start_mark.line + 1
    if depth > MAX_DEPTH:
        raise _Refused(line, f"nesting deeper than {MAX_DEPTH} levels")
    if id(node) in seen:  # an alias: shared, but each use could multiply the data later on
        loader.aliases += 1
        nodes, chars = loader.sizes[id(node)]
        loader.nodes += nodes
        loader.chars += chars
        if loader.nodes > MAX_NODES:
            raise _Refused(line, f"aliases expand to more than {MAX_NODES} nodes")
        if loader.chars > MAX_CHARS:
            raise _Refused(line, f"aliases expand to more than {MAX_CHARS} characters of text")
        return seen[id(node)]
    before, chars_before = loader.nodes, loader.chars
    loader.nodes += 1
    if loader.nodes > MAX_NODES:
        raise _Refused(line, f"more than {MAX_NODES} nodes in one document")
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in (
        _MAP_TAG,
        _SEQ_TAG,
    ):
        raise _Refused(line, f"unsupported tag {node.tag!r} (only plain YAML is accepted)")
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        out = LineDict()
        out.line = node.start_mark.line + 1
        out.key_lines = {}
        for key_node, value_node in node.value:
            key = _to_python(key_node, loader, depth + 1, seen)
            kline = key_node.start_mark.line + 1
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise _Refused(kline, "unsupported key type")
            skey = str(key) if not isinstance(key, str) else key
            if skey in out:
                raise _Refused(kline, f"duplicate key {skey!r}")
            out[skey] = _to_python(value_node, loader, depth + 1, seen)
            out.key_lines[skey] = key_node.start_mark.line + 1
        seen[id(node)] = out
        loader.sizes[id(node)] = (loader.nodes - before, loader.chars - chars_before)
        return out
    if isinstance(node, yaml.SequenceNode):
        seq = LineList()
        seq.line = node.start_mark.line + 1
        seq.item_lines = []
        for item in node.value:
            seq.append(_to_python(item, loader, depth + 1, seen))
            seq.item_lines.append(item.start_mark.line + 1)
        seen[id(node)] = seq
        loader.sizes[id(node)] = (loader.nodes - before, loader.chars - chars_before)
        return seq
    # A scalar is visited again at each alias (or merge key) that names it, so its text
    # counts every time. A file within MAX_BYTES cannot exceed MAX_CHARS without aliases.
    loader.chars += len(node.value)
    if loader.chars > MAX_CHARS:
        raise _Refused(
            line,
            f"aliases expand to more than {MAX_CHARS} characters of text (this value, "
            "repeated through aliases, counts at each use)",
        )
    if node.tag == _STR_TAG:  # the common case: skip the constructor machinery
        return node.value
    try:
        return loader.construct_object(node, deep=True)
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError):
        # PyYAML's safe constructors raise plain Python errors for values their tag's regex
        # accepts but the type refuses: 2026-02-30, `!!int ten`, a 5000-digit integer.
        value = str(node.value)
        shown = value if len(value) <= 60 else value[:57] + "..."
        kind = str(node.tag).rsplit(":", 1)[-1]
        raise _Refused(line, f"invalid {kind} value {shown!r}") from None


#: A YAML escape of a UTF-16 surrogate (libyaml refuses them; PyYAML's pure-Python scanner
#: does not).
_YAML_SURROGATE_ESCAPE = re.compile(r"\\(?:u|U0000)[dD][89a-fA-F]")


def parse_text(text: str, file: str) -> Any:
    """Parse one YAML (or JSON) document into LineDict/LineList values."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        doc = _to_python(node, loader, 0, {})
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        msg = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise InputError.single(file, line, f"invalid YAML: {msg}") from None
    except _Refused as exc:
        raise InputError.single(file, exc.line, f"invalid YAML: {exc}") from None
    except yaml.reader.ReaderError as exc:  # a character YAML forbids (controls, U+FFFE...)
        line = text[: exc.position].count("\n") + 1
        char = exc.character if isinstance(exc.character, int) else ord(exc.character or "\0")
        raise InputError.single(
            file, line, f"invalid YAML: character U+{char:04X} is not allowed"
        ) from None
    except yaml.YAMLError as exc:
        raise InputError.single(file, 0, f"invalid YAML: {exc}") from None
    except RecursionError:
        raise InputError.single(file, 0, "document nested too deeply") from None
    finally:
        loader.dispose()
    m = _YAML_SURROGATE_ESCAPE.search(text)
    if m is not None and lone_surrogate_in(doc) is not None:
        raise InputError.single(file, text.count("\n", 0, m.start()) + 1, LONE_SURROGATE)
    return doc


def read_text(path: Path) -> str:
    """Read a text input with a size limit; binary or non-UTF-8 files are input errors.

    Only a regular file is read, and never more than MAX_BYTES (see
    :mod:`threatgraph.util.readfile`).
    """
    file = str(path)
    raw = read_input(path, MAX_BYTES)
    nul = raw.find(b"\x00")
    if nul >= 0:
        line = raw[:nul].count(b"\n") + 1
        raise InputError.single(file, line, "binary file (contains NUL bytes)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError.single(file, line, "not valid UTF-8 text") from None


_JSON_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|[\[\]{}:\n]')
#: The next bracket outside a string (group 1); strings and everything else are skipped
#: inside the expression, possessively, so there is no backtracking.
JSON_BRACKETS = re.compile(r'(?:[^"\[\]{}]++|"[^"\\]*+(?:\\.[^"\\]*+)*+")*+([\[\]{}])')


def _json_key_lines(text: str, start: int) -> list[int]:
    """Lines of the keys of the JSON object whose '{' is at ``start``, in key order."""
    line = text.count("\n", 0, start) + 1
    depth, string_line, out = 0, line, []
    for m in _JSON_TOKEN.finditer(text, start):
        c = m.group()[0]
        if c == "\n":
            line += 1
        elif c == '"':
            string_line = line
        elif c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
            if depth == 0:
                break
        elif depth == 1:  # ':' after a key of this object
            out.append(string_line)
    return out


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = LineDict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        dup = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise _DuplicateKey(f"duplicate key {dup!r}")
    return out


def _too_deep_line(text: str) -> int:
    """The line where brackets first nest deeper than MAX_DEPTH (0: they never do)."""
    depth, line = 0, 1
    for m in _JSON_TOKEN.finditer(text):
        c = m.group()[0]
        if c == "\n":
            line += 1
        elif c in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return line
        elif c in "]}":
            depth -= 1
    return 0


def _duplicate_line(text: str) -> int:
    """The line of the first key repeated within one JSON object (0: none found)."""
    stack: list[set[str] | None] = []  # keys per open object; None for an array
    line, key, key_line = 1, "", 0
    for m in _JSON_TOKEN.finditer(text):
        tok = m.group()
        if tok == "\n":
            line += 1
        elif tok[0] == '"':
            key, key_line = tok, line
        elif tok == "{":
            stack.append(set())
        elif tok == "[":
            stack.append(None)
        elif tok in "]}":
            if stack:
                stack.pop()
        elif tok == ":" and stack and stack[-1] is not None:
            try:
                name = json.loads(key)
            except ValueError:
                return 0
            if name in stack[-1]:
                return key_line
            stack[-1].add(name)
    return 0


#: A JSON escape of a UTF-16 surrogate: the only way a JSON text can hold a lone one (the
#: text itself is valid UTF-8). Paired escapes decode to one character and are fine.
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_JSON_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"|\n')


def lone_surrogate_line(text: str) -> int:
    """The line of the first JSON string (key or value) that decodes to text holding a lone
    surrogate; 0 when none does. Only called when :data:`SURROGATE_ESCAPE` matches."""
    line = 1
    for m in _JSON_STRING.finditer(text):
        tok = m.group()
        if tok == "\n":
            line += 1
        elif SURROGATE_ESCAPE.search(tok):
            try:
                value = json.loads(tok)
            except ValueError:
                continue
            if has_lone_surrogate(value):
                return line
    return 0


def parse_json(text: str, file: str) -> Any:
    """Parse JSON with the C parser, then attach lines from one regex pass over the text.

    JSON keeps object keys in textual order, so the n-th opening bracket in the text is the
    n-th container in a pre-order walk of the parsed value; that lines them up without a
    slow line-tracking parser.
    """
    if not text.strip():
        return None  # an empty document, as for YAML: callers say what they expected
    try:
        doc = json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise InputError.single(file, exc.lineno, f"invalid JSON: {exc.msg}") from None
    except _DuplicateKey as exc:
        raise InputError.single(file, _duplicate_line(text), f"invalid JSON: {exc}") from None
    except RecursionError:
        raise InputError.single(
            file, _too_deep_line(text), f"nesting deeper than {MAX_DEPTH} levels"
        ) from None
    if SURROGATE_ESCAPE.search(text) is not None:
        line = lone_surrogate_line(text)
        if line:
            # Not Unicode text: no report, terminal or file encoding can write it.
            raise InputError.single(file, line, LONE_SURROGATE)
    # One pass over the brackets outside strings (the regular expression skips strings
    # without a Python step per token); lines come from counting newlines in C. Key lines
    # are only worked out when something asks for them (see LineDict.key_lines).
    open_lines: list[int] = []
    open_at: list[int] = []
    depth, line, last = 0, 1, 0
    count = text.count
    for m in JSON_BRACKETS.finditer(text):
        pos = m.start(1)
        if text[pos] in "[{":
            line += count("\n", last, pos)
            last = pos
            depth += 1
            if depth > MAX_DEPTH:
                raise InputError.single(file, line, f"nesting deeper than {MAX_DEPTH} levels")
            open_lines.append(line)
            open_at.append(pos)
        else:
            depth -= 1
    counter = iter(range(len(open_lines)))

    def attach(value: Any) -> Any:
        if isinstance(value, LineDict):
            i = next(counter)
            value.line = open_lines[i]
            value._source = (text, open_at[i])
            for k, v in value.items():
                if isinstance(v, (LineDict, list)):
                    value[k] = attach(v)
            return value
        i = next(counter)
        seq = LineList(value)
        seq.line = open_lines[i]
        item_lines = [seq.line] * len(seq)
        for n, v in enumerate(seq):
            if isinstance(v, (LineDict, list)):
                item = seq[n] = attach(v)
                item_lines[n] = item.line
        seq.item_lines = item_lines
        return seq

    return attach(doc) if isinstance(doc, (LineDict, list)) else doc


def load_document(path: Path) -> Any:
    """Read and parse a YAML or JSON file with line information."""
    text = read_text(path)
    if path.suffix.lower() == ".json":
        return parse_json(text, str(path))
    return parse_text(text, str(path))


def load_headed_list(
    path: Path, header: str, version: int, key: str, *, kind: str, missing: str
) -> LineList | list[Any]:
    """The list under ``key`` of a file that must start with ``header: version``.

    Decisions files and baselines have this shape: a version header and one list, nothing
    else. ``kind`` names the file in messages (``a decisions file``); ``missing`` is the
    message when the file does not exist. An empty list (``key:`` with no value) is ``[]``.
    """
    file = str(path)
    if not path.exists():  # a FIFO or a device is refused by the read
        raise InputError.single(file, 0, missing)
    doc = load_document(path)
    if not isinstance(doc, dict) or doc.get(header) != version:
        raise InputError.single(
            file,
            getattr(doc, "line", 1) or 1,
            f"not {kind}: expected '{header}: {version}' at the top",
            header,
        )
    unknown = sorted(set(doc) - {header, key})
    if unknown:
        raise InputError.single(file, _key_line(doc, unknown[0]), "unknown key (typo?)", unknown[0])
    items = doc.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        raise InputError.single(file, _key_line(doc, key), f"must be a list of {key}", key)
    return items


def _key_line(doc: dict[str, Any], key: str) -> int:
    return doc.key_lines.get(key, 1) if isinstance(doc, LineDict) else 1


def line_of(doc: Any, loc: tuple[str | int, ...]) -> int:
    """The best line for a pydantic error location inside a parsed document."""
    line = getattr(doc, "line", 0)
    cur = doc
    for part in loc:
        if isinstance(cur, LineDict) and isinstance(part, str) and part in cur:
            line = cur.key_lines.get(part, line)
            cur = cur[part]
        elif isinstance(cur, LineList) and isinstance(part, int) and 0 <= part < len(cur):
            line = cur.item_lines[part]
            cur = cur[part]
        else:
            break
    return line


def problems_from_validation(exc: Any, doc: Any, file: str) -> list[Problem]:
    """Turn a pydantic ValidationError into problems with lines and field paths."""
    out = []
    for e in exc.errors():
        loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        field = ".".join(str(p) for p in loc) or None
        msg = choice_message(e) or e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown field (typo?)"
        out.append(Problem(file, line_of(doc, loc), msg, field))
    return out


def versioned_document(
    path: Path,
    header: str,
    version: int,
    keys: frozenset[str],
    what: str,
    missing: str | None = None,
) -> LineDict:
    """A YAML/JSON file that must start with ``header: version`` and hold only ``keys``
    besides it (decisions, baseline and register files). ``what`` names the kind of file in
    the messages, ``missing`` replaces the one for an absent file; every problem is an
    InputError with the file and line."""
    file = str(path)
    if not path.exists():  # a FIFO or a device is refused by the read
        raise InputError.single(file, 0, missing or f"{what} does not exist")
    doc = load_document(path)
    if not isinstance(doc, LineDict) or doc.get(header) != version:
        raise InputError.single(
            file,
            getattr(doc, "line", 1) or 1,
            f"not a {what}: expected '{header}: {version}' at the top",
            header,
        )
    unknown = sorted(set(doc) - keys - {header})
    if unknown:
        line = doc.key_lines.get(unknown[0], 1)
        raise InputError.single(file, line, "unknown key (typo?)", unknown[0])
    return doc
