"""Every rule's fixtures give exactly the findings its expected.yaml states.

Each rule directory has positive*.yaml and negative*.yaml fixture models and an
expected.yaml listing, per fixture, the rule's findings on it: primary element, status and
count. The comparison is exact (a multiset of (element, status)), so a rule that starts
flagging a second element, or flags the right element mitigated instead of open, fails.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import builtin_library

from threatgraph.engine.library import LoadedRule
from threatgraph.features.expected import EXPECTED_FILE, differences, render, tally
from threatgraph.features.lint import fixture_findings, lint, rule_expectations

RULES = Path(__file__).resolve().parents[1] / "threats" / "rules"

#: Fixture cases where expected.yaml states what the rule should report and today's engine
#: reports something else: (rule id, fixture file) -> why. They run as strict xfails, so
#: fixing the engine turns them into failures until the entry is removed.
known_engine_gaps: dict[tuple[str, str], str] = {}


def _cases() -> list[tuple[str, Path]]:
    """(rule id, fixture) for every rule directory's fixtures, from the directory listing:
    loading the library to parametrize would load it at collection (a test below holds the
    listing to the library's own)."""
    out = []
    for folder in sorted(RULES.glob("*/*/")):
        for prefix in ("positive", "negative"):
            found = [*folder.glob(f"{prefix}*.y*ml"), *folder.glob(f"{prefix}*.json")]
            out += [(folder.name, p) for p in sorted(found)]
    return out


_CASES = _cases()


def _param(rule_id: str, path: Path) -> object:
    reason = known_engine_gaps.get((rule_id, path.name))
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(rule_id, path, marks=marks, id=f"{rule_id}-{path.stem}")


def test_every_rule_has_both_fixtures() -> None:
    missing = [lr.rule.id for lr in builtin_library().rules if not lr.positives or not lr.negatives]
    assert not missing, f"rules without a positive and a negative fixture: {missing}"


def test_every_rule_states_its_expected_findings() -> None:
    problems = [str(p) for lr in builtin_library().rules for p in rule_expectations(lr)[1]]
    assert not problems, "\n".join(problems)


def _leading_comment(path: Path) -> str:
    """The comment lines heading a fixture (before the model itself starts)."""
    out = []
    for line in path.read_text("utf-8").splitlines():
        if line.startswith("#"):
            out.append(line.lstrip("# "))
        elif line.strip() and not line.startswith("threatgraph:"):
            break
    return " ".join(out)


def _labelled_near_misses(lr: LoadedRule) -> list[str]:
    return [p.name for p in lr.negatives if "near miss" in _leading_comment(p).lower()]


def test_every_rule_has_a_near_miss() -> None:
    """Besides the negative with the mitigations declared, every rule has a near miss: a
    model one fact away from a positive, which the rule does not match at all. Its heading
    comment says "Near miss: <the fact>" and its expectation is []."""
    lacking = []
    for lr in builtin_library().rules:
        exp, _ = rule_expectations(lr)
        assert exp is not None, f"{lr.rule.id}: no {EXPECTED_FILE}"
        if not [n for n in _labelled_near_misses(lr) if exp.fixtures.get(n) == []]:
            lacking.append(lr.rule.id)
    assert not lacking, f"rules without a near-miss negative ('# Near miss:', []): {lacking}"


def test_near_misses_expect_no_finding() -> None:
    """A fixture labelled a near miss that the rule matches (even mitigated) is mislabelled."""
    wrong = []
    for lr in builtin_library().rules:
        exp, _ = rule_expectations(lr)
        assert exp is not None
        wrong += [f"{lr.rule.id}/{n}" for n in _labelled_near_misses(lr) if exp.fixtures.get(n)]
    assert not wrong, f"near-miss fixtures that expect findings: {wrong}"


def test_the_fixture_listing_is_the_librarys() -> None:
    lib = builtin_library()
    listed = sorted((lr.rule.id, p) for lr in lib.rules for p in [*lr.positives, *lr.negatives])
    assert sorted(_CASES) == listed
    assert len(_CASES) > 100


def test_known_engine_gaps_name_real_fixtures() -> None:
    fixtures = {(rid, p.name) for rid, p in _CASES}
    stale = sorted(set(known_engine_gaps) - fixtures)
    assert not stale, f"known_engine_gaps entries for no fixture: {stale}"


@pytest.mark.parametrize(("rule_id", "path"), [_param(r, p) for r, p in _CASES])
def test_fixture(rule_id: str, path: Path) -> None:
    lr = builtin_library().rule(rule_id)
    exp, _ = rule_expectations(lr)
    assert exp is not None and path.name in exp.fixtures, f"{path}: no expectation"
    got = tally(fixture_findings(lr, path, builtin_library()))
    diff = differences(exp.tally(path.name), got)
    assert not diff, (
        f"{path}: {rule_id} findings differ from {exp.path}:{exp.line(path.name)}: "
        + "; ".join(diff)
        + "\nactual:\n"
        + render({path.name: got})
    )


def test_library_lint_is_clean() -> None:
    problems = lint(builtin_library(), fixtures=False)
    assert not problems, "\n".join(str(p) for p in problems)
