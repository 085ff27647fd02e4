"""A proxy run by a vendor, drawn in front of the vendor's component, changes no threat.

Each reference model and incident drawing is redrawn with a pass-through proxy (an API gateway,
an edge proxy, an MCP gateway) between each of our components and each active component it
talks to in a third-party or untrusted zone, drawn in that component's zone: the vendor runs
it. The proxy hands on what it is given, so every element both drawings have keeps its
findings: what a vendor's relay passes on is what its ends send, not content of its own.
"""

from __future__ import annotations

import copy
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
_ACTIVE = {"app", "process", "agent", "llm", "tool", "guardrail", "ml_model", "training_pipeline"}
_OUTSIDE = {"third_party", "untrusted"}


def _trust(doc: Doc) -> dict[str, str]:
    """Each element's effective trust, as the engine reads the zones."""
    model = finalize(parse_model(copy.deepcopy(doc), "<redrawn>"))
    graph = build(model)
    return {eid: t.value for eid, t in graph.trust.items()}


def vendor_proxied(doc: Doc) -> tuple[Doc, int]:
    """A proxy in the outside component's zone between each two active elements, one ours and
    one in a third-party or untrusted zone, that exchange flows: both directions go through it.
    Returns the redrawn document and how many proxies it drew."""
    out = copy.deepcopy(doc)
    els = _ids(out)
    trust = _trust(doc)
    proxies: dict[frozenset[str], str] = {}
    flows = []
    for f in out["flows"]:
        src, dst = els.get(f["from"]), els.get(f["to"])
        ends = (f["from"], f["to"])
        outside = [x for x in ends if trust.get(x) in _OUTSIDE]
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


def _findings(doc: Doc, lib: Library) -> tuple[set[tuple[str, str]], set[str]]:
    model = finalize(parse_model(copy.deepcopy(doc), "<redrawn>"))
    return {(f.rule.id, f.element) for f in evaluate(build(model), lib, DAY)}, {
        e.id for e in model.elements
    }


@pytest.fixture(scope="module")
def lib() -> Library:
    return load_library()


def test_some_drawings_get_a_vendor_proxy() -> None:
    docs = [model_data(lm.model) for lm in load_paths(SOURCES)]
    assert sum(vendor_proxied(d)[1] for d in docs) >= 5


def test_a_vendor_proxy_changes_no_threat(lib: Library) -> None:
    differences = []
    for lm in load_paths(SOURCES):
        doc = model_data(lm.model)
        redrawn, n = vendor_proxied(doc)
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
