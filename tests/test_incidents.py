"""Models of real AI incidents, each drawn more than one way, give the same threats.

Each directory under tests/fixtures/incidents holds two or more drawings of one system that
was attacked in public (the incident is named in its expect.yaml) and the findings any honest
threat model of it must contain. Every drawing must produce those findings, and all drawings
must agree on the findings of the elements they share: a relay drawn in one and not the
other may add its own findings, nothing else may differ.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from threatgraph.engine.evaluate import evaluate
from threatgraph.engine.library import Library, load_library
from threatgraph.graph import build
from threatgraph.load.declarative import load
from threatgraph.model.validate import finalize
from threatgraph.util.yamlsafe import load_document

HERE = Path(__file__).parent / "fixtures" / "incidents"
DAY = date(2026, 12, 1)
INCIDENTS = sorted(p.name for p in HERE.iterdir() if (p / "expect.yaml").is_file())


@pytest.fixture(scope="module")
def lib() -> Library:
    return load_library()


def _findings(path: Path, lib: Library) -> tuple[set[tuple[str, str]], set[str]]:
    (raw,) = load(path)
    model = finalize(raw)
    found = {(f.rule.id, f.element) for f in evaluate(build(model), lib, DAY)}
    return found, {e.id for e in model.elements}


def test_there_are_incidents() -> None:
    assert len(INCIDENTS) >= 8


@pytest.mark.parametrize("name", INCIDENTS)
def test_incident_drawings_find_the_same_threats(name: str, lib: Library) -> None:
    folder = HERE / name
    expect = load_document(folder / "expect.yaml")
    drawings = sorted(p for p in folder.glob("*.yaml") if p.name != "expect.yaml")
    assert len(drawings) >= 2, "an incident needs at least two drawings"
    results = {p.name: _findings(p, lib) for p in drawings}
    for drawing, (found, _) in results.items():
        for rule, where in expect["must"]:
            # One element, or the elements the finding may sit on (a capability drawn on an
            # agent in one drawing and on its tool in another).
            places = [where] if isinstance(where, str) else where
            assert any((rule, e) in found for e in places), f"{drawing} misses {rule} on {where}"
    common = set.intersection(*(ids for _, ids in results.values()))
    # Rules whose finding sits on whichever element holds a capability (drawn on an agent in
    # one drawing, on its tool in another) are compared by rule, not by element.
    moving = set(expect.get("may_move", []))
    views = {
        d: {(r, "*" if r in moving else e) for r, e in found if e in common or r in moving}
        for d, (found, _) in results.items()
    }
    first = drawings[0].name
    for drawing, view in views.items():
        assert view == views[first], (
            f"{drawing} vs {first}: only in {drawing} {sorted(view - views[first])}, "
            f"only in {first} {sorted(views[first] - view)}"
        )
