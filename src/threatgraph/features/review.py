"""Secure code review: what a change touches in the modeled system, and what to check.

Input: the files a change touches (from git, or named by a pre-commit hook) and the analysed
models (a :class:`threatgraph.pipeline.Run`). Elements name their code with ``code=[...]``
patterns (:mod:`threatgraph.repo.codemap`); declared controls cite evidence
(:mod:`threatgraph.repo.evidence`).
The review maps each changed file to:

- the **elements** whose code patterns cover it, each with its findings (open, accepted,
  mitigated, false positive) and a focused checklist: per control in those findings'
  checklists, missing ones first, the rules' own reason for the control (rule-specific) and the
  catalogue's review questions;
- the **controls whose evidence** it is (a cited path, glob or the file of a test id): the
  control must be re-verified in this review;
- **threat model files** (models, config, decisions, baseline): ``threatgraph diff`` covers them;
- otherwise it is **unmapped**: a possible blind spot of the model, listed, never failing
  unless asked (``fail_on_unmapped``).

Which findings belong to a touched element: those whose primary element it is ("on"), those
that bind it as the other end of a flow or the source of a path ("bound"), and path findings
whose witness route passes through it ("route": the element between an LLM and a sink is where
output handling is coded). The gate counts the first two only: open findings at or above the
gate severity on or bound to a touched element, except baselined ones.

:mod:`threatgraph.reports.review` renders the :class:`Review` as text, Markdown (a
pull-request comment) and JSON; every output is deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from threatgraph.engine.findings import Finding, severity_rank
from threatgraph.model.schema import ControlRef, Element, Location
from threatgraph.repo import codemap
from threatgraph.repo import evidence as evidence_mod
from threatgraph.util.errors import InputError, Problem

if TYPE_CHECKING:
    from threatgraph.engine.library import Library
    from threatgraph.results import ModelResult, Run

_STATUS_ORDER = {"open": 0, "accepted": 1, "mitigated": 2, "false_positive": 3}
#: Checklist group states, most urgent first.
STATES = ("missing", "accepted", "declared", "alternative")


# ------------------------------------------------------------------------------ changes


@dataclass(frozen=True)
class ChangedFile:
    """A changed file, relative to the repository root, '/'-separated."""

    path: str
    deleted: bool = False


@dataclass(frozen=True)
class ChangeSet:
    """What changed, and how it was found."""

    root: Path
    files: tuple[ChangedFile, ...]
    description: str
    base: str | None = None  # the commit compared with, in --base mode


def changes_since(commit: str, root: Path, description: str) -> ChangeSet:
    """Files that differ between ``commit`` and the work tree, plus untracked files.

    Tracked files: ``git diff --name-only --no-renames COMMIT`` (staged and unstaged changes
    alike; a rename is its old and its new path). Untracked files that git does not ignore are
    new code too and count as changed.
    """
    from threatgraph.repo import gitrev

    out = gitrev.git(
        ["diff", "--name-only", "-z", "--no-renames", "--no-ext-diff", commit, "--"], root
    )
    names = {n.decode("utf-8", "surrogateescape") for n in out.split(b"\0") if n}
    untracked = gitrev.git(["ls-files", "-z", "--others", "--exclude-standard"], root)
    names |= {n.decode("utf-8", "surrogateescape") for n in untracked.split(b"\0") if n}
    files = tuple(
        ChangedFile(n, deleted=not (root / n).exists() and not (root / n).is_symlink())
        for n in sorted(names)
    )
    return ChangeSet(root, files, description, commit)


def merge_base(base: str | None, root: Path) -> tuple[str, str] | None:
    """The commit a review without FILEs compares with, and how it was chosen: the merge base
    of ``base`` and HEAD, or with the default branch when ``base`` is None. None when
    ``base`` is not a git revision."""
    from threatgraph.repo import gitrev

    if base is None:
        return gitrev.default_base(root)
    commit = gitrev.resolve(base, root)
    if commit is None:
        return None
    merge = gitrev.git(["merge-base", commit, "HEAD"], root).decode().strip()
    return merge, f"merge base of {base} and HEAD"


def _inside(path: str, root: Path) -> str | None:
    """``path`` relative to ``root`` ('/'-separated), or None when outside it."""
    import os

    full = Path(os.path.normpath(Path.cwd() / path))
    try:
        rel = full.relative_to(root).as_posix()
    except ValueError:
        return None
    return rel or "."


def model_inputs(
    loaded: Iterable[str], targets: Iterable[str], named: Iterable[str], root: Path
) -> list[str]:
    """The threat-model inputs inside ``root`` ('/'-separated, sorted): a change to them is
    for `threatgraph diff`, not a blind spot.

    The model files ``loaded``, the model directories among ``targets`` (helpers and fixtures
    beside the models; not the repository root, which would swallow every file), and the
    ``named`` inputs (config, decisions, baseline).
    """
    inputs = list(loaded)
    inputs += [t for t in targets if Path(t).is_dir() and _inside(t, root) != "."]
    inputs += named
    return sorted({r for p in inputs if (r := _inside(p, root)) is not None})


def changes_from_names(names: Sequence[str], root: Path, cwd: Path) -> ChangeSet:
    """The files named (relative to ``cwd``), as paths relative to ``root``.

    A name outside the root, or naming a directory, is an input error.
    """
    import os

    problems: list[Problem] = []
    rels: set[str] = set()
    for name in names:
        full = Path(os.path.normpath(cwd / name))
        if full.is_dir() and not full.is_symlink():
            problems.append(Problem(name, 0, "is a directory; name the changed files"))
            continue
        try:
            rel = full.relative_to(root).as_posix()
        except ValueError:
            problems.append(Problem(name, 0, f"outside the repository at {root}"))
            continue
        if rel in ("", "."):
            problems.append(Problem(name, 0, "names the repository root, not a file"))
            continue
        rels.add(rel)
    if problems:
        raise InputError(problems)
    files = tuple(
        ChangedFile(r, deleted=not (root / r).exists() and not (root / r).is_symlink())
        for r in sorted(rels)
    )
    n = len(files)
    return ChangeSet(root, files, f"{n} file{'s' if n != 1 else ''} named")


# ------------------------------------------------------------------------------ the review


@dataclass(frozen=True)
class FindingRef:
    """A finding listed for a touched element, and how it involves the element."""

    finding: Finding
    role: str  # 'on', 'bound' or 'route'
    baselined: bool = False


@dataclass(frozen=True)
class RuleCheck:
    """A rule's own reason for a control: what the reviewer should see done here."""

    rule: str
    text: str


@dataclass
class CheckGroup:
    """One control of a touched element's review checklist."""

    control: str
    title: str
    state: str  # one of STATES
    severity: str  # worst severity of the findings naming it
    findings: list[str]
    declared_on: list[str]  # names of the elements/flows declaring it (for 'declared')
    checks: list[RuleCheck]
    questions: list[str]


@dataclass
class TouchedElement:
    """A modeled element whose code the change touches."""

    model_id: str
    model_name: str
    element: Element
    files: list[str]
    patterns: list[str]
    findings: list[FindingRef] = field(default_factory=list)
    checklist: list[CheckGroup] = field(default_factory=list)


@dataclass
class EvidenceChange:
    """A declared control (or a 'mitigated' decision) whose cited evidence changed."""

    model_id: str
    model_name: str
    owner_kind: str  # 'element', 'flow', 'model' or 'decision'
    owner: str
    owner_name: str
    control: str
    title: str
    location: Location | None
    items: list[str]  # the cited items that cover a changed file
    files: list[str]
    questions: list[str]


@dataclass
class Review:
    """The review of one change."""

    changes: ChangeSet
    fail_on: str
    models: int
    elements: list[TouchedElement]
    evidence: list[EvidenceChange]
    model_files: list[str]
    unmapped: list[str]
    ignored: list[str]
    failing: list[Finding]
    fail_on_unmapped: bool = False
    elements_with_code: int = 0
    library: Library | None = None

    @property
    def exit_code(self) -> int:
        """1 when open findings on touched elements reach the gate (or, when asked, for
        unmapped files); else 0."""
        if self.failing or (self.fail_on_unmapped and self.unmapped):
            return 1
        return 0

    @property
    def deleted(self) -> set[str]:
        """Changed files that no longer exist."""
        return {c.path for c in self.changes.files if c.deleted}


def _rel_to(path: str, change_root: Path, model_root: Path) -> str | None:
    """A change-root-relative path, relative to a model's root (None when outside it)."""
    if model_root == change_root:
        return path
    try:
        return (change_root / path).relative_to(model_root).as_posix()
    except ValueError:
        return None


def _cited_pattern(item: str) -> str | None:
    """The path part of a cited evidence item (None for URLs)."""
    kind = evidence_mod.classify(item)
    if kind == "url":
        return None
    if kind == "test":
        return item.split("::", 1)[0]
    return item


def _owner_name(res: ModelResult, owner: str) -> tuple[str, str, str]:
    """(kind, id, display name) of an evidence owner string from :mod:`evidence`."""
    kind, _, oid = owner.partition(" ")
    g = res.graph
    if kind == "element":
        return kind, oid, g.describe(oid)
    if kind == "flow":
        facts = g.flows.get(oid)
        if facts is None:
            return kind, oid, oid
        fl = facts.flow
        name = f" ({fl.name})" if fl.name else ""
        return kind, oid, f"{g.describe(fl.source)} -> {g.describe(fl.target)}{name}"
    if kind == "decision":
        return kind, oid, oid
    return "model", res.model_id, res.loaded.model.model.name


def _place_name(res: ModelResult, where: str) -> str:
    """A checklist item's declaring place ('where' id) as a reader knows it."""
    if where == "path":
        return "every route"
    if where == "model":
        return "the model"
    if where in res.graph.flows:
        return _owner_name(res, f"flow {where}")[2]
    return res.graph.describe(where)


def _checklist(
    el_id: str, refs: Sequence[FindingRef], lib: Library | None, res: ModelResult
) -> list[CheckGroup]:
    """Per control named in the findings' checklists: its state, rule reasons, questions.

    For a finding whose route merely passes the element, only the controls that count on the
    route (``at: path``) or that the element declares are its business; the others belong to
    the finding's own element.
    """
    groups: dict[str, dict[str, Any]] = {}
    for ref in refs:
        f = ref.finding
        if f.status == "false_positive":
            continue  # the rule does not apply here: nothing to check
        for item in f.checklist:
            if ref.role == "route" and "path" not in item.places and el_id not in item.where:
                continue
            if item.present:
                state = "declared"
            elif f.status == "open":
                state = "missing"
            elif f.status == "accepted":
                state = "accepted"
            else:
                state = "alternative"
            g = groups.setdefault(
                item.control,
                {"state": state, "sev": f.severity, "findings": [], "where": set(), "checks": {}},
            )
            if STATES.index(state) < STATES.index(g["state"]):
                g["state"] = state
            if severity_rank(f.severity) > severity_rank(g["sev"]):
                g["sev"] = f.severity
            if f.id not in g["findings"]:
                g["findings"].append(f.id)
            if item.present:
                g["where"].update(item.where)
            for m in f.rule.mitigations:
                if m.control == item.control and m.why:
                    g["checks"][(f.rule.id, m.why.strip())] = None
    out: list[CheckGroup] = []
    for cid, g in groups.items():
        ctrl = lib.controls.get(cid) if lib is not None and lib.controls else None
        where = sorted(_place_name(res, w) for w in g["where"])
        out.append(
            CheckGroup(
                control=cid,
                title=ctrl.title if ctrl else cid,
                state=g["state"],
                severity=g["sev"],
                findings=sorted(g["findings"]),
                declared_on=where,
                checks=[RuleCheck(r, t) for r, t in sorted(g["checks"])],
                questions=list(ctrl.review_questions) if ctrl else [],
            )
        )
    out.sort(key=lambda c: (STATES.index(c.state), -severity_rank(c.severity), c.control))
    return out


def _findings_for(
    el_id: str, res: ModelResult, baselined: set[tuple[str, str]]
) -> list[FindingRef]:
    refs: list[FindingRef] = []
    for f in res.findings:
        if f.element == el_id:
            role = "on"
        elif el_id in f.elements:
            role = "bound"
        elif el_id in f.path:
            role = "route"
        else:
            continue
        refs.append(FindingRef(f, role, (f.model_id, f.id) in baselined))
    refs.sort(key=lambda r: (_STATUS_ORDER[r.finding.status], *r.finding.sort_key()))
    return refs


def _evidence_hits(
    cited: Sequence[str], local: dict[str, str], where: Location, owner: str
) -> tuple[list[str], set[str], list[Problem]]:
    """The cited items covering a changed file, the changed files they cover, and errors."""
    items: list[str] = []
    hits: set[str] = set()
    problems: list[Problem] = []
    for item in cited:
        raw = _cited_pattern(item)
        if raw is None:
            continue
        try:
            pat = codemap.compile_pattern(raw)
        except codemap.PatternError as exc:
            problems.append(Problem(where.file, where.line, f"{owner}: {exc}", "evidence"))
            continue
        hit = [p for p, r in local.items() if pat.matches(r)]
        if hit:
            items.append(item)
            hits.update(hit)
    return sorted(items), hits, problems


def _decision_questions(reason: str) -> list[str]:
    return [f"Does the cited evidence still show this: {reason.strip()}"]


def _gate(touched: Sequence[TouchedElement], fail_on: str) -> list[Finding]:
    """Open findings at or above ``fail_on`` on or bound to a touched element, not baselined."""
    seen: set[tuple[str, str]] = set()
    failing: list[Finding] = []
    threshold = severity_rank(fail_on)
    for te in touched:
        for ref in te.findings:
            f = ref.finding
            key = (f.model_id, f.id)
            if (
                ref.role in ("on", "bound")
                and f.status == "open"
                and severity_rank(f.severity) >= threshold
                and not ref.baselined
                and key not in seen
            ):
                seen.add(key)
                failing.append(f)
    failing.sort(key=lambda f: (f.model_id, *f.sort_key()))
    return failing


@dataclass
class _Scan:
    """What :func:`build` gathers over the models and decisions files."""

    problems: list[Problem] = field(default_factory=list)
    mapped: set[str] = field(default_factory=set)  # changed files some element or control cites
    touched: list[TouchedElement] = field(default_factory=list)
    evidence: list[EvidenceChange] = field(default_factory=list)
    with_code: int = 0  # elements that name their code


def _touch_elements(
    scan: _Scan,
    res: ModelResult,
    local: dict[str, str],
    baselined: set[tuple[str, str]],
    lib: Library,
) -> None:
    """The elements of one model whose code the change touches (``local``: changed path ->
    path relative to the model's root)."""
    model = res.loaded.model
    elements, bad = codemap.element_code(model)
    scan.problems.extend(bad)
    scan.with_code += len(elements)
    for ec in elements:
        files = sorted(p for p, r in local.items() if ec.matches(r))
        if not files:
            continue
        scan.mapped.update(files)
        pats = sorted({pat.text for p in files for pat in ec.matches(local[p])})
        el = res.graph.elements[ec.element]
        te = TouchedElement(res.model_id, model.model.name, el, files, pats)
        te.findings = _findings_for(ec.element, res, baselined)
        te.checklist = _checklist(ec.element, te.findings, lib, res)
        scan.touched.append(te)


def _touch_model_evidence(
    scan: _Scan, res: ModelResult, local: dict[str, str], lib: Library
) -> None:
    """The controls and decisions of one model whose cited evidence the change touches."""
    model = res.loaded.model
    for owner, ref, loc in evidence_mod.cited_in(model):
        where = loc or model.location or Location(file="<model>", line=0)
        items, hits, bad = _evidence_hits(ref.evidence, local, where, owner)
        scan.problems.extend(bad)
        if not items:
            continue
        scan.mapped.update(hits)
        kind, oid, oname = _owner_name(res, owner)
        if isinstance(ref, ControlRef):
            ctrl = lib.controls.get(ref.id) if lib.controls else None
            control, title = ref.id, ctrl.title if ctrl else ref.id
            questions = list(ctrl.review_questions) if ctrl else []
        else:
            control, title = ref.finding, f"decision: {ref.status}"
            questions = _decision_questions(ref.reason)
        scan.evidence.append(
            EvidenceChange(
                res.model_id,
                model.model.name,
                kind,
                oid,
                oname,
                control,
                title,
                loc,
                items,
                sorted(hits),
                questions,
            )
        )


def _touch_decision_evidence(
    scan: _Scan, run: Run, paths: list[str], root: Path, config_root: str | None
) -> None:
    """The decisions files' decisions whose evidence (relative to their own repository) the
    change touches."""
    for d in run.policy.decisions:
        if not d.evidence or d.location is None:
            continue
        d_root = evidence_mod.root_for(Path(d.location.file), config_root)
        local = {p: r for p in paths if (r := _rel_to(p, root, d_root)) is not None}
        items, hits, bad = _evidence_hits(d.evidence, local, d.location, f"decision {d.finding}")
        scan.problems.extend(bad)
        if items:
            scan.mapped.update(hits)
            scan.evidence.append(
                EvidenceChange(
                    d.model or "",
                    "",
                    "decision",
                    d.finding,
                    d.finding,
                    d.finding,
                    f"decision: {d.status}",
                    d.location,
                    items,
                    sorted(hits),
                    _decision_questions(d.reason),
                )
            )


def build(
    run: Run,
    changes: ChangeSet,
    *,
    fail_on: str,
    config_root: str | None = None,
    model_files: Iterable[str] = (),
    ignore: Sequence[str] = (),
    fail_on_unmapped: bool = False,
) -> Review:
    """The review of ``changes`` against the analysed models of ``run``.

    ``model_files`` are change-root-relative paths of threat-model inputs (model files and
    directories, config, decisions files, baseline); ``ignore`` are patterns of files never
    reported as unmapped. Malformed or escaping patterns are input errors.
    """
    scan = _Scan()
    ignore_pats: list[codemap.CodePattern] = []
    for raw in ignore:
        try:
            ignore_pats.append(codemap.compile_pattern(raw))
        except codemap.PatternError as exc:
            scan.problems.append(Problem("--ignore", 0, str(exc)))
    model_pats = [codemap.compile_pattern(p) for p in sorted(set(model_files))]
    baselined = {(f.model_id, f.id) for f in run.verdict.baselined}
    root = changes.root
    paths = [c.path for c in changes.files]
    for res in run.results:
        m_root = evidence_mod.root_for(res.loaded.path, config_root)
        local = {p: r for p in paths if (r := _rel_to(p, root, m_root)) is not None}
        _touch_elements(scan, res, local, baselined, run.library)
        _touch_model_evidence(scan, res, local, run.library)
    _touch_decision_evidence(scan, run, paths, root, config_root)
    if scan.problems:
        raise InputError(scan.problems)

    rest = [p for p in paths if p not in scan.mapped]
    model_hits = sorted(p for p in rest if any(m.matches(p) for m in model_pats))
    rest = [p for p in rest if p not in model_hits]
    ignored = sorted(p for p in rest if any(i.matches(p) for i in ignore_pats))
    unmapped = sorted(p for p in rest if p not in ignored)
    touched = sorted(scan.touched, key=lambda t: (t.model_id, t.element.id))
    ev_changes = sorted(scan.evidence, key=lambda e: (e.model_id, e.owner_kind, e.owner, e.control))
    return Review(
        changes=changes,
        fail_on=fail_on,
        models=len(run.results),
        elements=touched,
        evidence=ev_changes,
        model_files=model_hits,
        unmapped=unmapped,
        ignored=ignored,
        failing=_gate(touched, fail_on),
        fail_on_unmapped=fail_on_unmapped,
        elements_with_code=scan.with_code,
        library=run.library,
    )
