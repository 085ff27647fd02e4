"""A model file carried by a download job and a bucket changes no supply-chain threat.

Each reference model and incident drawing is redrawn with every flow that brings model weights
from where they are held (a hub, dataset, store or registry) to the element that loads them
replaced by a download job that reads the file and writes it into a bucket, from which the
loader reads it: the usual way a file reaches a server. The job and the bucket only carry the
file, so every element both drawings have keeps its findings. The supply-chain and theft rule
fixtures are redrawn too: they hold the model files the reference models do not.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from test_redrawings import DAY, SOURCES, _ids

from threatgraph.engine.evaluate import evaluate
from threatgraph.engine.library import Library, load_library
from threatgraph.graph import build
from threatgraph.interop.modelyaml import model_data
from threatgraph.load.declarative import parse_model
from threatgraph.load.registry import load_paths
from threatgraph.model.validate import finalize

Doc = dict[str, Any]
ROOT = Path(__file__).parent.parent
_FIXTURES = sorted(
    p
    for family in ("supply-chain", "theft", "poisoning")
    for p in (ROOT / "threats" / "rules" / family).glob("*/*.yaml")
    if p.name not in ("rule.yaml", "expected.yaml")
)
DRAWINGS = [*SOURCES, *_FIXTURES]
_HOLDERS = {"external_content", "dataset", "datastore", "model_registry"}
_LOADERS = {"app", "process", "llm", "ml_model", "agent", "training_pipeline"}


def _weights(doc: Doc) -> set[str]:
    """The ids of data assets classified as model weights."""
    model = finalize(parse_model(copy.deepcopy(doc), "<redrawn>"))
    return {d.id for d in model.data if d.classification.value == "model_weights"}


def _trust(doc: Doc) -> dict[str, str]:
    """Each element's effective trust, as the engine reads the zones."""
    graph = build(finalize(parse_model(copy.deepcopy(doc), "<redrawn>")))
    return {eid: t.value for eid, t in graph.trust.items()}


def carried(doc: Doc) -> tuple[Doc, int]:
    """Each flow of model weights between a holder and a loader drawn through a download job
    and a bucket in the loader's zone, when the loader is ours (a zone trusted at least as a
    partner's: carriers outside it ship the file out, which is another threat). The bucket
    says it stores the file when the holder does. Returns the redrawn document and how many
    flows it redrew."""
    out = copy.deepcopy(doc)
    els = _ids(out)
    weights = _weights(doc)
    trust = _trust(doc)
    flows: list[Doc] = []
    n = 0
    for f in out["flows"]:
        src, dst = els.get(f["from"]), els.get(f["to"])
        ends = {f["from"]: src, f["to"]: dst}
        holder = next((i for i, e in ends.items() if e and e["kind"] in _HOLDERS), None)
        loader = next((i for i, e in ends.items() if e and e["kind"] in _LOADERS), None)
        data = [d for d in f.get("data", []) if d in weights]
        if not (
            holder
            and loader
            and data
            and f.get("operation") != "write"
            and trust.get(loader) not in ("third_party", "untrusted")
        ):
            flows.append(f)
            continue
        if ends[holder] is dst and f.get("operation") != "read":
            # An arrow into the store that is not a read is the loader writing: leave it.
            flows.append(f)
            continue
        job, bucket = f"download-job-{n}", f"model-bucket-{n}"
        zone = els[loader].get("boundary")
        for el in (
            {"kind": "process", "name": f"Download job {n}", "id": job},
            {"kind": "datastore", "name": f"Model bucket {n}", "id": bucket},
        ):
            if zone:
                el["boundary"] = zone
            out["elements"].append(el)
        held = [d for d in data if d in els[holder].get("stores", [])]
        if held:
            out["elements"][-1]["stores"] = held
        base = {k: v for k, v in f.items() if k not in ("from", "to", "name", "operation")}
        flows.append(
            {**base, "from": job, "to": holder, "name": f"{f['name']} fetch", "operation": "read"}
        )
        flows.append(
            {**base, "from": job, "to": bucket, "name": f"{f['name']} store", "operation": "write"}
        )
        flows.append(
            {**base, "from": loader, "to": bucket, "name": f"{f['name']} load", "operation": "read"}
        )
        n += 1
    out["flows"] = flows
    return out, n


def _findings(doc: Doc, lib: Library) -> tuple[set[tuple[str, str]], set[str]]:
    model = finalize(parse_model(copy.deepcopy(doc), "<redrawn>"))
    return {(f.rule.id, f.element) for f in evaluate(build(model), lib, DAY)}, {
        e.id for e in model.elements
    }


@pytest.fixture(scope="module")
def lib() -> Library:
    return load_library()


def test_some_drawings_get_a_carrier() -> None:
    docs = [model_data(lm.model) for lm in load_paths(DRAWINGS)]
    assert sum(carried(d)[1] for d in docs) >= 3


def test_a_carried_model_file_changes_no_threat(lib: Library) -> None:
    differences = []
    for lm in load_paths(DRAWINGS):
        doc = model_data(lm.model)
        redrawn, n = carried(doc)
        if not n:
            continue
        before, ids = _findings(doc, lib)
        after, ids2 = _findings(redrawn, lib)
        shared = ids & ids2
        a = {x for x in before if x[1] in shared}
        b = {x for x in after if x[1] in shared}
        if a != b:
            differences.append(f"{lm.path}: lost {sorted(a - b)}, gained {sorted(b - a)}")
    assert differences == []
