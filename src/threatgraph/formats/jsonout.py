"""The JSON document: versioned, stable ordering. Its schema is docs/findings.schema.json."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from threatgraph.engine.findings import CheckItem, Finding, aligned
from threatgraph.formats.base import ReportFormat, ReportInput
from threatgraph.formats.common import (
    EncodedItems,
    json_compact,
    json_string,
    json_text,
    location_dict,
    reference_url,
    summary,
)
from threatgraph.model.schema import Decision, Location
from threatgraph.util.paths import display_location, display_path
from threatgraph.version import __version__

if TYPE_CHECKING:
    from threatgraph.results import ModelResult, Run

SCHEMA_VERSION = "1.0"


def finding_dict(f: Finding, refs: dict[str, Any], base: Path | None = None) -> dict[str, Any]:
    """One finding as JSON."""
    r = f.rule
    out: dict[str, Any] = {
        "id": f.id,
        "fingerprint": f.fingerprint,
        "threat": r.id,
        "title": r.title,
        "family": r.family,
        "severity": f.severity,
        "likelihood": r.likelihood,
        "status": f.status,
        "model": f.model_id,
        "element": f.element,
        "elements": list(f.elements),
        "flow": f.flow,
        "path": list(f.path),
        "location": location_dict(f.location, base),
        "explanation": f.explanation,
        "stride": list(r.stride),
        "mitigated_when": r.mitigated_when,
        "mitigations": [
            {
                "control": c.control,
                "present": c.present,
                "where": list(c.where),
                "places": list(c.places),
                "group": group,
            }
            for c, group in zip(f.checklist, item_groups(f), strict=True)
        ],
        "references": list(r.references),
        "reference_urls": {ref: u for ref in r.references if (u := reference_url(ref, refs))},
        "notes": list(f.notes),
    }
    if f.decision is not None:
        out["decision"] = _decision_dict(f.decision, policy=False)
    return out


def item_groups(f: Finding) -> list[str | None]:
    """The ``group`` of each checklist item (alternatives share one), or None.

    The checklist follows the rule's mitigations in order, less those that cannot apply to
    the finding; one that does not (a converted pytm threat) has no groups."""
    index = aligned(f.rule, f.checklist)
    if index is None:
        return [None] * len(f.checklist)
    return [f.rule.mitigations[i].group for i in index]


def _decision_dict(d: Decision, policy: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "status": d.status,
        "reason": d.reason,
        "owner": d.owner,
        "ticket": d.ticket,
        "expires": d.expires.isoformat() if d.expires else None,
        "evidence": list(d.evidence),
    }
    if policy:
        out.update(_decision_policy(d))
    return out


def _decision_policy(d: Decision) -> dict[str, Any]:
    # What the policy stage adds to a decision (add_policy).
    return {
        "date": d.date.isoformat() if d.date else None,
        "location": str(d.location) if d.location else None,
    }


def _skeleton(
    results: Sequence[ModelResult],
    run: Run,
    findings: list[dict[str, Any]] | EncodedItems,
    base: Path | None,
) -> dict[str, Any]:
    counts = [summary(r.findings) for r in results]
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {
            "name": "threatgraph",
            "version": __version__,
            "library_version": run.library.version,
        },
        "as_of": run.as_of.isoformat(),
        "gate": run.verdict.fail_on,
        # One model (every findings.json): its counts are the document's.
        "summary": (
            dict(counts[0])
            if len(results) == 1
            else summary(f for r in results for f in r.findings)
        ),
        "models": [
            {
                "id": r.model_id,
                "name": r.loaded.model.model.name,
                "file": location_dict(r.loaded.model.location or _loc(r), base)["file"],
                "elements": len(r.loaded.model.elements),
                "flows": len(r.loaded.model.flows),
                "summary": count,
            }
            for r, count in zip(results, counts, strict=True)
        ],
        "findings": findings,
        "notices": [
            {"level": n.level, "message": n.message, "location": n.location}
            for r in results
            for n in r.notices
        ],
    }


def document(results: Sequence[ModelResult], run: Run, base: Path | None = None) -> dict[str, Any]:
    """The whole JSON document for some model results of ``run``."""
    refs = run.library.references
    findings = [finding_dict(f, refs, base) for r in results for f in r.findings]
    return _skeleton(results, run, findings, base)


def _loc(r: ModelResult) -> Location:
    return Location(file=str(r.loaded.path), line=0)


def dumps(doc: dict[str, Any]) -> str:
    """Deterministic JSON text: indented at the top, one line per finding (diff-friendly)."""
    return json_text(doc, expand=2)


def _baselined(result: Run) -> set[tuple[str, str]]:
    return {(f.model_id, f.id) for f in result.verdict.baselined}


def add_policy(doc: dict[str, Any], result: Run) -> None:
    """Add what the policy stage decided to the JSON document: every notice, the baseline."""
    baselined = _baselined(result)
    decisions = {(r.model_id, f.id): f.decision for r in result.results for f in r.findings}
    for item in doc.get("findings", []):
        item["baselined"] = (item.get("model"), item.get("id")) in baselined
        dec = item.get("decision")
        f_dec = decisions.get((item.get("model"), item.get("id")))
        if isinstance(dec, dict) and f_dec is not None:
            dec.update(_decision_policy(f_dec))
    _add_policy_fields(doc, result, len(baselined))


def _add_policy_fields(doc: dict[str, Any], result: Run, known: int) -> None:
    doc["notices"] = [
        {"level": n.level, "message": n.message, "location": display_location(n.location)}
        for n in result.verdict.notices
    ]
    doc["baseline"] = (
        {"file": display_path(result.policy.baseline.path), "known": known}
        if result.policy.baseline is not None
        else None
    )
    doc["failing"] = len(result.verdict.failing)


def render_document(results: Sequence[ModelResult], result: Run, base: Path | None = None) -> str:
    """The text of :func:`document` with :func:`add_policy`, as :func:`dumps` writes it.

    What ``check --format json`` prints and ``report`` writes as findings.json. The
    findings are encoded by :class:`FindingText` (the same text, made from pieces encoded
    once); the rest of the document goes through :func:`dumps`.
    """
    baselined = _baselined(result)
    text = FindingText(result.library.references, base, baselined)
    findings = EncodedItems(text(f) for r in results for f in r.findings)
    doc = _skeleton(results, result, findings, base)
    _add_policy_fields(doc, result, len(baselined))
    return dumps(doc)


class FindingText:
    """Each finding's line of findings.json, from pieces encoded once.

    The same text as ``dumps`` gives for :func:`finding_dict` with what :func:`add_policy`
    adds (``baselined``, a decision's ``date`` and ``location``), key for key (a test holds
    the two to it). A big model repeats the same rule text (title, STRIDE, references and
    their URLs: over half of the bytes), the same element ids and the same mitigation
    items thousands of times: each is encoded once, and a finding's own values (id,
    explanation) are encoded with the C string encoder.
    """

    def __init__(
        self, refs: dict[str, Any], base: Path | None, baselined: set[tuple[str, str]]
    ) -> None:
        self.refs = refs
        self.base = base
        self.baselined = baselined
        self._strings: dict[str, str] = {}
        self._lists: dict[tuple[str, ...], str] = {}
        self._rules: dict[str, tuple[str, str, str]] = {}
        self._heads: dict[tuple[str, str, str], tuple[str, str, str]] = {}
        self._elements: dict[tuple[str, str, tuple[str, ...]], str] = {}
        self._items: dict[tuple[object, ...], str] = {}
        self._files: dict[str, str] = {}
        self._groups: dict[str, list[str | None]] = {}

    def _str(self, value: str) -> str:
        got = self._strings.get(value)
        if got is None:
            got = self._strings[value] = json_string(value)
        return got

    def _list(self, values: tuple[str, ...]) -> str:
        got = self._lists.get(values)
        if got is None:
            got = self._lists[values] = "[" + ", ".join(map(self._str, values)) + "]"
        return got

    def _rule(self, f: Finding) -> tuple[str, str, str]:
        """The rule's pieces: "threat" .. "status", "stride" .. "mitigations" and
        "references" .. "notes" (each with the keys, ready to join)."""
        r = f.rule
        enc = json_compact
        got = self._rules.get(r.id)
        if got is None:
            urls = {ref: u for ref in r.references if (u := reference_url(ref, self.refs))}
            got = self._rules[r.id] = (
                f', "threat": {enc(r.id)}, "title": {enc(r.title)}, "family": {enc(r.family)}',
                f', "stride": {enc(list(r.stride))}'
                f', "mitigated_when": {enc(r.mitigated_when)}, "mitigations": ',
                f', "references": {enc(list(r.references))}, "reference_urls": {enc(urls)}'
                ', "notes": ',
            )
        head = (
            f'{got[0]}, "severity": {enc(f.severity)}, "likelihood": {enc(r.likelihood)}'
            f', "status": {enc(f.status)}'
        )
        return head, got[1], got[2]

    def _item(self, c: CheckItem, group: str | None) -> str:
        key = (c.control, c.present, c.where, c.places, group)
        got = self._items.get(key)
        if got is None:
            got = self._items[key] = json_compact(
                {
                    "control": c.control,
                    "present": c.present,
                    "where": list(c.where),
                    "places": list(c.places),
                    "group": group,
                }
            )
        return got

    def _file(self, file: str) -> str:
        got = self._files.get(file)
        if got is None:
            got = self._files[file] = json_compact(display_path(file, self.base))
        return got

    def __call__(self, f: Finding) -> str:
        """The finding as one line of JSON."""
        rkey = (f.rule.id, f.severity, f.status)
        rule = self._heads.get(rkey)
        if rule is None:
            rule = self._heads[rkey] = self._rule(f)
        ekey = (f.model_id, f.element, f.elements)
        element = self._elements.get(ekey)
        if element is None:
            element = self._elements[ekey] = (
                f', "model": {self._str(f.model_id)}, "element": {self._str(f.element)}'
                f', "elements": {self._list(f.elements)}'
            )
        flow = "null" if f.flow is None else json_string(f.flow)
        path = self._list(f.path) if f.path else "[]"
        groups = self._groups.get(f.rule.id)  # the rule's own list, when nothing was left out
        if groups is None or len(groups) != len(f.checklist):
            groups = item_groups(f)
            if len(groups) == len(f.rule.mitigations):
                self._groups[f.rule.id] = groups
        items = ", ".join(map(self._item, f.checklist, groups))
        notes = json_compact(list(f.notes)) if f.notes else "[]"
        decision = (
            ""
            if f.decision is None
            else ', "decision": ' + json_compact(_decision_dict(f.decision, policy=True))
        )
        baselined = "true" if (f.model_id, f.id) in self.baselined else "false"
        return (
            f'{{"id": {json_string(f.id)}, "fingerprint": "{f.fingerprint}"{rule[0]}{element}'
            f', "flow": {flow}, "path": {path}'
            f', "location": {{"file": {self._file(f.location.file)}, "line": {f.location.line}}}'
            f', "explanation": {json_string(f.explanation)}{rule[1]}[{items}]{rule[2]}{notes}'
            f'{decision}, "baselined": {baselined}}}'
        )


class JsonFormat(ReportFormat):
    """findings.json: the versioned JSON document for one model (``threatgraph report``)."""

    name = "json"
    summary = "findings.json: versioned JSON (schema in docs/findings.schema.json)"

    def render(self, inp: ReportInput) -> dict[str, str | bytes]:
        """findings.json for one model: the same document as ``check --format json``."""
        from dataclasses import replace

        from threatgraph.results import Verdict

        r, run = inp.result, inp.run
        # The run as if it had checked this model alone: its share of the verdict.
        mine = {id(f) for f in r.findings}
        others = {id(n) for o in run.results if o is not r for n in o.notices}
        verdict = Verdict(
            fail_on=run.verdict.fail_on,
            failing=[f for f in run.verdict.failing if id(f) in mine],
            notices=[n for n in run.verdict.notices if id(n) not in others],
            baselined=[f for f in run.verdict.baselined if id(f) in mine],
        )
        one = replace(run, verdict=verdict, results=[r])
        return {"findings.json": render_document([r], one)}


FORMAT = JsonFormat()
