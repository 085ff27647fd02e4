"""Write a SystemModel as a threatgraph YAML model file (the schema ``threatgraph schema`` prints).

Used by ``threatgraph import`` to turn pytm and OTM models into files that threatgraph loads
directly. Output is deterministic: keys in schema order, lists in model order, ids written only
where they differ from the id threatgraph would derive from the name.
"""

from __future__ import annotations

from typing import Any

import yaml

from threatgraph.model.schema import SystemModel, slugify
from threatgraph.util.safetext import terminal


class _Dumper(yaml.SafeDumper):
    """Writes a string that a terminal would see changed double-quoted (see :func:`dumps`)."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = '"' if terminal(value) != value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def _controls(items: list[Any]) -> list[Any]:
    """A control with nothing but an id is written as its id."""
    return [c["id"] if isinstance(c, dict) and set(c) == {"id"} else c for c in items]


def _drop_derived_id(rec: dict[str, Any]) -> None:
    if rec.get("id") and rec["id"] == slugify(str(rec.get("name", ""))):
        del rec["id"]


def model_data(model: SystemModel) -> dict[str, Any]:
    """The model as plain data in file order, without defaults or derived ids."""
    raw = model.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)
    out: dict[str, Any] = {"threatgraph": 1}
    info = raw.get("model", {})
    if info.get("id") == slugify(str(info.get("name", ""))):
        info.pop("id", None)
    if "controls" in info:
        info["controls"] = _controls(info["controls"])
    out["model"] = info
    for section in ("boundaries", "data", "elements"):
        items = raw.get(section) or []
        for rec in items:
            _drop_derived_id(rec)
            if "controls" in rec:
                rec["controls"] = _controls(rec["controls"])
        if items:
            out[section] = items
    flows = raw.get("flows") or []
    for rec in flows:
        derived = f"{rec['from']}--{rec['to']}" + (
            f"--{slugify(rec['name'])}" if rec.get("name") else ""
        )
        if rec.get("id") == derived:
            del rec["id"]
        if "controls" in rec:
            rec["controls"] = _controls(rec["controls"])
    if flows:
        out["flows"] = flows
    if raw.get("decisions"):
        out["decisions"] = raw["decisions"]
    return out


def dumps(model: SystemModel, header: str | None = None) -> str:
    """The model as YAML text, with an optional comment header (one '# ' line per line).

    A string holding a control, a bidirectional control or what reads as a workflow command
    (``::`` first, ``##[``) is written double-quoted, where every escape of
    :func:`threatgraph.util.safetext.terminal` is a YAML escape of the same character: the text
    printed to a terminal (``import`` without ``-o``) then loads as the same model.
    """
    body = yaml.dump(
        model_data(model),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )
    if header:
        body = "".join(f"# {terminal(line)}\n" for line in header.splitlines()) + body
    return body
