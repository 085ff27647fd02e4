"""Framework coverage of one analysed model: which rules cite each framework category, which
were evaluated against the model, which fired, and which could not apply.

Frameworks: the OWASP Top 10 for LLM Applications 2025, the OWASP ML Security Top 10 2023,
the OWASP Top 10 for Agentic Applications 2026 (their categories are cited directly), and the
MITRE ATLAS tactics (a rule covers a tactic through the techniques it cites: the reference
index lists each technique's tactics, and a sub-technique inherits its parent's), and the
HIPAA standards and implementation specifications (a rule citing a specification also covers
its standard, as in the safeguard matrix).

A rule "cannot apply" to a model when its match needs an element of some kinds (an LLM, an
agent, a training pipeline...) and the model has none: the reason names the kinds and the
part of the match that needs them. Kinds are read from ``kind``, from named predicates
(``use``), from ``vendor`` facts (vendors only) and through ``all``/``any``.

:mod:`threatgraph.reports.coverage` writes the coverage of a run as JSON, Markdown and
an ATLAS Navigator layer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from threatgraph.engine.findings import Finding, severity_rank
from threatgraph.engine.library import Library, LoadedRule
from threatgraph.engine.rules import ElementPred
from threatgraph.features.hipaa import sections as hipaa_sections
from threatgraph.graph import FACT_KINDS, Graph
from threatgraph.model.schema import Kind

if TYPE_CHECKING:
    from threatgraph.results import Run

#: Frameworks in report order: (scheme, title, edition).
FRAMEWORKS: tuple[tuple[str, str], ...] = (
    ("owasp-llm", "OWASP Top 10 for LLM Applications"),
    ("owasp-ml", "OWASP Machine Learning Security Top 10"),
    ("owasp-asi", "OWASP Top 10 for Agentic Applications"),
    ("atlas", "MITRE ATLAS tactics"),
    ("hipaa", "HIPAA (45 CFR Part 164) standards and specifications"),
)


def split_ref(ref: str) -> tuple[str, str]:
    scheme, _, rest = ref.partition(":")
    return scheme, rest.rpartition("@")[0] or rest


def kinds_needed(p: ElementPred | None, named: Mapping[str, ElementPred]) -> frozenset[Kind] | None:
    """The kinds an element predicate can match (None: any kind), resolving named predicates."""
    return _kinds(p, named, set())


def _kinds(
    p: ElementPred | None, named: Mapping[str, ElementPred], seen: set[str]
) -> frozenset[Kind] | None:
    if p is None:
        return None
    sets: list[frozenset[Kind]] = []
    if p.kind:
        sets.append(frozenset(p.kind))
    if p.vendor is not None or p.hosts is not None:
        sets.append(frozenset({Kind.VENDOR}))
    for fact, kinds in FACT_KINDS.items():
        if getattr(p, fact) is True:
            sets.append(kinds)
    if p.use and p.use in named and p.use not in seen:
        k = _kinds(named[p.use], named, seen | {p.use})
        if k is not None:
            sets.append(k)
    for sub in p.all or ():
        k = _kinds(sub, named, seen)
        if k is not None:
            sets.append(k)
    if p.any:
        parts = [_kinds(s, named, seen) for s in p.any]
        if all(x is not None for x in parts):
            sets.append(frozenset().union(*[x for x in parts if x is not None]))
    if not sets:
        return None
    out = frozenset.intersection(*sets)
    if p.not_kind:
        out = out - frozenset(p.not_kind)
    return out


def requirements(
    lr: LoadedRule, named: Mapping[str, ElementPred]
) -> list[tuple[str, frozenset[Kind]]]:
    """What a rule's match needs: (part of the match, kinds it accepts), for parts that say."""
    m = lr.rule.match
    parts: list[tuple[str, ElementPred | None]] = []
    if m.element is not None:
        parts.append(("match.element", m.element))
    elif m.flow is not None:
        parts += [
            ("match.flow.source", m.flow.source),
            ("match.flow.target", m.flow.target),
            ("match.flow.requester", m.flow.requester),
            ("match.flow.server", m.flow.server),
        ]
    elif m.path is not None:
        # 'through' only restricts intermediate hops: a direct flow needs none of them.
        parts += [("match.path.from", m.path.from_), ("match.path.to", m.path.to)]
    out = []
    for where, pred in parts:
        k = kinds_needed(pred, named)
        if k is not None:
            out.append((where, k))
    return out


def not_applicable_reason(lr: LoadedRule, named: Mapping[str, ElementPred], g: Graph) -> str | None:
    """Why a rule cannot apply to the model (a needed kind is absent), or None."""
    for where, kinds in requirements(lr, named):
        if not any(g.by_kind.get(k) for k in kinds):
            names = " or ".join(sorted(k.value for k in kinds)) or "(none: the match is empty)"
            return f"no element of kind {names} ({where})"
    return None


# -- per model ------------------------------------------------------------------------------
@dataclass
class RuleOutcome:
    """What one rule did on one model."""

    rule: str
    title: str
    status: str  # fired, no_match, not_applicable, disabled
    reason: str = ""
    open: list[str] = field(default_factory=list)
    mitigated: list[str] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    false_positive: list[str] = field(default_factory=list)

    @property
    def findings(self) -> int:
        """Number of findings."""
        return len(self.open) + len(self.mitigated) + len(self.accepted) + len(self.false_positive)


@dataclass
class CategoryRow:
    """One framework category and the rules that cite it."""

    framework: str
    id: str
    name: str
    rules: list[RuleOutcome]

    def by_status(self, status: str) -> list[RuleOutcome]:
        """The rules with this outcome."""
        return [r for r in self.rules if r.status == status]


def categories(lib: Library) -> dict[str, list[tuple[str, str]]]:
    """Framework -> [(category id, name)], in id order."""
    entries = lib.references.get("entries", {})
    out: dict[str, list[tuple[str, str]]] = {}
    for scheme, _title in FRAMEWORKS:
        items = entries.get(scheme) or {}
        if scheme == "hipaa":
            # Natural section order; the Security Rule's part headings are not categories.
            out[scheme] = [(x.id, x.name) for x in hipaa_sections(lib) if not x.heading]
            continue
        if scheme == "atlas":
            rows = [
                (cid, str(e.get("name", "")))
                for cid, e in items.items()
                if isinstance(e, dict) and e.get("type") == "tactic"
            ]
        else:
            rows = [
                (cid, str(e.get("name", ""))) for cid, e in items.items() if isinstance(e, dict)
            ]
        out[scheme] = sorted(rows)
    return out


def technique_tactics(lib: Library) -> dict[str, list[str]]:
    """ATLAS technique (and sub-technique) id -> its tactics."""
    items = (lib.references.get("entries", {}) or {}).get("atlas") or {}
    out: dict[str, list[str]] = {}
    for tid, e in items.items():
        if not isinstance(e, dict) or e.get("type") != "technique":
            continue
        tactics = e.get("tactics")
        if not tactics and e.get("parent"):
            parent = items.get(e["parent"]) or {}
            tactics = parent.get("tactics") if isinstance(parent, dict) else None
        out[tid] = sorted(tactics or [])
    return out


def demonstrated(lib: Library) -> frozenset[str]:
    """Ids of the rules that prove they can fire: a positive fixture on which the rule
    produces an open finding of its own.

    The library's coverage matrix counts a framework category as covered only through such
    rules. Citing a category is a claim; a fixture that makes the rule find something is
    the evidence. Disabled rules and fixtures that fail to load prove nothing.
    """
    from threatgraph.features.lint import run_fixture
    from threatgraph.util.errors import InputError

    out: set[str] = set()
    for lr in lib.active:
        for path in lr.positives:
            try:
                opened = run_fixture(lr, path, lib)
            except InputError:
                continue
            if opened:
                out.add(lr.rule.id)
                break
    return frozenset(out)


def rule_categories(lr: LoadedRule, tactics: Mapping[str, list[str]]) -> set[tuple[str, str]]:
    """(framework, category id) pairs a rule covers."""
    out: set[tuple[str, str]] = set()
    for ref in lr.rule.references:
        scheme, rid = split_ref(ref)
        if scheme in ("owasp-llm", "owasp-ml", "owasp-asi"):
            out.add((scheme, rid))
        elif scheme == "atlas":
            if rid.startswith("AML.TA"):
                out.add(("atlas", rid))
            for t in tactics.get(rid, []):
                out.add(("atlas", t))
    return out


def outcomes(lib: Library, g: Graph, findings: Sequence[Finding]) -> dict[str, RuleOutcome]:
    """Every library rule's outcome on one model."""
    by_rule: dict[str, list[Finding]] = {}
    for f in findings:
        by_rule.setdefault(f.rule.id, []).append(f)
    out: dict[str, RuleOutcome] = {}
    for lr in lib.rules:
        rid = lr.rule.id
        o = RuleOutcome(rid, lr.rule.title, "no_match")
        if rid in lib.disabled:
            o.status, o.reason = "disabled", lib.disabled[rid]
        elif by_rule.get(rid):
            o.status = "fired"
            for f in sorted(by_rule[rid], key=lambda f: f.id):
                getattr(o, f.status).append(f.id)
        else:
            why = not_applicable_reason(lr, lib.predicates, g)
            if why is not None:
                o.status, o.reason = "not_applicable", why
        out[rid] = o
    return out


def coverage(lib: Library, g: Graph, findings: Sequence[Finding]) -> dict[str, list[CategoryRow]]:
    """Framework -> its categories with the outcome of every rule citing each."""
    tactics = technique_tactics(lib)
    outs = outcomes(lib, g, findings)
    cited: dict[tuple[str, str], list[str]] = {}
    for lr in lib.rules:
        for key in rule_categories(lr, tactics):
            cited.setdefault(key, []).append(lr.rule.id)
    # A rule citing an implementation specification also covers its standard.
    for sec in hipaa_sections(lib):
        cited[("hipaa", sec.id)] = list(sec.rules)
    result: dict[str, list[CategoryRow]] = {}
    for scheme, cats in categories(lib).items():
        result[scheme] = [
            CategoryRow(scheme, cid, name, [outs[r] for r in sorted(cited.get((scheme, cid), []))])
            for cid, name in cats
        ]
    return result


@dataclass
class ModelCoverage:
    """One model's coverage: framework -> its categories with every citing rule's outcome."""

    model_id: str
    name: str
    frameworks: dict[str, list[CategoryRow]]


@dataclass
class RunCoverage:
    """The coverage of every model of a run, and the ATLAS techniques open findings cite."""

    library: Library
    as_of: date
    models: list[ModelCoverage]
    #: ATLAS technique id -> the worst severity of the open findings citing it, and those
    #: findings as 'model id: finding id' (sorted, each once).
    open_techniques: dict[str, tuple[str, list[str]]]


def run_coverage(run: Run) -> RunCoverage:
    """The coverage of a run: what ``threatgraph coverage`` writes, as Markdown, JSON and an
    ATLAS Navigator layer (:mod:`threatgraph.reports.coverage`)."""
    lib = run.library
    models = [
        ModelCoverage(r.model_id, r.loaded.model.model.name, coverage(lib, r.graph, r.findings))
        for r in run.results
    ]
    return RunCoverage(lib, run.as_of, models, _open_techniques(run))


def _open_techniques(run: Run) -> dict[str, tuple[str, list[str]]]:
    atlas = (run.library.references.get("entries", {}) or {}).get("atlas") or {}
    worst: dict[str, str] = {}
    cited_by: dict[str, list[str]] = {}
    for res in run.results:
        for f in res.findings:
            if f.status != "open":
                continue
            for ref in f.rule.references:
                scheme, tid = split_ref(ref)
                entry = atlas.get(tid)
                if scheme != "atlas" or not isinstance(entry, dict):
                    continue
                if entry.get("type") != "technique":
                    continue
                cited_by.setdefault(tid, []).append(f"{res.model_id}: {f.id}")
                if tid not in worst or severity_rank(f.severity) > severity_rank(worst[tid]):
                    worst[tid] = f.severity
    return {tid: (worst[tid], sorted(set(cited_by[tid]))) for tid in sorted(worst)}
