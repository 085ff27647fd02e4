"""YAML and JSON models: the SystemModel schema as a file. No code is ever executed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from threatgraph.load import fastjson
from threatgraph.model.schema import Location, SystemModel
from threatgraph.util.errors import InputError
from threatgraph.util.yamlsafe import (
    LineDict,
    LineList,
    load_document,
    parse_json,
    problems_from_validation,
    read_text,
)

SUFFIXES = (".yaml", ".yml", ".json")


def _stamp(obj: Any, file: str) -> None:
    """Give each declared item a location (the line of its mapping) before validation."""
    if not isinstance(obj, LineDict):
        return
    for section in ("boundaries", "data", "elements", "flows", "decisions"):
        items = obj.get(section)
        if isinstance(items, LineList):
            for item in items:
                if isinstance(item, LineDict):
                    if "location" in item:
                        raise InputError.single(
                            file,
                            item.key_lines["location"],
                            "'location' is set by threatgraph",
                            "location",
                        )
                    item["location"] = {"file": file, "line": item.line}
                    controls = item.get("controls")
                    # Any other type is left for the schema to report with its line.
                    for ctl in controls if isinstance(controls, LineList) else []:
                        if isinstance(ctl, LineDict) and "location" not in ctl:
                            ctl["location"] = {"file": file, "line": ctl.line}


def parse_model(doc: Any, file: str) -> SystemModel:
    """Validate a parsed document as a SystemModel, with file:line on every problem."""
    if not isinstance(doc, dict):
        raise InputError.single(
            file,
            getattr(doc, "line", 0) or 1,
            "a model file must be a mapping with 'threatgraph: 1' and 'model:'",
        )
    if "threatgraph" not in doc:
        raise InputError.single(
            file,
            getattr(doc, "line", 1) or 1,
            "missing 'threatgraph: 1' (the model format version)",
            "threatgraph",
        )
    _stamp(doc, file)
    try:
        model = SystemModel.model_validate(doc)
    except ValidationError as exc:
        raise InputError(problems_from_validation(exc, doc, file)) from None
    model.location = Location(file=file, line=getattr(doc, "line", 1) or 1)
    return model


def load(path: Path) -> list[SystemModel]:
    """Load one YAML or JSON model file."""
    file = str(path)
    if path.suffix.lower() == ".json":
        # A valid model is read without line information for every value; anything the
        # quick reader does not accept is read again the general way, which reports it.
        text = read_text(path)
        model = fastjson.load_model(text, file)
        if model is not None:
            return [model]
        doc = parse_json(text, file)
    else:
        doc = load_document(path)
    if doc is None:
        raise InputError.single(file, 1, "empty file: expected a threatgraph model")
    return [parse_model(doc, file)]


#: A top-level ``threatgraph`` key however YAML lets it be written: plain or quoted, in block
#: style at the start of a line or as the first key of a flow mapping. Indented keys (a CI
#: job named ``threatgraph:``) are not top-level and do not count.
_TOP_KEY_RE = re.compile(r"""^(?:\{\s*)?(?:threatgraph|"threatgraph"|'threatgraph')\s*:""", re.M)


def looks_like_model(path: Path, head: str) -> bool:
    """Static check used when searching directories: a top-level 'threatgraph' key.

    Generous on purpose: a file claimed here that is not a model fails with an error naming
    it, while a model file missed here would leave the gate without a word.
    """
    if path.suffix.lower() == ".json":
        return '"threatgraph"' in head and '"model"' in head
    return _TOP_KEY_RE.search(head) is not None
