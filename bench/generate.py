"""Deterministic generator of synthetic AI estates for benchmarks.

An estate is a set of "systems" (each: an app, an LLM or ML model, an agent with tools, a
RAG store, a training pipeline with datasets, a registry...) inside nested boundaries, plus
shared vendors and external content, wired with about 2-3 flows per element and sensitive
data on some flows. Same (n, seed) -> the same estate, byte for byte.

    python bench/generate.py 2000 -o /tmp/estate-2000.yaml
    python bench/generate.py 2000 --pytm -o /tmp/tm.py     # the same estate as a pytm tm.py
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any

CLASSES = ["public", "internal", "confidential", "pii", "phi", "secret", "training_data"]

# One system's parts: (kind, suffix, extra fields). About 13 elements per system.
SYSTEM = [
    ("actor", "users", {}),
    ("app", "frontend", {"internet_facing": True}),
    ("app", "orchestrator", {}),
    ("llm", "llm", {}),
    ("agent", "agent", {"autonomous": True}),
    ("tool", "ticket-tool", {"capabilities": ["read", "write"], "mcp": True}),
    ("tool", "mail-tool", {"capabilities": ["send_email"]}),
    ("vector_store", "index", {}),
    ("process", "ingest", {}),
    ("datastore", "db", {}),
    ("training_pipeline", "trainer", {}),
    ("dataset", "dataset", {"source": "public_hub"}),
    ("model_registry", "registry", {}),
    ("ml_model", "scorer", {"returns_scores": True}),
    ("memory", "memory", {"persistent": True}),
]
# Flows inside one system: (from suffix, to suffix, name). About 2.2 flows per element.
WIRING = [
    ("users", "frontend", "request"),
    ("frontend", "orchestrator", "call"),
    ("orchestrator", "llm", "prompt"),
    ("llm", "orchestrator", "completion"),
    ("orchestrator", "agent", "task"),
    ("agent", "ticket-tool", "update ticket"),
    ("ticket-tool", "agent", "ticket data"),
    ("agent", "mail-tool", "send mail"),
    ("agent", "memory", "remember"),
    ("memory", "agent", "recall"),
    ("index", "orchestrator", "passages"),
    ("ingest", "index", "chunks"),
    ("db", "ingest", "records"),
    ("db", "orchestrator", "history"),
    ("orchestrator", "db", "results"),
    ("dataset", "trainer", "training data"),
    ("db", "trainer", "labels"),
    ("trainer", "registry", "weights"),
    ("registry", "scorer", "deploy"),
    ("orchestrator", "scorer", "features"),
    ("scorer", "orchestrator", "scores"),
    ("frontend", "users", "response"),
    ("agent", "llm", "plan"),
    ("llm", "agent", "actions"),
    ("trainer", "db", "metrics"),
    ("registry", "llm", "adapter"),
    ("orchestrator", "frontend", "answer"),
    ("ingest", "db", "status"),
    ("scorer", "db", "decisions"),
    ("users", "ingest", "uploads"),
    ("agent", "orchestrator", "result"),
    ("mail-tool", "agent", "delivery status"),
    ("index", "agent", "context"),
]


def estate(n: int, seed: int = 1) -> dict[str, Any]:
    """A YAML-shaped model document with about ``n`` elements."""
    rng = random.Random(seed)
    systems = max(1, n // len(SYSTEM))
    regions = max(1, systems // 20)
    boundaries: list[dict[str, Any]] = [
        {"id": "internet", "name": "Internet", "trust": "untrusted"}
    ]
    data: list[dict[str, Any]] = []
    elements: list[dict[str, Any]] = []
    flows: list[dict[str, Any]] = []
    vendors = [f"vendor-{i}" for i in range(max(1, systems // 10))]
    for v in vendors:
        boundaries.append({"id": f"{v}-cloud", "name": f"{v} cloud", "trust": "third_party"})
        elements.append(
            {
                "kind": "vendor",
                "id": v,
                "name": v.replace("-", " ").title(),
                "boundary": f"{v}-cloud",
                "vendor": {
                    "baa": {"signed": "2025-01-01"} if rng.random() < 0.5 else None,
                    "last_assessment": "2025-06-01",
                },
            }
        )
    for r in range(regions):
        boundaries.append({"id": f"region-{r}", "name": f"Region {r}", "trust": "internal"})
    externals = []
    for i in range(max(1, systems // 5)):
        eid = f"web-{i}"
        externals.append(eid)
        elements.append(
            {
                "kind": "external_content",
                "id": eid,
                "name": f"Web source {i}",
                "content": rng.choice(["web", "email", "ticket", "upload"]),
                "boundary": "internet",
            }
        )
    for s in range(systems):
        region = f"region-{s % regions}"
        zone = f"sys-{s}"
        boundaries.append(
            {
                "id": zone,
                "name": f"System {s}",
                "trust": rng.choice(["internal", "internal", "restricted"]),
                "parent": region,
            }
        )
        sdata = []
        for k in range(3):
            did = f"d-{s}-{k}"
            data.append({"id": did, "name": f"Data {s}.{k}", "classification": rng.choice(CLASSES)})
            sdata.append(did)
        for kind, suffix, extra in SYSTEM:
            if len(elements) >= n:
                break
            el: dict[str, Any] = {
                "kind": kind,
                "id": f"s{s}-{suffix}",
                "name": f"System {s} {suffix}",
                **extra,
            }
            el["boundary"] = "internet" if kind == "actor" else zone
            if kind == "llm" and rng.random() < 0.6:
                el["provider"] = rng.choice(vendors)
                el["boundary"] = f"{el['provider']}-cloud"
            if kind in ("datastore", "vector_store", "model_registry"):
                el["stores"] = [rng.choice(sdata)]
            if kind == "ml_model":
                el["trained_on"] = [rng.choice(sdata)]
            if rng.random() < 0.4:
                el["controls"] = rng.sample(
                    [
                        "audit.logging",
                        "authz.rbac",
                        "crypto.at_rest",
                        "input.validation",
                        "guardrail.input_filter",
                        "ratelimit.quotas",
                    ],
                    2,
                )
            elements.append(el)
        present = {e["id"] for e in elements}
        for src, dst, name in WIRING:
            a, b = f"s{s}-{src}", f"s{s}-{dst}"
            if a in present and b in present:
                fl: dict[str, Any] = {
                    "from": a,
                    "to": b,
                    "name": name,
                    "protocol": rng.choice(["https", "https", "http", "grpc"]),
                }
                if rng.random() < 0.5:
                    fl["data"] = [rng.choice(sdata)]
                flows.append(fl)
        if s > 0:  # systems call each other's front ends, as estates do
            for other in rng.sample(range(s), min(s, 2)) if f"s{s}-orchestrator" in present else []:
                flows.append(
                    {
                        "from": f"s{s}-orchestrator",
                        "to": f"s{other}-frontend",
                        "name": f"call system {other}",
                        "protocol": "https",
                    }
                )
        if f"s{s}-ingest" in present:
            flows.append(
                {"from": rng.choice(externals), "to": f"s{s}-ingest", "name": f"crawl {s}"}
            )
    return {
        "threatgraph": 1,
        "model": {"name": f"Synthetic estate of {len(elements)} elements", "id": f"estate-{n}"},
        "boundaries": boundaries,
        "data": data,
        "elements": elements,
        "flows": flows,
    }


def to_python(doc: dict[str, Any]) -> str:
    """The same estate as a Python DSL file: one call per declaration, as a person writes."""
    out = [
        "from threatgraph import Model",
        "",
        f"m = Model({doc['model']['name']!r}, id={doc['model']['id']!r})",
    ]
    for b in doc["boundaries"]:
        parent = f", inside={b['parent']!r}" if b.get("parent") else ""
        out.append(f"m.boundary({b['name']!r}, id={b['id']!r}, trust={b['trust']!r}{parent})")
    for d in doc["data"]:
        out.append(f"m.data({d['name']!r}, id={d['id']!r}, classification={d['classification']!r})")
    for e in doc["elements"]:
        kw = {k: v for k, v in e.items() if k not in ("kind", "name", "boundary")}
        if e.get("boundary"):
            kw["inside"] = e["boundary"]
        args = ", ".join(f"{k}={v!r}" for k, v in kw.items() if k != "vendor")
        if e["kind"] == "vendor":
            prof = {k: v for k, v in e["vendor"].items() if v is not None}
            args += "".join(f", {k}={v!r}" for k, v in prof.items())
            out.append(f"m.vendor({e['name']!r}, {args})")
        else:
            out.append(f"m.element({e['kind']!r}, {e['name']!r}, {args})")
    for f in doc["flows"]:
        kw = {k: v for k, v in f.items() if k not in ("from", "to", "name")}
        args = "".join(f", {k}={v!r}" for k, v in kw.items())
        out.append(f"m.flow({f['from']!r}, {f['to']!r}, {f['name']!r}{args})")
    return "\n".join(out) + "\n"


#: How the bench writes a threatgraph kind as a pytm class, and a classification as pytm's.
PYTM_CLASS = {
    "actor": "Actor",
    "app": "Server",
    "process": "Process",
    "llm": "LLM",
    "agent": "Agent",
    "external_content": "ExternalEntity",
    "vendor": "ExternalEntity",
    "datastore": "Datastore",
    "vector_store": "Datastore",
    "memory": "Datastore",
    "feature_store": "Datastore",
    "model_registry": "Datastore",
    "dataset": "Datastore",
}
PYTM_CLASSIFICATION = {
    "public": "PUBLIC",
    "internal": "RESTRICTED",
    "confidential": "SECRET",
    "pii": "SENSITIVE",
    "phi": "SENSITIVE",
    "secret": "TOP_SECRET",
    "model_weights": "SECRET",
    "training_data": "RESTRICTED",
}


def to_pytm(doc: dict[str, Any]) -> str:
    """The same estate as a pytm ``tm.py``: one statement per object and attribute, at module
    level, the way pytm's README writes models (so a large estate is one long code object)."""
    out = [
        "from pytm import TM, Actor, Agent, Boundary, Classification, Data, Dataflow, "
        "Datastore, ExternalEntity, LLM, Process, Server",
        "",
        f"tm = TM({doc['model']['name']!r})",
        f"tm.description = {('Generated estate ' + doc['model']['id'])!r}",
    ]
    var: dict[str, str] = {}
    for i, b in enumerate(doc["boundaries"]):
        var[b["id"]] = f"b{i}"
        out.append(f"b{i} = Boundary({b['name']!r})")
    for b in doc["boundaries"]:
        if b.get("parent"):
            out.append(f"{var[b['id']]}.inBoundary = {var[b['parent']]}")
    for i, d in enumerate(doc["data"]):
        var[d["id"]] = f"d{i}"
        level = PYTM_CLASSIFICATION[d["classification"]]
        pii = ", isPII=True" if d["classification"] in ("pii", "phi") else ""
        out.append(f"d{i} = Data({d['name']!r}, classification=Classification.{level}{pii})")
    for i, e in enumerate(doc["elements"]):
        var[e["id"]] = f"e{i}"
        out.append(f"e{i} = {PYTM_CLASS.get(e['kind'], 'Process')}({e['name']!r})")
        if e.get("boundary"):
            out.append(f"e{i}.inBoundary = {var[e['boundary']]}")
        if e.get("stores"):
            out.append(f"e{i}.storesSensitiveData = True")
    for i, f in enumerate(doc["flows"]):
        out.append(f"f{i} = Dataflow({var[f['from']]}, {var[f['to']]}, {f['name']!r})")
        if f.get("protocol"):
            out.append(f"f{i}.protocol = {f['protocol'].upper()!r}")
            if f["protocol"] == "https":
                out.append(f"f{i}.controls.isEncrypted = True")
        if f.get("data"):
            out.append(f"f{i}.data = {var[f['data'][0]]}")
    out += ["", 'if __name__ == "__main__":', "    tm.process()"]
    return "\n".join(out) + "\n"


def main() -> None:
    """Write an estate as YAML (or JSON with a .json suffix)."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("n", type=int)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-o", "--output", type=Path, required=True)
    ap.add_argument("--pytm", action="store_true", help="With a .py output: a pytm tm.py.")
    args = ap.parse_args()
    doc = estate(args.n, args.seed)
    if args.output.suffix == ".py" and args.pytm:
        args.output.write_text(to_pytm(doc))
    elif args.output.suffix == ".py":
        args.output.write_text(to_python(doc))
    elif args.output.suffix == ".json":
        args.output.write_text(json.dumps(doc, indent=1))
    else:
        import yaml

        args.output.write_text(yaml.safe_dump(doc, sort_keys=False, width=120))
    print(f"{args.output}: {len(doc['elements'])} elements, {len(doc['flows'])} flows")


if __name__ == "__main__":
    main()
