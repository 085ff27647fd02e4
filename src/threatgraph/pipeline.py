"""Wires the stages together: load -> graph -> engine -> policy. The CLI calls this."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from threatgraph import graph as graph_mod
from threatgraph.engine.evaluate import evaluate
from threatgraph.engine.findings import Finding
from threatgraph.engine.library import Library, load_library
from threatgraph.engine.modelcheck import ReadMap, model_notes
from threatgraph.load.registry import LoadedModel, load_paths
from threatgraph.model.schema import Decision, Kind

if TYPE_CHECKING:
    from threatgraph.features.discover.drift import DriftOptions
from threatgraph.policy import (
    Notice,
    PolicyConfig,
    Verdict,
    acceptance_problems,
    apply_baseline,
    decide,
    gate,
    unmatched_notice,
)
from threatgraph.repo import codemap
from threatgraph.repo import evidence as evidence_mod
from threatgraph.results import EvidenceReport, ModelResult, Run
from threatgraph.util.errors import InputError, Problem


def analyse(
    loaded: LoadedModel,
    lib: Library,
    as_of: date,
    *,
    extra_decisions: Sequence[Decision] = (),
    strict: bool = False,
    evidence: EvidenceReport | None = None,
    require_evidence: bool = False,
    pytm_threats: bool = False,
    drift: DriftOptions | None = None,
    expiry_warning_days: int = 60,
) -> ModelResult:
    """Graph, match and apply the model's own decisions, then ``extra_decisions`` (files).

    With ``drift``, the drift findings between the model and its code (TG-DRIFT-*) join the
    library's before decisions apply, so they are decided like any other finding.

    With ``require_evidence`` (and an ``evidence`` report), controls whose evidence does not
    check out are left out before matching, so they do not count as present. With
    ``pytm_threats``, pytm's classic threat library runs too and its findings are merged.
    """
    model = loaded.model
    notices: list[Notice] = []
    stripped: set[tuple[str, str]] = set()
    if evidence is not None:
        for c in evidence.controls:
            where = str(c.location) if c.location else ""
            for _item, why in c.missing:
                notices.append(Notice("warning", f"{c.owner}: {c.control}: evidence {why}", where))
            if require_evidence and not c.ok and not c.owner.startswith("decision"):
                stripped.add((c.owner.split(" ", 1)[-1], c.control))
                if not c.cited:
                    notices.append(
                        Notice(
                            "warning",
                            f"{c.owner}: {c.control} cites no evidence; not counted as present "
                            "(require_evidence)",
                            where,
                        )
                    )
                else:
                    notices.append(
                        Notice(
                            "warning",
                            f"{c.owner}: {c.control}: cited evidence is missing; not counted as "
                            "present (require_evidence)",
                            where,
                        )
                    )
        if require_evidence:
            model = evidence_mod.strip_unevidenced(model, evidence)
    g = graph_mod.build(model)
    findings = evaluate(g, lib, as_of, expiry_window_days=expiry_warning_days)
    if pytm_threats:
        from threatgraph.interop.pytm_threats import pytm_findings

        findings = sorted([*findings, *pytm_findings(loaded, g, lib)], key=Finding.sort_key)
    if drift is not None:
        findings = sorted([*findings, *drift.findings(loaded, g)], key=Finding.sort_key)
    if stripped:
        for f in findings:
            for cid in f.missing:
                owners = [*f.elements, *([f.flow] if f.flow else []), "model"]
                hit = [o for o in owners if (o, cid) in stripped]
                if hit:
                    f.notes.append(
                        f"{cid} is declared on {', '.join(hit)} without evidence that checks out "
                        "(require_evidence)"
                    )
    own = list(loaded.model.decisions)
    decisions = own + list(extra_decisions)
    more, matched = decide(findings, decisions, as_of, strict)
    notices.extend(more)
    notices.extend(
        unmatched_notice(d, strict, lib.disabled, [f.id for f in findings])
        for i, d in enumerate(own)
        if i not in matched
    )
    matched_extra = {i - len(own) for i in matched if i >= len(own)}
    return ModelResult(loaded, g, findings, notices, matched_extra, evidence)


def run(
    paths: Sequence[str | Path],
    *,
    fail_on: str = "high",
    rule_dirs: Sequence[str] = (),
    disabled: dict[str, str] | None = None,
    as_of: date | None = None,
    library: Library | None = None,
    policy: PolicyConfig | None = None,
    pytm_threats: bool = False,
    otm_types: Mapping[str, Kind] | None = None,
    drift: DriftOptions | None = None,
) -> Run:
    """The whole check pipeline for some paths (``otm_types``: OTM type -> kind mappings).

    Raises InputError for bad models, acceptances beyond ``max_acceptance_days`` and evidence
    paths that leave the repository.
    """
    pol = policy or PolicyConfig()
    day = as_of or date.today()
    with collector_paused():
        lib = library or load_library(rule_dirs, disabled)
        loaded = load_paths(
            paths, lib.controls.keys() if lib.controls else None, otm_types, lib.aliases
        )
        return evaluate_loaded(
            loaded, lib, day, fail_on, pol, pytm_threats=pytm_threats, drift=drift
        )


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for one run (and, in ``check``, for writing
    its report), then restore it.

    A run builds hundreds of thousands of small objects that stay alive until it ends; the
    collector keeps re-scanning them (a third of the load time of a 10,000-element model)
    and frees next to nothing. Reference counting still frees everything else. Nested
    pauses restore the collector once, at the outermost.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass
class _Verified:
    """What is checked before any model is matched: per model, its evidence report and the
    notices of element code patterns matching no file; for the run, notices of decisions'
    missing evidence."""

    reports: list[EvidenceReport | None] = field(default_factory=list)
    code_notices: list[list[Notice]] = field(default_factory=list)
    run_notices: list[Notice] = field(default_factory=list)


def _verify_inputs(loaded: Sequence[LoadedModel], day: date, pol: PolicyConfig) -> _Verified:
    """Check acceptances, and evidence when asked; raise :class:`InputError` with every
    problem found."""
    problems: list[Problem] = list(
        acceptance_problems(pol.decisions, day, pol.max_acceptance_days, pol.history)
    )
    out = _Verified()
    file_lists: dict[Path, codemap.FileIndex] = {}  # one listing per repository root
    for lm in loaded:
        problems.extend(
            acceptance_problems(lm.model.decisions, day, pol.max_acceptance_days, pol.history)
        )
        if pol.verify_evidence:
            root = evidence_mod.root_for(lm.path, pol.config_root)
            rep = evidence_mod.verify(lm.model, root)
            problems.extend(rep.problems)
            out.reports.append(rep)
            code = codemap.verify(lm.model, root, cache=file_lists)
            problems.extend(code.problems)
            out.code_notices.append(
                [Notice("warning", u.message, str(u.location or "")) for u in code.unmatched]
            )
        else:
            out.reports.append(None)
            out.code_notices.append([])
    if pol.verify_evidence:
        problems.extend(_verify_decision_evidence(pol, out.run_notices))
    if problems:
        raise InputError(problems)
    return out


def _verify_decision_evidence(pol: PolicyConfig, notices: list[Notice]) -> list[Problem]:
    """Problems with the evidence the decisions cite; adds a notice per missing item."""
    problems: list[Problem] = []
    for d in pol.decisions:
        if not d.evidence or d.location is None:
            continue
        file = Path(d.location.file)
        drep = evidence_mod.verify_decision(d, evidence_mod.root_for(file, pol.config_root))
        problems.extend(drep.problems)
        for c in drep.controls:
            for _item, why in c.missing:
                notices.append(Notice("warning", f"{c.owner}: evidence {why}", str(d.location)))
    return problems


def _model_notices(
    lm: LoadedModel, lib: Library, pol: PolicyConfig, read_map: ReadMap
) -> list[Notice]:
    """A model's notices from loading, after its code-pattern notices."""
    # v1 spellings read with a warning, and facts declared where no rule reads them:
    # warnings, errors under --strict (the model says more than the check can see).
    level = "error" if pol.strict else "warning"
    out = [
        Notice(level, n.message, str(n.location or ""))
        for n in (*lm.model.notes, *model_notes(lm.model, lib, read_map))
    ]
    # What the loader could not carry over (OTM types read as a default kind, dropped
    # threats...): said once per model file, where the model came from.
    out.extend(Notice("warning", w, str(lm.path)) for w in lm.warnings)
    return out


def _unmatched_decisions(
    pol: PolicyConfig, lib: Library, results: list[ModelResult], matched_any: set[int]
) -> list[Notice]:
    """A notice for each decision of the run that matched no finding."""
    model_ids = {r.model_id for r in results}
    finding_ids = [f.id for r in results for f in r.findings]
    out: list[Notice] = []
    for i, d in enumerate(pol.decisions):
        if i in matched_any:
            continue
        # In a partial run (pre-commit) the decision may be about a model not checked now.
        if pol.partial and (d.model is None or d.model not in model_ids):
            continue
        out.append(unmatched_notice(d, pol.strict, lib.disabled, finding_ids))
    return out


def _baselined(pol: PolicyConfig, results: list[ModelResult]) -> tuple[list[Finding], list[Notice]]:
    """The findings the baseline accepts, and its notices (none without a baseline)."""
    if pol.baseline is None:
        return [], []
    by_model: dict[str, list[Finding]] = {}
    for r in results:
        by_model.setdefault(r.model_id, []).extend(r.findings)
    return apply_baseline(by_model, pol.baseline, pol.strict, pol.partial)


def evaluate_loaded(
    loaded: Sequence[LoadedModel],
    lib: Library,
    day: date,
    fail_on: str,
    pol: PolicyConfig,
    *,
    pytm_threats: bool = False,
    drift: DriftOptions | None = None,
) -> Run:
    """Everything after loading: evidence, matching, decisions, baseline and the gate."""
    verified = _verify_inputs(loaded, day, pol)
    results: list[ModelResult] = []
    matched_any: set[int] = set()
    read_map = ReadMap.of(lib)
    for lm, maybe, code_notes in zip(loaded, verified.reports, verified.code_notices, strict=True):
        mid = lm.model.model.id
        index = [i for i, d in enumerate(pol.decisions) if d.model in (None, mid)]
        res = analyse(
            lm,
            lib,
            day,
            extra_decisions=[pol.decisions[i] for i in index],
            strict=pol.strict,
            evidence=maybe,
            require_evidence=pol.require_evidence,
            pytm_threats=pytm_threats,
            drift=drift,
            expiry_warning_days=pol.expiry_warning_days,
        )
        res.notices.extend(code_notes)
        res.notices.extend(_model_notices(lm, lib, pol, read_map))
        matched_any.update(index[j] for j in res.matched_extra)
        results.append(res)
    run_notices = verified.run_notices
    run_notices.extend(_unmatched_decisions(pol, lib, results, matched_any))
    baselined, more = _baselined(pol, results)
    run_notices.extend(more)
    all_findings = [f for r in results for f in r.findings]
    failing = gate(all_findings, fail_on, exclude=baselined)
    notices = [n for r in results for n in r.notices] + run_notices
    return Run(lib, results, Verdict(fail_on, failing, notices, baselined), day, pol)
