"""The text of ``threatgraph check`` (and ``report``'s summary): what a terminal shows.

Open findings with file:line, decided ones, then a summary and the verdict; every line made
safe for a terminal (:func:`threatgraph.util.safetext.terminal`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from threatgraph.engine.findings import still_needed
from threatgraph.formats.common import summary
from threatgraph.util.paths import display_location, display_path
from threatgraph.util.safetext import terminal

if TYPE_CHECKING:
    from threatgraph.graph import Graph
    from threatgraph.results import Finding, Notice, Run


def notice_text(n: Notice) -> str:
    """'level: file:line: message' with the file shown relative to the cwd."""
    where = display_location(n.location)
    return terminal(f"{n.level}: {where}: {n.message}" if where else f"{n.level}: {n.message}")


def _line(names: Mapping[str, Graph], f: Finding) -> str:
    return (
        f"{display_path(f.location.file)}:{f.location.line}: {f.rule.id} {f.severity} "
        f"{f.rule.title} ({_element_name(names, f)})"
    )


def missing_text(f: Finding) -> str:
    """What closes an open finding, in words: 'missing: a' (one control), 'missing, all
    needed: a, b', 'missing, any one closes it: a, b' or 'missing, 2 of these 3 close it:
    a, b, c'. Alternatives of one group read '(a or b)'. Empty when nothing is missing."""
    need, groups = still_needed(f.rule, f.checklist)
    if not groups or need <= 0:
        return ""
    n = len(groups)
    if need <= 1 and (n > 1 or len(groups[0]) > 1):
        # Any one control of any missing group closes it: a flat list says that.
        how, listed = "any one closes it", ", ".join(c for g in groups for c in g)
    else:
        listed = ", ".join(g[0] if len(g) == 1 else "(" + " or ".join(g) + ")" for g in groups)
        if n == 1:
            return f"missing: {listed}"
        how = "all needed" if need >= n else f"{need} of these {n} close it"
    return f"missing, {how}: {listed}"


def render_text(result: Run, quiet: bool = False) -> str:
    """The human report: open findings with file:line, decided ones, then a summary."""
    lines: list[str] = []
    # Each model's graph by model id: findings name their element as the graph describes it.
    graphs = {r.model_id: r.graph for r in result.results}
    findings = [f for r in result.results for f in r.findings]
    lib = result.library
    verdict = result.verdict
    baselined = {id(f) for f in verdict.baselined}
    if not quiet:
        for f in findings:
            if f.status != "open":
                continue
            lines.append(_line(graphs, f) + (" [baseline]" if id(f) in baselined else ""))
            missing = missing_text(f)
            if missing:
                lines.append(f"    {missing}")
            for note in f.notes:
                lines.append(f"    note: {note}")
            if f.decision is not None and f.decision.location is not None:
                loc = f.decision.location
                lines.append(f"    decision: {display_path(loc.file)}:{loc.line}")
        decided = [(f, f.decision) for f in findings if f.status != "open"]
        for f, d in decided:
            if d is None:
                continue
            what = {"accepted": "ACCEPTED", "false_positive": "FALSE POSITIVE"}.get(
                f.status, "MITIGATED (decision)"
            )
            extra = f" by {d.owner}" if d.owner else ""
            if d.status == "accepted" and d.expires:
                extra += f" until {d.expires.isoformat()}"
            if d.ticket:
                extra += f" [{d.ticket}]"
            lines.append(f"{what}{extra}: {_line(graphs, f)}")
            lines.append(f"    reason: {d.reason}")
            if d.evidence:
                lines.append(f"    evidence: {', '.join(d.evidence)}")
    s = summary(findings)
    st, sev = s["by_status"], s["open_by_severity"]
    models = len(result.results)
    sev_txt = ", ".join(f"{n} {k}" for k, n in sev.items() if n) or "none"
    known = f", {len(baselined)} in baseline" if result.policy.baseline is not None else ""
    lines.append(
        f"{models} model{'s' if models != 1 else ''}, {len(lib.active)} rules: "
        f"{st['open']} open ({sev_txt}{known}), {st['mitigated']} mitigated, "
        f"{st['accepted']} accepted, {st['false_positive']} false positive."
    )
    reports = [r.evidence for r in result.results if r.evidence is not None]
    declared = sum(rep.declared for rep in reports)
    cited = sum(1 for rep in reports for c in rep.controls if c.cited)
    if cited or result.policy.require_evidence:
        with_ev = sum(rep.with_evidence for rep in reports)
        url_only = sum(rep.url_only for rep in reports)
        # A URL is never fetched: a control citing only URLs is cited, not checked.
        urls = f", {url_only} cite only URLs (cited, not checked)" if url_only else ""
        missing_items = sum(rep.missing_items for rep in reports)
        tail = (
            " (require_evidence: the others do not count)" if result.policy.require_evidence else ""
        )
        lines.append(
            f"evidence: {with_ev} of {declared} declared controls cite evidence that checks out"
            f"{urls}, {missing_items} cited item{'s' if missing_items != 1 else ''} missing{tail}."
        )
    if lib.disabled:
        lines.append(
            "disabled rules: " + "; ".join(f"{k} ({v})" for k, v in sorted(lib.disabled.items()))
        )
    failing = len(verdict.failing)
    errors = sum(1 for n in verdict.notices if n.level == "error")
    if failing:
        lines.append(
            f"FAIL: {failing} open finding{'s' if failing != 1 else ''} at or above "
            f"'{verdict.fail_on}'"
            + (" (not in the baseline)." if result.policy.baseline is not None else ".")
        )
    if errors:
        lines.append(
            f"FAIL: {errors} policy error{'s' if errors != 1 else ''} (strict mode; see stderr)."
        )
    if not failing and not errors:
        lines.append(f"PASS: no open findings at or above '{verdict.fail_on}'.")
    # One line per entry whatever the model's text holds (names, reasons, tickets).
    return "\n".join(terminal(line) for line in lines) + "\n"


def _element_name(graphs: Mapping[str, Graph], f: Finding) -> str:
    g = graphs.get(f.model_id)
    return g.describe(f.element) if g is not None else f.element
