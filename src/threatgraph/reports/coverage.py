"""The renderings of framework coverage (``threatgraph coverage``): the JSON document,
Markdown, and an ATLAS Navigator layer.

:func:`threatgraph.features.coverage.run_coverage` computes a run's
:class:`~threatgraph.features.coverage.RunCoverage`; this module only writes it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from threatgraph.engine.findings import severity_rank
from threatgraph.features.coverage import FRAMEWORKS, RuleOutcome, RunCoverage
from threatgraph.formats.markdown import escape
from threatgraph.version import __version__

if TYPE_CHECKING:
    from threatgraph.engine.library import Library


def to_json(cov: RunCoverage) -> str:
    """:func:`document` as the JSON text ``coverage --format json`` writes."""
    return json.dumps(document(cov), indent=2, ensure_ascii=False) + "\n"


def navigator_json(cov: RunCoverage) -> str:
    """:func:`navigator_layer` as the JSON text ``coverage --navigator FILE`` writes."""
    return json.dumps(navigator_layer(cov), indent=2, ensure_ascii=False) + "\n"


def document(cov: RunCoverage) -> dict[str, Any]:
    """The coverage of every model of a run, as a JSON-ready document."""
    lib: Library = cov.library
    models = []
    for mc in cov.models:
        frameworks = {}
        for scheme, rows in mc.frameworks.items():
            frameworks[scheme] = [
                {
                    "id": row.id,
                    "name": row.name,
                    "rules": [r.rule for r in row.rules],
                    "fired": [
                        {
                            "rule": r.rule,
                            "open": r.open,
                            "mitigated": r.mitigated,
                            "accepted": r.accepted,
                            "false_positive": r.false_positive,
                        }
                        for r in row.by_status("fired")
                    ],
                    "evaluated_no_finding": [r.rule for r in row.by_status("no_match")],
                    "not_applicable": [
                        {"rule": r.rule, "reason": r.reason}
                        for r in row.by_status("not_applicable")
                    ],
                    "disabled": [
                        {"rule": r.rule, "reason": r.reason} for r in row.by_status("disabled")
                    ],
                }
                for row in rows
            ]
        models.append({"id": mc.model_id, "name": mc.name, "frameworks": frameworks})
    return {
        "schema_version": "1.0",
        "tool": {"name": "threatgraph", "version": __version__, "library_version": lib.version},
        "as_of": cov.as_of.isoformat(),
        "frameworks": {s: t for s, t in FRAMEWORKS},
        "models": models,
    }


# -- ATLAS Navigator ------------------------------------------------------------------------
#: Colours by worst open severity, light to dark.
SEVERITY_COLORS = {
    "info": "#dbeafe",
    "low": "#fde68a",
    "medium": "#f59e0b",
    "high": "#dc2626",
    "critical": "#7f1d1d",
}
NAVIGATOR_VERSIONS = {"layer": "4.3", "navigator": "4.6.4"}
NAVIGATOR_DOMAIN = "atlas-atlas"


def _tactic_shortname(name: str) -> str:
    return name.strip().lower().replace(" ", "-")


def navigator_layer(cov: RunCoverage) -> dict[str, Any]:
    """An ATLAS Navigator layer colouring the techniques that open findings cite.

    The score of a technique is the worst severity among the open findings citing it (1 low
    .. 4 critical, 0 info); its comment lists those findings.
    """
    lib: Library = cov.library
    atlas = (lib.references.get("entries", {}) or {}).get("atlas") or {}
    edition = str(((lib.references.get("schemes") or {}).get("atlas") or {}).get("edition", ""))
    worst = {tid: sev for tid, (sev, _) in cov.open_techniques.items()}
    tactic_names = {
        tid: _tactic_shortname(str(e.get("name", "")))
        for tid, e in atlas.items()
        if isinstance(e, dict) and e.get("type") == "tactic"
    }
    techniques: list[dict[str, Any]] = []
    shown_parents: set[tuple[str, str]] = set()
    for tid in sorted(worst):
        entry = atlas[tid]
        sev = worst[tid]
        base = {
            "score": severity_rank(sev),
            "color": SEVERITY_COLORS[sev],
            "comment": "Open findings: " + "; ".join(cov.open_techniques[tid][1]),
            "enabled": True,
        }
        parent = entry.get("parent")
        if parent:
            techniques.append({"techniqueID": tid, **base})
            for tac in (atlas.get(parent) or {}).get("tactics", []):
                key = (parent, tac)
                if key in shown_parents or parent in worst:
                    continue
                shown_parents.add(key)
                techniques.append(
                    {
                        "techniqueID": parent,
                        "tactic": tactic_names.get(tac, tac),
                        "showSubtechniques": True,
                    }
                )
        else:
            for tac in entry.get("tactics", []):
                techniques.append(
                    {
                        "techniqueID": tid,
                        "tactic": tactic_names.get(tac, tac),
                        **base,
                        "showSubtechniques": True,
                    }
                )
    techniques.sort(key=lambda t: (t["techniqueID"], t.get("tactic", "")))
    names = ", ".join(mc.name for mc in cov.models)
    return {
        "name": f"threatgraph: open findings ({names})"[:200],
        "versions": dict(NAVIGATOR_VERSIONS),
        "domain": NAVIGATOR_DOMAIN,
        "description": "ATLAS techniques cited by open threatgraph findings, coloured and "
        f"scored by the worst open severity, as of {cov.as_of.isoformat()}.",
        "metadata": [
            {"name": "atlas_data_version", "value": edition},
            {"name": "as_of", "value": cov.as_of.isoformat()},
            {"name": "threatgraph", "value": __version__},
            {"name": "library_version", "value": lib.version},
        ],
        "techniques": techniques,
        "gradient": {
            "colors": [SEVERITY_COLORS["info"], SEVERITY_COLORS["critical"]],
            "minValue": 0,
            "maxValue": 4,
        },
        "legendItems": [
            {"label": f"worst open finding: {sev}", "color": SEVERITY_COLORS[sev]}
            for sev in ("critical", "high", "medium", "low", "info")
        ],
        "hideDisabled": False,
    }


# -- Markdown -------------------------------------------------------------------------------
def _fired_text(o: RuleOutcome) -> str:
    parts = [
        f"{len(x)} {label}"
        for x, label in (
            (o.open, "open"),
            (o.mitigated, "mitigated"),
            (o.accepted, "accepted"),
            (o.false_positive, "false positive"),
        )
        if x
    ]
    return f"`{o.rule}` ({', '.join(parts)})"


def render_markdown(cov: RunCoverage) -> str:
    """Coverage of every model of a run as Markdown (model text escaped)."""
    lib: Library = cov.library
    titles = dict(FRAMEWORKS)
    o: list[str] = []
    for mc in cov.models:
        o += [
            f"# Framework coverage: {escape(mc.name)}",
            "",
            f"As of {cov.as_of.isoformat()}; threatgraph {__version__}, threat library "
            f"`{lib.version}` ({len(lib.active)} rules active, {len(lib.disabled)} disabled).",
            "",
            "Per category: the rules that cite it; which fired on this model (with their open "
            "and mitigated findings); which were evaluated and found nothing; which cannot apply "
            "because the model has no element of the kinds they need.",
            "",
        ]
        for scheme, rows in mc.frameworks.items():
            o += [f"## {titles[scheme]}", ""]
            o += [
                "| Category | Rules | Fired | Evaluated, no finding | Not applicable |",
                "|---|---|---|---|---|",
            ]
            reasons: dict[str, str] = {}
            for row in rows:
                fired = ", ".join(_fired_text(r) for r in row.by_status("fired")) or "-"
                quiet = ", ".join(f"`{r.rule}`" for r in row.by_status("no_match")) or "-"
                na = row.by_status("not_applicable")
                for r in na:
                    reasons[r.rule] = r.reason
                for r in row.by_status("disabled"):
                    reasons[r.rule] = f"disabled: {r.reason}"
                na_text = ", ".join(f"`{r.rule}`" for r in na + row.by_status("disabled")) or "-"
                label = f"{row.id} {escape(row.name)}"
                count = str(len(row.rules)) if row.rules else "**0: no rule**"
                o.append(f"| {label} | {count} | {fired} | {quiet} | {na_text} |")
            o.append("")
            if reasons:
                o += ["Why rules could not apply:", ""]
                o += [f"- `{rid}`: {escape(reasons[rid])}" for rid in sorted(reasons)]
                o.append("")
    return "\n".join(o).rstrip("\n") + "\n"
