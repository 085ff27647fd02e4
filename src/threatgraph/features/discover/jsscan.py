"""The JavaScript/TypeScript recogniser: a tokenizer drops comments, strings and regular
expressions, then imports, requires and calls are matched on the tokens.

A string mentioning ``openai`` is a string token and never matches an import or a call; only
the string right after ``from``, ``import(`` or ``require(`` names a package. Names are
resolved through the file's imports (``import OpenAI from "openai"`` then ``new OpenAI()``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from threatgraph.features.discover import catalog
from threatgraph.features.discover.common import (
    attribute_env,
    key,
    model_name,
    sdk_call,
    tech_component,
    vendor_component,
    vendor_of_model,
)
from threatgraph.features.discover.result import Discovery, Evidence, Link

_ID_START = re.compile(r"[A-Za-z_$\u0080-\uffff]")
_ID = re.compile(r"[A-Za-z0-9_$\u0080-\uffff]+")
_NUM = re.compile(r"\d[\w.]*")
_REGEX_BEFORE = frozenset("(,=:[!&|?{};+-*%<>~^")
_REGEX_KEYWORDS = frozenset(
    {
        "return",
        "typeof",
        "case",
        "do",
        "else",
        "in",
        "of",
        "new",
        "delete",
        "void",
        "throw",
        "yield",
        "await",
        "instanceof",
    }
)
#: A file is tokenized only when a string in it names a package discovery knows (an import
#: or require names its package as a string literal; most files import none of these).
_TRIGGER = re.compile(
    r"""["'`](?:"""
    + "|".join(sorted({re.escape(p) for t in catalog.ALL for p in t.js}, key=len, reverse=True))
    + r""")["'`/]"""
)
_MCP_SERVER = frozenset({"McpServer", "Server"})
_CAP_PACKAGES = {
    "child_process": "shell",
    "node:child_process": "shell",
    "fs": "file_system",
    "node:fs": "file_system",
    "fs/promises": "file_system",
    "node:fs/promises": "file_system",
    "pg": "sql",
    "mysql2": "sql",
    "nodemailer": "send_email",
    "axios": "http",
    "node-fetch": "http",
}


@dataclass(frozen=True)
class Tok:
    """A token: ``id``, ``str`` (value without quotes) or ``p`` (punctuation)."""

    kind: str
    value: str
    line: int


def tokenize(text: str) -> list[Tok]:
    """The tokens of ``text``; comments dropped, strings and templates as ``str`` tokens
    (the code inside ``${...}`` of a template is tokenized too), regular expressions dropped."""
    out: list[Tok] = []
    i, n, line = 0, len(text), 1
    braces: list[int] = []  # for each open `${`: the brace depth it closes at
    depth = 0
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif c in " \t\r\f\v":
            i += 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            end = n if j < 0 else j + 2
            line += text.count("\n", i, end)
            i = end
        elif c in "'\"":
            j, value = _quoted(text, i, c)
            out.append(Tok("str", value, line))
            line += text.count("\n", i, j)
            i = j
        elif c == "`" or (c == "}" and braces and braces[-1] == depth):
            if c == "}":
                braces.pop()
            j, value, opened = _template(text, i + 1)
            out.append(Tok("str", value, line))
            line += text.count("\n", i, j)
            i = j
            if opened:
                braces.append(depth)
        elif c == "/" and _regex_allowed(out):
            i = _regex_end(text, i)
        elif _ID_START.match(c):
            m = _ID.match(text, i)
            assert m is not None
            out.append(Tok("id", m.group(), line))
            i = m.end()
        elif c.isdigit():
            m = _NUM.match(text, i)
            i = m.end() if m else i + 1
        else:
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
            out.append(Tok("p", c, line))
            i += 1
    return out


def _quoted(text: str, i: int, q: str) -> tuple[int, str]:
    j = i + 1
    parts: list[str] = []
    while j < len(text) and text[j] != q and text[j] != "\n":
        if text[j] == "\\" and j + 1 < len(text):
            parts.append(text[j + 1])
            j += 2
            continue
        parts.append(text[j])
        j += 1
    return j + 1, "".join(parts)


def _template(text: str, j: int) -> tuple[int, str, bool]:
    """From inside a template: (index after its end or after ``${``, text, whether ``${``)."""
    parts: list[str] = []
    while j < len(text):
        ch = text[j]
        if ch == "\\":
            parts.append(text[j + 1 : j + 2])
            j += 2
        elif ch == "`":
            return j + 1, "".join(parts), False
        elif text.startswith("${", j):
            return j + 2, "".join(parts), True
        else:
            parts.append(ch)
            j += 1
    return j, "".join(parts), False


def _regex_allowed(out: list[Tok]) -> bool:
    if not out:
        return True
    last = out[-1]
    if last.kind == "p":
        return last.value in _REGEX_BEFORE
    return last.kind == "id" and last.value in _REGEX_KEYWORDS


def _regex_end(text: str, i: int) -> int:
    j = i + 1
    in_class = False
    while j < len(text) and text[j] != "\n":
        ch = text[j]
        if ch == "\\":
            j += 2
            continue
        if ch == "[":
            in_class = True
        elif ch == "]":
            in_class = False
        elif ch == "/" and not in_class:
            j += 1
            while j < len(text) and (text[j].isalnum() or text[j] == "_"):
                j += 1
            return j
        j += 1
    return j


@dataclass
class _File:
    rel: str
    found: Discovery
    toks: list[Tok]
    names: dict[str, str] = field(default_factory=dict)  # local -> package[.name]
    match: dict[int, int] = field(default_factory=dict)  # bracket index -> its partner
    mcp_vars: dict[str, str] = field(default_factory=dict)  # variable -> MCP server key
    vendors: set[str] = field(default_factory=set)
    env: list[str] = field(default_factory=list)

    def ev(self, tok: Tok, what: str) -> Evidence:
        return Evidence(self.rel, tok.line, what)

    def at(self, i: int, kind: str, value: str | None = None) -> bool:
        if i >= len(self.toks):
            return False
        t = self.toks[i]
        return t.kind == kind and (value is None or t.value == value)


def scan(rel: str, text: str, found: Discovery) -> None:
    """Record the AI components the JavaScript/TypeScript source ``text`` uses."""
    if not _TRIGGER.search(text):
        return
    f = _File(rel, found, tokenize(text))
    _imports(f)
    if not f.names:
        return
    _pair_brackets(f)
    _calls(f)
    if f.mcp_vars:
        _mcp_tools(f)
    attribute_env(found, f.env, f.vendors)


def _record_import(f: _File, package: str, tok: Tok) -> None:
    tech = catalog.js_tech(package)
    if tech is not None and tech.category is not None:
        tech_component(f.found, tech, f.ev(tok, f"import {package}"))
        if tech.category == "model_api":
            f.vendors.add(tech.key)


def _imports(f: _File) -> None:
    toks = f.toks
    for i, t in enumerate(toks):
        if t.kind != "id":
            continue
        if t.value == "import" and not (i and toks[i - 1].kind == "p" and toks[i - 1].value == "."):
            if f.at(i + 1, "str"):
                _record_import(f, toks[i + 1].value, t)
            elif f.at(i + 1, "p", "(") and f.at(i + 2, "str"):
                _record_import(f, toks[i + 2].value, t)
            else:
                _import_clause(f, i + 1, t)
        elif t.value == "require" and f.at(i + 1, "p", "(") and f.at(i + 2, "str"):
            package = toks[i + 2].value
            _record_import(f, package, t)
            _require_binding(f, i, package)
        elif t.value == "export" and f.at(i + 1, "p", "*"):
            j = i + 2
            while j < len(toks) and j < i + 6 and not f.at(j, "id", "from"):
                j += 1
            if f.at(j + 1, "str"):
                _record_import(f, toks[j + 1].value, t)


def _import_clause(f: _File, j: int, first: Tok) -> None:
    """``import a, { b as c } from "pkg"`` / ``import * as ns from "pkg"`` (and TS ``type``)."""
    toks = f.toks
    locals_: list[tuple[str, str | None]] = []
    end = min(len(toks), j + 200)
    k = j
    if f.at(k, "id", "type"):
        k += 1
    while k < end and not f.at(k, "id", "from"):
        t = toks[k]
        if t.kind == "p" and t.value == "*" and f.at(k + 1, "id", "as") and f.at(k + 2, "id"):
            locals_.append((toks[k + 2].value, None))
            k += 3
        elif t.kind == "p" and t.value == "{":
            k += 1
            while k < end and not f.at(k, "p", "}"):
                if f.at(k, "id", "type") and f.at(k + 1, "id"):
                    k += 1
                if toks[k].kind in ("id", "str"):
                    name = toks[k].value
                    if f.at(k + 1, "id", "as") and f.at(k + 2, "id"):
                        locals_.append((toks[k + 2].value, name))
                        k += 3
                        continue
                    locals_.append((name, name))
                k += 1
            k += 1
        elif t.kind == "id" and t.value != "as":
            if f.at(k + 1, "p", "=") and f.at(k + 2, "id", "require"):
                return  # TS `import x = require("y")`: the require branch records it
            locals_.append((t.value, None))
            k += 1
        elif t.kind == "p" and t.value == ";":
            return
        else:
            k += 1
    if not f.at(k + 1, "str"):
        return
    package = toks[k + 1].value
    _record_import(f, package, first)
    for local, imported in locals_:
        f.names[local] = f"{package}.{imported}" if imported and imported != "default" else package


def _require_binding(f: _File, i: int, package: str) -> None:
    toks = f.toks
    if i >= 2 and f.at(i - 1, "p", "=") and f.at(i - 2, "id"):
        f.names[toks[i - 2].value] = package
    elif i >= 2 and f.at(i - 1, "p", "=") and f.at(i - 2, "p", "}"):
        k = i - 3
        while k >= 0 and not f.at(k, "p", "{"):
            if f.at(k, "id") and not f.at(k - 1, "p", ":") and not f.at(k + 1, "p", ":"):
                f.names[toks[k].value] = f"{package}.{toks[k].value}"
            elif f.at(k, "id") and f.at(k - 1, "p", ":") and f.at(k - 2, "id"):
                f.names[toks[k].value] = f"{package}.{toks[k - 2].value}"
            k -= 1


def _chain(f: _File, i: int) -> tuple[str, int]:
    """The dotted name starting at token ``i`` and the index after it."""
    toks = f.toks
    parts = [toks[i].value]
    k = i + 1
    while f.at(k, "p", ".") and f.at(k + 1, "id"):
        parts.append(toks[k + 1].value)
        k += 2
    return ".".join(parts), k


_PAIRS = {")": "(", "]": "[", "}": "{"}


def _pair_brackets(f: _File) -> None:
    """Pair every bracket with its partner in one pass, so that finding the end of a call
    or skipping a nested literal costs one lookup (a hostile file of nested calls stays
    linear)."""
    stack: list[int] = []
    for j, t in enumerate(f.toks):
        if t.kind != "p":
            continue
        if t.value in "([{":
            stack.append(j)
        elif t.value in _PAIRS and stack and f.toks[stack[-1]].value == _PAIRS[t.value]:
            o = stack.pop()
            f.match[o] = j
            f.match[j] = o


def _close(f: _File, k: int) -> int:
    """The index of the bracket closing the one at ``k`` (the last token when unclosed)."""
    return f.match.get(k, len(f.toks) - 1)


def _prop(f: _File, start: int, end: int, *names: str) -> int | None:
    """The index of the value of property ``name: value`` of an object literal that is a
    direct argument of the call whose arguments are (start, end); nested values skipped."""
    j = start + 1
    while j < end:
        t = f.toks[j]
        if t.kind == "p" and t.value in "([{":
            close = max(j, f.match.get(j, end))
            if t.value == "{":
                hit = _own_prop(f, j, close, names)
                if hit is not None:
                    return hit
            j = close + 1
            continue
        j += 1
    return None


def _own_prop(f: _File, start: int, end: int, names: tuple[str, ...]) -> int | None:
    """The value index of an own property ``name:`` of the object literal (start, end)."""
    j = start + 1
    while j < end:
        t = f.toks[j]
        if t.kind == "p" and t.value in "([{":
            j = max(j, f.match.get(j, end)) + 1
            continue
        if t.kind == "id" and t.value in names and f.at(j + 1, "p", ":"):
            return j + 2
        j += 1
    return None


def _calls(f: _File) -> None:
    toks = f.toks
    i = 0
    while i < len(toks):
        t = toks[i]
        if _is_env(f, i):
            f.env.append(toks[i + 4].value)
        if t.kind != "id" or t.value not in f.names or f.at(i - 1, "p", "."):
            i += 1
            continue
        chain, k = _chain(f, i)
        head, _, rest = chain.partition(".")
        qual = f.names[head] + (f".{rest}" if rest else "")
        if f.at(k, "p", "("):
            _call(f, qual, i, k, _close(f, k))
        i = k


def _is_env(f: _File, i: int) -> bool:
    """Whether token ``i`` starts ``process.env.NAME`` or ``process.env["NAME"]``."""
    t = f.toks[i]
    if not (t.kind == "id" and t.value == "process" and f.at(i + 1, "p", ".")):
        return False
    if not f.at(i + 2, "id", "env"):
        return False
    return (f.at(i + 3, "p", ".") and f.at(i + 4, "id")) or (
        f.at(i + 3, "p", "[") and f.at(i + 4, "str")
    )


def _package(qual: str) -> str:
    for tech in catalog.ALL:
        for p in tech.js:
            if qual == p or qual.startswith(p + "."):
                return p
    return qual.split(".")[0]


def _call(f: _File, qual: str, i: int, k: int, end: int) -> None:
    toks = f.toks
    tech = catalog.js_tech(_package(qual))
    last = qual.rsplit(".", 1)[-1]
    tok = toks[i]
    if tech is not None and tech.category == "model_api":
        vendor = tech.key
        url = _prop(f, k, end, "baseURL", "baseUrl")
        if url is not None and f.at(url, "str"):
            for fragment, v in catalog.BASE_URL_VENDORS:
                if fragment in toks[url].value:
                    vendor = v
        comp = sdk_call(f.found, tech, f.ev(tok, f"call {qual}"), vendor)
        assert comp is not None  # a model API always has a component
        f.vendors.add(vendor)
        if f.at(k + 1, "str") and last[:1].islower():
            name = model_name(toks[k + 1].value)
            if name:
                comp.models.add(name)
    elif tech is not None:
        sdk_call(f.found, tech, f.ev(tok, f"call {qual}"))
    model = _prop(f, k, end, "model")
    if model is not None:
        _model_value(f, model, tech)
    if tech is None or tech.category is not None:
        return
    if tech.key == "mcp" and last in _MCP_SERVER:
        nm = _prop(f, k, end, "name")
        name = toks[nm].value if nm is not None and f.at(nm, "str") else f.rel
        comp = f.found.add(
            key("mcp_server", name), "mcp_server", f"MCP server {name}", f.ev(tok, f"new {qual}")
        )
        comp.tech = "mcp"
        var = _assigned(f, i)
        if var:
            f.mcp_vars[var] = comp.key
        return
    if last == "tool" and tech.key in ("vercel-ai", "langchain", "openai-agents"):
        nm = _prop(f, k, end, "name")
        literal = toks[nm].value if nm is not None and f.at(nm, "str") else None
        name = literal or _assigned(f, i) or _property_name(f, i)
        if name:
            comp = f.found.add(key("tool", name), "tool", name, f.ev(tok, f"tool {qual}"))
            comp.tech = tech.key
            comp.capabilities |= _capabilities(f, k, end)
        return
    tools = _prop(f, k, end, "tools")
    agentic = last in catalog.AGENT_CALLS or (
        tools is not None and last in ("generateText", "streamText", "generateObject")
    )
    if not agentic:
        return
    nm = _prop(f, k, end, "name")
    name = toks[nm].value if nm is not None and f.at(nm, "str") else None
    if name is None and last in catalog.AGENT_CALLS:
        name = _assigned(f, i)
    # A generateText/streamText call with tools is an agent loop; its variable (`result`)
    # says nothing, so it is named by the call and its file.
    name = name or f"{last} in {f.rel}"
    comp = f.found.add(key("agent", name), "agent", name, f.ev(tok, f"agent {qual}"))
    comp.tech = tech.key
    if tools is not None:
        for tname in _tool_names(f, tools):
            comp.tools.add(tname)
            f.found.links.add(
                Link(comp.key, key("tool", tname), "tool call", "call", f.ev(tok, tname))
            )
    if model is not None:
        agent_vendor = _model_value(f, model, None)
        if agent_vendor:
            f.found.links.add(
                Link(comp.key, f"model_api:{agent_vendor}", "prompt", "call", f.ev(tok, qual))
            )


def _model_value(f: _File, j: int, tech: catalog.Tech | None) -> str | None:
    """The vendor of a ``model:`` value (a literal, or a provider call ``openai("gpt-4o")``),
    recording the model name on it."""
    toks = f.toks
    if f.at(j, "str"):
        name = model_name(toks[j].value)
        vendor = (tech.key if tech is not None and tech.category == "model_api" else None) or (
            vendor_of_model(name) if name else None
        )
        if vendor and name:
            vendor_component(f.found, vendor, None).models.add(name.split(":", 1)[-1])
        return vendor
    if f.at(j, "id") and toks[j].value in f.names:
        chain, k = _chain(f, j)
        head, _, rest = chain.partition(".")
        qual = f.names[head] + (f".{rest}" if rest else "")
        mt = catalog.js_tech(_package(qual))
        if mt is not None and mt.category == "model_api":
            if f.at(k, "p", "(") and f.at(k + 1, "str"):
                name = model_name(toks[k + 1].value)
                if name:
                    vendor_component(f.found, mt.key, None).models.add(name)
            return mt.key
    return None


def _assigned(f: _File, i: int) -> str | None:
    """``x`` in ``const x = [new|await] <call at i>`` or ``const x = (args) => <call at i>``."""
    j = i - 1
    if f.at(j, "id", "new") or f.at(j, "id", "await"):
        j -= 1
    if f.at(j, "p", ">") and f.at(j - 1, "p", "=") and f.at(j - 2, "p", ")"):
        j = _open_paren(f, j - 2) - 1  # an arrow function that returns the call
        if f.at(j, "id", "async"):
            j -= 1
    if f.at(j, "p", "=") and f.at(j - 1, "id") and not f.at(j - 2, "p", "."):
        return f.toks[j - 1].value
    return None


def _open_paren(f: _File, k: int) -> int:
    """The index of the bracket opening the one closing at ``k`` (``k`` when unpaired)."""
    return f.match.get(k, k)


def _property_name(f: _File, i: int) -> str | None:
    """``weather`` in ``{ weather: tool({...}) }``."""
    if f.at(i - 1, "p", ":") and f.at(i - 2, "id"):
        return f.toks[i - 2].value
    return None


def _tool_names(f: _File, j: int) -> list[str]:
    toks = f.toks
    if not (f.at(j, "p", "[") or f.at(j, "p", "{")):
        return []
    end = _close(f, j)
    names: list[str] = []
    k = j + 1
    while k < end:
        t = toks[k]
        if t.kind == "p" and t.value in "([{":
            k = max(k, f.match.get(k, end)) + 1  # a nested value, not a tool name
            continue
        if t.kind == "id" and (f.at(k + 1, "p", ",") or f.at(k + 1, "p", ":") or k + 1 == end):
            names.append(t.value)
        k += 1
    return names


def _mcp_tools(f: _File) -> None:
    """The tools registered on the file's MCP servers (``server.tool("name", ...)``), in
    one pass over the tokens."""
    toks = f.toks
    for i, t in enumerate(toks):
        if (
            t.kind == "id"
            and t.value in f.mcp_vars
            and f.at(i + 1, "p", ".")
            and f.at(i + 2, "id")
            and toks[i + 2].value in ("tool", "registerTool")
            and f.at(i + 3, "p", "(")
            and f.at(i + 4, "str")
        ):
            comp = f.found.components[f.mcp_vars[t.value]]
            comp.tools.add(toks[i + 4].value)
            comp.evidence.append(f.ev(t, f"MCP tool {toks[i + 4].value}"))
            comp.capabilities |= _capabilities(f, i + 3, _close(f, i + 3))


def _capabilities(f: _File, start: int, end: int) -> set[str]:
    caps: set[str] = set()
    for j in range(start, end):
        t = f.toks[j]
        if t.kind != "id" or not f.at(j + 1, "p", "("):
            continue
        if t.value == "fetch" and not f.at(j - 1, "p", "."):
            caps.add("http")
        qual = f.names.get(t.value)
        if qual is not None:
            pkg = qual.split(".")[0]
            cap = _CAP_PACKAGES.get(pkg) or _CAP_PACKAGES.get(qual.rsplit(".", 1)[0])
            if cap:
                caps.add(cap)
        elif f.at(j - 1, "p", ".") and f.at(j - 2, "id") and f.toks[j - 2].value in f.names:
            pkg = f.names[f.toks[j - 2].value].split(".")[0]
            cap = _CAP_PACKAGES.get(pkg)
            if cap:
                caps.add(cap)
    return caps
