"""The renderings of a code review (``threatgraph review``): text, Markdown, JSON.

:func:`threatgraph.features.review.build` computes the :class:`Review`; this module only
writes it, with the format layer's escapers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from threatgraph.formats.common import count_text
from threatgraph.formats.markdown import code, escape, link
from threatgraph.formats.text import missing_text
from threatgraph.formats.view import one_line
from threatgraph.version import __version__

if TYPE_CHECKING:
    from threatgraph.features.review import EvidenceChange, FindingRef, Review, TouchedElement
    from threatgraph.model.schema import Location

REVIEW_VERSION = "1.0"
#: Where a built-in rule's source is published: the rule file at a git ref of the project.
RULE_URL = "https://github.com/threatgraph/threatgraph/blob/{ref}/{path}"
#: The release tags that exist in the project's repository. A link names the installed
#: version's tag only when it is one of these (the rule as that release shipped it); until a
#: release is tagged, links go to the default branch, which exists.
RELEASE_TAGS: frozenset[str] = frozenset()
DEFAULT_BRANCH = "main"


def rule_ref(version: str = __version__) -> str:
    """The git ref rule links point at: ``v<version>`` when that release is tagged, else the
    default branch."""
    tag = f"v{version}"
    return tag if tag in RELEASE_TAGS else DEFAULT_BRANCH


_STATE_TEXT = {
    "missing": "MISSING",
    "accepted": "missing, risk accepted",
    "declared": "declared: check it still holds",
    "alternative": "not declared; an alternative mitigates",
}
_ROLE_TEXT = {"on": "", "bound": "bound", "route": "on the route"}

#: A file path as the output shows it.
PathFn = Callable[[str], str]


def rule_link(review: Review, rule_id: str) -> str | None:
    """The published source of a built-in rule (None for custom and pytm rules)."""
    lib = review.library
    if lib is None:
        return None
    try:
        lr = lib.rule(rule_id)
    except KeyError:
        return None
    parts = PurePosixPath(lr.path.as_posix()).parts
    if not lr.builtin or len(parts) < 4 or parts[-4] != "rules":
        return None
    return RULE_URL.format(ref=rule_ref(), path="threats/" + "/".join(parts[-4:]))


def _status(ref: FindingRef) -> str:
    f = ref.finding
    d = f.decision
    if f.status == "accepted" and d is not None:
        who = f" by {d.owner}" if d.owner else ""
        until = f" until {d.expires.isoformat()}" if d.expires else ""
        return f"accepted{who}{until}"
    if f.status == "open" and ref.baselined:
        return "open (baseline)"
    return f.status.replace("_", " ")


def _verdict(r: Review) -> str:
    parts = []
    if r.failing:
        parts.append(
            f"{count_text(len(r.failing), 'open finding')} at or above '{r.fail_on}' on touched "
            "elements"
        )
    if r.fail_on_unmapped and r.unmapped:
        parts.append(f"{count_text(len(r.unmapped), 'changed file')} outside the model")
    if parts:
        return "FAIL: " + "; ".join(parts) + "."
    return f"PASS: no open findings at or above '{r.fail_on}' on touched elements."


def _where(loc: Location | None, path: PathFn) -> str:
    if loc is None:
        return ""
    return f"{path(loc.file)}:{loc.line}" if loc.line else path(loc.file)


def render_text(r: Review, path: PathFn) -> str:
    """The review for a terminal (or a pre-commit hook's output)."""
    t = one_line

    out: list[str] = []
    n = len(r.changes.files)
    out.append(f"threatgraph review: {count_text(n, 'changed file')} ({t(r.changes.description)})")
    if r.elements_with_code == 0:
        out.append(
            "note: no element of the models names its code (code=[...]); every changed file "
            "is unmapped."
        )
    out.append("")
    out.append(
        f"Touched elements ({len(r.elements)}):" if r.elements else "Touched elements: none."
    )
    for te in r.elements:
        el = te.element
        out.append(
            f"  {t(el.name)} [{el.kind.value}] in {t(te.model_name)} ({_where(el.location, path)})"
        )
        out.append(f"    changed: {', '.join(t(f) for f in te.files)}")
        if te.findings:
            out.append("    findings:")
        for ref in te.findings:
            f = ref.finding
            role = f" ({_ROLE_TEXT[ref.role]})" if _ROLE_TEXT[ref.role] else ""
            out.append(
                f"      {_status(ref).upper() if f.status == 'open' else _status(ref)} "
                f"{f.severity} {t(f.id)}: {t(f.rule.title)}{role}"
            )
            # What closes it, worded as `check` words it (alternatives, how many needed).
            closes = missing_text(f) if f.status == "open" else ""
            if closes:
                out.append(f"        {t(closes)}")
        if not te.findings:
            out.append("    findings: none")
        if te.checklist:
            out.append("    review checklist:")
        for g in te.checklist:
            on = f" on {', '.join(t(w) for w in g.declared_on)}" if g.declared_on else ""
            out.append(
                f"      [ ] {g.control} ({t(g.title)}): {_STATE_TEXT[g.state]}{on}; "
                f"{', '.join(g.findings)}"
            )
            for c in g.checks:
                out.append(f"          - {c.rule}: {t(c.text)}")
            for q in g.questions:
                out.append(f"          - {t(q)}")
    out.append("")
    if r.evidence:
        out.append(f"Controls whose evidence changed, re-verify ({len(r.evidence)}):")
        for ev in r.evidence:
            out.append(
                f"  [ ] {t(ev.control)} ({t(ev.title)}) on {ev.owner_kind} {t(ev.owner_name)}"
                + (f" in {t(ev.model_name)}" if ev.model_name else "")
                + (f" ({_where(ev.location, path)})" if ev.location else "")
            )
            files = [t(f) + (" (deleted)" if f in r.deleted else "") for f in ev.files]
            out.append(f"      evidence changed: {', '.join(files)}")
            for q in ev.questions:
                out.append(f"      - {t(q)}")
    else:
        out.append("Controls whose evidence changed: none.")
    if r.model_files:
        out.append("")
        out.append(
            f"Threat model files changed ({len(r.model_files)}; `threatgraph diff` shows what "
            "the model change does):"
        )
        out.extend(f"  {t(f)}" for f in r.model_files)
    out.append("")
    if r.unmapped:
        out.append(f"Changed files no element of the models covers ({len(r.unmapped)}):")
        out.extend(f"  {t(f)}" for f in r.unmapped)
    else:
        out.append("Changed files no element of the models covers: none.")
    if r.ignored:
        out.append(f"({count_text(len(r.ignored), 'changed file')} ignored by --ignore.)")
    out.append("")
    out.append(_verdict(r))
    return "\n".join(out) + "\n"


def render_markdown(r: Review, path: PathFn) -> str:
    """The review as a Markdown pull-request comment: a section and a checklist per element."""
    # The Markdown escaper (which also keeps '@' from mentioning anyone in a PR comment).
    md, ident, anchor = escape, code, link
    out: list[str] = ["## threatgraph review", ""]
    verdict = _verdict(r)
    head, _, rest = verdict.partition(": ")
    out.append(f"**{head}**: {md(rest)}")
    out.append("")
    n = len(r.changes.files)
    out.append(
        f"{count_text(n, 'changed file')} ({md(r.changes.description)}) · "
        f"{count_text(len(r.elements), 'touched element')} · "
        f"{count_text(len(r.evidence), 'control')} to re-verify · "
        f"{count_text(len(r.unmapped), 'unmapped file')}"
    )
    if r.elements_with_code == 0:
        out += [
            "",
            "No element of the models names its code (`code=[...]`): every changed file is "
            "unmapped.",
        ]
    for te in r.elements:
        el = te.element
        out += ["", f"### {md(el.name)} ({ident(el.kind.value)}) · {md(te.model_name)}", ""]
        out.append(
            f"Declared at {ident(_where(el.location, path))} · changed: "
            + ", ".join(ident(f) for f in te.files)
        )
        if te.findings:
            out += ["", "| Status | Severity | Finding | Threat |", "| --- | --- | --- | --- |"]
            for ref in te.findings:
                f = ref.finding
                fid = ident(f.id)
                url = rule_link(r, f.rule.id)
                fid_cell = anchor(f.id, url) if url else fid
                role = f" ({_ROLE_TEXT[ref.role]})" if _ROLE_TEXT[ref.role] else ""
                status = md(_status(ref))
                if f.status == "open":
                    status = f"**{status}**"
                out.append(f"| {status} | {f.severity} | {fid_cell}{role} | {md(f.rule.title)} |")
        else:
            out += ["", "No findings bear on this element."]
        if te.checklist:
            out += ["", "**Review checklist**", ""]
        for g in te.checklist:
            on = f" on {', '.join(md(w) for w in g.declared_on)}" if g.declared_on else ""
            out.append(
                f"- [ ] **{md(g.title)}** ({ident(g.control)}): {md(_STATE_TEXT[g.state])}{on} · "
                + ", ".join(ident(x) for x in g.findings)
            )
            for c in g.checks:
                out.append(f"  - [ ] {ident(c.rule)}: {md(c.text)}")
            for q in g.questions:
                out.append(f"  - [ ] {md(q)}")
    if r.evidence:
        out += ["", "### Controls to re-verify (their evidence changed)", ""]
        for ev in r.evidence:
            model = f" in {md(ev.model_name)}" if ev.model_name else ""
            where = f" ({ident(_where(ev.location, path))})" if ev.location else ""
            files = [ident(f) + (" (deleted)" if f in r.deleted else "") for f in ev.files]
            out.append(
                f"- [ ] **{md(ev.title)}** ({ident(ev.control)}) on {ev.owner_kind} "
                f"{md(ev.owner_name)}{model}{where}: evidence changed in {', '.join(files)}"
            )
            for q in ev.questions:
                out.append(f"  - [ ] {md(q)}")
    if r.model_files:
        out += ["", "### Threat model files changed", ""]
        out.append("Run `threatgraph diff` for what the model change does.")
        out.append("")
        out.extend(f"- {ident(f)}" for f in r.model_files)
    if r.unmapped:
        out += ["", f"### Changed files outside the model ({len(r.unmapped)})", ""]
        out.append("No element's `code` covers these: a possible blind spot of the threat model.")
        out.append("")
        out.extend(f"- {ident(f)}" for f in r.unmapped)
    return "\n".join(out) + "\n"


def _json_loc(x: Location | None, path: PathFn) -> dict[str, Any] | None:
    return {"file": path(x.file), "line": x.line} if x is not None else None


def _json_finding(r: Review, ref: FindingRef, path: PathFn) -> dict[str, Any]:
    """One finding on a touched element, as JSON."""
    f = ref.finding
    d = f.decision
    return {
        "id": f.id,
        "threat": f.rule.id,
        "title": f.rule.title,
        "severity": f.severity,
        "status": f.status,
        "role": ref.role,
        "baselined": ref.baselined,
        "element": f.element,
        "missing": f.missing,
        "location": _json_loc(f.location, path),
        "rule_url": rule_link(r, f.rule.id),
        "decision": (
            {
                "status": d.status,
                "owner": d.owner,
                "expires": d.expires.isoformat() if d.expires else None,
                "reason": d.reason,
            }
            if d is not None
            else None
        ),
    }


def _json_changes(r: Review) -> dict[str, Any]:
    """The changed files, each with what it is (mapped, model, unmapped, ignored) and the
    elements and evidence it belongs to."""
    owners: dict[str, list[str]] = {}
    for te in r.elements:
        for f in te.files:
            owners.setdefault(f, []).append(f"{te.model_id}/{te.element.id}")
    cited: dict[str, list[str]] = {}
    for ev in r.evidence:
        for f in ev.files:
            cited.setdefault(f, []).append(f"{ev.model_id}/{ev.owner_kind} {ev.owner}/{ev.control}")
    model_files, unmapped, ignored = set(r.model_files), set(r.unmapped), set(r.ignored)

    def kind(p: str) -> str:
        if p in owners or p in cited:
            return "mapped"
        if p in model_files:
            return "model"
        return "unmapped" if p in unmapped else "ignored" if p in ignored else "mapped"

    return {
        "description": r.changes.description,
        "base": r.changes.base,
        "files": [
            {
                "path": c.path,
                "deleted": c.deleted,
                "kind": kind(c.path),
                "elements": owners.get(c.path, []),
                "evidence_of": sorted(cited.get(c.path, [])),
            }
            for c in r.changes.files
        ],
    }


def _json_element(r: Review, te: TouchedElement, path: PathFn) -> dict[str, Any]:
    """One touched element with its findings and checklist, as JSON."""
    return {
        "model": te.model_id,
        "id": te.element.id,
        "name": te.element.name,
        "kind": te.element.kind.value,
        "location": _json_loc(te.element.location, path),
        "files": te.files,
        "patterns": te.patterns,
        "findings": [_json_finding(r, ref, path) for ref in te.findings],
        "checklist": [
            {
                "control": g.control,
                "title": g.title,
                "state": g.state,
                "severity": g.severity,
                "findings": g.findings,
                "declared_on": g.declared_on,
                "checks": [{"rule": c.rule, "text": c.text} for c in g.checks],
                "questions": g.questions,
            }
            for g in te.checklist
        ],
    }


def _json_evidence(ev: EvidenceChange, path: PathFn) -> dict[str, Any]:
    """One control or decision whose evidence changed, as JSON."""
    return {
        "model": ev.model_id,
        "owner_kind": ev.owner_kind,
        "owner": ev.owner,
        "owner_name": ev.owner_name,
        "control": ev.control,
        "title": ev.title,
        "location": _json_loc(ev.location, path),
        "items": ev.items,
        "files": ev.files,
        "questions": ev.questions,
    }


def to_json(r: Review, path: PathFn) -> str:
    """The review as a JSON document (stable order)."""
    doc: dict[str, Any] = {
        "review_version": REVIEW_VERSION,
        "changes": _json_changes(r),
        "fail_on": r.fail_on,
        "models": r.models,
        "elements": [_json_element(r, te, path) for te in r.elements],
        "evidence_changed": [_json_evidence(ev, path) for ev in r.evidence],
        "model_files": r.model_files,
        "unmapped": r.unmapped,
        "ignored": r.ignored,
        "failing": [{"model": f.model_id, "id": f.id, "severity": f.severity} for f in r.failing],
        "exit_code": r.exit_code,
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
