"""The supply-chain rules read the artefact and software facts, not the kind of element.

Unsafe model files are decided by the file's format wherever it is loaded (a model server, a
training job, a notebook, an app or an agent); the hub drawn as the one who answers or as the
one who is read gives the same findings; exposed model servers are found whether or not the
model records any data on their flows.
"""

from __future__ import annotations

import copy
import datetime
from typing import Any

import pytest
from helpers import builtin_library
from hypothesis import given, settings
from hypothesis import strategies as st

from threatgraph.engine.evaluate import evaluate
from threatgraph.graph import build
from threatgraph.load.declarative import parse_model
from threatgraph.model.validate import finalize

DAY = datetime.date(2026, 12, 1)
SUPPLY = {
    "TG-SC-002",
    "TG-SC-006",
    "TG-SC-007",
    "TG-SC-008",
    "TG-SC-009",
    "TG-SC-014",
    "TG-SC-016",
    "TG-SEC-010",
}

Doc = dict[str, Any]


def findings(doc: Doc) -> set[tuple[str, str, str]]:
    """(rule, primary element, status) of the supply-chain findings of a model document."""
    model = finalize(parse_model(copy.deepcopy(doc), "<test>"))
    return {
        (f.rule.id, f.element, f.status)
        for f in evaluate(build(model), builtin_library(), DAY)
        if f.rule.id in SUPPLY
    }


def hub_loader(
    kind: str, artifact: dict[str, Any], *, read: bool, controls: list[str] | None = None
) -> Doc:
    """A hub (outside content holding a file) and one element of ours that downloads it."""
    if read:
        flow = {"from": "loader", "to": "hub", "name": "download", "operation": "read"}
    else:
        flow = {"from": "hub", "to": "loader", "name": "download", "operation": "response"}
    return {
        "threatgraph": 1,
        "model": {"name": "Hub download"},
        "boundaries": [
            {"name": "Corp", "trust": "internal"},
            {"name": "Internet", "trust": "untrusted"},
        ],
        "elements": [
            {
                "kind": "external_content",
                "name": "Hub",
                "boundary": "internet",
                "content": "web",
                "artifact": artifact,
            },
            {"kind": kind, "name": "Loader", "boundary": "corp", "controls": controls or []},
        ],
        "flows": [flow],
    }


LOADER_KINDS = ["process", "training_pipeline", "app", "agent", "ml_model", "tool"]
CODE_BEARING = ["pickle", "pytorch", "joblib", "keras_h5", "savedmodel"]
TENSORS_ONLY = ["safetensors", "onnx", "tensorrt"]


@pytest.mark.parametrize("kind", LOADER_KINDS)
@pytest.mark.parametrize("fmt", CODE_BEARING)
def test_code_bearing_file_from_a_hub_is_found_on_whatever_loads_it(kind: str, fmt: str) -> None:
    doc = hub_loader(kind, {"format": fmt, "hub": "huggingface:x/y", "pinned": True}, read=False)
    assert ("TG-SC-002", "loader", "open") in findings(doc)


@pytest.mark.parametrize("kind", LOADER_KINDS)
@pytest.mark.parametrize("fmt", TENSORS_ONLY)
def test_tensors_only_file_is_not_an_unsafe_format(kind: str, fmt: str) -> None:
    doc = hub_loader(kind, {"format": fmt, "hub": "huggingface:x/y", "pinned": True}, read=False)
    assert not {f for f in findings(doc) if f[0] == "TG-SC-002"}


def test_declaring_safe_loading_mitigates_on_the_loader() -> None:
    doc = hub_loader(
        "process",
        {"format": "pickle", "hub": "huggingface:x/y", "pinned": True},
        read=False,
        controls=["model.safe_serialization", "model.scanning"],
    )
    assert ("TG-SC-002", "loader", "mitigated") in findings(doc)


def test_model_of_ours_with_outside_file_of_unstated_format_counts_until_stated() -> None:
    base: Doc = {
        "threatgraph": 1,
        "model": {"name": "Outside model"},
        "boundaries": [{"name": "Corp", "trust": "internal"}],
        "elements": [{"kind": "ml_model", "name": "Scorer", "boundary": "corp"}],
        "flows": [],
    }
    unstated = copy.deepcopy(base)
    unstated["elements"][0]["source"] = "open_source"
    assert ("TG-SC-002", "scorer", "open") in findings(unstated)
    stated = copy.deepcopy(unstated)
    stated["elements"][0]["artifact"] = {"format": "onnx"}
    assert not findings(stated) & {("TG-SC-002", "scorer", "open")}
    # An element that runs no model and states no format has no unsafe file to load.
    proc = copy.deepcopy(base)
    proc["elements"][0] = {"kind": "process", "name": "Scorer", "boundary": "corp"}
    proc["elements"][0]["source"] = "open_source"
    assert not findings(proc)


artifacts = st.fixed_dictionaries(
    {
        "format": st.sampled_from([*CODE_BEARING, *TENSORS_ONLY, "gguf", "other"]),
        "hub": st.just("huggingface:x/y"),
    },
    optional={
        "pinned": st.booleans(),
        "remote_code": st.booleans(),
        "publisher_verified": st.booleans(),
    },
)


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(LOADER_KINDS), artifact=artifacts)
def test_the_hub_answering_or_being_read_is_the_same_download(
    kind: str, artifact: dict[str, Any]
) -> None:
    answered = findings(hub_loader(kind, artifact, read=False))
    read = findings(hub_loader(kind, artifact, read=True))
    assert answered == read


def exposed(platform: str, data: bool) -> Doc:
    """A model server in our network that outsiders call directly."""
    doc: Doc = {
        "threatgraph": 1,
        "model": {"name": "Exposed server"},
        "boundaries": [
            {"name": "Corp", "trust": "internal"},
            {"name": "Internet", "trust": "untrusted"},
        ],
        "elements": [
            {"kind": "actor", "name": "Stranger", "boundary": "internet"},
            {"kind": "process", "name": "Server", "boundary": "corp", "platform": platform},
        ],
        "flows": [{"from": "stranger", "to": "server", "name": "call", "operation": "call"}],
    }
    if data:
        doc["data"] = [{"name": "Records", "classification": "phi"}]
        doc["elements"][1]["processes"] = ["records"]
        doc["flows"][0]["data"] = ["records"]
    return doc


@pytest.mark.parametrize("platform", ["ray", "ollama", "vllm", "jupyter", "mlflow"])
def test_exposed_server_is_found_whether_or_not_data_is_modelled(platform: str) -> None:
    assert ("TG-SEC-010", "server", "open") in findings(exposed(platform, data=False))
    assert findings(exposed(platform, data=False)) == findings(exposed(platform, data=True))


def test_platform_other_is_not_a_known_exposed_server() -> None:
    assert not findings(exposed("other", data=False))
