"""The adversarial test plan: from open and mitigated findings, the tests to run.

Each rule lists adversarial tests in its ``attack`` field, written generically ("run an
injection corpus against the endpoint"). The plan specialises them to the model: the target
element, the entry points an attacker would use (the sources of a path finding, the two ends
of a flow), the route in between, and the control the test evidences once it passes. Tests
are grouped by kind: prompt-injection suites against LLM entry points, poisoning and
provenance checks on pipelines and indexes, membership-inference and extraction audits on
inference APIs, tool-abuse scenarios for agents, and so on.

:func:`assign_files` places the plan's tests in skeleton test files, one per finding;
:mod:`threatgraph.reports.testplan` writes them (one skipped test function per planned
test, for a team to fill in; a passing test is then cited as evidence of its control:
``control("testing.prompt_injection_suite", evidence="tests/...::test_...")``), and the plan
as Markdown and JSON.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from threatgraph.engine.findings import Finding, severity_rank
from threatgraph.graph import Graph
from threatgraph.util.paths import display_path

if TYPE_CHECKING:
    from threatgraph.results import Run

#: Kinds of test, in plan order: key, heading, references/families that select it, the
#: testing control it evidences when the rule names none, and the verb for the headline.
CATEGORIES: tuple[dict[str, Any], ...] = (
    {
        "key": "prompt_injection",
        "kinds": ("llm", "agent"),
        "title": "Prompt-injection suites against LLM entry points",
        "refs": ("owasp-llm:LLM01", "atlas:AML.T0051", "atlas:AML.T0054", "owasp-asi:ASI01"),
        "families": ("prompt-injection",),
        "control": "testing.prompt_injection_suite",
        "headline": "Prompt-injection suite against {target}",
    },
    {
        "key": "tool_abuse",
        "kinds": ("agent", "tool", "llm"),
        "title": "Tool-abuse scenarios for agents",
        "refs": ("owasp-llm:LLM06", "owasp-asi:ASI02", "owasp-asi:ASI03", "owasp-asi:ASI05"),
        "families": ("agency", "mcp"),
        "control": "testing.tool_abuse_scenarios",
        "headline": "Tool-abuse scenario for {target}",
    },
    {
        "key": "poisoning",
        "title": "Poisoning and provenance checks on pipelines and indexes",
        "refs": (
            "owasp-llm:LLM04",
            "owasp-ml:ML02",
            "owasp-ml:ML10",
            "atlas:AML.T0020",
            "atlas:AML.T0018",
            "atlas:AML.T0070",
        ),
        "families": ("poisoning",),
        "control": "testing.poisoning_checks",
        "headline": "Poisoning and provenance check on {target}",
    },
    {
        "key": "membership_inference",
        "kinds": ("llm", "ml_model", "agent", "training_pipeline"),
        "title": "Membership-inference, inversion and memorisation audits",
        "refs": ("owasp-ml:ML03", "owasp-ml:ML04", "atlas:AML.T0024.000", "atlas:AML.T0024.001"),
        "families": ("privacy",),
        "control": "testing.membership_inference_audit",
        "headline": "Membership-inference and memorisation audit on {target}",
    },
    {
        "key": "extraction",
        "kinds": ("llm", "ml_model", "agent"),
        "title": "Model-extraction and abuse-rate audits on inference APIs",
        "refs": ("owasp-ml:ML05", "atlas:AML.T0024.002", "owasp-llm:LLM10"),
        "families": ("theft", "consumption"),
        "control": "testing.extraction_rate_audit",
        "headline": "Extraction-rate audit on {target}",
    },
    {
        "key": "evasion",
        "title": "Adversarial-robustness tests",
        "refs": ("owasp-ml:ML01", "atlas:AML.T0015", "atlas:AML.T0043"),
        "families": ("evasion", "ml"),
        "control": "testing.adversarial_robustness",
        "headline": "Adversarial-robustness test of {target}",
    },
    {
        "key": "output_handling",
        "title": "Output-handling and leakage tests",
        "refs": ("owasp-llm:LLM05", "owasp-llm:LLM02", "owasp-llm:LLM07", "owasp-llm:LLM09"),
        "families": ("output-handling", "disclosure", "misinformation"),
        "control": "process.adversarial_testing",
        "headline": "Output and leakage test on {target}",
    },
    {
        "key": "other",
        "title": "Other adversarial tests",
        "refs": (),
        "families": (),
        "control": "process.adversarial_testing",
        "headline": "Adversarial test on {target}",
    },
)
BY_KEY = {c["key"]: c for c in CATEGORIES}


def _ref_base(ref: str) -> str:
    return ref.rpartition("@")[0] or ref


def category_of(finding: Finding, kind: str | None = None) -> dict[str, Any]:
    """The first test category whose references or families the finding's rule matches and
    whose kinds (when it names some) include the finding's element."""
    r = finding.rule
    bases = [_ref_base(x) for x in r.references]
    for c in CATEGORIES:
        if kind is not None and c.get("kinds") and kind not in c["kinds"]:
            continue
        if r.family in c["families"]:
            return c
        if any(b == p or b.startswith(p + ".") for b in bases for p in c["refs"]):
            return c
    return BY_KEY["other"]


@dataclass
class PlannedTest:
    """One adversarial test to run, tied to its finding and the control it evidences."""

    id: str  # '<finding id>#<n>'
    category: str
    title: str
    finding: str
    finding_status: str
    severity: str
    rule: str
    rule_title: str
    model: str
    target: str
    target_kind: str
    location: str
    entry_points: list[str]
    route: list[str]
    attack: str
    control: str
    control_declared: bool
    checks: list[str]  # the finding's mitigations, marked present/missing
    function: str  # pytest function name
    file: str = ""  # pytest file name (set when planning files)


@dataclass
class Plan:
    """The whole plan for a run."""

    as_of: str
    library_version: str
    tests: list[PlannedTest] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (finding id, why no test)


def _slug(text: str) -> str:
    return re.sub(r"_+", "_", re.sub(r"[^a-z0-9]+", "_", text.lower())).strip("_") or "x"


def _control(f: Finding, cat: dict[str, Any]) -> tuple[str, bool]:
    """The control a test evidences: the rule's testing control, else the category's."""
    for c in f.checklist:
        if c.control.startswith("testing."):
            return c.control, c.present
    for c in f.checklist:
        if c.control == cat["control"]:
            return c.control, c.present
    return cat["control"], False


def _ends(g: Graph, f: Finding) -> tuple[list[str], list[str]]:
    """(entry points, route) of a finding, as element names."""
    if f.path:
        route = [g.describe(n) for n in f.path]
        return sorted({g.describe(s) for s in (f.sources or f.path[:1])}), route
    if f.flow is not None:
        fl = g.flows[f.flow].flow
        return [g.describe(fl.source)], [g.describe(fl.source), g.describe(fl.target)]
    return [], []


def plan(run: Run) -> Plan:
    """The adversarial test plan for every model of a pipeline run."""
    out = Plan(as_of=run.as_of.isoformat(), library_version=run.library.version)
    order = {c["key"]: i for i, c in enumerate(CATEGORIES)}
    tests: list[PlannedTest] = []
    for res in run.results:
        g: Graph = res.graph
        for f in res.findings:
            if f.status not in ("open", "mitigated"):
                continue
            if not f.rule.attack:
                out.skipped.append(
                    (f.id, "the rule lists no adversarial test (not testable by attack)")
                )
                continue
            el = g.elements[f.element]
            cat = category_of(f, el.kind.value)
            control, declared = _control(f, cat)
            entries, route = _ends(g, f)
            target = el.name
            for n, attack in enumerate(f.rule.attack, start=1):
                tests.append(
                    PlannedTest(
                        id=f"{f.id}#{n}",
                        category=cat["key"],
                        title=cat["headline"].format(target=target),
                        finding=f.id,
                        finding_status=f.status,
                        severity=f.severity,
                        rule=f.rule.id,
                        rule_title=f.rule.title,
                        model=res.model_id,
                        target=target,
                        target_kind=el.kind.value,
                        location=f"{display_path(f.location.file)}:{f.location.line}",
                        entry_points=entries,
                        route=route,
                        attack=" ".join(attack.split()),
                        control=control,
                        control_declared=declared,
                        checks=[
                            f"{c.control} ({'present' if c.present else 'missing'})"
                            for c in f.checklist
                        ],
                        function=f"test_{cat['key']}_{n}",
                    )
                )
    tests.sort(
        key=lambda t: (
            t.model,
            order[t.category],
            -severity_rank(t.severity),
            t.finding,
            t.id,
        )
    )
    out.tests = tests
    out.skipped.sort()
    return out


def assign_files(p: Plan, tests_dir: Path) -> dict[Path, list[PlannedTest]]:
    """Where each planned test's pytest skeleton goes: one file per finding under
    ``tests_dir``, named after it (and its model when the plan spans several). Sets each
    test's ``file`` (as shown to the user) and returns the tests of each file, in order."""
    by_finding: dict[tuple[str, str], list[PlannedTest]] = {}
    for t in p.tests:
        by_finding.setdefault((t.model, t.finding), []).append(t)
    out: dict[Path, list[PlannedTest]] = {}
    used: set[str] = set()
    multi_model = len({m for m, _ in by_finding}) > 1
    for (model, finding), tests in sorted(by_finding.items()):
        stem = _slug(finding.replace("/", "__"))
        if multi_model:
            stem = f"{_slug(model)}__{stem}"
        stem = stem[:120]
        name = f"test_{stem}.py"
        n = 2
        while name in used:
            name = f"test_{stem}_{n}.py"
            n += 1
        used.add(name)
        path = tests_dir / name
        rel = display_path(str(path))
        for t in tests:
            t.file = rel
        out[path] = tests
    return out
