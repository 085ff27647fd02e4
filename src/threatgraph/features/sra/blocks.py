"""The risk analysis as a list of blocks, and the two writers of blocks: Markdown and HTML.

The sections (:mod:`.sections`) say once what the document holds: headings, paragraphs,
tables, lists and the diagram, made of inline pieces (text, code, a risk level, a status).
This module writes them. Every piece of text is escaped here and only here: Markdown through
:func:`threatgraph.formats.markdown.escape` and ``code``, HTML through :func:`html.escape`. So
Markdown and HTML cannot drift apart, and no section can forget to escape.
"""

from __future__ import annotations

import html as _html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from threatgraph.formats.html import content_security_policy
from threatgraph.formats.markdown import code as md_code
from threatgraph.formats.markdown import escape as md_escape

InlineKind = Literal["text", "code", "strong", "level", "status", "bad"]


@dataclass(frozen=True)
class Inline:
    """A piece of inline text: plain, code, strong, a risk level, a matrix status, a warning."""

    kind: InlineKind
    text: str


Cell = tuple[Inline, ...]


def t(text: str) -> Cell:
    """Plain text."""
    return (Inline("text", text),)


def c(text: str) -> Cell:
    """An id as code ('-' when empty)."""
    return (Inline("code", text),) if text else t("-")


def codes(items: Iterable[str], empty: str = "none") -> Cell:
    """Ids as code, comma-separated."""
    out: list[Inline] = []
    for i, item in enumerate(items):
        if i:
            out.append(Inline("text", ", "))
        out.append(Inline("code", item))
    return tuple(out) or t(empty)


def words(items: Iterable[str], empty: str = "none") -> Cell:
    """Names, comma-separated."""
    got = [i for i in items if i]
    return t(", ".join(got)) if got else t(empty)


def lv(level: str, score: int | None = None) -> Cell:
    """A risk level with its score."""
    if level in ("", "n/a"):
        return t(level or "-")
    return (Inline("level", level),) + (t(f" ({score})") if score is not None else ())


def join(*cells: Cell) -> Cell:
    """Cells one after the other."""
    return tuple(p for cell in cells for p in cell)


@dataclass(frozen=True)
class Heading:
    """A heading (level 1 to 4)."""

    level: int
    text: str


@dataclass(frozen=True)
class Para:
    """A paragraph."""

    parts: Cell


@dataclass(frozen=True)
class Bullets:
    """A bulleted list."""

    items: tuple[Cell, ...]


@dataclass(frozen=True)
class Table:
    """A table; ``css`` names the HTML class (the sign-off table has taller rows)."""

    head: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    css: str = ""


@dataclass(frozen=True)
class Diagram:
    """The network map: an SVG for HTML when drawn, Mermaid for Markdown, DOT as the fallback."""

    svg: str | None
    mermaid: tuple[tuple[str, str], ...]
    dot: str
    note: str


@dataclass(frozen=True)
class Warning:
    """A warning shown before everything else."""

    text: str


Block = Heading | Para | Bullets | Table | Diagram | Warning


@dataclass
class Document:
    """A title and its blocks."""

    title: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> None:
        """Append blocks."""
        self.blocks.extend(blocks)

    def table(self, head: Sequence[str], rows: Iterable[Sequence[Cell]], empty: str = "") -> None:
        """Append a table, or the ``empty`` paragraph when there are no rows."""
        got = tuple(tuple(r) for r in rows)
        if not got and empty:
            self.add(Para(t(empty)))
        else:
            self.add(Table(tuple(head), got))


# -- Markdown ---------------------------------------------------------------------------------
def _md_inline(parts: Cell) -> str:
    out = []
    for p in parts:
        if p.kind == "code":
            out.append(md_code(p.text))
        elif p.kind == "level":
            out.append(f"**{md_escape(p.text)}**")
        elif p.kind in ("strong", "bad"):
            out.append(f"**{md_escape(p.text)}**" if p.text else "")
        else:
            # escape() trims the text it makes one line of: keep the spaces that separate
            # this piece from its neighbours.
            body = md_escape(p.text)
            lead = " " if p.text[:1].isspace() and body else ""
            tail = " " if p.text[-1:].isspace() and body else ""
            out.append(
                lead + body + tail if body else (" " if p.text.strip() == "" and p.text else "")
            )
    return "".join(out)


def _md_block(b: Block, shift: int) -> list[str]:
    if isinstance(b, Heading):
        return ["#" * min(6, b.level + shift) + " " + md_escape(b.text), ""]
    if isinstance(b, Warning):
        return [f"> **Warning:** {md_escape(b.text)}", ""]
    if isinstance(b, Para):
        return [_md_inline(b.parts), ""]
    if isinstance(b, Bullets):
        return [f"- {_md_inline(i)}" for i in b.items] + [""]
    if isinstance(b, Table):
        head = ["| " + " | ".join(md_escape(h) or " " for h in b.head) + " |"]
        head.append("|" + "---|" * len(b.head))
        rows = ["| " + " | ".join(_md_inline(cell) for cell in r) + " |" for r in b.rows]
        return [*head, *rows, ""]
    out = [md_escape(b.note), ""] if b.note else []
    for _name, text in b.mermaid:
        out += ["```mermaid", text.rstrip("\n"), "```", ""]
    return out


def markdown(doc: Document, title_level: int = 1) -> str:
    """The document as Markdown (GitHub flavour: the network map is a Mermaid block).
    ``title_level`` > 1 nests it in another page: every heading moves down with the title."""
    shift = title_level - 1
    lines = ["#" * title_level + f" {md_escape(doc.title)}", ""]
    for b in doc.blocks:
        lines += _md_block(b, shift)
    return "\n".join(lines).rstrip("\n") + "\n"


# -- HTML -------------------------------------------------------------------------------------
CSS = """\
body{margin:0 auto;max-width:1200px;padding:16px 24px;font:14px/1.45 system-ui,-apple-system,
"Segoe UI",Roboto,sans-serif;color:#111827}
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #d1d5db}
h3{font-size:15px;margin-top:18px}h4{font-size:14px;margin:14px 0 4px}
table{border-collapse:collapse;margin:6px 0 12px;width:100%}
th,td{border:1px solid #d1d5db;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f3f4f6}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;background:#f3f4f6;padding:0 2px}
pre{background:#f3f4f6;padding:8px;overflow:auto;font-size:12px}
.lv{font-weight:600;padding:0 6px;border-radius:8px}
.lv.critical{background:#7f1d1d;color:#fff}.lv.high{background:#dc2626;color:#fff}
.lv.medium{background:#f59e0b}.lv.low{background:#fde68a}.lv.eliminated{background:#d1fae5}
.st-gap,.st-none,.st-not-met{color:#b91c1c;font-weight:600}.st-declared,.st-not-stated{color:#92400e}
.st-evidenced,.st-met{color:#15803d}
.bad{color:#b91c1c;font-weight:600}
.warn{border:2px solid #b91c1c;padding:8px 12px;background:#fef2f2}
.diagram svg{max-width:100%;height:auto}
.sign td{height:32px}
@media print{h2{break-before:auto}table{break-inside:auto}tr{break-inside:avoid}}
"""


def _h(text: str) -> str:
    return _html.escape(text, quote=True)


def _html_inline(parts: Cell) -> str:
    out = []
    for p in parts:
        if p.kind == "code":
            out.append(f"<code>{_h(p.text)}</code>")
        elif p.kind == "strong":
            out.append(f"<strong>{_h(p.text)}</strong>")
        elif p.kind == "bad":
            out.append(f'<span class="bad">{_h(p.text)}</span>')
        elif p.kind == "level":
            out.append(f'<span class="lv {_h(p.text)}">{_h(p.text)}</span>')
        elif p.kind == "status":
            css = "st-" + p.text.replace(" ", "-")
            out.append(f'<span class="{_h(css)}">{_h(p.text)}</span>')
        else:
            out.append(_h(p.text))
    return "".join(out)


def _html_block(b: Block) -> str:
    if isinstance(b, Heading):
        return f"<h{b.level}>{_h(b.text)}</h{b.level}>"
    if isinstance(b, Warning):
        return f'<p class="warn"><strong>Warning:</strong> {_h(b.text)}</p>'
    if isinstance(b, Para):
        return f"<p>{_html_inline(b.parts)}</p>"
    if isinstance(b, Bullets):
        return "<ul>" + "".join(f"<li>{_html_inline(i)}</li>" for i in b.items) + "</ul>"
    if isinstance(b, Table):
        css = f' class="{_h(b.css)}"' if b.css else ""
        # A key-value table (every heading empty) has no header row in HTML.
        head = "".join(f"<th>{_h(h)}</th>" for h in b.head) if any(b.head) else ""
        rows = "".join(
            "<tr>" + "".join(f"<td>{_html_inline(cell)}</td>" for cell in r) + "</tr>\n"
            for r in b.rows
        )
        top = f"<tr>{head}</tr>\n" if head else ""
        return f"<table{css}>{top}{rows}</table>"
    if b.svg is not None:
        return f'<div class="diagram">\n{b.svg}</div>'
    note = f"<p>{_h(b.note)}</p>\n" if b.note else ""
    return f"{note}<pre>{_h(b.dot)}</pre>"


def html(doc: Document) -> str:
    """The document as one self-contained HTML page: no script, nothing fetched, and a
    Content-Security-Policy that allows only its own style, so even a slip in escaping could
    not run code."""
    body = "\n".join(_html_block(b) for b in doc.blocks)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" '
        f'content="{_h(content_security_policy(CSS, None))}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_h(doc.title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f"<h1>{_h(doc.title)}</h1>\n{body}\n</body>\n</html>\n"
    )
