"""report.md: the design-review report as Markdown, readable pasted into a PR description.

Summary counts, the Mermaid diagram, then each open finding with where it is, why it applies,
its mitigation checklist (``- [x]`` present, ``- [ ]`` missing, each with what to do) and its
references; then mitigated, accepted and false-positive findings in one compact table.

Escaping: every piece of model text goes through :func:`escape`, which puts it on one line,
turns ``& < >`` into entities (no raw HTML reaches GitHub's renderer) and backslash-escapes the
characters that start Markdown syntax (emphasis, code, links, tables, headings, math).
"""

from __future__ import annotations

import functools
from urllib.parse import quote

from threatgraph import __version__
from threatgraph.engine.findings import Finding
from threatgraph.engine.rules import SEVERITIES
from threatgraph.formats.base import IndexEntry, ReportFormat, ReportInput
from threatgraph.formats.view import ModelView, one_line, resolve_reference

_SPECIAL = frozenset("\\`*_[]#|~$")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


_TABLE = str.maketrans({**{c: "\\" + c for c in _SPECIAL}, **_HTML})


def escape(text: str | None) -> str:
    """Model text made literal in Markdown (inline, one line)."""
    return _escape(text) if text else ""


@functools.lru_cache(maxsize=1 << 16)
def _escape(text: str) -> str:
    # Control titles, reasons and names recur for every finding: escape each once.
    return one_line(text).translate(_TABLE)


def code(text: str) -> str:
    """An id as inline code, or escaped text when it could break out of the code span."""
    t = one_line(text)
    if not t or "`" in t:
        return escape(t)
    return f"`{t}`"


@functools.lru_cache(maxsize=1 << 14)
def link(text: str, url: str | None) -> str:
    """``[text](url)``; plain escaped text when there is no (http) URL."""
    if not url or not url.startswith(("https://", "http://")):
        return escape(text)
    safe = quote(url, safe=":/?#[]@!$&'*+,;=%~-._")
    safe = safe.replace("(", "%28").replace(")", "%29")
    return f"[{escape(text)}]({safe})"


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _status_text(f: Finding) -> str:
    d = f.decision
    if f.status == "accepted" and d is not None:
        who = f" by {escape(d.owner)}" if d.owner else ""
        until = f" until {d.expires.isoformat()}" if d.expires else ""
        return f"accepted{who}{until}"
    return f.status.replace("_", " ")


def _why_closed(view: ModelView, f: Finding) -> str:
    d = f.decision
    if d is not None:
        parts = [escape(d.reason)]
        if d.ticket:
            parts.append(f"ticket {escape(d.ticket)}")
        if d.evidence:
            parts.append("evidence: " + ", ".join(escape(e) for e in d.evidence))
        return " · ".join(parts)
    present = [c for c in f.checklist if c.present]
    return "controls present: " + ", ".join(
        f"{escape(view.control_title(c.control))} ({code(c.control)})" for c in present
    )


def _summary(view: ModelView) -> list[str]:
    s = view.counts()
    out = ["## Summary", "", "| Status | Findings |", "|---|---:|"]
    for status, n in s["by_status"].items():
        out.append(f"| {status.replace('_', ' ')} | {n} |")
    out += ["", "| Open findings by severity | " + " | ".join(reversed(SEVERITIES)) + " |"]
    out.append("|---|" + "---:|" * len(SEVERITIES))
    out.append("| count | " + " | ".join(str(n) for n in s["open_by_severity"].values()) + " |")
    return [*out, ""]


def _diagram(inp: ReportInput) -> list[str]:
    out = ["## Data-flow diagram", ""]
    files = inp.diagrams.mermaid
    if len(files) > 1:
        out += [
            f"The model has {len(inp.view.flows)} flows, more than Mermaid draws in one "
            "diagram, so it is split: an overview of the top-level trust boundaries, then "
            "the flows leaving each of them.",
            "",
        ]
    for (_name, text), title in zip(files, inp.diagrams.mermaid_titles, strict=True):
        if title:
            out += [f"### {escape(title)}", ""]
        out += ["```mermaid", text.rstrip("\n"), "```", ""]
    legend = (
        "Legend: the shape and the «kind» line give the element kind; dashed boxes are trust "
        "boundaries with their trust level; an element with open findings is filled with the "
        "colour of its worst severity and shows the count (\u26a0); red dotted flows carry "
        "sensitive data unencrypted."
    )
    out += [legend, ""]
    if inp.diagrams.svg is not None and "svg" in inp.written:
        out += ["Rendered by Graphviz: [diagram.svg](diagram.svg).", ""]
    return out


def _checklist(view: ModelView, f: Finding) -> list[str]:
    out = [f"**Mitigation checklist** ({view.mitigation_rule(f)}):", ""]
    groups = [m.group for m in f.rule.mitigations] or [None] * len(f.checklist)
    for c, group in zip(f.checklist, groups, strict=False):
        box = "[x]" if c.present else "[ ]"
        title = escape(view.control_title(c.control))
        alt = f" (group *{escape(group)}*)" if group else ""
        parts = [f"- {box} **{title}** ({code(c.control)}){alt}"]
        if c.why:
            parts.append(f": {escape(c.why)}")
        if c.present:
            where = escape(view.declared_text(f, c.where))
            parts.append(f" *Declared on* {where}.")
        else:
            parts.append(f" *Declare it on* {escape(view.places_text(f, c.places))}.")
            what = view.control_description(c.control)
            if what:
                parts.append(f" *What it means:* {escape(what)}")
        out.append("".join(parts))
    return [*out, ""]


def _references(view: ModelView, f: Finding) -> list[str]:
    refs = [resolve_reference(r, view.library.references) for r in f.rule.references]
    if not refs:
        return []
    return ["**References:** " + " · ".join(link(r.text, r.url) for r in refs), ""]


def _open_finding(view: ModelView, n: int, f: Finding) -> list[str]:
    r = f.rule
    el = view.name(f.element)
    out = [
        f"### {n}. {_cap(f.severity)}: {escape(r.title)}",
        "",
        f"- **Threat:** {code(r.id)} · likelihood {r.likelihood} · STRIDE: "
        + ", ".join(s.replace("_", " ") for s in r.stride),
        f"- **Where:** {escape(el)} («{view.kind_label(f.element)}») at "
        f"{escape(view.location(f.location))}",
        f"- **Why it applies:** {escape(f.explanation)}",
    ]
    path = view.path_text(f)
    if path:
        out.append(f"- **{'Path' if f.path else 'Flow'}:** {escape(path)}")
    out.append(f"- **Finding id:** {code(f.id)}")
    if view.baselined(f):
        out.append("- **Baseline:** known in the baseline, so it does not fail the run")
    for note in f.notes:
        out.append(f"- **Note:** {escape(note)}")
    out += [
        "",
        "<details><summary>About this threat</summary>",
        "",
        escape(r.description),
        "",
        f"*Known false positives:* {escape(r.false_positives)}",
        "",
        "</details>",
        "",
    ]
    out += _checklist(view, f)
    out += _references(view, f)
    return out


def _closed(view: ModelView) -> list[str]:
    closed = view.closed_findings()
    out = [f"## Mitigated and accepted findings ({len(closed)})", ""]
    if not closed:
        return [*out, "None.", ""]
    out += ["| Severity | Threat | Element | Status | Why |", "|---|---|---|---|---|"]
    for f in closed:
        out.append(
            f"| {f.severity} | {code(f.rule.id)} {escape(f.rule.title)} | "
            f"{escape(view.name(f.element))} ({escape(view.location(f.location))}) | "
            f"{_status_text(f)} | {_why_closed(view, f)} |"
        )
    return [*out, ""]


def render_markdown(inp: ReportInput) -> str:
    """The whole report.md text."""
    view = inp.view
    m = view.graph.model.model
    failing = view.failing()
    verdict = (
        f"**FAIL**: {len(failing)} open finding{'s' if len(failing) != 1 else ''} at or above "
        f"'{view.gate}'"
        if failing
        else f"**PASS**: no open findings at or above '{view.gate}'"
    )
    lib = view.library
    out = [f"# Threat model: {escape(m.name)}", ""]
    if m.description:
        out += [escape(m.description), ""]
    out += [
        f"- **Model:** {code(view.model_id)} in {escape(view.source_file)}"
        + (f" (owner {escape(m.owner)})" if m.owner else "")
        + (f", version {escape(m.version)}" if m.version else ""),
        f"- **As of:** {view.as_of.isoformat()} · **Result:** {verdict}",
        f"- **Analysis:** threatgraph {__version__}, library {lib.version}, "
        f"{len(lib.active)} active rules; {len(view.graph.elements)} elements, "
        f"{len(view.flows)} flows",
    ]
    if lib.disabled:
        out.append(
            "- **Disabled rules:** "
            + "; ".join(f"{code(k)} ({escape(v)})" for k, v in sorted(lib.disabled.items()))
        )
    out.append("")
    out += _summary(view)
    out += _diagram(inp)
    opened = view.open_findings()
    out += [f"## Open findings ({len(opened)})", ""]
    if not opened:
        out += ["None.", ""]
    for i, f in enumerate(opened, 1):
        out += _open_finding(view, i, f)
    out += _closed(view)
    notices = getattr(inp.result, "notices", [])
    if notices:
        out += ["## Notices", ""]
        out += [f"- {n.level}: {escape(str(n))}" for n in notices]
        out.append("")
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"


class MarkdownFormat(ReportFormat):
    """report.md: the review report in Markdown."""

    name = "markdown"
    summary = "report.md: summary, Mermaid diagram, findings with mitigation checklists"

    def render(self, inp: ReportInput) -> dict[str, str | bytes]:
        """report.md for one model."""
        return {"report.md": render_markdown(inp)}


FORMAT = MarkdownFormat()


def render_index(models: list[IndexEntry], as_of: str, verdict: str) -> str:
    """index.md linking the per-model reports."""
    out = [
        "# Threat models",
        "",
        f"- **As of:** {as_of} · **Result:** {verdict}",
        f"- **Generated by:** threatgraph {__version__}",
        "",
        "| Model | File | "
        + " | ".join(reversed(SEVERITIES))
        + " | Mitigated | Accepted | Result | Files |",
        "|---|---|" + "---:|" * len(SEVERITIES) + "---:|---:|---|---|",
    ]
    for m in models:
        d = quote(m.dir)
        first = next((f for f in ("report.md", "report.html") if f in m.files), None)
        name = escape(m.name)
        title = f"[{name}]({d}/{first})" if first else name
        links = ", ".join(f"[{escape(f)}]({d}/{quote(f)})" for f in m.files)
        counts = " | ".join(str(n) for n in m.open)
        out.append(
            f"| {title} | {escape(m.file)} | {counts} | {m.mitigated} | {m.accepted} | "
            f"{m.result} | {links} |"
        )
    return "\n".join(out) + "\n"


__all__ = ["FORMAT", "code", "escape", "link", "render_index", "render_markdown"]
