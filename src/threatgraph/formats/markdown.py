"""report.md: the design-review report as Markdown, readable pasted into a PR description.

Summary counts, the Mermaid diagram, then the open findings grouped by threat (rule), worst
first: each threat once (likelihood, STRIDE, description, the controls that mitigate it with
what they mean, references), then each of its findings compactly (where, why, path, its own
checklist: ``- [x]`` declared and where, ``- [ ]`` missing and where to declare it); then
mitigated, accepted and false-positive findings in one compact table. A model with thousands
of findings thus repeats no rule or control text per finding.

Escaping: every piece of model text goes through :func:`escape`, the one Markdown escaper of
threatgraph (every Markdown output uses it: report, diff, review, coverage, sra, testplan and
SARIF's help text). It puts the text on one line, turns ``& < >`` into entities (no raw HTML
reaches GitHub's renderer) and ``@`` into ``&#64;`` (no mention of a user or team in a pull
request), backslash-escapes the characters that start Markdown syntax (emphasis, code, links,
tables, headings, math) and a leading ``- + = :`` (a list, a heading underline, a workflow
command when the Markdown is printed in a CI log).
"""

from __future__ import annotations

import functools
from urllib.parse import quote

from threatgraph.engine.findings import Finding
from threatgraph.engine.rules import SEVERITIES, Rule
from threatgraph.formats.base import IndexEntry, ReportFormat, ReportInput
from threatgraph.formats.view import FindingPieces, ModelView, one_line, resolve_reference
from threatgraph.version import __version__

_SPECIAL = frozenset("\\`*_[]#|~$")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
#: Characters that start a block (a list item, a setext heading underline) or, printed in a
#: CI log, a workflow command ('::') when they come first: escaped there only.
_LEADING = frozenset("-+=:")


def escape(text: str | None) -> str:
    """Model text made literal in Markdown (inline, one line)."""
    return _escape(text) if text else ""


#: Each special character and its replacement, ordered so that no replacement produces a
#: character that a later one would touch again: backslashes first, then ``&``, then the
#: entities and backslash escapes (which add ``&`` and backslashes themselves), and ``@``
#: last (its entity holds a ``#``).
_REPLACE: tuple[tuple[str, str], ...] = (
    ("\\", "\\\\"),
    *_HTML.items(),
    *((c, "\\" + c) for c in sorted(_SPECIAL - {"\\"})),
    ("@", "&#64;"),
)


@functools.lru_cache(maxsize=1 << 16)
def _escape(text: str) -> str:
    # Control titles, reasons and names recur for every finding: escape each once. A chain
    # of replace() calls, each skipped when its character is absent, is several times
    # faster than one str.translate() with a dict on the long texts of a report.
    t = one_line(text)
    for c, r in _REPLACE:
        if c in t:
            t = t.replace(c, r)
    if t[:1] in _LEADING:
        t = "\\" + t
    return t


def code(text: str) -> str:
    """An id as inline code, or escaped text when it could break out of the code span.

    A ``|`` ends a table cell even inside a code span (GitHub splits rows before it reads
    code spans), so text holding one is escaped text instead.
    """
    if (
        text.isprintable()
        and "`" not in text
        and "|" not in text
        and text.strip() == text
        and "  " not in text
    ):
        return f"`{text}`" if text else ""  # one_line() would not change it: skip its cache
    t = one_line(text)
    if not t or "`" in t or "|" in t:
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


_CAP = {s: _cap(s) for s in SEVERITIES}


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


#: Rows of the review summary's table of open findings: it must fit one screen.
REVIEW_ROWS = 15


def _effect(closes: int, missing: int) -> str:
    """What declaring a control would do to the model's open findings, in words."""
    if closes:
        return f"closes {closes} open finding{'s' if closes != 1 else ''}"
    return f"part of the fix for {missing} open finding{'s' if missing != 1 else ''}"


def _review(view: ModelView) -> list[str]:
    """The one-screen summary a reviewer acts on: open findings by severity, each with its
    most effective missing control (:meth:`ModelView.best_control`), the controls that
    close the most findings, and the elements that carry most risk."""
    out = ["## Review summary", ""]
    opened = view.open_findings()
    if not opened:
        return [*out, "No open findings.", ""]
    s = view.counts()["open_by_severity"]
    by_sev = ", ".join(f"{n} {sev}" for sev, n in s.items() if n)
    out += [f"**{len(opened)} open finding{'s' if len(opened) != 1 else ''}:** {by_sev}.", ""]
    impact = view.control_impact()
    out += ["| Severity | Finding | Most effective missing control |", "|---|---|---|"]
    for f in opened[:REVIEW_ROWS]:
        best = view.best_control(f)
        fix = (
            f"{code(best)} {escape(view.control_title(best))} ({_effect(*impact[best])})"
            if best is not None
            else "none missing"
        )
        out.append(
            f"| {f.severity} | {code(f.rule.id)} {escape(f.rule.title)} "
            f"({escape(view.name(f.element))}) | {fix} |"
        )
    if len(opened) > REVIEW_ROWS:
        more = len(opened) - REVIEW_ROWS
        out.append(f"| | *{more} more under Open findings below* | |")
    out.append("")
    top = view.top_controls()
    if top:
        out += ["**Controls that close the most open findings:**", ""]
        out += [
            f"{i}. {code(c)} {escape(view.control_title(c))}: closes {closes}, "
            f"missing from {missing}"
            for i, (c, closes, missing) in enumerate(top, 1)
        ]
        out.append("")
    risky = view.risk_elements()
    if risky:
        out += ["**Elements that carry most risk:** "]
        out[-1] += "; ".join(
            f"{escape(view.name(e))} ({escape(view.kind_label(e))}: "
            + ", ".join(f"{n} {sev}" for sev, n in counts.items())
            + ")"
            for e, counts in risky
        )
        out.append("")
    out += [
        "The most effective missing control of a finding is the one of its missing controls "
        "that would close the most open findings of this model on its own (then the one "
        "missing from the most, then the first by id). The full checklists follow.",
        "",
    ]
    return out


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
        "colour of its worst severity and shows the count (!); red dotted flows carry "
        "sensitive data unencrypted."
    )
    out += [legend, ""]
    if inp.diagrams.svg is not None and "svg" in inp.written:
        by = inp.diagrams.renderer or "Graphviz"
        out += [f"Rendered by {escape(by)}: [diagram.svg](diagram.svg).", ""]
    return out


def _threat(view: ModelView, rule: Rule, fs: list[Finding]) -> list[str]:
    """What every finding of one rule shares, written once: the rule's own section."""
    first = fs[0]
    count = f"{len(fs)} open finding{'s' if len(fs) != 1 else ''}"
    out = [
        f"### {_cap(first.severity)}: {escape(rule.title)} · {code(rule.id)} · {count}",
        "",
        f"- **Likelihood:** {rule.likelihood} · **STRIDE:** "
        + ", ".join(s.replace("_", " ") for s in rule.stride),
        "",
        "<details><summary>About this threat</summary>",
        "",
        escape(rule.description),
        "",
        f"*Known false positives:* {escape(rule.false_positives)}",
        "",
        "</details>",
        "",
        f"**Mitigations** ({view.mitigation_rule(first)}; each finding below has its own "
        "checklist):",
        "",
    ]
    for m in rule.mitigations:
        alt = f" (group *{escape(m.group)}*)" if m.group else ""
        line = f"- **{escape(view.control_title(m.control))}** ({code(m.control)}){alt}"
        if m.why:
            line += f": {escape(m.why)}"
        what = view.control_description(m.control)
        if what:
            line += f" *What it means:* {escape(what)}"
        out.append(line)
    out.append("")
    refs = [resolve_reference(r, view.library.references) for r in rule.references]
    if refs:
        out += ["**References:** " + " · ".join(link(r.text, r.url) for r in refs), ""]
    return out


class _Findings(FindingPieces):
    """Writes open findings compactly, memoising the pieces that recur across findings.

    Thousands of findings share elements, paths, flows and checklist places; each of those
    is turned into escaped Markdown once per report, not once per finding.
    """

    def where_text(self, name: str, kind: str, location: str) -> str:
        """'- **Where:** name («kind») at file:line'."""
        return f"- **Where:** {escape(name)} («{kind}») at {escape(location)}"

    def route_text(self, label: str, text: str) -> str:
        """'- **Path:** A → B' on a line of its own."""
        return f"\n- **{label}:** {escape(text)}"

    def head_text(self, control: str, present: bool) -> str:
        """'- [x] `control`: declared on ' or '- [ ] `control`: declare it on '."""
        what = "[x] {}: declared on " if present else "[ ] {}: declare it on "
        return "\n- " + what.format(code(control))

    def place_text(self, where: str) -> str:
        """Where the control is (to be) declared."""
        return escape(where)

    def findings(self, n: int, fs: list[Finding]) -> list[str]:
        """Open findings numbered from n+1 (each a heading, where, why, route, checklist)."""
        baselined, pieces = self.view.baselined, self.pieces
        out = []
        for f in fs:
            n += 1
            where, route, items = pieces(f)
            extra = ""
            if baselined(f):
                extra = "\n- **Baseline:** known in the baseline, so it does not fail the run"
            for note in f.notes:
                extra += f"\n- **Note:** {escape(note)}"
            out.append(
                f"#### {n}. {_CAP[f.severity]}: {code(f.id)}\n\n{where}\n"
                f"- **Why it applies:** {escape(f.explanation)}{route}{extra}{items}\n"
            )
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
            f"{escape(view.name(f.element))} ({escape(view.location_text(f.location))}) | "
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
    out += _review(view)
    out += _summary(view)
    out += _diagram(inp)
    groups = view.open_by_rule()
    opened = sum(len(fs) for _, fs in groups)
    out += [f"## Open findings ({opened})", ""]
    if not groups:
        out += ["None.", ""]
    else:
        out += [
            f"{opened} open finding{'s' if opened != 1 else ''} of {len(groups)} "
            f"threat{'s' if len(groups) != 1 else ''}, worst first. Each threat is described "
            "once (what it is, the controls that mitigate it, references), then each of its "
            "findings: where it applies, why, and its checklist (`[x]` declared, `[ ]` "
            "missing, with where to declare it).",
            "",
        ]
    n = 0
    writer = _Findings(view)
    for rule, fs in groups:
        out += _threat(view, rule, fs)
        out += writer.findings(n, fs)
        n += len(fs)
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
