"""The result types of a check: what the pipeline hands to every output.

One module, so that formats, features, commands and Python users read the same names:
:class:`Run` (every model of one invocation and the :class:`Verdict`), :class:`ModelResult`
(one model after matching and policy), :class:`Finding` with its :class:`CheckItem`
checklist, :class:`Notice`, and the evidence checks (:class:`EvidenceReport`).

It depends only on the stages before it (model, load, graph, engine, policy), never on
formats, features or commands. :class:`Finding` is defined by the engine, which makes it,
and :class:`Verdict` and :class:`Notice` by the policy stage; they are the same classes here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from threatgraph.engine.findings import STATUSES, CheckItem, Finding, Status
from threatgraph.engine.library import Library
from threatgraph.graph import Graph
from threatgraph.load.registry import LoadedModel
from threatgraph.model.schema import Location
from threatgraph.policy import Notice, PolicyConfig, Verdict
from threatgraph.util.errors import Problem

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "STATUSES",
    "CheckItem",
    "CitedControl",
    "EvidenceReport",
    "Finding",
    "ModelResult",
    "Notice",
    "PolicyConfig",
    "Run",
    "Status",
    "Verdict",
]


@dataclass(frozen=True)
class CitedControl:
    """One declared control (or 'mitigated' decision) and what became of its evidence."""

    owner: str  # "element <id>", "flow <id>", "model", "decision <finding id>"
    control: str  # control id, or the finding id for a decision
    location: Location | None
    cited: tuple[str, ...]
    missing: tuple[tuple[str, str], ...]  # (item, why) for items that do not check out
    #: Cited URLs: recorded, never fetched, so nothing is known of them but that they are cited.
    unchecked: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Cites at least one item and no cited item fails its check (URLs are not checked)."""
        return bool(self.cited) and not self.missing

    @property
    def checked(self) -> bool:
        """:attr:`ok`, and at least one cited item was checked (a path or test, not a URL)."""
        return self.ok and len(self.unchecked) < len(self.cited)


@dataclass
class EvidenceReport:
    """The evidence checks of one model."""

    root: Path
    controls: list[CitedControl] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # escapes: input errors

    @property
    def declared(self) -> int:
        """Number of declared controls (decisions not counted)."""
        return sum(1 for c in self.controls if not c.owner.startswith("decision"))

    @property
    def with_evidence(self) -> int:
        """Declared controls whose evidence checks out: no item fails, one at least was checked."""
        return sum(1 for c in self.controls if not c.owner.startswith("decision") and c.checked)

    @property
    def url_only(self) -> int:
        """Declared controls that cite only URLs: cited, not checked (URLs are never fetched)."""
        return sum(
            1
            for c in self.controls
            if not c.owner.startswith("decision") and c.ok and not c.checked
        )

    @property
    def missing_items(self) -> int:
        """Cited items that do not exist."""
        return sum(len(c.missing) for c in self.controls)


@dataclass
class ModelResult:
    """One model after matching and policy."""

    loaded: LoadedModel
    graph: Graph
    findings: list[Finding]
    notices: list[Notice] = field(default_factory=list)
    #: Indexes of the ``extra_decisions`` given to :func:`threatgraph.pipeline.analyse` that
    #: matched a finding.
    matched_extra: set[int] = field(default_factory=set)
    #: Evidence checks of this model (None when evidence was not verified).
    evidence: EvidenceReport | None = None

    @property
    def model_id(self) -> str:
        """The model's id."""
        return self.loaded.model.model.id

    @property
    def networkx(self) -> nx.MultiDiGraph:
        """The model's graph as a networkx ``MultiDiGraph`` with the facts the rules read
        (what :func:`threatgraph.graph_of` gives; built on first use, then kept)."""
        return self.graph.g


@dataclass
class Run:
    """Results for every model of one invocation, and the verdict."""

    library: Library
    results: list[ModelResult]
    verdict: Verdict
    as_of: date
    policy: PolicyConfig = field(default_factory=PolicyConfig)

    @property
    def findings(self) -> list[Finding]:
        """Every finding of every model, each model's in the engine's order (worst first)."""
        return [f for r in self.results for f in r.findings]
