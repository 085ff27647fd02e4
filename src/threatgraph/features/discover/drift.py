"""Drift between a model and its code, as findings of their own rules (TG-DRIFT-*).

``check --drift`` runs discovery on the code a model covers (the repository holding it, or
the paths ``drift_scope`` gives it in the configuration) and compares:

- TG-DRIFT-001 (high): an AI component used in the code that no element covers;
- TG-DRIFT-002 (medium): an element whose ``code`` links match no file any more;
- TG-DRIFT-003 (low): an AI package a dependency file declares that no element covers, with
  no use found in the code.

A component is covered by an element of a kind that can stand for it when the element names
it (its id or name, or its provider's, contains one of the component's words: ``openai``,
``chroma``, the tool's or server's name) or, for anything but a model API, when the
element's ``code`` patterns cover a file the component was found in. A model API is covered
by name only: a new vendor called from a file an element already links must still be
modeled. The findings are ordinary findings: decisions, baselines, statuses, SARIF and the
gate treat them like any other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from threatgraph.engine.findings import CheckItem, Finding, finding_id
from threatgraph.engine.rules import ElementPred, Match, Mitigation, Rule
from threatgraph.features.discover import catalog
from threatgraph.features.discover.result import Category, Component, Discovery
from threatgraph.features.discover.ruleids import DRIFT_RULE_IDS
from threatgraph.features.discover.scan import discover
from threatgraph.graph import Graph
from threatgraph.load.registry import LoadedModel
from threatgraph.model.schema import Element, Kind, Location, SystemModel
from threatgraph.repo import codemap

_REFS = ["owasp-llm:LLM03@2025", "hipaa:164.308(a)(1)(ii)(A)@2013"]
_RATIONALE = {
    "owasp-llm:LLM03@2025": "A model API, package, hub model or MCP server the threat model "
    "does not list is supply chain no review has looked at.",
}
_FIX = Mitigation(
    control="process.threat_modeling",
    at=["model"],
    why="Model the component (threatgraph discover drafts the element) or decide the finding.",
)


def _rule(rid: str, title: str, severity: str, description: str, detection: str) -> Rule:
    return Rule(
        id=rid,
        title=title,
        family="drift",
        description=description,
        severity=severity,  # type: ignore[arg-type]
        likelihood="high",
        stride=["tampering", "information_disclosure"],
        references=_REFS,
        rationale=_RATIONALE,
        mitigations=[_FIX],
        match=Match(element=ElementPred()),
        detection=detection,
        false_positives="Code that is not part of the modeled system (examples, scripts, "
        "tests): narrow drift_scope, or decide the finding as a false positive.",
        tags=["drift"],
    )


UNMODELED = _rule(
    "TG-DRIFT-001",
    "AI component in the code is not in the model",
    "high",
    "The code uses an AI component (a model API, an agent or tool, an MCP server, a vector "
    "store, a model artefact, training code or a model server) that no element of the "
    "threat model covers, so none of its threats are analysed and the gate passes on a "
    "system that no longer exists.",
    "threatgraph discover finds the component statically in the code the model covers and no "
    "element of a matching kind names it or links the file it is in.",
)
STALE_CODE = _rule(
    "TG-DRIFT-002",
    "Element's linked code no longer exists",
    "medium",
    "An element's code links match no file of the repository: the code was moved or removed "
    "and the element may describe something the system no longer has, or its new code is "
    "no longer linked for review.",
    "Each code pattern of each element is matched against the repository's file list.",
)
UNMODELED_PACKAGE = _rule(
    "TG-DRIFT-003",
    "AI package declared but not in the model",
    "low",
    "A dependency file declares an AI package (a model SDK, a vector store client) that no "
    "element of the threat model covers; no use was found in the code, but it is installed "
    "with the system and may be used by code discovery cannot read.",
    "A requirements, pyproject or package.json entry names a package of the discovery "
    "catalogue and no element of a matching kind names its technology.",
)
RULES: tuple[Rule, ...] = (UNMODELED, STALE_CODE, UNMODELED_PACKAGE)

#: Element kinds that can stand for a component of each category.
KINDS: dict[Category, frozenset[Kind]] = {
    "model_api": frozenset({Kind.LLM, Kind.VENDOR, Kind.ML_MODEL}),
    "agent": frozenset({Kind.AGENT}),
    "tool": frozenset({Kind.TOOL, Kind.AGENT}),
    "mcp_server": frozenset({Kind.TOOL}),
    "vector_store": frozenset({Kind.VECTOR_STORE, Kind.MEMORY, Kind.DATASTORE}),
    "artifact": frozenset({Kind.ML_MODEL, Kind.LLM}),
    "training": frozenset({Kind.TRAINING_PIPELINE}),
    "deployment": frozenset(
        {Kind.LLM, Kind.ML_MODEL, Kind.PROCESS, Kind.APP, Kind.MODEL_REGISTRY, Kind.VECTOR_STORE}
    ),
}
_TOKEN = re.compile(r"[a-z0-9]+")


def _tokens(text: str) -> set[str]:
    return set(_TOKEN.findall(text.lower()))


def words(comp: Component) -> list[set[str]]:
    """Word sets that name ``comp``: an element naming every word of one set names it."""
    tech = catalog.BY_KEY.get(comp.tech)
    out = [{w} for w in tech.words] if tech is not None and tech.words else []
    if comp.category != "model_api":
        name = comp.name.removeprefix("MCP server ")
        toks = _tokens(name)
        if toks:
            out.append(toks)
        if tech is not None and not tech.words:
            out.append(_tokens(tech.key))
    return out


def _element_words(el: Element, model: SystemModel) -> set[str]:
    toks = _tokens(el.id) | _tokens(el.name)
    if el.provider:
        try:
            prov = model.element(el.provider)
            toks |= _tokens(prov.id) | _tokens(prov.name)
        except KeyError:
            toks |= _tokens(el.provider)
    return toks


def covered_by(comp: Component, model: SystemModel) -> Element | None:
    """The first element (in model order) that covers ``comp``, or None."""
    names = words(comp)
    files = comp.files
    for el in model.elements:
        if el.kind not in KINDS[comp.category]:
            continue
        toks = _element_words(el, model)
        if any(ws <= toks for ws in names):
            return el
        if comp.category == "model_api" or not el.code:
            continue
        pats = []
        for raw in el.code:
            try:
                pats.append(codemap.compile_pattern(raw))
            except codemap.PatternError:
                continue
        if any(p.matches(f) for p in pats for f in files):
            return el
    return None


@dataclass
class DriftOptions:
    """How ``check --drift`` finds each model's code.

    ``scopes`` maps a model file (resolved) to the repository paths (absolute, resolved) it
    covers; a model not in it covers the whole repository holding it. Discoveries are kept
    per root and scope for the run, so models sharing code share one scan.
    """

    config_root: str | None = None
    scopes: dict[Path, list[Path]] = field(default_factory=dict)
    #: Drift rules the configuration's ``disable`` table switches off.
    disabled: frozenset[str] = frozenset()
    _found: dict[tuple[Path, tuple[str, ...] | None], Discovery] = field(default_factory=dict)
    _files: dict[Path, codemap.FileIndex] = field(default_factory=dict)

    def scope_of(self, model_file: Path, root: Path) -> list[str] | None:
        """The repository-relative paths a model covers (None: the whole repository)."""
        mine = self.scopes.get(model_file.resolve())
        if mine is None:
            return None
        return sorted(p.relative_to(root).as_posix() for p in mine if p.is_relative_to(root))

    def discovery(self, root: Path, scope: list[str] | None) -> Discovery:
        """The discovery of ``scope`` under ``root`` (scanned once per run)."""
        k = (root, tuple(scope) if scope is not None else None)
        if k not in self._found:
            self._found[k] = discover(root, scope)
        return self._found[k]

    def findings(self, loaded: LoadedModel, graph: Graph) -> list[Finding]:
        """The drift findings of one model."""
        from threatgraph.repo.evidence import root_for

        model = loaded.model
        if not model.elements or self.disabled >= DRIFT_RULE_IDS:
            return []  # no element to anchor a finding on (docs/discover.md says so)
        root = root_for(Path(loaded.path), self.config_root).resolve()
        scope = self.scope_of(Path(loaded.path), root)
        found = self.discovery(root, scope)
        out: list[Finding] = []
        for comp in found.sorted_components():
            if covered_by(comp, model) is not None:
                continue
            out.append(self._unmodeled(comp, model, root, graph))
        out.extend(self._stale(model, root))
        return [f for f in out if f.rule.id not in self.disabled]

    def _unmodeled(self, comp: Component, model: SystemModel, root: Path, graph: Graph) -> Finding:
        rule = UNMODELED_PACKAGE if comp.declared_only else UNMODELED
        first = comp.first()
        anchor = _anchor(model, first.file)
        more = len(comp.evidence) + len(comp.packages) - 1
        where = f"{first} ({first.what})" + (f" and {more} more places" if more > 0 else "")
        kinds = ", ".join(sorted(k.value for k in KINDS[comp.category]))
        how = "naming it" if comp.category == "model_api" else "naming it or linking its code"
        verb = "declared" if comp.declared_only else "used"
        explanation = (
            f"{comp.name} is {verb} at {where}, but no element covers it (an element of kind "
            f"{kinds} {how}). Model it or decide the finding."
        )
        item = CheckItem("process.threat_modeling", False, (), ("model",), _FIX.why)
        bound = comp.key.replace(":", ".")
        return Finding(
            id=finding_id(rule.id, [bound]),
            rule=rule,
            model_id=model.model.id,
            element=anchor,
            elements=(anchor,),
            flow=None,
            path=(),
            path_flows=(),
            sources=(),
            location=Location(file=str(root / first.file), line=first.line),
            severity=rule.severity,
            checklist=[item],
            explanation=explanation,
            notes=[explanation],
        )

    def _stale(self, model: SystemModel, root: Path) -> list[Finding]:
        report = codemap.verify(model, root, cache=self._files)
        gone: dict[str, list[str]] = {}
        for u in report.unmatched:
            gone.setdefault(u.element, []).append(u.pattern)
        out: list[Finding] = []
        for el in model.elements:
            pats = gone.get(el.id)
            if not pats:
                continue
            where = el.location or model.location or Location(file="<model>", line=0)
            out.append(
                Finding(
                    id=finding_id(STALE_CODE.id, [el.id]),
                    rule=STALE_CODE,
                    model_id=model.model.id,
                    element=el.id,
                    elements=(el.id,),
                    flow=None,
                    path=(),
                    path_flows=(),
                    sources=(),
                    location=where,
                    severity=STALE_CODE.severity,
                    checklist=[
                        CheckItem("process.threat_modeling", False, (), ("model",), _FIX.why)
                    ],
                    explanation=(
                        why := f"{el.name}: code {', '.join(repr(p) for p in pats)} "
                        "matches no file of the repository any more."
                    ),
                    notes=[why],
                )
            )
        return out


def _anchor(model: SystemModel, file: str) -> str:
    """The element a finding about code in ``file`` sits on: one whose code covers the file,
    else the first app or process, else the first element (ids sorted)."""
    for el in sorted(model.elements, key=lambda e: e.id):
        for raw in el.code:
            try:
                if codemap.compile_pattern(raw).matches(file):
                    return el.id
            except codemap.PatternError:
                continue
    apps = sorted(e.id for e in model.elements if e.kind in (Kind.APP, Kind.PROCESS))
    return apps[0] if apps else sorted(e.id for e in model.elements)[0]
