"""Library lint: schema (already enforced on load), references, controls, fixtures."""

from __future__ import annotations

from datetime import date

from threatgraph.engine.library import Library, LoadedRule
from threatgraph.errors import InputError, Problem

#: Fixtures are evaluated as of this day, so that date-dependent rules give stable results.
FIXTURE_DAY = date(2026, 1, 15)


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
    if str(sch.get("edition")) != edition:
        return f"{scheme} edition must be {sch.get('edition')!r}, not {edition!r}"
    known = entries.get(scheme, {})
    if not isinstance(known, dict) or rid not in known:
        return f"{scheme} has no entry {rid!r}"
    return None


def run_fixture(lr: LoadedRule, path: object, lib: Library) -> list[str]:
    """Open finding ids of this rule on one fixture model."""
    from pathlib import Path

    from threatgraph.load.registry import formats, load_file
    from threatgraph.pipeline import analyse

    p = Path(str(path))
    fmt = next(f for f in formats() if p.suffix.lower() in f.suffixes)
    ids = []
    for lm in load_file(p, fmt, lib.controls.keys()):
        res = analyse(lm, lib, FIXTURE_DAY)
        ids += [f.id for f in res.findings if f.rule.id == lr.rule.id and f.status == "open"]
    return ids


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
        for ref in lr.rule.references:
            if lr.builtin or refs:
                why = reference_exists(ref, refs)
                if why:
                    problems.append(Problem(file, 0, f"reference {ref}: {why}", "references"))
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
        if not fixtures or lr.rule.id in lib.disabled:
            continue
        for p in lr.positives:
            try:
                if not run_fixture(lr, p, lib):
                    problems.append(
                        Problem(
                            str(p), 0, f"positive fixture: {lr.rule.id} produced no open finding"
                        )
                    )
            except InputError as exc:
                problems.extend(exc.problems)
        for p in lr.negatives:
            try:
                got = run_fixture(lr, p, lib)
                if got:
                    problems.append(
                        Problem(
                            str(p),
                            0,
                            f"negative fixture: {lr.rule.id} produced "
                            f"open finding(s) {', '.join(got)}",
                        )
                    )
            except InputError as exc:
                problems.extend(exc.problems)
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
