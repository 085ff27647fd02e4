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
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from threatgraph.engine.findings import Finding, severity_rank
from threatgraph.engine.rules import Rule
from threatgraph.formats.base import ReportFormat, ReportInput
from threatgraph.formats.common import EncodedItems, json_compact, json_string, json_text
from threatgraph.formats.view import ModelView, one_line, resolve_reference
from threatgraph.model.schema import Location
from threatgraph.version import __version__

if TYPE_CHECKING:
    from threatgraph.results import Run

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
    return _escape_message(one_line(text))


def _escape_message(t: str) -> str:
    # message_text() of text that is already on one line.
    t = t.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
    if len(t) > MAX_MESSAGE:
        t = t[: MAX_MESSAGE - 1].rstrip("\\") + "\u2026"
    return t


def _is_clean(text: str) -> bool:
    """Whether ``text`` is one non-empty line that one_line() leaves as it is: the join of
    such texts with single spaces is one too."""
    return bool(text) and one_line(text) == text


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


def _selected(view: ModelView, include_suppressed: bool) -> list[Finding]:
    """The findings to report, open ones first (each part worst first), within the cap."""
    # view.findings is in sort_key order: a stable split keeps that order in each part.
    opened = [f for f in view.findings if f.status == "open"]
    closed = [f for f in view.findings if f.status != "open"] if include_suppressed else []
    return opened + closed


def _run(
    view: ModelView, findings: list[Finding], results: list[Any], dropped: int
) -> dict[str, Any]:
    by_rule: dict[str, list[Finding]] = {}
    for f in findings:
        by_rule.setdefault(f.rule.id, []).append(f)
    rules = [_rule(view, by_rule[rid][0].rule, by_rule[rid]) for rid in sorted(by_rule)]
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


def _rule_index(findings: list[Finding]) -> dict[str, int]:
    return {rid: i for i, rid in enumerate(sorted({f.rule.id for f in findings}))}


def document(
    view: ModelView, root: Path, include_suppressed: bool = True, baseline_in_use: bool = False
) -> dict[str, Any]:
    """The SARIF log for one model (``baseline_in_use``: mark open results new or unchanged)."""
    findings = _selected(view, include_suppressed)
    dropped = max(0, len(findings) - MAX_RESULTS)
    findings = findings[:MAX_RESULTS]
    index = _rule_index(findings)
    results = [_result(view, f, index[f.rule.id], root, baseline_in_use) for f in findings]
    return _run(view, findings, results, dropped)


def dumps(doc: dict[str, Any]) -> str:
    """Deterministic SARIF text: structure indented, one line per rule property and result
    field (the C encoder does the rest)."""
    return json_text(doc, expand=5)


def render_sarif(
    view: ModelView, root: Path, include_suppressed: bool = True, baseline_in_use: bool = False
) -> str:
    """The text of :func:`document`, as :func:`dumps` writes it (findings.sarif).

    The results are written by :class:`_ResultText` (the same text, made from pieces
    encoded once); the rest of the log goes through :func:`dumps`.
    """
    findings = _selected(view, include_suppressed)
    dropped = max(0, len(findings) - MAX_RESULTS)
    findings = findings[:MAX_RESULTS]
    text = _ResultText(view, root, baseline_in_use, _rule_index(findings))
    return dumps(_run(view, findings, EncodedItems(map(text, findings)), dropped))


def render_run(run: Run, root: Path | None = None, include_suppressed: bool = True) -> str:
    """One SARIF log for a whole run: what ``check --format sarif`` prints.

    Each model is one SARIF run holding the same results as the findings.sarif ``report``
    writes for it, so a CI job can upload the output of ``check`` without writing a whole
    report.
    """
    from threatgraph.util.paths import display_path

    base = root or repo_root()
    runs: list[Any] = []
    for r in run.results:
        view = ModelView.build(
            r.graph,
            r.findings,
            run.library,
            run.as_of,
            run.verdict.fail_on,
            display_path(str(r.loaded.path)),
        )
        mine = {id(f) for f in r.findings}
        view.failing_ids = {id(f) for f in run.verdict.failing if id(f) in mine}
        view.baselined_ids = {id(f) for f in run.verdict.baselined if id(f) in mine}
        baseline_in_use = run.policy.baseline is not None
        runs.extend(document(view, base, include_suppressed, baseline_in_use)["runs"])
    return dumps({"$schema": SCHEMA_URI, "version": "2.1.0", "runs": runs})


#: Between the fields of a result: a result is the fifth level of the log, its fields the
#: sixth (as json_text lays out ``expand=5``).
_FIELD = ",\n          "


class _ResultText:
    """Each result of findings.sarif as :func:`dumps` lays it out, from pieces made once.

    The same text as :func:`_result` gives through :func:`dumps` (a test holds them equal).
    A big model repeats the same locations (every finding on an element points at its
    line, every path passes the same elements), the same rule levels and the same lists of
    controls thousands of times: each of those is encoded once, from the dicts the
    reference functions build, so the two cannot drift apart in content.
    """

    def __init__(
        self, view: ModelView, root: Path, baseline_in_use: bool, index: dict[str, int]
    ) -> None:
        self.view = view
        self.root = root
        self.baseline_in_use = baseline_in_use
        self.index = index
        self.model = json_compact(view.model_id)
        self._heads: dict[tuple[str, str, str], tuple[str, str]] = {}
        self._controls: dict[tuple[str, ...], str] = {}
        self._elements: dict[str, tuple[str, str] | None] = {}
        self._missing: dict[tuple[str, ...], str] = {}
        self._primary: dict[tuple[str, bool, str, int], str] = {}
        self._related: dict[str, str | None] = {}
        self._steps: dict[str, str | None] = {}
        self._bindings: dict[tuple[str, tuple[str, ...], tuple[str, ...]], str] = {}
        self._names: dict[str, tuple[str, bool]] = {}
        self._clean: dict[str, bool] = {}
        self._artifacts: dict[str, str] = {}

    def _message(self, f: Finding, missing: tuple[str, ...]) -> str:
        # As _message(), with the words about the element and the "Missing controls"
        # sentence made once. When every part is already one clean line, so is their
        # join, and message_text()'s one_line() over the whole message can be skipped.
        view = self.view
        element = self._names.get(f.element)
        if element is None:
            name = view.name(f.element)
            element = self._names[f.element] = (
                f" on {name} ({view.kind_label(f.element)}, ",
                bool(name),  # a clean line already (view.name), unless empty
            )
        title = f.rule.title
        clean = self._clean.get(title)
        if clean is None:
            clean = self._clean[title] = _is_clean(title)
        explanation = one_line(f.explanation)
        parts = [f"{title}{element[0]}{f.severity}).", explanation]
        clean = clean and element[1] and bool(explanation)
        if f.status == "open" and missing:
            sentence = self._missing.get(missing)
            if sentence is None:
                sentence = self._missing[missing] = (
                    "Missing controls: "
                    + ", ".join(view.control_title(c) + f" ({c})" for c in missing)
                    + "."
                )
                self._clean[sentence] = _is_clean(sentence)
            parts.append(sentence)
            clean = clean and self._clean[sentence]
        for note in f.notes:
            parts.append(one_line(note))
            clean = clean and bool(parts[-1])
        text = " ".join(parts)
        return _escape_message(text) if clean else message_text(text)

    def _physical(self, loc: Location) -> str | None:
        # _physical() as JSON text, with the artifact (the model file) encoded once.
        if loc.file.startswith("<"):
            return None
        art = self._artifacts.get(loc.file)
        if art is None:
            art = self._artifacts[loc.file] = json_compact(artifact_uri(loc.file, self.root))
        if loc.line >= 1:
            return f'{{"artifactLocation": {art}, "region": {{"startLine": {loc.line}}}}}'
        return f'{{"artifactLocation": {art}}}'

    def _location(self, f: Finding) -> str:
        name = f.flow or f.element
        key = (name, bool(f.flow), f.location.file, f.location.line)
        got = self._primary.get(key)
        if got is None:
            kind = "flow" if f.flow else "element"
            phys = self._physical(f.location)
            got = self._primary[key] = (
                f'{{"logicalLocations": [{{"name": {json_string(name)}, '
                f'"fullyQualifiedName": {json_string(f"{self.view.model_id}/{name}")}, '
                f'"kind": "{kind}"}}]'
                + ("" if phys is None else f', "physicalLocation": {phys}')
                + "}"
            )
        return got

    def _element(self, e: str) -> tuple[str, str] | None:
        """An element's (or flow's) location as in _element_location(), as JSON text up to
        its message, and the name the message starts with; None when it has no place."""
        if e in self._elements:
            return self._elements[e]
        view = self.view
        el = view.element(e)
        fv = view.flow_by_id.get(e)
        loc = el.location if el is not None else (fv.flow.location if fv is not None else None)
        phys = None if loc is None else self._physical(loc)
        got = self._elements[e] = (
            None
            if phys is None
            else (
                f'{{"physicalLocation": {phys}, "logicalLocations": [{{"name": {json_string(e)}'
                f', "fullyQualifiedName": {json_string(f"{view.model_id}/{e}")}, "kind": '
                f'"{"element" if el is not None else "flow"}"}}], "message": {{"text": ',
                view.name(e),
            )
        )
        return got

    def _related_text(self, e: str) -> str | None:
        # The related location of an element without its closing brace (the id follows).
        got = self._related.get(e)
        if got is None and e not in self._related:
            loc = self._element(e)
            got = self._related[e] = (
                None if loc is None else f"{loc[0]}{json_string(message_text(loc[1]))}}}"
            )
        return got

    def _step(self, e: str) -> str | None:
        got = self._steps.get(e)
        if got is None and e not in self._steps:
            loc = self._element(e)
            text = None if loc is None else f"{loc[1]} ({self.view.kind_label(e)})"
            got = self._steps[e] = (
                None
                if loc is None
                else f'{{"location": {loc[0]}{json_string(message_text(text or ""))}}}}}}}'
            )
        return got

    def _paths(self, f: Finding) -> str:
        """The relatedLocations and codeFlows fields: the same for every finding that binds
        the same elements along the same path."""
        key = (f.element, f.elements, f.path)
        got = self._bindings.get(key)
        if got is not None:
            return got
        out = []
        related = []
        for i, e in enumerate(dict.fromkeys((*f.elements[1:], *f.path)), 1):
            if e == f.element:
                continue
            rl = self._related_text(e)
            if rl is not None:
                related.append(f'{rl}, "id": {i}}}')
        if related:
            out.append(f'{_FIELD}"relatedLocations": [{", ".join(related[:100])}]')
        if f.path:
            steps = [s for e in f.path if (s := self._step(e)) is not None]
            if steps:
                out.append(
                    f'{_FIELD}"codeFlows": [{{"threadFlows": [{{"locations": '
                    f"[{', '.join(steps)}]}}]}}]"
                )
        got = self._bindings[key] = "".join(out)
        return got

    def __call__(self, f: Finding) -> str:
        """The result for one finding (the text of one item of ``results``)."""
        hkey = (f.rule.id, f.severity, f.status)
        head = self._heads.get(hkey)
        if head is None:
            head = self._heads[hkey] = (
                f'{{\n          "ruleId": {json_string(f.rule.id)}'
                f'{_FIELD}"ruleIndex": {self.index[f.rule.id]}'
                f'{_FIELD}"level": {json_string(LEVELS[f.severity])}',
                f'"severity": {json_string(f.severity)}, "status": {json_string(f.status)}, '
                f'"model": {self.model}',
            )
        fp = f.fingerprint
        missing: list[str] = []
        present: list[str] = []
        for c in f.checklist:
            (present if c.present else missing).append(c.control)
        controls = self._controls.get((*missing, "", *present))
        if controls is None:
            controls = self._controls[(*missing, "", *present)] = (
                f'"missingControls": {json_compact(missing)}, '
                f'"presentControls": {json_compact(present)}}}'
            )
        if f.status != "open":
            sup = json_compact([_suppression(self.view, f, self.root)])
            tail = f'{_FIELD}"suppressions": {sup}'
        elif self.baseline_in_use:
            state = "unchanged" if self.view.baselined(f) else "new"
            tail = f'{_FIELD}"baselineState": "{state}"'
        else:
            tail = ""
        return (
            f'{head[0]}{_FIELD}"message": {{"text": '
            f"{json_string(self._message(f, tuple(missing)))}}}"
            f'{_FIELD}"partialFingerprints": {{"threatgraphFindingId/v1": "{fp}", '
            f'"primaryLocationLineHash": "{fp}:1"}}'
            f'{_FIELD}"properties": {{"findingId": {json_string(f.id)}, {head[1]}, {controls}'
            f'{_FIELD}"locations": [{self._location(f)}]{self._paths(f)}{tail}\n        }}'
        )


class SarifFormat(ReportFormat):
    """findings.sarif: SARIF 2.1.0 for code scanning."""

    name = "sarif"
    summary = "findings.sarif: SARIF 2.1.0 for GitHub code scanning"

    def render(self, inp: ReportInput) -> dict[str, str | bytes]:
        """findings.sarif for one model."""
        baseline = getattr(getattr(inp.run, "policy", None), "baseline", None)
        text = render_sarif(inp.view, inp.repo_root, inp.sarif_suppressed, baseline is not None)
        return {"findings.sarif": text}


FORMAT = SarifFormat()

__all__ = [
    "FORMAT",
    "MAX_RESULTS",
    "MAX_TAGS",
    "artifact_uri",
    "document",
    "dumps",
    "render_run",
    "render_sarif",
    "repo_root",
]
