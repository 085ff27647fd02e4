"""findings.sarif: SARIF 2.1.0 for GitHub code scanning (and any other SARIF viewer).

- one ``reportingDescriptor`` per threat that has findings in the model: short and full
  description, help as text and Markdown (with the mitigations), ``helpUri``,
  ``security-severity`` and tags (``security``, CWE, OWASP, ATLAS and other framework ids; at
  most 20, GitHub's limit);
- one result per open finding, located at the model file and line where the bound element
  (or flow) was declared, with ``partialFingerprints`` from the stable finding id (so an alert
  survives edits that move lines) and a code flow for path findings;
- mitigated, accepted and false-positive findings are results with ``suppressions``, so
  viewers that honour suppressions show them as dismissed (``include_suppressed=False``
  leaves them out).

GitHub's documented limits are respected: at most 25,000 results per run (open findings
first, worst first), 20 tags per rule, 1024 characters for rule descriptions, 255 for names,
and one run per file.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from threatgraph import __version__
from threatgraph.engine.findings import Finding, severity_rank
from threatgraph.engine.rules import Rule
from threatgraph.formats.base import ReportFormat, ReportInput
from threatgraph.formats.view import ModelView, one_line, resolve_reference
from threatgraph.model.schema import Location

SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
INFORMATION_URI = "https://github.com/threatgraph/threatgraph"
SRCROOT = "%SRCROOT%"

#: GitHub code scanning limits (docs: "SARIF support for code scanning").
MAX_RESULTS = 25_000
MAX_TAGS = 20
MAX_DESCRIPTION = 1024
MAX_NAME = 255
MAX_MESSAGE = 2000  # not a documented limit: keeps the alert title readable

LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
#: GitHub maps > 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "1.0"}
#: Order of reference schemes in tags: GitHub shows only the first 10.
_TAG_ORDER = ("cwe", "owasp-llm", "owasp-asi", "owasp-ml", "atlas", "nist-aml", "saif", "hipaa")


def message_text(text: str) -> str:
    """Plain SARIF message text: literal brackets and backslashes escaped (SARIF 3.11.6)."""
    t = one_line(text)
    t = t.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
    if len(t) > MAX_MESSAGE:
        t = t[: MAX_MESSAGE - 1].rstrip("\\") + "\u2026"
    return t


def _clip(text: str, limit: int) -> str:
    t = one_line(text)
    if len(t) <= limit:
        return t
    cut = t[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut) + "\u2026"


def _pascal(title: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", title)
    return "".join(w[:1].upper() + w[1:] for w in words)[:MAX_NAME] or "Threat"


def repo_root(start: Path | None = None) -> Path:
    """The repository root (nearest directory with .git) above ``start``, else ``start``."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / ".git").exists():
            return d
    return here


def artifact_uri(file: str, root: Path) -> dict[str, str]:
    """An artifactLocation: relative to the repository root when inside it, else a file URI."""
    return dict(_artifact_uri(file, str(root)))


@functools.lru_cache(maxsize=4096)
def _artifact_uri(file: str, root_text: str) -> tuple[tuple[str, str], ...]:
    # Every result of a model points into the same file: resolve it once.
    root = Path(root_text)
    p = Path(file)
    try:
        rel = p.resolve().relative_to(root.resolve())
    except (ValueError, OSError):
        return (("uri", p.resolve().as_uri()),)
    return (("uri", quote(rel.as_posix(), safe="/")), ("uriBaseId", SRCROOT))


def _physical(loc: Location | None, root: Path) -> dict[str, Any] | None:
    if loc is None or loc.file.startswith("<"):
        return None
    out: dict[str, Any] = {"artifactLocation": artifact_uri(loc.file, root)}
    if loc.line >= 1:
        out["region"] = {"startLine": loc.line}
    return out


def _tags(view: ModelView, rule: Rule) -> list[str]:
    tags = ["security"]
    refs = [resolve_reference(r, view.library.references) for r in rule.references]
    for scheme in (*_TAG_ORDER, *sorted({r.scheme for r in refs} - set(_TAG_ORDER))):
        for r in refs:
            if r.scheme != scheme:
                continue
            if scheme == "cwe":
                num = r.rid.upper().removeprefix("CWE-")
                tags.append(f"external/cwe/cwe-{num}")
            else:
                tags.append(f"{scheme}/{r.rid}")
    tags.append(f"threatgraph/{rule.family}")
    tags.extend(f"stride/{s}" for s in rule.stride)
    out: list[str] = []
    for t in tags:
        if t not in out:
            out.append(t)
    return out[:MAX_TAGS]


def _help(view: ModelView, rule: Rule) -> tuple[str, str]:
    from threatgraph.formats.markdown import code, escape, link

    refs = [resolve_reference(r, view.library.references) for r in rule.references]
    text = [one_line(rule.description), "", "Mitigations:"]
    md = [escape(rule.description), "", "**Mitigations**", ""]
    for m in rule.mitigations:
        title = view.control_title(m.control)
        why = one_line(m.why)
        what = view.control_description(m.control)
        text.append(f"- {title} ({m.control})" + (f": {why}" if why else ""))
        md.append(
            f"- **{escape(title)}** ({code(m.control)})"
            + (f": {escape(why)}" if why else "")
            + (f" *What it means:* {escape(what)}" if what else "")
        )
    text += [
        "",
        f"Detection: {one_line(rule.detection)}",
        f"Known false positives: {one_line(rule.false_positives)}",
    ]
    md += [
        "",
        f"**Detection:** {escape(rule.detection)}",
        "",
        f"**Known false positives:** {escape(rule.false_positives)}",
    ]
    if refs:
        text += [
            "",
            "References: " + "; ".join(r.text + (f" <{r.url}>" if r.url else "") for r in refs),
        ]
        md += ["", "**References:** " + " · ".join(link(r.text, r.url) for r in refs)]
    return "\n".join(text), "\n".join(md)


def _rule(view: ModelView, rule: Rule, findings: list[Finding]) -> dict[str, Any]:
    worst = max([rule.severity, *(f.severity for f in findings)], key=severity_rank)
    help_text, help_md = _help(view, rule)
    refs = [resolve_reference(r, view.library.references) for r in rule.references]
    help_uri = next((r.url for r in refs if r.url), INFORMATION_URI)
    return {
        "id": rule.id,
        "name": _pascal(rule.title),
        "shortDescription": {"text": _clip(rule.title, MAX_DESCRIPTION)},
        "fullDescription": {"text": _clip(rule.description, MAX_DESCRIPTION)},
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "help": {"text": help_text, "markdown": help_md},
        "helpUri": help_uri,
        "properties": {
            "tags": _tags(view, rule),
            "precision": "high",
            "security-severity": SECURITY_SEVERITY[worst],
        },
    }


def _message(view: ModelView, f: Finding) -> str:
    el = view.name(f.element)
    missing = [view.control_title(c) + f" ({c})" for c in f.missing]
    parts = [
        f"{f.rule.title} on {el} ({view.kind_label(f.element)}, {f.severity}).",
        one_line(f.explanation),
    ]
    if f.status == "open" and missing:
        parts.append("Missing controls: " + ", ".join(missing) + ".")
    for note in f.notes:
        parts.append(one_line(note))
    return message_text(" ".join(parts))


def _element_location(
    view: ModelView, element_id: str, root: Path, text: str
) -> dict[str, Any] | None:
    el = view.element(element_id)
    fv = view.flow_by_id.get(element_id)
    loc = el.location if el is not None else (fv.flow.location if fv is not None else None)
    phys = _physical(loc, root)
    if phys is None:
        return None
    return {
        "physicalLocation": phys,
        "logicalLocations": [
            {
                "name": element_id,
                "fullyQualifiedName": f"{view.model_id}/{element_id}",
                "kind": "element" if el is not None else "flow",
            }
        ],
        "message": {"text": message_text(text)},
    }


def _suppression(view: ModelView, f: Finding, root: Path) -> dict[str, Any]:
    d = f.decision
    if d is not None:
        why = f"{d.status.replace('_', ' ')}: {one_line(d.reason)}"
        if d.owner:
            why += f" (owner {one_line(d.owner)}"
            why += f", expires {d.expires.isoformat()})" if d.expires else ")"
        sup: dict[str, Any] = {"kind": "inSource", "status": "accepted", "justification": why}
        phys = _physical(d.location, root)
        if phys is not None:
            sup["location"] = {"physicalLocation": phys}
        return sup
    present = [c.control for c in f.checklist if c.present]
    return {
        "kind": "inSource",
        "status": "accepted",
        "justification": "mitigated: the model declares " + ", ".join(present),
    }


def _result(
    view: ModelView, f: Finding, index: int, root: Path, baseline_in_use: bool
) -> dict[str, Any]:
    res: dict[str, Any] = {
        "ruleId": f.rule.id,
        "ruleIndex": index,
        "level": LEVELS[f.severity],
        "message": {"text": _message(view, f)},
        "partialFingerprints": {
            "threatgraphFindingId/v1": f.fingerprint,
            "primaryLocationLineHash": f"{f.fingerprint}:1",
        },
        "properties": {
            "findingId": f.id,
            "severity": f.severity,
            "status": f.status,
            "model": view.model_id,
            "missingControls": list(f.missing),
            "presentControls": [c.control for c in f.checklist if c.present],
        },
    }
    primary = _physical(f.location, root)
    loc: dict[str, Any] = {
        "logicalLocations": [
            {
                "name": f.flow or f.element,
                "fullyQualifiedName": f"{view.model_id}/{f.flow or f.element}",
                "kind": "flow" if f.flow else "element",
            }
        ]
    }
    if primary is not None:
        loc["physicalLocation"] = primary
    res["locations"] = [loc]
    related = []
    for i, e in enumerate(dict.fromkeys((*f.elements[1:], *f.path)), 1):
        if e == f.element:
            continue
        rl = _element_location(view, e, root, view.name(e))
        if rl is not None:
            rl["id"] = i
            related.append(rl)
    if related:
        res["relatedLocations"] = related[:100]
    if f.path:
        steps = []
        for e in f.path:
            step = _element_location(view, e, root, f"{view.name(e)} ({view.kind_label(e)})")
            if step is not None:
                steps.append({"location": step})
        if steps:
            res["codeFlows"] = [{"threadFlows": [{"locations": steps}]}]
    if f.status != "open":
        res["suppressions"] = [_suppression(view, f, root)]
    elif baseline_in_use:
        res["baselineState"] = "unchanged" if view.baselined(f) else "new"
    return res


def document(
    view: ModelView, root: Path, include_suppressed: bool = True, baseline_in_use: bool = False
) -> dict[str, Any]:
    """The SARIF log for one model (``baseline_in_use``: mark open results new or unchanged)."""
    findings = [f for f in view.findings if include_suppressed or f.status == "open"]
    findings.sort(key=lambda f: (f.status != "open", *f.sort_key()))
    dropped = max(0, len(findings) - MAX_RESULTS)
    findings = findings[:MAX_RESULTS]
    by_rule: dict[str, list[Finding]] = {}
    for f in findings:
        by_rule.setdefault(f.rule.id, []).append(f)
    rule_ids = sorted(by_rule)
    index = {rid: i for i, rid in enumerate(rule_ids)}
    rules = [_rule(view, by_rule[rid][0].rule, by_rule[rid]) for rid in rule_ids]
    results = [_result(view, f, index[f.rule.id], root, baseline_in_use) for f in findings]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "threatgraph",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": rules,
                "properties": {"libraryVersion": view.library.version},
            }
        },
        "automationDetails": {"id": f"threatgraph/{view.model_id}/"},
        "columnKind": "unicodeCodePoints",
        "results": results,
        "properties": {"model": view.model_id, "gate": view.gate},
    }
    if dropped:
        run["invocations"] = [
            {
                "executionSuccessful": True,
                "toolExecutionNotifications": [
                    {
                        "level": "warning",
                        "message": {
                            "text": f"{dropped} results left out: GitHub accepts at most "
                            f"{MAX_RESULTS} per run (open findings were kept first)."
                        },
                    }
                ],
            }
        ]
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def dumps(doc: dict[str, Any]) -> str:
    """Deterministic SARIF text: structure indented, one line per rule property and result
    field (the C encoder does the rest)."""
    from threatgraph.formats.common import json_text

    return json_text(doc, expand=5)


class SarifFormat(ReportFormat):
    """findings.sarif: SARIF 2.1.0 for code scanning."""

    name = "sarif"
    summary = "findings.sarif: SARIF 2.1.0 for GitHub code scanning"

    def render(self, inp: ReportInput) -> dict[str, str | bytes]:
        """findings.sarif for one model."""
        baseline = getattr(getattr(inp.run, "policy", None), "baseline", None)
        doc = document(inp.view, inp.repo_root, inp.sarif_suppressed, baseline is not None)
        return {"findings.sarif": dumps(doc)}


FORMAT = SarifFormat()

__all__ = ["FORMAT", "MAX_RESULTS", "MAX_TAGS", "artifact_uri", "document", "dumps", "repo_root"]
