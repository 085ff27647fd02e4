"""Relays and carriers that a vendor runs or a file passes through change no threat.

Two redrawings of every reference model and incident drawing (and of the supply-chain, theft
and poisoning rule fixtures, which hold the model files the reference models do not):

- a pass-through proxy (an API gateway, an edge proxy, an MCP gateway) between each of our
  components and each active component it talks to in a third-party (vendor) zone, drawn
  in that component's zone: the vendor runs it. What a vendor's relay passes on is what its
  ends send, not content of its own.
- every flow that brings model weights from where they are held (a hub, dataset, store or
  registry) to the element of ours that loads them replaced by a download job that reads the
  file and writes it into a bucket, from which the loader reads it.

Findings must be equal on every element both drawings have.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_redrawings import SOURCES, _findings, _ids

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
_ACTIVE = {"app", "process", "agent", "llm", "tool", "guardrail", "ml_model", "training_pipeline"}
_VENDOR_ZONE = {"third_party"}
_HOLDERS = {"external_content", "dataset", "datastore", "model_registry"}
_LOADERS = {"app", "process", "llm", "ml_model", "agent", "training_pipeline"}


def _trust(doc: Doc) -> dict[str, str]:
    """Each element's effective trust, as the engine reads the zones."""
    graph = build(finalize(parse_model(copy.deepcopy(doc), "<redrawn>")))
    return {eid: t.value for eid, t in graph.trust.items()}


def _weights(doc: Doc) -> set[str]:
    """The ids of data assets classified as model weights."""
    model = finalize(parse_model(copy.deepcopy(doc), "<redrawn>"))
    return {d.id for d in model.data if d.classification.value == "model_weights"}


def vendor_proxied(doc: Doc) -> tuple[Doc, int]:
    """A proxy in the outside component's zone between each two active elements, one ours and
    one in a third-party (vendor) zone, that exchange flows: both directions go through it.
    Returns the redrawn document and how many proxies it drew."""
    out = copy.deepcopy(doc)
    els = _ids(out)
    trust = _trust(doc)
    proxies: dict[frozenset[str], str] = {}
    flows = []
    for f in out["flows"]:
        src, dst = els.get(f["from"]), els.get(f["to"])
        ends = (f["from"], f["to"])
        outside = [x for x in ends if trust.get(x) in _VENDOR_ZONE]
        if not (
            src
            and dst
            and src["kind"] in _ACTIVE
            and dst["kind"] in _ACTIVE
            and len(outside) == 1
            and not (src.get("mcp") or dst.get("mcp"))
        ):
            flows.append(f)
            continue
        key = frozenset(ends)
        if key not in proxies:
            proxies[key] = f"vendor-proxy-{len(proxies)}"
            proxy: Doc = {"kind": "process", "name": f"Vendor proxy {len(proxies)}"}
            proxy["id"] = proxies[key]
            zone = els[outside[0]].get("boundary")
            if zone:
                proxy["boundary"] = zone
            out["elements"].append(proxy)
        pid = proxies[key]
        flows.append({**f, "to": pid, "name": f"{f['name']} in"})
        flows.append({**f, "from": pid, "name": f"{f['name']} out"})
    out["flows"] = flows
    return out, len(proxies)


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


REDRAWINGS: dict[str, Callable[[Doc], tuple[Doc, int]]] = {
    "vendor-proxied": vendor_proxied,
    "carried": carried,
}


@pytest.fixture(scope="module")
def lib() -> Library:
    return load_library()


@pytest.fixture(scope="module")
def documents() -> list[tuple[str, Doc]]:
    return [(str(lm.path), model_data(lm.model)) for lm in load_paths(DRAWINGS)]


@pytest.mark.parametrize("how", sorted(REDRAWINGS))
def test_redrawing_changes_no_threat(
    how: str, documents: list[tuple[str, Doc]], lib: Library
) -> None:
    differences = []
    redrawn_somewhere = 0
    for name, doc in documents:
        redrawn, n = REDRAWINGS[how](doc)
        if not n:
            continue
        redrawn_somewhere += 1
        before, ids = _findings(doc, lib)
        after, ids2 = _findings(redrawn, lib)
        shared = ids & ids2
        a = {x for x in before if x[1] in shared}
        b = {x for x in after if x[1] in shared}
        if a != b:
            differences.append(f"{name}: lost {sorted(a - b)}, gained {sorted(b - a)}")
    # The redrawing applies to enough drawings to mean something.
    assert redrawn_somewhere >= 5
    assert differences == []
