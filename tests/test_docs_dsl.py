"""docs/dsl.md describes the model schema as it is: kinds, fields, values, the DSL methods.

Each table and list in the model reference is read back and compared with the pydantic
schema and the DSL, in both directions, so a field added to the code without docs (or
documented but removed) fails here.
"""

from __future__ import annotations

import inspect
import re
import typing
from pathlib import Path
from typing import Any

import pytest

from threatgraph.model import dsl
from threatgraph.model.schema import (
    CLASSIFICATION_ALIASES,
    ENCRYPTED_PROTOCOLS,
    Classification,
    Element,
    Flow,
    Kind,
    Trust,
)

DSL_MD = Path(__file__).resolve().parents[1] / "docs" / "dsl.md"
TEXT = DSL_MD.read_text(encoding="utf-8")
CODE = re.compile(r"`([^`]+)`")


def section(title: str) -> str:
    """The text of one '## title' section."""
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", TEXT, re.M | re.S)
    assert m, f"docs/dsl.md has no '## {title}' section"
    return m.group(1)


def table(title: str) -> dict[str, list[str]]:
    """First-column code value -> the other cells, for the table of a section."""
    rows: dict[str, list[str]] = {}
    for line in section(title).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or set(cells[0]) <= {"-", ":"}:
            continue
        m = CODE.fullmatch(cells[0])
        if m:
            rows[m.group(1)] = cells[1:]
    return rows


def literal_values(annotation: Any) -> set[str]:
    """The values of a Literal[...] (possibly inside Optional)."""
    out: set[str] = set()
    for arg in typing.get_args(annotation) or ():
        if typing.get_origin(arg) is typing.Literal:
            out |= {str(v) for v in typing.get_args(arg)}
    if typing.get_origin(annotation) is typing.Literal:
        out |= {str(v) for v in typing.get_args(annotation)}
    return out


def test_element_kinds_table_matches_the_schema_and_the_dsl() -> None:
    documented = set(table("Element kinds"))
    assert documented == {k.value for k in Kind}
    for kind in Kind:
        assert callable(getattr(dsl.Model, kind.value, None)), f"no m.{kind.value}(...)"


def test_element_fields_table_matches_the_schema() -> None:
    documented = set(table("Element fields"))
    fields = {name for name in Element.model_fields if name != "location"}
    assert documented == fields, (
        f"undocumented: {sorted(fields - documented)}; not in the schema: "
        f"{sorted(documented - fields)}"
    )


@pytest.mark.parametrize("field", ["source", "interpreter", "transport", "content"])
def test_enumerated_element_values_are_documented(field: str) -> None:
    cells = table("Element fields")[field]
    documented = set(CODE.findall(cells[0]))
    assert documented == literal_values(Element.model_fields[field].annotation)


def test_capabilities_are_those_the_schema_describes() -> None:
    documented = set(CODE.findall(table("Element fields")["capabilities"][1]))
    described = Element.model_fields["capabilities"].description or ""
    assert documented == set(re.findall(r"[a-z_]+(?=[,.])", described.split(":", 1)[1]))


def test_trust_levels_and_classifications() -> None:
    assert set(table("Trust boundaries")) == {t.value for t in Trust}
    data = section("Data")
    listed = set(CODE.findall(data.split("Classifications:", 1)[1].split("Rules call", 1)[0]))
    values = {c.value for c in Classification}
    assert values <= listed and listed - values == set(CLASSIFICATION_ALIASES)


def test_flow_fields_and_encrypting_protocols() -> None:
    flows = section("Flows")
    yaml_keys = re.search(r"YAML: `\{([^}]*)\}`", flows.replace("\n", " "))
    assert yaml_keys
    documented = {k.strip() for k in yaml_keys.group(1).split(",")}
    fields = {(f.alias or name) for name, f in Flow.model_fields.items() if name != "location"}
    assert documented == fields
    params = set(inspect.signature(dsl.Model.flow).parameters) - {"self", "source", "target"}
    # `otm` is filled by `import otm` only (what the OTM file said): not a DSL argument
    assert params == fields - {"from", "to", "otm"}, "m.flow(...) and the flow schema differ"
    protocols = set(CODE.findall(flows.split("defaults from the protocol:", 1)[1].split(";")[0]))
    assert protocols == set(ENCRYPTED_PROTOCOLS)
    operations = set(CODE.findall(flows.split("`operation` says", 1)[1].split("It is optional")[0]))
    assert operations == literal_values(Flow.model_fields["operation"].annotation)
