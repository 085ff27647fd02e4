"""Every rule's positive fixtures must flag it (open) and its negative ones must not."""

from __future__ import annotations

import pytest

from threatgraph.engine.library import load_library
from threatgraph.engine.lint import lint, run_fixture

_LIB = load_library()
_CASES = [(lr.rule.id, "positive", p) for lr in _LIB.rules for p in lr.positives] + [
    (lr.rule.id, "negative", p) for lr in _LIB.rules for p in lr.negatives
]


def test_every_rule_has_both_fixtures() -> None:
    missing = [lr.rule.id for lr in _LIB.rules if not lr.positives or not lr.negatives]
    assert not missing, f"rules without a positive and a negative fixture: {missing}"


@pytest.mark.parametrize(
    ("rule_id", "kind", "path"), _CASES, ids=[f"{r}-{k}-{p.stem}" for r, k, p in _CASES]
)
def test_fixture(rule_id: str, kind: str, path) -> None:  # type: ignore[no-untyped-def]
    lr = _LIB.rule(rule_id)
    open_ids = run_fixture(lr, path, _LIB)
    if kind == "positive":
        assert open_ids, f"{path}: {rule_id} should produce an open finding"
    else:
        assert not open_ids, f"{path}: {rule_id} should not be open, got {open_ids}"


def test_library_lint_is_clean() -> None:
    problems = lint(_LIB, fixtures=False)
    assert not problems, "\n".join(str(p) for p in problems)
