"""The quick reader for JSON model files gives the general reader's model, or steps aside.

``threatgraph.load.fastjson`` reads a valid JSON model without line information for every
value. These tests hold it to the general reader (``parse_json`` + ``parse_model``): the
same model, locations included, for every layout of valid files, and None (so that the
general reader reports the problem) for every file it must not accept.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from threatgraph.load import declarative, fastjson
from threatgraph.model.schema import SystemModel
from threatgraph.util.errors import InputError
from threatgraph.util.yamlsafe import parse_json

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).parent / "corpus" / "models-json"

#: A model that uses every section, controls written as objects (with their own lines),
#: and names full of the characters a bracket-counting reader could trip over.
RICH: dict[str, Any] = {
    "threatgraph": 1,
    "model": {
        "name": 'Rich {model} [with] "quotes"',
        "controls": ["process.threat_modeling", {"id": "process.adversarial_testing"}],
    },
    "boundaries": [{"id": "corp", "name": "Corp ]}{[", "trust": "internal"}],
    "data": [{"id": "notes", "name": "Notes \\ back\\slash", "classification": "phi"}],
    "elements": [
        {
            "kind": "app",
            "name": "App \u00e9\u2192 {x}",
            "boundary": "corp",
            "controls": [
                "authn.sso_mfa",
                {"id": "audit.logging", "evidence": ["https://example.org/[log]"]},
                {"id": "crypto.at_rest"},
            ],
        },
        {"kind": "llm", "name": 'Model \\"q\\"', "boundary": "corp", "processes": ["notes"]},
    ],
    "flows": [
        {
            "from": "app-x",
            "to": "model-q",
            "name": "ask [1]",
            "data": ["notes"],
            "protocol": "https",
            "controls": [{"id": "crypto.in_transit"}],
        }
    ],
    "decisions": [
        {
            "finding": "TG-PI-001/model-q",
            "status": "accepted",
            "reason": "Reviewed [2026]",
            "owner": "sec@example.org",
            "expires": "2027-01-31",
        }
    ],
}


def _slow(text: str, file: str) -> SystemModel:
    return declarative.parse_model(parse_json(text, file), file)


def _dump(m: SystemModel) -> tuple[dict[str, Any], list[Any]]:
    """The model's fields and every location in it (locations are left out of dumps)."""
    where: list[Any] = [m.location]
    for section in (m.boundaries, m.data, m.elements, m.flows, m.decisions):
        for item in section:
            where.append(item.location)
            where += [getattr(c, "location", None) for c in getattr(item, "controls", [])]
    where += [getattr(c, "location", None) for c in m.model.controls]
    return m.model_dump(), where


def _same(text: str, file: str = "m.json") -> None:
    fast = fastjson.load_model(text, file)
    assert fast is not None, "the quick reader gave up on a valid model"
    assert _dump(fast) == _dump(_slow(text, file))


def _layouts(doc: Any) -> list[str]:
    """One document written several ways: compact, indented, with CRLF, with odd blanks."""
    out = [
        json.dumps(doc),
        json.dumps(doc, indent=1),
        json.dumps(doc, indent=4, ensure_ascii=False),
        json.dumps(doc, indent=2).replace("\n", "\r\n"),
        "\n\n  " + json.dumps(doc, separators=(" ,\n", " :\t")) + "\n\t \n",
    ]
    return out


def _reference_models() -> list[Path]:
    """The YAML reference models and the report fixtures (which carry decisions, and
    hostile names)."""
    fixtures = Path(__file__).parent / "fixtures"
    return [
        *sorted((REPO / "models").glob("*.yaml")),
        fixtures / "report" / "assistant.yaml",
        fixtures / "hostile" / "hostile.yaml",
    ]


@pytest.mark.parametrize("layout", range(5))
def test_rich_model_is_read_the_same_in_every_layout(layout: int) -> None:
    _same(_layouts(RICH)[layout])


@pytest.mark.parametrize("path", _reference_models(), ids=lambda p: p.name)
def test_reference_models_as_json_are_read_the_same(path: Path) -> None:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    for text in _layouts(json.loads(json.dumps(doc, default=str))):
        _same(text)


def test_locations_are_the_lines_of_the_items() -> None:
    text = json.dumps(RICH, indent=2)
    m = fastjson.load_model(text, "m.json")
    assert m is not None
    lines = text.splitlines()
    for el in m.elements:
        assert el.location is not None
        assert lines[el.location.line - 1].strip() == "{"
        assert f'"name": {json.dumps(el.name)}' in "\n".join(lines[el.location.line :])
    app = m.elements[0]
    objects = [c for c in app.controls if c.location is not None]
    assert [lines[c.location.line - 1].strip() for c in objects] == ["{", "{"]  # type: ignore[union-attr]
    assert m.location is not None and m.location.line == 1


# Files the quick reader must leave to the general reader, which reports them with a line.
GIVE_UP = {
    "empty": "",
    "blank": "  \n",
    "not an object": "[1, 2]",
    "no version": '{"model": {"name": "x"}}',
    "duplicate top-level key": '{"threatgraph": 1, "model": {"name": "a"}, "model": {}}',
    "duplicate key in an item": '{"threatgraph": 1, "model": {"name": "a"},\n'
    ' "elements": [{"kind": "app", "name": "A", "name": "B"}]}',
    "duplicate key in the model": '{"threatgraph": 1, "model": {"name": "a", "name": "b"}}',
    "trailing data": '{"threatgraph": 1, "model": {"name": "a"}} {}',
    "trailing comma": '{"threatgraph": 1, "model": {"name": "a"},\n}',
    "missing comma": '{"threatgraph": 1 "model": {"name": "a"}}',
    "unclosed": '{"threatgraph": 1, "model": {"name": "a"}',
    "bad item": '{"threatgraph": 1, "model": {"name": "a"}, "elements": [{"kind": "app",]}',
    "location given": '{"threatgraph": 1, "model": {"name": "a"},\n'
    ' "elements": [{"kind": "app", "name": "A", "location": {"file": "x", "line": 1}}]}',
    "schema error": '{"threatgraph": 1, "model": {"name": "a"},\n'
    ' "elements": [{"kind": "spaceship", "name": "A"}]}',
    "section not a list": '{"threatgraph": 1, "model": {"name": "a"}, "elements": {}}',
    "item not an object": '{"threatgraph": 1, "model": {"name": "a"}, "elements": [3]}',
    "deep nesting": '{"threatgraph": 1, "model": {"name": "a", "x": ' + "[" * 5000 + "]" * 5000,
    "lone surrogate": '{"threatgraph": 1, "model": {"name": "a", "description": "\\ud800"}}',
    "reversed pair": '{"threatgraph": 1, "model": {"name": "a"},\n'
    ' "elements": [{"kind": "app", "name": "A", "description": "\\ude00\\ud83d"}]}',
}


def test_a_surrogate_pair_escape_is_read_the_quick_way() -> None:
    text = '{"threatgraph": 1, "model": {"name": "a \\ud83d\\ude00 \\\\ud800"}}'
    m = fastjson.load_model(text, "m.json")
    assert m is not None and m.model.name == "a \U0001f600 \\ud800"


@pytest.mark.parametrize("text", GIVE_UP.values(), ids=GIVE_UP.keys())
def test_it_gives_up_and_the_general_reader_reports(tmp_path: Path, text: str) -> None:
    assert fastjson.load_model(text, "m.json") is None
    p = tmp_path / "m.json"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as fast_way:
        declarative.load(p)
    with pytest.raises(InputError) as general_way:
        doc = parse_json(text, str(p))
        if doc is None:
            raise InputError.single(str(p), 1, "empty file: expected a threatgraph model")
        declarative.parse_model(doc, str(p))
    assert [str(x) for x in fast_way.value.problems] == [str(x) for x in general_way.value.problems]


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.json")), ids=lambda p: p.name)
def test_corpus_files_read_the_same_either_way(path: Path) -> None:
    from threatgraph.util.yamlsafe import read_text

    try:
        text = read_text(path)
    except InputError:
        return  # refused before either reader runs
    fast = fastjson.load_model(text, str(path))
    try:
        slow = _slow(text, str(path)) if text.strip() else None
    except InputError:
        assert fast is None
        return
    if slow is None:  # an empty file
        assert fast is None
        return
    assert fast is not None
    assert _dump(fast) == _dump(slow)
