"""What every report format reads about one model: safe ids, boundary tree, findings per element.

Formats never see raw model ids in places where an id has syntax (DOT node names, Mermaid
ids, HTML ids): :class:`ModelView` hands out generated ids (``n1``, ``n2``... for elements in
sorted id order, ``b1``... for boundaries, ``e1``... for flows), so a hostile or odd id can
never break the syntax of a diagram or a page. Everything is sorted, so the output does not
depend on the order in which the model declared things.
"""

from __future__ import annotations

import functools
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from threatgraph.engine.findings import CheckItem, Finding, aligned, group_keys, severity_rank
from threatgraph.engine.library import Library
from threatgraph.engine.rules import Rule
from threatgraph.graph import Graph
from threatgraph.model.schema import DataAsset, Decision, Element, Flow, Kind, Location, Trust
from threatgraph.util.paths import display_path

#: Human names of element kinds.
KIND_LABELS: dict[Kind, str] = {
    Kind.ACTOR: "actor",
    Kind.APP: "app",
    Kind.PROCESS: "process",
    Kind.DATASTORE: "datastore",
    Kind.LLM: "LLM",
    Kind.ML_MODEL: "ML model",
    Kind.AGENT: "agent",
    Kind.TOOL: "tool",
    Kind.VECTOR_STORE: "vector store",
    Kind.MEMORY: "memory",
    Kind.TRAINING_PIPELINE: "training pipeline",
    Kind.DATASET: "dataset",
    Kind.FEATURE_STORE: "feature store",
    Kind.MODEL_REGISTRY: "model registry",
    Kind.GUARDRAIL: "guardrail",
    Kind.EXTERNAL_CONTENT: "external content",
    Kind.VENDOR: "vendor",
}

#: Fill colour, text colour and border colour per severity (worst open finding of an element).
SEVERITY_COLORS: dict[str, tuple[str, str, str]] = {
    "critical": ("#7f1d1d", "#ffffff", "#450a0a"),
    "high": ("#dc2626", "#ffffff", "#7f1d1d"),
    "medium": ("#f59e0b", "#000000", "#92400e"),
    "low": ("#fde68a", "#000000", "#a16207"),
    "info": ("#bfdbfe", "#000000", "#1e40af"),
}

#: Border colour per trust level of a boundary.
TRUST_COLORS: dict[Trust, str] = {
    Trust.UNTRUSTED: "#b91c1c",
    Trust.THIRD_PARTY: "#c2410c",
    Trust.PARTNER: "#a16207",
    Trust.INTERNAL: "#1d4ed8",
    Trust.RESTRICTED: "#15803d",
}

#: Colour of an unencrypted flow carrying sensitive data.
UNENCRYPTED_COLOR = "#c00000"

_SPACES = re.compile(r" {2,}")
_CONTROL_CHARS = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]+"
)


def one_line(text: str | None) -> str:
    """Model text on one line: control characters and line breaks become single spaces.

    Labels, table cells and headings cannot hold a line break (it would end the statement,
    the row or the heading), so every format starts from this.
    """
    if not text:
        return ""
    return _one_line(text)


def decision_text(d: Decision | None) -> str:
    """A risk decision in words, on one line and unescaped (each format escapes it):
    'accepted by OWNER until DATE: REASON (ticket T); evidence: A, B'. Empty for None."""
    if d is None:
        return ""
    parts = [d.status.replace("_", " ")]
    if d.owner:
        parts.append(f"by {one_line(d.owner)}")
    if d.expires:
        parts.append(f"until {d.expires.isoformat()}")
    text = " ".join(parts) + f": {one_line(d.reason)}"
    if d.ticket:
        text += f" (ticket {one_line(d.ticket)})"
    if d.evidence:
        text += "; evidence: " + ", ".join(one_line(e) for e in d.evidence)
    return text


@functools.lru_cache(maxsize=1 << 16)
def _one_line(text: str) -> str:
    # Reports repeat the same names and titles thousands of times: clean each once.
    # isprintable() is False for every character _CONTROL_CHARS matches (and for more), so
    # printable text without double spaces needs no regular expression at all.
    if "  " not in text and (text.isprintable() or _CONTROL_CHARS.search(text) is None):
        return text.strip()
    return _SPACES.sub(" ", _CONTROL_CHARS.sub(" ", text)).strip()


def _data_id(d: DataAsset) -> str:
    return d.id


@dataclass
class FlowView:
    """A flow with its safe id and the facts diagrams show."""

    flow: Flow
    sid: str
    source: str  # safe id of the source element
    target: str
    data: list[DataAsset]
    crosses_boundary: bool

    @property
    def sensitive(self) -> bool:
        """Carries data whose disclosure harms someone."""
        return any(d.sensitive for d in self.data)

    @property
    def unencrypted_sensitive(self) -> bool:
        """Sensitive data in clear text: the diagrams mark these flows."""
        return self.sensitive and not self.flow.is_encrypted

    @property
    def name(self) -> str:
        """The flow's display name (its name, else its id)."""
        return one_line(self.flow.name) or self.flow.id

    def data_text(self) -> str:
        """'Patient notes [phi], Guidelines [internal]'."""
        return ", ".join(f"{one_line(d.name)} [{d.classification.value}]" for d in self.data)


@dataclass
class ModelView:
    """One analysed model, arranged for output formats."""

    graph: Graph
    findings: list[Finding]
    library: Library
    as_of: date
    gate: str
    source_file: str
    base: Path | None = None
    element_sid: dict[str, str] = field(default_factory=dict)
    boundary_sid: dict[str, str] = field(default_factory=dict)
    _flows: list[FlowView] | None = field(default=None, repr=False)
    _flow_by_id: dict[str, FlowView] | None = field(default=None, repr=False)
    open_by_element: dict[str, list[Finding]] = field(default_factory=dict)
    by_element: dict[str, list[Finding]] = field(default_factory=dict)
    #: The verdict's failing and baselined findings (None: compute the gate here).
    failing_ids: set[int] | None = None
    baselined_ids: set[int] = field(default_factory=set)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)
    # checklist_where's memos: by finding, by what a place names, and which places name
    # a flow or a source.
    _where_by_finding: dict[int, tuple[Finding, list[str]]] = field(
        default_factory=dict, repr=False
    )
    _where_memo: dict[tuple[Any, ...], str] = field(default_factory=dict, repr=False)
    _where_needs: dict[tuple[str, ...], tuple[bool, bool]] = field(default_factory=dict, repr=False)

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        graph: Graph,
        findings: list[Finding],
        library: Library,
        as_of: date,
        gate: str,
        source_file: str,
        base: Path | None = None,
    ) -> ModelView:
        """Arrange a model and its findings."""
        v = cls(
            graph,
            sorted(findings, key=lambda f: f.sort_key()),
            library,
            as_of,
            gate,
            source_file,
            base,
        )
        v.element_sid = {e: f"n{i}" for i, e in enumerate(sorted(graph.elements), 1)}
        v.boundary_sid = {b: f"b{i}" for i, b in enumerate(sorted(graph.boundaries), 1)}
        for f in v.findings:
            v.by_element.setdefault(f.element, []).append(f)
            if f.status == "open":
                v.open_by_element.setdefault(f.element, []).append(f)
        return v

    @property
    def flows(self) -> list[FlowView]:
        """Flows sorted by id, with their safe ids (built on first use: the finding-only
        formats, JSON, SARIF and CSV, never need them)."""
        if self._flows is None:
            self._build_flows()
        assert self._flows is not None
        return self._flows

    @property
    def flow_by_id(self) -> dict[str, FlowView]:
        """Flow views by flow id."""
        if self._flow_by_id is None:
            self._build_flows()
        assert self._flow_by_id is not None
        return self._flow_by_id

    def _build_flows(self) -> None:
        flows: list[FlowView] = []
        by_id: dict[str, FlowView] = {}
        graph, sid = self.graph, self.element_sid
        for i, fid in enumerate(sorted(graph.flows), 1):
            facts = graph.flows[fid]
            fv = FlowView(
                flow=facts.flow,
                sid=f"e{i}",
                source=sid[facts.flow.source],
                target=sid[facts.flow.target],
                data=sorted(facts.data, key=_data_id) if len(facts.data) > 1 else [*facts.data],
                crosses_boundary=facts.crosses_boundary,
            )
            flows.append(fv)
            by_id[fid] = fv
        self._flows, self._flow_by_id = flows, by_id

    # -- model ---------------------------------------------------------------------------
    @property
    def model_id(self) -> str:
        """The model's id."""
        return self.graph.model.model.id

    @property
    def model_name(self) -> str:
        """The model's display name."""
        return one_line(self.graph.model.model.name)

    @property
    def elements(self) -> list[Element]:
        """Elements sorted by id."""
        return [self.graph.elements[e] for e in sorted(self.graph.elements)]

    def element(self, element_id: str) -> Element | None:
        """An element by id."""
        return self.graph.elements.get(element_id)

    def name(self, element_id: str) -> str:
        """Display name of an element, flow, 'model' or 'path' reference."""
        el = self.graph.elements.get(element_id)
        if el is not None:
            return one_line(el.name)
        fv = self.flow_by_id.get(element_id)
        if fv is not None:
            return f"flow '{fv.name}'"
        if element_id == "model":
            return "the model (process controls)"
        if element_id == "path":
            return "every route to the element"
        return element_id

    def kind_label(self, element_id: str) -> str:
        """'LLM', 'vector store'..."""
        el = self.graph.elements.get(element_id)
        return KIND_LABELS[el.kind] if el else ""

    def trust(self, element_id: str) -> Trust:
        """Effective trust level of an element."""
        return self.graph.trust[element_id]

    # -- boundaries ------------------------------------------------------------------------
    def boundary_parent(self, bid: str) -> str | None:
        """The enclosing boundary, or None at the top (also when the model has a cycle)."""
        cache = self._cache.setdefault("parent", {})
        if bid not in cache:
            cache[bid] = self._boundary_parent(bid)
        got: str | None = cache[bid]
        return got

    def _boundary_parent(self, bid: str) -> str | None:
        chain: list[str] = []
        cur: str | None = bid
        while cur is not None and cur in self.graph.boundaries and cur not in chain:
            chain.append(cur)
            cur = self.graph.boundaries[cur].parent
        if cur is not None and cur in chain:  # a cycle: draw the boundary at the top
            return None
        parent = self.graph.boundaries[bid].parent
        return parent if parent in self.graph.boundaries else None

    def child_boundaries(self, parent: str | None) -> list[str]:
        """Boundaries directly inside ``parent`` (None: the top level), sorted by id."""
        index = self._cache.get("children")
        if index is None:
            index = {}
            for b in sorted(self.graph.boundaries):
                index.setdefault(self.boundary_parent(b), []).append(b)
            self._cache["children"] = index
        return list(index.get(parent, []))

    def elements_in(self, bid: str | None) -> list[str]:
        """Element ids directly inside boundary ``bid`` (None: outside every boundary)."""
        # Built once: formats ask for every boundary, and a scan per call is quadratic.
        index = self._cache.get("members")
        if index is None:
            index = {}
            for e in sorted(self.graph.elements):
                b = self.graph.elements[e].boundary
                index.setdefault(b if b in self.graph.boundaries else None, []).append(e)
            self._cache["members"] = index
        return list(index.get(bid, []))

    def top_boundary(self, element_id: str) -> str | None:
        """The outermost boundary around an element (None when outside every boundary)."""
        b = self.graph.elements[element_id].boundary
        if b not in self.graph.boundaries:
            return None
        seen: set[str] = set()
        while b is not None and b not in seen:
            seen.add(b)
            parent = self.boundary_parent(b)
            if parent is None:
                return b
            b = parent
        return b

    def hosting(self) -> list[tuple[str, str]]:
        """(vendor id, element id) for each element whose ``provider`` is a vendor element of
        this model, sorted: what each vendor hosts or provides (the diagrams draw it)."""
        got: list[tuple[str, str]] | None = self._cache.get("hosting")
        if got is None:
            elements = self.graph.elements
            got = sorted(
                (el.provider, el.id)
                for el in elements.values()
                if el.provider
                and el.provider != el.id
                and el.provider in elements
                and elements[el.provider].kind is Kind.VENDOR
            )
            self._cache["hosting"] = got
        return list(got)

    def boundary_label(self, bid: str) -> tuple[str, str]:
        """(name, trust) of a boundary."""
        b = self.graph.boundaries[bid]
        return one_line(b.name), b.trust.value

    # -- findings ------------------------------------------------------------------------
    def worst_open(self, element_id: str) -> str | None:
        """The worst severity of the open findings on an element."""
        fs = self.open_by_element.get(element_id)
        if not fs:
            return None
        return max((f.severity for f in fs), key=severity_rank)

    def counts(self) -> dict[str, Any]:
        """Counts by status and open counts by severity (worst first)."""
        from threatgraph.formats.common import summary

        return summary(self.findings)

    def failing(self) -> list[Finding]:
        """Open findings that fail the run (at or above the gate and not in the baseline)."""
        if self.failing_ids is not None:
            ids = self.failing_ids
            return [f for f in self.findings if id(f) in ids]
        from threatgraph.policy import gate

        return gate(self.findings, self.gate)

    def baselined(self, f: Finding) -> bool:
        """An open finding the baseline knows: reported, but it does not fail the run."""
        return id(f) in self.baselined_ids

    def open_findings(self) -> list[Finding]:
        """Open findings, worst first."""
        return [f for f in self.findings if f.status == "open"]

    def closed_findings(self) -> list[Finding]:
        """Mitigated, accepted and false-positive findings, worst first."""
        return [f for f in self.findings if f.status != "open"]

    def location(self, loc: Location | None) -> str:
        """'file:line' relative to the base directory."""
        if loc is None:
            return ""
        path = display_path(loc.file, self.base)
        return f"{path}:{loc.line}" if loc.line else path

    def finding_sids(self, f: Finding) -> list[str]:
        """Safe ids of the elements a finding binds, primary first, without duplicates."""
        out: list[str] = []
        for e in (f.element, *f.elements, *f.path):
            sid = self.element_sid.get(e)
            if sid is not None and sid not in out:
                out.append(sid)
        return out

    def control_title(self, control: str) -> str:
        """The catalogue title of a control (its id when the catalogue lacks it)."""
        c = self.library.controls.get(control)
        return one_line(c.title) if c else control

    def control_description(self, control: str) -> str:
        """What the control means, from the catalogue."""
        c = self.library.controls.get(control)
        return one_line(c.description) if c else ""

    def control_evidence(self, control: str) -> str:
        """What a reviewer should be shown, from the catalogue."""
        c = self.library.controls.get(control)
        return one_line(c.evidence) if c else ""

    def places_text(self, f: Finding, places: tuple[str, ...]) -> str:
        """Where a rule looks for a control, in words naming the model's elements."""
        words: list[str] = []
        facts = self.graph.flows.get(f.flow) if f.flow else None
        flow = facts.flow if facts else None
        for p in places:
            if p == "element":
                words.append(self.name(f.element))
            elif p == "source":
                src = flow.source if flow else (f.path[0] if f.path else None)
                if src:
                    words.append(self.name(src))
            elif p == "target":
                tgt = flow.target if flow else f.element
                words.append(self.name(tgt))
            elif p == "flow" and f.flow:
                words.append(self.name(f.flow))
            elif p == "provider":
                el = self.element(f.element)
                if el is not None and el.provider:
                    words.append(f"its provider {self.name(el.provider)}")
                else:
                    words.append("its hosting vendor")
            elif p == "upstream":
                words.append(f"a flow into {self.name(f.element)} (or that flow's source)")
            elif p == "downstream":
                words.append(f"a flow out of {self.name(f.element)} (or that flow's target)")
            elif p == "model":
                words.append("the model's process controls")
            elif p == "path":
                words.append(f"every route to {self.name(f.element)}")
        seen: list[str] = []
        for w in words:
            if w not in seen:
                seen.append(w)
        return " or ".join(seen)

    def declared_text(self, f: Finding, where: tuple[str, ...]) -> str:
        """Where a present control was found, in words."""
        words = []
        for w in where:
            if w == "path":
                words.append(f"every route to {self.name(f.element)}")
            else:
                words.append(self.name(w))
        return ", ".join(words)

    def mitigation_rule(self, f: Finding) -> str:
        """How many of the mitigations close the finding, as a phrase."""
        n = len(f.checklist)
        # Groups of the items shown (a checklist may leave out what cannot apply here).
        index = aligned(f.rule, f.checklist)
        every = group_keys(f.rule)
        groups = len({every[i] for i in index}) if index is not None and every else n
        mw = f.rule.mitigated_when
        need = groups if mw == "all" else 1 if mw == "any" else int(mw)
        alternatives = groups < n
        if need >= groups:
            if n == 1:
                return "this control closes the finding"
            if alternatives:
                return "all of these close the finding; controls in a group are alternatives"
            return "all of these close the finding"
        if need == 1:
            return "any one of these closes the finding"
        what = "groups" if alternatives else "controls"
        return f"{need} of these {groups} {what} close the finding"

    def path_text(self, f: Finding) -> str:
        """'A -> B -> C' for path findings; the flow for flow findings; '' otherwise."""
        if f.path:
            return " → ".join(self.name(e) for e in f.path)
        if f.flow and f.flow in self.flow_by_id:
            fv = self.flow_by_id[f.flow]
            return f"{self.name(fv.flow.source)} → {self.name(fv.flow.target)} (flow '{fv.name}')"
        return ""

    # -- the reviewer's summary (report.md, report.html) ---------------------------------
    def _closes_alone(self, f: Finding, control: str) -> bool:
        """Whether declaring ``control`` where the rule looks for it would, with the controls
        already present, mitigate ``f`` (the rule's ``mitigated_when``; controls of one
        group are alternatives, as in :meth:`mitigation_rule`)."""
        # A control may sit in more than one group ("A, or B and C" is written as the groups
        # A-or-B and A-or-C): it fills every group it is in.
        every = group_keys(f.rule)
        groups_of: dict[str, set[str]] = {}
        for m, k in zip(f.rule.mitigations, every, strict=True):
            groups_of.setdefault(m.control, set()).add(k)
        groups = set(every) or {f"control:{c.control}" for c in f.checklist}
        mw = f.rule.mitigated_when
        need = len(groups) if mw == "all" else 1 if mw == "any" else int(mw)
        have: set[str] = set()
        for c in [*(c.control for c in f.checklist if c.present), control]:
            have |= groups_of.get(c, {f"control:{c}"})
        return len(have) >= need

    def control_impact(self) -> dict[str, tuple[int, int]]:
        """Per control missing from an open finding: (open findings of the model that
        declaring it would close on its own, open findings it is missing from)."""
        got: dict[str, tuple[int, int]] | None = self._cache.get("impact")
        if got is None:
            closes: dict[str, int] = {}
            missing: dict[str, int] = {}
            for f in self.open_findings():
                for c in {c.control for c in f.checklist if not c.present}:
                    missing[c] = missing.get(c, 0) + 1
                    if self._closes_alone(f, c):
                        closes[c] = closes.get(c, 0) + 1
            got = {c: (closes.get(c, 0), n) for c, n in missing.items()}
            self._cache["impact"] = got
        return got

    def best_control(self, f: Finding) -> str | None:
        """The most effective control missing from ``f``: of its missing controls, the one
        that would close the most open findings of the model on its own, then the one
        missing from the most open findings, then the first by id. None when none is
        missing (a finding its checklist cannot close)."""
        impact = self.control_impact()
        mine = sorted({c.control for c in f.checklist if not c.present})
        if not mine:
            return None
        return min(mine, key=lambda c: (-impact[c][0], -impact[c][1], c))

    def top_controls(self, limit: int = 5) -> list[tuple[str, int, int]]:
        """The missing controls that would close the most open findings (then are missing
        from the most, then by id): (control, closes, missing from), at most ``limit``."""
        ranked = sorted(self.control_impact().items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))
        return [(c, n[0], n[1]) for c, n in ranked[:limit]]

    def risk_elements(self, limit: int = 5) -> list[tuple[str, dict[str, int]]]:
        """The elements that carry most risk: those with open findings, ranked by their open
        findings' severities (more critical first, then more high, and so on), then by
        name and id; with their open counts by severity (worst first), at most ``limit``."""
        from threatgraph.engine.rules import SEVERITIES

        order = list(reversed(SEVERITIES))
        rows = []
        for e, fs in self.open_by_element.items():
            if e not in self.graph.elements or not fs:
                continue
            counts = {s: 0 for s in order}
            for f in fs:
                counts[f.severity] = counts.get(f.severity, 0) + 1
            rows.append((tuple(-counts[s] for s in order), self.name(e), e, counts))
        rows.sort(key=lambda r: (r[0], r[1], r[2]))
        return [(e, {s: n for s, n in counts.items() if n}) for _, _, e, counts in rows[:limit]]

    # -- findings grouped by threat (report.md, report.html) -----------------------------
    def open_by_rule(self) -> list[tuple[Rule, list[Finding]]]:
        """Open findings grouped by rule: worst rule first, findings in the usual order.

        Rules are ordered by the worst severity among their open findings, then rule id;
        since :attr:`findings` is sorted by (severity, rule id, id), that is the order in
        which each rule first appears, and each group keeps the findings' own order.
        """
        groups = self._cache.get("open_by_rule")
        if groups is None:
            index: dict[str, tuple[Rule, list[Finding]]] = {}
            for f in self.findings:
                if f.status == "open":
                    hit = index.get(f.rule.id)
                    if hit is None:
                        index[f.rule.id] = (f.rule, [f])
                    else:
                        hit[1].append(f)
            groups = list(index.values())
            self._cache["open_by_rule"] = groups
        return list(groups)

    def location_text(self, loc: Location | None) -> str:
        """:meth:`location`, resolving each file's display path once per model."""
        if loc is None:
            return ""
        path = self.display_file(loc.file)
        return f"{path}:{loc.line}" if loc.line else path

    def checklist_where(self, f: Finding) -> list[str]:
        """Per checklist item: where it was declared (present) or where to declare it (missing).

        The words of :meth:`declared_text` and :meth:`places_text`, memoised by what they
        depend on: findings of many rules share an element and its places, and the formats
        of one report share this view.
        """
        # Per finding as well: the formats rendered in one process (HTML and CSV) each ask.
        # Keyed by identity, holding the finding so that its id cannot be reused.
        by_finding, memo, needs = self._where_by_finding, self._where_memo, self._where_needs
        done = by_finding.get(id(f))
        if done is not None and done[0] is f:
            return done[1]
        element, flow = f.element, f.flow
        source = f.path[0] if f.path else None
        out = []
        for c in f.checklist:
            if c.present:
                key: tuple[Any, ...] = (True, c.where, element)
            else:
                # Only what the places name goes into the key: "element" alone reads the
                # same for every flow and path of an element.
                need = needs.get(c.places)
                if need is None:
                    need = needs[c.places] = (
                        not {"flow", "source", "target"}.isdisjoint(c.places),
                        "source" in c.places,
                    )
                key = (
                    False,
                    c.places,
                    element,
                    flow if need[0] else None,
                    source if need[1] else None,
                )
            got = memo.get(key)
            if got is None:
                got = memo[key] = (
                    self.declared_text(f, c.where) if c.present else self.places_text(f, c.places)
                )
            out.append(got)
        by_finding[id(f)] = (f, out)
        return out

    def display_file(self, file: str) -> str:
        """A model file as shown in reports (:func:`display_path` against ``base``), once per
        file: every finding names the same file."""
        paths: dict[str, str] = self._cache.setdefault("paths", {})
        got = paths.get(file)
        if got is None:
            got = paths[file] = display_path(file, self.base)
        return got


class FindingPieces(ABC):
    """The parts of a finding's entry that recur across thousands of findings (where it
    is, its path or flow, each checklist line's head and place), each written once per
    report, and :meth:`pieces`, which puts them together for one finding.

    The Markdown and HTML reports subclass it and say only how each part is written.
    """

    def __init__(self, view: ModelView) -> None:
        self.view = view
        self.where: dict[tuple[str, str, int], str] = {}
        self.routes: dict[tuple[str, ...] | str, str] = {}
        self.places: dict[str, str] = {}
        self.heads: dict[tuple[str, bool], str] = {}

    @abstractmethod
    def where_text(self, name: str, kind: str, location: str) -> str:
        """The 'where' part: the element's display name, its kind label and file:line."""

    @abstractmethod
    def route_text(self, label: str, text: str) -> str:
        """The 'Path' or 'Flow' part (``label``) with its text."""

    @abstractmethod
    def head_text(self, control: str, present: bool) -> str:
        """The start of a checklist line, up to where the control is (to be) declared."""

    @abstractmethod
    def place_text(self, where: str) -> str:
        """The end of a checklist line: where the control is (to be) declared."""

    def pieces(self, f: Finding) -> tuple[str, str, str]:
        """One finding's where part, its path or flow part, and its checklist lines."""
        loc = f.location
        where = self.where.get((f.element, loc.file, loc.line)) or self._where(f)
        route = self.routes.get(f.path or f.flow or "")
        if route is None:
            route = self._route(f)
        heads, places = self.heads, self.places
        items = []
        for c, w in zip(f.checklist, self.view.checklist_where(f), strict=True):
            tail = places.get(w)
            if tail is None:
                tail = places[w] = self.place_text(w)
            items.append((heads.get((c.control, c.present)) or self._head(c)) + tail)
        return where, route, "".join(items)

    def _where(self, f: Finding) -> str:
        loc = f.location
        key = (f.element, loc.file, loc.line)
        got = self.where.get(key)
        if got is None:
            v = self.view
            got = self.where[key] = self.where_text(
                v.name(f.element), v.kind_label(f.element), v.location_text(loc)
            )
        return got

    def _route(self, f: Finding) -> str:
        key: tuple[str, ...] | str = f.path or f.flow or ""
        got = self.routes.get(key)
        if got is None:
            text = self.view.path_text(f)
            label = "Path" if f.path else "Flow"
            got = self.routes[key] = self.route_text(label, text) if text else ""
        return got

    def _head(self, c: CheckItem) -> str:
        key = (c.control, c.present)
        got = self.heads.get(key)
        if got is None:
            got = self.heads[key] = self.head_text(c.control, c.present)
        return got


#: Short names of reference schemes for link texts.
SCHEME_SHORT: dict[str, str] = {
    "atlas": "ATLAS",
    "owasp-llm": "OWASP LLM",
    "owasp-ml": "OWASP ML",
    "owasp-asi": "OWASP Agentic",
    "nist-aml": "NIST AI 100-2",
    "saif": "SAIF",
    "cwe": "CWE",
    "hipaa": "HIPAA",
}


@dataclass(frozen=True)
class Reference:
    """A pinned reference of a rule, resolved against the reference index."""

    ref: str  # scheme:ID@edition
    scheme: str
    rid: str
    edition: str
    name: str  # the entry's name in the index ('' when unknown)
    url: str | None  # http(s) only

    @property
    def text(self) -> str:
        """'OWASP LLM LLM01 (2025): Prompt Injection'."""
        short = SCHEME_SHORT.get(self.scheme, self.scheme)
        head = self.rid if self.rid.upper().startswith(short.upper()) else f"{short} {self.rid}"
        tail = f": {one_line(self.name)}" if self.name else ""
        return f"{head} ({self.edition}){tail}"


_RESOLVED: dict[tuple[int, str], tuple[dict[str, Any], Reference]] = {}


def resolve_reference(ref: str, index: dict[str, Any]) -> Reference:
    """A rule reference with its name and URL from the index (URL kept only if http/https)."""
    hit = _RESOLVED.get((id(index), ref))
    if hit is not None and hit[0] is index:  # the identity check guards against id reuse
        return hit[1]
    if len(_RESOLVED) > 50_000:
        _RESOLVED.clear()
    resolved = _resolve_reference(ref, index)
    _RESOLVED[(id(index), ref)] = (index, resolved)
    return resolved


def _resolve_reference(ref: str, index: dict[str, Any]) -> Reference:
    from threatgraph.formats.common import reference_url

    scheme, _, rest = ref.partition(":")
    rid, _, edition = rest.rpartition("@")
    if not rid:
        rid, edition = rest, ""
    entry = (index.get("entries", {}).get(scheme) or {}).get(rid)
    name = str(entry.get("name", "")) if isinstance(entry, dict) else ""
    url = reference_url(ref, index)
    if url is not None and not url.startswith(("https://", "http://")):
        url = None
    return Reference(ref, scheme, rid, edition, name, url)
