"""The JSON document: versioned, stable ordering. Its schema is docs/findings.schema.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from threatgraph import __version__
from threatgraph.engine.findings import Finding
from threatgraph.formats.base import ReportFormat, ReportInput
from threatgraph.formats.common import (
    display_location,
    display_path,
    json_text,
    location_dict,
    reference_url,
    summary,
)

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
        "mitigations": [
            {
                "control": c.control,
                "present": c.present,
                "where": list(c.where),
                "places": list(c.places),
            }
            for c in f.checklist
        ],
        "references": list(r.references),
        "reference_urls": {ref: u for ref in r.references if (u := reference_url(ref, refs))},
        "notes": list(f.notes),
    }
    if f.decision is not None:
        d = f.decision
        out["decision"] = {
            "status": d.status,
            "reason": d.reason,
            "owner": d.owner,
            "ticket": d.ticket,
            "expires": d.expires.isoformat() if d.expires else None,
            "evidence": list(d.evidence),
        }
    return out


def document(results: list[Any], run: Any, base: Path | None = None) -> dict[str, Any]:
    """The whole JSON document for some model results (pipeline.ModelResult)."""
    refs = run.library.references
    findings = [f for r in results for f in r.findings]
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {
            "name": "threatgraph",
            "version": __version__,
            "library_version": run.library.version,
        },
        "as_of": run.as_of.isoformat(),
        "gate": run.verdict.fail_on,
        "summary": summary(findings),
        "models": [
            {
                "id": r.model_id,
                "name": r.loaded.model.model.name,
                "file": location_dict(r.loaded.model.location or _loc(r), base)["file"],
                "elements": len(r.loaded.model.elements),
                "flows": len(r.loaded.model.flows),
                "summary": summary(r.findings),
            }
            for r in results
        ],
        "findings": [finding_dict(f, refs, base) for r in results for f in r.findings],
        "notices": [
            {"level": n.level, "message": n.message, "location": n.location}
            for r in results
            for n in r.notices
        ],
    }


def _loc(r: Any) -> Any:
    from threatgraph.model.schema import Location

    return Location(file=str(r.loaded.path), line=0)


def dumps(doc: dict[str, Any]) -> str:
    """Deterministic JSON text: indented at the top, one line per finding (diff-friendly)."""
    return json_text(doc, expand=2)


def add_policy(doc: dict[str, Any], result: Any) -> None:
    """Add what the policy stage decided to the JSON document: every notice, the baseline."""
    baselined = {(f.model_id, f.id) for f in result.verdict.baselined}
    decisions = {(r.model_id, f.id): f.decision for r in result.results for f in r.findings}
    for item in doc.get("findings", []):
        item["baselined"] = (item.get("model"), item.get("id")) in baselined
        dec = item.get("decision")
        f_dec = decisions.get((item.get("model"), item.get("id")))
        if isinstance(dec, dict) and f_dec is not None:
            dec["date"] = f_dec.date.isoformat() if f_dec.date else None
            dec["location"] = str(f_dec.location) if f_dec.location else None
    doc["notices"] = [
        {"level": n.level, "message": n.message, "location": display_location(n.location)}
        for n in result.verdict.notices
    ]
    doc["baseline"] = (
        {"file": display_path(result.policy.baseline.path), "known": len(baselined)}
        if result.policy.baseline is not None
        else None
    )
    doc["failing"] = len(result.verdict.failing)


class JsonFormat(ReportFormat):
    """findings.json: the versioned JSON document for one model (``threatgraph report``)."""

    name = "json"
    summary = "findings.json: versioned JSON (schema in docs/findings.schema.json)"

    def render(self, inp: ReportInput) -> dict[str, str | bytes]:
        """findings.json for one model: the same document as ``check --format json``."""
        from types import SimpleNamespace

        r, run = inp.result, inp.run
        mine = {id(f) for f in r.findings}
        others = {id(n) for o in run.results if o is not r for n in o.notices}
        verdict = SimpleNamespace(
            fail_on=run.verdict.fail_on,
            failing=[f for f in run.verdict.failing if id(f) in mine],
            baselined=[f for f in run.verdict.baselined if id(f) in mine],
            notices=[n for n in run.verdict.notices if id(n) not in others],
        )
        one = SimpleNamespace(
            library=run.library, as_of=run.as_of, verdict=verdict, policy=run.policy, results=[r]
        )
        doc = document([r], one)
        add_policy(doc, one)
        return {"findings.json": dumps(doc)}


FORMAT = JsonFormat()
