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
from typing import TYPE_CHECKING

from threatgraph.engine.findings import STATUSES, CheckItem, Finding, Status
from threatgraph.engine.library import Library
from threatgraph.graph import Graph
from threatgraph.load.registry import LoadedModel
from threatgraph.policy import Notice, PolicyConfig, Verdict
from threatgraph.repo.evidence import CitedControl, EvidenceReport

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
