"""Wires the stages together: load -> graph -> engine -> policy. The CLI calls this."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from threatgraph import graph as graph_mod
from threatgraph.engine.evaluate import evaluate
from threatgraph.engine.findings import Finding
from threatgraph.engine.library import Library, load_library
from threatgraph.load.registry import LoadedModel, load_paths
from threatgraph.policy import Notice, Verdict, apply_decisions, gate


@dataclass
class ModelResult:
    """One model after matching and policy."""

    loaded: LoadedModel
    graph: graph_mod.Graph
    findings: list[Finding]
    notices: list[Notice] = field(default_factory=list)

    @property
    def model_id(self) -> str:
        """The model's id."""
        return self.loaded.model.model.id


@dataclass
class Run:
    """Results for every model of one invocation, and the verdict."""

    library: Library
    results: list[ModelResult]
    verdict: Verdict
    as_of: date


def analyse(loaded: LoadedModel, lib: Library, as_of: date) -> ModelResult:
    """Graph, match and apply the model's own decisions."""
    g = graph_mod.build(loaded.model)
    findings = evaluate(g, lib, as_of)
    notices = apply_decisions(findings, loaded.model.decisions, as_of)
    return ModelResult(loaded, g, findings, notices)


def run(
    paths: Sequence[str | Path],
    *,
    fail_on: str = "high",
    rule_dirs: Sequence[str] = (),
    disabled: dict[str, str] | None = None,
    as_of: date | None = None,
    library: Library | None = None,
) -> Run:
    """The whole check pipeline for some paths."""
    lib = library or load_library(rule_dirs, disabled)
    day = as_of or date.today()
    loaded = load_paths(paths, lib.controls.keys() if lib.controls else None)
    results = [analyse(lm, lib, day) for lm in loaded]
    failing = [f for r in results for f in gate(r.findings, fail_on)]
    notices = [n for r in results for n in r.notices]
    return Run(lib, results, Verdict(fail_on, failing, notices), day)
