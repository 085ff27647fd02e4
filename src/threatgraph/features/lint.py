"""Library lint: schema (already enforced on load), references, controls, fixtures and
their expected findings (expected.yaml).

A feature rather than part of the engine: fixtures are checked by running them through the
whole pipeline (loading, matching, the fixture's own decisions), as ``check`` would.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from threatgraph.engine.applicable import UNCLOSABLE
from threatgraph.engine.findings import Finding
from threatgraph.engine.library import Library, LoadedRule, line_in_file
from threatgraph.features.expected import (
    EXPECTED_FILE,
    Expectations,
    differences,
    load_expectations,
    tally,
)
from threatgraph.load.registry import formats, load_file
from threatgraph.pipeline import analyse
from threatgraph.util.errors import InputError, Problem

#: Fixtures are evaluated as of this day, so that date-dependent rules give stable results.
FIXTURE_DAY = date(2026, 1, 15)

#: Schemes whose citations need a one-line rationale in the rule (``rationale:``): their
#: entries are techniques and risk categories, broad enough that a reviewer must be told why
#: this rule's situation is that entry. CWE, HIPAA, NIST and SAIF citations may have one.
RATIONALE_REQUIRED = ("atlas", "owasp-llm", "owasp-ml", "owasp-asi")


def reference_exists(ref: str, index: dict[str, object]) -> str | None:
    """None when the reference is in the index, else what is wrong with it."""
    scheme, _, rest = ref.partition(":")
    rid, _, edition = rest.rpartition("@")
    schemes = index.get("schemes", {})
    entries = index.get("entries", {})
    if not isinstance(schemes, dict) or not isinstance(entries, dict):
        return "no reference index loaded"
    sch = schemes.get(scheme)
    if not isinstance(sch, dict):
        return f"unknown reference scheme {scheme!r}"
    known = entries.get(scheme, {})
    entry = known.get(rid) if isinstance(known, dict) else None
    if not isinstance(entry, dict):
        if scheme == "nist-aml":
            # The index uses the report's own NISTAML.0xx ids since E2025 citations moved
            # to them; say so to whoever still writes the old descriptive names.
            return (
                f"{scheme} has no entry {rid!r} (cite the report's own ids, e.g. "
                "NISTAML.015 for indirect prompt injection; see docs/references.md)"
            )
        return f"{scheme} has no entry {rid!r}"
    # An entry can carry its own edition: risks the CoSAI Risk Map added in 2025 sit in the
    # SAIF scheme (edition 2024) but are pinned to 2025.
    want = str(entry.get("edition", sch.get("edition")))
    if want != edition:
        return f"{scheme}:{rid} edition must be {want!r}, not {edition!r}"
    return None


def rationale_problems(lr: LoadedRule) -> list[Problem]:
    """Citations of this rule that need a rationale (see RATIONALE_REQUIRED) and lack one,
    each at the line of the reference."""
    return [
        Problem(
            str(lr.path),
            line_in_file(lr.path, ("references", i)),
            f"reference {ref} has no rationale: add a line under 'rationale:' saying why "
            "this rule's situation is that entry",
            "rationale",
        )
        for i, ref in enumerate(lr.rule.references)
        if ref.partition(":")[0] in RATIONALE_REQUIRED and ref not in lr.rule.rationale
    ]


def _fixture_run(lr: LoadedRule, path: object, lib: Library) -> list[Finding]:
    """This rule's findings on one fixture model, through the pipeline as a check runs it."""
    p = Path(str(path))
    fmt = next(f for f in formats() if p.suffix.lower() in f.suffixes)
    return [
        f
        for lm in load_file(p, fmt, lib.controls.keys(), aliases=lib.aliases)
        for f in analyse(lm, lib, FIXTURE_DAY).findings
        if f.rule.id == lr.rule.id
    ]


def fixture_findings(lr: LoadedRule, path: object, lib: Library) -> list[tuple[str, str]]:
    """(primary element, status) of every finding of this rule on one fixture model."""
    return [(f.element, f.status) for f in _fixture_run(lr, path, lib)]


def run_fixture(lr: LoadedRule, path: object, lib: Library) -> list[str]:
    """Open finding ids of this rule on one fixture model."""
    return [f.id for f in _fixture_run(lr, path, lib) if f.status == "open"]


def rule_expectations(lr: LoadedRule) -> tuple[Expectations | None, list[Problem]]:
    """The rule's expected.yaml (None when absent or unreadable) and what is wrong with it.

    Problems: no file while the rule has fixtures, a fixture without an expectation, an
    expectation for a fixture that does not exist, a positive fixture expecting no open
    finding, a negative one expecting an open finding. These need no fixture run.
    """
    path = lr.path.parent / EXPECTED_FILE
    fixtures = {p.name: p for p in [*lr.positives, *lr.negatives]}
    if not path.is_file():
        if not fixtures:
            return None, []
        return None, [
            Problem(
                str(path),
                0,
                f"missing: {lr.rule.id} must state the expected findings of each fixture "
                f"({', '.join(sorted(fixtures))}); tools/fixture_results.py prints the "
                "current ones",
                "fixtures",
            )
        ]
    try:
        exp = load_expectations(path)
    except InputError as exc:
        return None, exc.problems
    file = str(path)
    problems: list[Problem] = []
    for name in sorted(set(fixtures) - set(exp.fixtures)):
        problems.append(
            Problem(file, 0, f"fixture {fixtures[name]} has no expectation here", "fixtures")
        )
    for name in sorted(set(exp.fixtures) - set(fixtures)):
        problems.append(
            Problem(
                file,
                exp.line(name),
                f"expectation for {name}, but {lr.path.parent / name} does not exist",
                name,
            )
        )
    for name in sorted(set(exp.fixtures) & set(fixtures)):
        opened = sum(n for (_, status), n in exp.tally(name).items() if status == "open")
        if name.startswith("positive") and not opened:
            problems.append(
                Problem(
                    file,
                    exp.line(name),
                    f"positive fixture {name} must expect at least one open finding",
                    name,
                )
            )
        if name.startswith("negative") and opened:
            problems.append(
                Problem(
                    file,
                    exp.line(name),
                    f"negative fixture {name} must not expect an open finding",
                    name,
                )
            )
    return exp, problems


def _check_fixtures(lr: LoadedRule, exp: Expectations | None, lib: Library) -> list[Problem]:
    """Run every fixture and compare with its expectation (or, lacking one, the old
    invariants: positives open, negatives not)."""
    problems: list[Problem] = []
    rid = lr.rule.id
    for p in [*lr.positives, *lr.negatives]:
        try:
            found = _fixture_run(lr, p, lib)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        got = tally([(f.element, f.status) for f in found])
        # A finding the rule can never close where it sits: a control it requires cannot be
        # declared on that kind of element (applicable.trim left the checklist whole).
        problems.extend(
            Problem(str(p), 0, f"fixture {p.name}: {rid} on {f.element} {note}")
            for f in found
            for note in f.notes
            if note.startswith(UNCLOSABLE)
        )
        if exp is not None and p.name in exp.fixtures:
            diff = differences(exp.tally(p.name), got)
            if diff:
                problems.append(
                    Problem(
                        str(exp.path),
                        exp.line(p.name),
                        f"fixture {p}: {rid} findings differ from the expectation: "
                        + "; ".join(diff),
                        p.name,
                    )
                )
            continue
        opened = sorted(e for (e, status), n in got.items() if status == "open" for _ in range(n))
        if p.name.startswith("positive") and not opened:
            problems.append(Problem(str(p), 0, f"positive fixture: {rid} produced no open finding"))
        elif p.name.startswith("negative") and opened:
            problems.append(
                Problem(
                    str(p),
                    0,
                    f"negative fixture: {rid} produced open finding(s) on {', '.join(opened)}",
                )
            )
    return problems


def _attr_values(node: object) -> list[tuple[str, object]]:
    """Every (attribute, value) an ``attr`` test in a rule compares against."""
    from pydantic import BaseModel

    from threatgraph.engine.rules import AttrOp

    out: list[tuple[str, object]] = []
    if isinstance(node, BaseModel):
        for name in type(node).model_fields:
            value = getattr(node, name)
            if name == "attr" and isinstance(value, dict):
                for attr, op in value.items():
                    if isinstance(op, AttrOp):
                        for v in (
                            op.eq,
                            op.ne,
                            op.contains,
                            *(op.in_ or ()),
                            *(op.contains_any or ()),
                        ):
                            if v is not None:
                                out.append((attr, v))
            else:
                out.extend(_attr_values(value))
    elif isinstance(node, (list, tuple)):
        for item in node:
            out.extend(_attr_values(item))
    return out


def _allowed_values() -> dict[str, set[object]]:
    """Values the enumerated element fields accept, from the model schema."""
    from typing import get_args

    from threatgraph.model.schema import Capability, Element

    def literal_values(annotation: object) -> set[object]:
        found: set[object] = set()
        for arg in get_args(annotation):
            found |= literal_values(arg) if get_args(arg) else {arg}
        return found

    out = {"capabilities": set(get_args(Capability))}
    for name in ("interpreter", "source", "transport", "content"):
        out[name] = literal_values(Element.model_fields[name].annotation) - {type(None)}
    return out


def lint(lib: Library, fixtures: bool = True) -> list[Problem]:
    """Every problem in the library; empty when it is clean."""
    problems: list[Problem] = []
    refs = lib.references
    for lr in lib.rules:
        file = str(lr.path)
        for i, ref in enumerate(lr.rule.references):
            if lr.builtin or refs:
                why = reference_exists(ref, refs)
                if why:
                    line = line_in_file(lr.path, ("references", i))
                    problems.append(Problem(file, line, f"reference {ref}: {why}", "references"))
        problems.extend(rationale_problems(lr))
        for m in lr.rule.mitigations:
            if m.control not in lib.controls:
                problems.append(Problem(file, 0, f"unknown control {m.control!r}", "mitigations"))
            if m.at and "flow" in m.at and lr.rule.match.mode != "flow":
                problems.append(
                    Problem(
                        file,
                        0,
                        f"mitigation {m.control!r}: 'flow' needs a flow match "
                        "(use upstream or downstream)",
                        "mitigations",
                    )
                )
            if m.at and "path" in m.at and lr.rule.match.mode != "path":
                problems.append(
                    Problem(
                        file,
                        0,
                        f"mitigation {m.control!r}: 'path' needs a path match",
                        "mitigations",
                    )
                )
            if (
                m.at
                and any(p in ("source", "target", "flow") for p in m.at)
                and lr.rule.match.mode == "element"
            ):
                problems.append(
                    Problem(
                        file,
                        0,
                        f"mitigation {m.control!r}: source/target/flow need a flow or path match",
                        "mitigations",
                    )
                )
        if (
            any(w.if_flow is not None for w in lr.rule.severity_when)
            and lr.rule.match.mode != "flow"
        ):
            problems.append(
                Problem(file, 0, "severity_when 'if_flow' needs a flow match", "severity_when")
            )
        allowed = _allowed_values()
        for attr, value in _attr_values([lr.rule.match, lr.rule.severity_when]):
            if attr in allowed and value not in allowed[attr]:
                problems.append(
                    Problem(
                        file,
                        0,
                        f"attr {attr}: {value!r} is not a value the "
                        f"model accepts ({', '.join(sorted(map(str, allowed[attr])))})",
                        "match",
                    )
                )
        if not lr.positives:
            problems.append(Problem(file, 0, "no positive fixture (positive*.yaml)", "fixtures"))
        if not lr.negatives:
            problems.append(Problem(file, 0, "no negative fixture (negative*.yaml)", "fixtures"))
        exp, exp_problems = rule_expectations(lr)
        problems.extend(exp_problems)
        if not fixtures or lr.rule.id in lib.disabled:
            continue
        problems.extend(_check_fixtures(lr, exp, lib))
    allowed = _allowed_values()
    for name, pred in sorted(lib.predicates.items()):
        for attr, value in _attr_values(pred):
            if attr in allowed and value not in allowed[attr]:
                problems.append(
                    Problem(
                        "predicates.yaml",
                        0,
                        f"predicate {name!r}: attr {attr}: "
                        f"{value!r} is not a value the model accepts",
                        "attr",
                    )
                )
    # Compile every rule, so that unknown named predicates surface here.
    from threatgraph.engine.compile import Compiler
    from threatgraph.engine.evaluate import compile_rule

    compiler = Compiler(lib.predicates)
    for lr in lib.rules:
        try:
            compile_rule(lr.rule, compiler)
        except ValueError as exc:
            problems.append(Problem(str(lr.path), 0, str(exc), "match"))
    return problems
