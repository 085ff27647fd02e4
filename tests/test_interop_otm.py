"""Open Threat Model interop: import, export (validated against the OTM schema), round trips."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers import shared_reference

from threatgraph.cli import cli
from threatgraph.load.registry import discover, load_paths
from threatgraph.model.schema import Classification, Kind, Trust
from threatgraph.util.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
PYTM_FIXTURE = ROOT / "tests" / "fixtures" / "pytm" / "tm.py"
CLINICAL = ROOT / "models" / "clinical_notes_assistant.py"

RICH = """\
threatgraph: 1
model:
  name: Support bot
  owner: ml-platform@example.org
  version: "2"
  controls: [process.threat_modeling]
boundaries:
  - {name: Internet, trust: untrusted}
  - {name: Corp, trust: internal}
  - {name: Secure enclave, trust: restricted, parent: corp, description: HSM zone}
  - {name: Vendor cloud, trust: third_party}
data:
  - {name: Question, classification: pii}
  - {name: Articles, classification: public}
  - {name: API key, classification: secret}
  - {name: Weights, classification: model_weights}
elements:
  - {kind: actor, name: Customer, boundary: internet}
  - {kind: external_content, name: Web pages, content: web}
  - kind: app
    name: Bot API
    boundary: corp
    internet_facing: true
    controls: [authn.api_keys, {id: audit.logging, evidence: [docs/logging.md]}]
    processes: [question]
    code: ["bot/**"]
  - {kind: vector_store, name: Index, boundary: corp, stores: [articles]}
  - {kind: datastore, name: Key store, boundary: secure-enclave, stores: [api-key]}
  - kind: vendor
    name: Acme AI
    vendor: {certifications: [{name: soc2_type2}], clauses: [no_training_on_customer_data]}
  - kind: llm
    name: Hosted LLM
    boundary: vendor-cloud
    provider: acme-ai
    trained_on: [weights]
    controls: [guardrail.system_prompt_hardening]
  - {kind: agent, name: Helper, boundary: corp, autonomous: true, capabilities: [http]}
  - {kind: tool, name: Fetcher, boundary: corp, mcp: true, transport: stdio, trust: partner}
flows:
  - {from: customer, to: bot-api, name: question, protocol: https, data: [question]}
  - {from: web-pages, to: index, data: [articles]}
  - {from: index, to: bot-api, name: passages, data: [articles]}
  - from: bot-api
    to: hosted-llm
    name: prompt
    protocol: https
    data: [question, articles]
    controls: [crypto.tls]
  - {from: bot-api, to: helper, name: task, authenticated: true}
  - {from: helper, to: fetcher, name: fetch, encrypted: false}
  - {from: key-store, to: bot-api, name: key, protocol: mtls, data: [api-key]}
decisions:
  - finding: TG-PI-001/hosted-llm
    status: accepted
    reason: pilot only
    owner: sec@example.org
    expires: 2026-06-01
"""


def otm_schema() -> dict[str, Any]:
    path = shared_reference("otm/otm_schema.json")
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def validate(doc: dict[str, Any]) -> None:
    import jsonschema

    errors = sorted(
        jsonschema.Draft7Validator(otm_schema()).iter_errors(doc), key=lambda e: list(e.path)
    )
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def rich(tmp_path: Path) -> Path:
    p = tmp_path / "rich.yaml"
    p.write_text(RICH)
    return p


def export(path: Path, out: Path, *extra: str) -> dict[str, Any]:
    # The example models carry acceptances; keep the fixed --as-of date clear of the
    # acceptance horizon (a policy matter, not what these tests are about).
    cfg = out.parent / "export.threatgraph.toml"
    cfg.write_text("max_acceptance_days = 3650\n")
    res = invoke(
        "export",
        "otm",
        str(path),
        "-o",
        str(out),
        "--as-of",
        "2026-01-15",
        "--config",
        str(cfg),
        *extra,
    )
    assert res.exit_code == 0, res.output
    return json.loads(out.read_text())  # type: ignore[no-any-return]


# -- export ---------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["rich", "pytm", "clinical"])
def test_export_validates_against_the_otm_schema(source: str, rich: Path, tmp_path: Path) -> None:
    path = {"rich": rich, "pytm": PYTM_FIXTURE, "clinical": CLINICAL}[source]
    if not path.exists():
        pytest.skip(f"{path} is not available")
    doc = export(path, tmp_path / "out.otm.json", "--pytm-threats")
    validate(doc)
    assert doc["otmVersion"] == "0.2.0"


def test_export_content(rich: Path, tmp_path: Path) -> None:
    doc = export(rich, tmp_path / "out.json")
    zones = {z["id"]: z for z in doc["trustZones"]}
    assert zones["internet"]["risk"]["trustRating"] == 0
    assert zones["secure-enclave"]["parent"] == {"trustZone": "corp"}
    assert zones["secure-enclave"]["risk"]["trustRating"] == 100
    comps = {c["id"]: c for c in doc["components"]}
    assert comps["hosted-llm"]["type"] == "llm"
    assert comps["hosted-llm"]["parent"] == {"trustZone": "vendor-cloud"}
    assert comps["bot-api"]["assets"] == {"processed": ["question"], "stored": []}
    # Elements outside every boundary sit in a stand-in zone with their default trust.
    web_zone = zones[comps["web-pages"]["parent"]["trustZone"]]
    assert web_zone["attributes"]["x-threatgraph"]["synthetic"] is True
    assert web_zone["risk"]["trustRating"] == 0
    assert zones[comps["acme-ai"]["parent"]["trustZone"]]["risk"]["trustRating"] == 30
    assets = {a["id"]: a for a in doc["assets"]}
    assert assets["api-key"]["risk"]["confidentiality"] == 100
    assert assets["articles"]["risk"]["confidentiality"] == 0
    flows = {f["id"]: f for f in doc["dataflows"]}
    assert flows["web-pages--index"]["name"] == "Web pages to Index"
    assert flows["web-pages--index"]["attributes"]["x-threatgraph"]["unnamed"] is True
    # Findings: one top-level threat per rule, instances with mitigation states.
    threats = {t["id"]: t for t in doc["threats"]}
    assert "TG-PI-001" in threats
    assert threats["TG-PI-001"]["categories"]
    mitigation_ids = {m["id"] for m in doc["mitigations"]}
    instances = [
        (owner, t)
        for owner in [*doc["components"], *doc["dataflows"]]
        for t in owner.get("threats") or []
    ]
    assert instances
    for _owner, t in instances:
        assert t["threat"] in threats
        assert t["state"] in {"exposed", "mitigated", "accepted", "not-applicable"}
        for m in t["mitigations"]:
            assert m["mitigation"] in mitigation_ids
            assert m["state"] in {"implemented", "required"}
    llm = {t["threat"]: t for t in comps["hosted-llm"]["threats"]}
    assert llm["TG-PI-001"]["state"] == "accepted"  # the model's decision
    states = {m["state"] for _o, t in instances for m in t["mitigations"]}
    assert states == {"implemented", "required"}


def test_export_is_deterministic(rich: Path, tmp_path: Path) -> None:
    a = tmp_path / "a.json"
    b = tmp_path / "b.json"
    export(rich, a)
    export(rich, b)
    assert a.read_bytes() == b.read_bytes()
    cfg = tmp_path / "export.threatgraph.toml"
    res = invoke("export", "otm", str(rich), "--as-of", "2026-01-15", "--config", str(cfg))
    assert res.exit_code == 0
    assert res.stdout == a.read_text()


def test_export_without_threats(rich: Path, tmp_path: Path) -> None:
    doc = export(rich, tmp_path / "o.json", "--no-threats")
    validate(doc)
    assert doc["threats"] == [] and doc["mitigations"] == []
    assert not any(c.get("threats") for c in doc["components"])


def test_export_of_a_directory_with_two_models_is_an_input_error(
    rich: Path, tmp_path: Path
) -> None:
    (tmp_path / "second.yaml").write_text("threatgraph: 1\nmodel: {name: Second}\n")
    res = invoke("export", "otm", str(tmp_path))
    assert res.exit_code == 2
    assert "2 models" in res.output


# -- round trips ----------------------------------------------------------------------------


def _roundtrip(path: Path, tmp_path: Path) -> tuple[Any, Any]:
    out = tmp_path / "rt.otm.json"
    export(path, out)
    (orig,) = load_paths([path])
    (back,) = load_paths([out])
    assert back.format == "otm"
    return orig.model, back.model


@pytest.mark.parametrize("source", ["rich", "pytm", "clinical", "scribe"])
def test_round_trip_keeps_the_model(source: str, rich: Path, tmp_path: Path) -> None:
    # The scribe model carries physical flows, workforce and the newer vendor facts.
    scribe = CLINICAL.parent / "ambient_scribe.py"
    path = {"rich": rich, "pytm": PYTM_FIXTURE, "clinical": CLINICAL, "scribe": scribe}[source]
    if not path.exists():
        pytest.skip(f"{path} is not available")
    a, b = _roundtrip(path, tmp_path)

    def key(m: Any) -> dict[str, Any]:
        return {
            "elements": [(e.id, e.name, e.kind, e.boundary) for e in m.elements],
            "boundaries": [(x.id, x.name, x.trust, x.parent) for x in m.boundaries],
            "flows": [(f.id, f.name, f.source, f.target, f.data) for f in m.flows],
            "data": [(d.id, d.name, d.classification) for d in m.data],
        }

    assert key(a) == key(b)
    # Everything else too: controls, facts, vendor profiles, decisions.
    assert a.model_dump(mode="json") == b.model_dump(mode="json")


def test_round_trip_through_the_cli_and_check(rich: Path, tmp_path: Path) -> None:
    otm = tmp_path / "m.otm.json"
    export(rich, otm)
    yml = tmp_path / "back.yaml"
    res = invoke("import", "otm", str(otm), "-o", str(yml))
    assert res.exit_code == 0, res.output
    a = invoke("check", str(rich), "--format", "json", "--as-of", "2026-01-15")
    b = invoke("check", str(yml), "--format", "json", "--as-of", "2026-01-15")
    c = invoke("check", str(otm), "--format", "json", "--as-of", "2026-01-15")
    ids = [sorted(f["id"] for f in json.loads(r.stdout)["findings"]) for r in (a, b, c)]
    assert ids[0] == ids[1] == ids[2]
    assert ids[0]


# -- import ---------------------------------------------------------------------------------


def test_import_the_official_example(tmp_path: Path) -> None:
    example = shared_reference("otm/EXAMPLE.json")
    out = tmp_path / "example.yaml"
    res = invoke("import", "otm", str(example), "-o", str(out))
    assert res.exit_code == 0, res.output
    assert "1 threat(s), 2 mitigation(s) and 2 threat instance(s)" in res.output
    (lm,) = load_paths([out])
    m = lm.model
    trust = {b.name: b.trust for b in m.boundaries}
    assert trust == {"Internet": Trust.UNTRUSTED, "Private": Trust.RESTRICTED}
    kinds = {e.id: e.kind for e in m.elements}
    assert kinds == {
        "web-client": Kind.ACTOR,
        "web-service": Kind.APP,
        "customer-database": Kind.DATASTORE,
        "class-customerdatabase": Kind.PROCESS,
    }
    svc = m.element("web-service")
    assert svc.processes == ["cc-data", "public-info"] and svc.stores == ["public-info"]
    assert svc.tags == ["tomcat"]
    data = {d.id: d.classification for d in m.data}
    assert data == {"cc-data": Classification.CONFIDENTIAL, "public-info": Classification.PUBLIC}
    # bidirectional dataflows become a flow each way
    pairs = {(f.source, f.target) for f in m.flows}
    assert ("web-client", "web-service") in pairs and ("web-service", "web-client") in pairs
    assert len(m.flows) == 4
    assert next(f for f in m.flows if f.id == "cc-store-in-db").data == ["cc-data"]
    # and `check` reads the OTM file directly
    res = invoke("check", str(example), "--as-of", "2026-01-15")
    assert res.exit_code in (0, 1), res.output


def test_directory_search_claims_otm_json_but_not_other_json(tmp_path: Path) -> None:
    (tmp_path / "a.otm.json").write_text(
        '{"otmVersion": "0.2.0", "project": {"name": "A", "id": "a"}}'
    )
    (tmp_path / "package.json").write_text('{"name": "x"}')
    (tmp_path / "model.json").write_text('{"threatgraph": 1, "model": {"name": "M"}}')
    found = {p.name: f.name for p, f in discover([tmp_path])}
    assert found == {"a.otm.json": "otm", "model.json": "yaml"}


def _otm(**parts: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "otmVersion": "0.2.0",
        "project": {"name": "P", "id": "p"},
        "trustZones": [{"id": "tz", "name": "Zone", "risk": {"trustRating": 70}}],
        "assets": [
            {
                "id": "a1",
                "name": "Asset",
                "risk": {"confidentiality": 90, "integrity": 1, "availability": 1},
            }
        ],
        "components": [
            {"id": "c1", "name": "One", "type": "web-service", "parent": {"trustZone": "tz"}},
            {"id": "c2", "name": "Two", "type": "database", "parent": {"trustZone": "tz"}},
        ],
        "dataflows": [{"id": "f1", "name": "F", "source": "c1", "destination": "c2"}],
    }
    doc.update(parts)
    return doc


def _write_pretty(tmp_path: Path, doc: dict[str, Any] | str) -> Path:
    p = tmp_path / "in.otm.json"
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc, indent=2))
    return p


def _line(p: Path, needle: str, after: str | None = None) -> int:
    """Line of the first ``needle`` (after the first ``after``, when given)."""
    lines = p.read_text().splitlines()
    start = 0 if after is None else next(i for i, ln in enumerate(lines) if after in ln)
    return next(i for i, ln in enumerate(lines, 1) if i > start and needle in ln)


@pytest.mark.parametrize(
    ("change", "needle", "message"),
    [
        (
            {
                "components": [
                    {"id": "c1", "name": "One", "type": "app", "parent": {"trustZone": "nowhere"}}
                ]
            },
            ('"parent"', '"id": "c1"'),
            "parent trust zone 'nowhere' does not exist",
        ),
        (
            {"dataflows": [{"id": "f1", "name": "F", "source": "c1", "destination": "c9"}]},
            ('"destination"', '"id": "f1"'),
            "dataflow destination 'c9' is not a component",
        ),
        (
            {
                "dataflows": [
                    {"id": "f1", "name": "F", "source": "c1", "destination": "c2", "assets": ["a2"]}
                ]
            },
            ('"a2"', '"id": "f1"'),
            "unknown asset 'a2'",
        ),
        (
            {
                "components": [
                    {"id": "c1", "name": "One", "type": "app", "parent": {"component": "c1"}}
                ]
            },
            ('"parent"', '"id": "c1"'),
            "parent cycle",
        ),
        ({"otmVersion": "9.0"}, ('"otmVersion"', None), "unsupported otmVersion"),
    ],
)
def test_import_errors_have_a_file_and_line(
    tmp_path: Path, change: dict[str, Any], needle: tuple[str, str | None], message: str
) -> None:
    p = _write_pretty(tmp_path, _otm(**change))
    with pytest.raises(InputError) as exc:
        load_paths([p])
    problem = next(pr for pr in exc.value.problems if message in pr.message)
    assert problem.file == str(p)
    assert problem.line == _line(p, *needle)
    res = invoke("import", "otm", str(p))
    assert res.exit_code == 2
    assert f"{p}:{problem.line}:" in res.output


def test_bad_json_exits_2_with_the_line(tmp_path: Path) -> None:
    p = _write_pretty(tmp_path, '{\n  "otmVersion": "0.2.0",\n  "project": {,\n}\n')
    res = invoke("import", "otm", str(p))
    assert res.exit_code == 2
    assert f"{p}:3: invalid JSON" in res.output
    res = invoke("check", str(p))
    assert res.exit_code == 2


def test_map_type_and_attribute_kind(tmp_path: Path) -> None:
    comps = [
        {"id": "c1", "name": "One", "type": "quantum-thing", "parent": {"trustZone": "tz"}},
        {
            "id": "c2",
            "name": "Two",
            "type": "whatever",
            "parent": {"trustZone": "tz"},
            "attributes": {"x-threatgraph": {"kind": "vector_store"}},
        },
    ]
    p = _write_pretty(tmp_path, _otm(components=comps, dataflows=[]))
    out = tmp_path / "m.yaml"
    res = invoke("import", "otm", str(p), "--map-type", "quantum-thing=llm", "-o", str(out))
    assert res.exit_code == 0, res.output
    (lm,) = load_paths([out])
    assert [e.kind for e in lm.model.elements] == [Kind.LLM, Kind.VECTOR_STORE]
    res = invoke("import", "otm", str(p), "--map-type", "quantum-thing=spaceship")
    assert res.exit_code == 2


def test_foreign_otm_details(tmp_path: Path) -> None:
    comps = [
        {"id": "Vendor X", "name": "Vendor X", "type": "saas", "parent": {"trustZone": "tz"}},
        {
            "id": "c1",
            "name": "Model",
            "type": "LLM",
            "parent": {"component": "Vendor X"},
            "threats": [
                {
                    "threat": "t1",
                    "state": "exposed",
                    "mitigations": [
                        {"mitigation": "guardrail.input_filter", "state": "implemented"},
                        {"mitigation": "guardrail.output_filter", "state": "required"},
                        {"mitigation": "a-uuid", "state": "implemented"},
                    ],
                }
            ],
        },
        {"id": "c2", "name": "Part", "type": "code-class", "parent": {"component": "c1"}},
    ]
    p = _write_pretty(tmp_path, _otm(components=comps, dataflows=[]))
    (lm,) = load_paths([p])
    m = lm.model
    vendor = m.element("vendor-x")  # an id that is not a valid threatgraph id is slugified
    assert vendor.kind is Kind.VENDOR
    llm = m.element("c1")
    assert llm.kind is Kind.LLM and llm.provider == "vendor-x" and llm.boundary == "tz"
    assert llm.control_ids() == {"guardrail.input_filter"}
    part = m.element("c2")
    # nesting in a component that is not a vendor is kept for export, not as a tag
    assert part.boundary == "tz" and part.tags == []
    assert part.otm == {"parent": {"component": "c1"}, "type": "code-class"}
    assert m.data[0].classification is Classification.CONFIDENTIAL  # confidentiality 90
    assert m.boundaries[0].trust is Trust.INTERNAL  # trustRating 70


def test_docs_list_every_component_type() -> None:
    from threatgraph.load import otm_map

    doc = (ROOT / "docs" / "interop.md").read_text()
    for alias in otm_map.TYPE_ALIASES:
        if alias not in {k.value for k in Kind}:
            assert f" {alias}," in doc or f" {alias} |" in doc, alias


# -- files other tools write (fixtures in the styles of StartLeft, IriusRisk, threatcl) -----

FIXTURES = ROOT / "tests" / "fixtures" / "otm"
PRODUCERS = sorted(p.name for p in FIXTURES.iterdir())


def _read_fixture(name: str) -> dict[str, Any]:
    from threatgraph.load.otm_loader import read_document
    from threatgraph.util.yamlsafe import LineDict, LineList

    def plain(v: Any) -> Any:
        if isinstance(v, (dict, LineDict)):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, (list, LineList)):
            return [plain(x) for x in v]
        return v

    return plain(read_document(FIXTURES / name))  # type: ignore[no-any-return]


def _foreign_view(doc: dict[str, Any]) -> dict[str, Any]:
    """What another tool wrote and must get back: everything but threats, ours and findings."""

    def attrs(o: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in (o.get("attributes") or {}).items() if k != "x-threatgraph"}

    def reps(o: dict[str, Any]) -> list[Any]:
        return [
            r
            for r in o.get("representations") or []
            if r.get("representation") != "threatgraph-source"
        ]

    keep = ("id", "name", "type", "parent", "tags", "description")
    return {
        "project": {
            **{k: doc["project"].get(k) for k in ("id", "name", "owner", "ownerContact", "tags")},
            "attributes": attrs(doc["project"]),
        },
        "representations": [
            r for r in doc.get("representations") or [] if r["id"] != "threatgraph-source"
        ],
        "trustZones": sorted(
            [
                {
                    **{k: z.get(k) for k in keep},
                    "rating": z["risk"]["trustRating"],
                    "attributes": attrs(z),
                    "representations": reps(z),
                }
                for z in doc.get("trustZones") or []
                if not (z.get("attributes") or {}).get("x-threatgraph", {}).get("synthetic")
            ],
            key=lambda z: z["id"],
        ),
        "components": sorted(
            [
                {
                    **{k: c.get(k) for k in keep},
                    "attributes": attrs(c),
                    "representations": reps(c),
                    "assets": c.get("assets"),
                }
                for c in doc.get("components") or []
            ],
            key=lambda c: c["id"],
        ),
        "dataflows": sorted(
            [
                {
                    **{k: f.get(k) for k in ("id", "name", "source", "destination", "tags")},
                    "bidirectional": bool(f.get("bidirectional")),
                    "assets": f.get("assets") or None,
                    "attributes": attrs(f),
                }
                for f in doc.get("dataflows") or []
            ],
            key=lambda f: f["id"],
        ),
        "assets": sorted(
            [
                {"id": a["id"], "name": a["name"], "risk": a.get("risk"), "attributes": attrs(a)}
                for a in doc.get("assets") or []
            ],
            key=lambda a: a["id"],
        ),
    }


@pytest.mark.parametrize("name", PRODUCERS)
def test_producer_files_import_check_and_export(name: str, tmp_path: Path) -> None:
    src = FIXTURES / name
    out = tmp_path / "model.yaml"
    res = invoke("import", "otm", str(src), "-o", str(out))
    assert res.exit_code == 0, res.output
    assert "converted" in res.output
    (lm,) = load_paths([out])
    assert lm.format == "yaml"
    for target in (src, out):
        res = invoke("check", str(target), "--as-of", "2026-01-15")
        assert res.exit_code in (0, 1), res.output
    doc = export(src, tmp_path / "back.otm.json")
    validate(doc)
    # and the converted YAML exports the same other-tool model
    doc2 = export(out, tmp_path / "back2.otm.json")
    validate(doc2)
    assert _foreign_view(doc2) == _foreign_view(doc)


@pytest.mark.parametrize("name", PRODUCERS)
def test_round_trip_gives_back_the_other_tools_model(name: str, tmp_path: Path) -> None:
    original = _read_fixture(name)
    doc = export(FIXTURES / name, tmp_path / "back.otm.json")
    a, b = _foreign_view(original), _foreign_view(doc)
    # threatgraph may add a description-less stand-in zone and its own attributes; what the
    # other tool wrote comes back as it was: types, nesting, ratings, tags, attributes,
    # representations, ids, bidirectional dataflows and assets.
    for key in a:
        if key == "assets":  # an asset without a risk (threatcl) gets one: OTM requires it
            for x, y in zip(a[key], b[key], strict=True):
                assert {**y, "risk": x["risk"] or y["risk"]} == {**x, "risk": y["risk"]}
                assert x["risk"] in (None, y["risk"])
            continue
        assert b[key] == a[key], key
    # plus threatgraph's threats and mitigations
    assert (doc["threats"] and doc["mitigations"]) or not doc["components"]
    # and reading the export again gives the same threatgraph model
    (first,) = load_paths([FIXTURES / name])
    (again,) = load_paths([tmp_path / "back.otm.json"])
    strip = {"location": True}
    assert [e.model_dump(exclude=strip) for e in again.model.elements] == [
        e.model_dump(exclude=strip) for e in first.model.elements
    ]
    assert [x.model_dump(exclude=strip) for x in again.model.boundaries] == [
        x.model_dump(exclude=strip) for x in first.model.boundaries
    ]


def test_yaml_otm_is_read_by_import_check_and_directory_search(tmp_path: Path) -> None:
    src = FIXTURES / "iriusrisk-export.otm.yaml"
    found = {p.name: f.name for p, f in discover([FIXTURES])}
    assert found["iriusrisk-export.otm.yaml"] == "otm"
    res = invoke("check", str(src), "--as-of", "2026-01-15")
    assert res.exit_code in (0, 1), res.output
    assert "missing 'threatgraph: 1'" not in res.output
    # a plain threatgraph YAML model is still the YAML format's
    (tmp_path / "m.yaml").write_text("threatgraph: 1\nmodel: {name: M}\n")
    assert {f.name for _p, f in discover([tmp_path])} == {"yaml"}
    bad = tmp_path / "bad.otm.yaml"
    bad.write_text("otmVersion: 0.2.0\nproject:\n  name: [x\n")
    res = invoke("import", "otm", str(bad))
    assert res.exit_code == 2 and f"{bad}:" in res.output and "invalid YAML" in res.output


def test_trust_comes_from_the_zone_type(tmp_path: Path) -> None:
    (lm,) = load_paths([FIXTURES / "startleft-mtmt.otm.json"])
    trust = {b.name: b.trust for b in lm.model.boundaries}
    # both zones are rated 10 by StartLeft; their IriusRisk types say more
    assert trust == {"Azure Trust Boundary": Trust.RESTRICTED, "Internet Boundary": Trust.UNTRUSTED}
    (lm,) = load_paths([FIXTURES / "iriusrisk-export.otm.yaml"])
    trust = {b.name: b.trust for b in lm.model.boundaries}
    assert trust == {
        "Internet": Trust.UNTRUSTED,
        "Public Cloud": Trust.PARTNER,
        "Private Secured": Trust.RESTRICTED,
        "Partner network": Trust.INTERNAL,  # unknown type: the rating (80)
    }
    # a zone without a known type or a rating is an error with its line
    p = _write_pretty(tmp_path, _otm(trustZones=[{"id": "tz", "name": "Zone", "risk": {}}]))
    with pytest.raises(InputError) as exc:
        load_paths([p])
    assert [pr.message for pr in exc.value.problems] == [
        "trust zone has no numeric risk.trustRating and no known type"
    ]


def test_ratings_types_nesting_and_attributes_survive_export(tmp_path: Path) -> None:
    doc = export(FIXTURES / "iriusrisk-export.otm.yaml", tmp_path / "o.json")
    zones = {z["id"]: z for z in doc["trustZones"]}
    assert zones["3c9e7d10-5b2a-4f61-9e0d-1a2b3c4d5e6f"]["risk"]["trustRating"] == 80
    assert zones["b61d6911-338d-46a8-9f39-8dcd24abfe91"]["risk"]["trustRating"] == 60
    comps = {c["id"]: c for c in doc["components"]}
    api = comps["copilot-api"]
    assert api["type"] == "CD-V2-REST-API"
    assert api["parent"] == {"component": "copilot-cluster"}
    assert api["attributes"]["iriusRiskQuestion.authentication"] == "oauth2"
    assert api["attributes"]["x-threatgraph"]["kind"] == "app"
    assert api["representations"][0]["id"] == "copilot-api-shape"
    assert api["threats"]  # threatgraph's findings, with their mitigations
    flows = {f["id"]: f for f in doc["dataflows"]}
    assert flows["broker-asks"]["tags"] == ["https", "oauth2"]
    assert flows["quote"]["bidirectional"] is True and "quote-reverse" not in flows
    assert doc["project"]["attributes"]["workflowState"] == "Draft"
    assert doc["assets"][0]["risk"] == {"confidentiality": 80, "integrity": 60, "availability": 40}


def test_network_containers_become_boundaries(tmp_path: Path) -> None:
    (lm,) = load_paths([FIXTURES / "startleft-terraform.otm.json"])
    m = lm.model
    b = {x.id: x for x in m.boundaries}
    assert b["aws_vpc.claims"].parent == "b61d6911-338d-46a8-9f39-8dcd24abfe91"
    assert b["aws_subnet.private_a"].parent == "aws_vpc.claims"  # an empty-component with children
    assert b["aws_subnet.private_a"].trust is Trust.PARTNER  # the trust of its zone
    assert m.element("aws_instance.intake").boundary == "aws_subnet.private_a"
    assert m.element("aws_internet_gateway.gw").kind is Kind.APP  # no children: an element
    kinds = {e.id: e.kind for e in m.elements}
    assert kinds["aws_lambda_function.summarise"] is Kind.PROCESS
    assert kinds["aws_bedrockagent_agent.triage"] is Kind.AGENT
    assert kinds["aws_db_instance.claims"] is Kind.DATASTORE
    assert kinds["generic-client.internet"] is Kind.ACTOR
    # a dataflow that ends at a container is not analysed but goes back out on export
    (lm,) = load_paths([FIXTURES / "startleft-cloudformation.otm.json"])
    assert lm.model.model.otm is None or "dataflows" not in lm.model.model.otm
    warnings = " ".join(lm.warnings)
    assert "2 network container(s) became boundaries" in warnings


def test_unknown_and_empty_types_fall_back_with_a_warning(tmp_path: Path) -> None:
    comps = [
        {"id": "c1", "name": "One", "type": "quantum-thing", "parent": {"trustZone": "tz"}},
        {"id": "c2", "name": "Two", "type": "", "parent": {"trustZone": "tz"}},
        {"id": "c3", "name": "Three", "type": "quantum-thing", "parent": {"trustZone": "tz"}},
    ]
    p = _write_pretty(tmp_path, _otm(components=comps, dataflows=[]))
    res = invoke("import", "otm", str(p), "-o", str(tmp_path / "m.yaml"))
    assert res.exit_code == 0, res.output
    assert "2 component(s) of unknown type were read as 'app': 'quantum-thing' (2)" in res.output
    assert "1 component(s) with no type" in res.output
    res = invoke("check", str(p), "--as-of", "2026-01-15")
    assert res.exit_code in (0, 1)
    assert "warning:" in res.output and "quantum-thing" in res.output
    # --map-type on check, and the config key otm_types
    res = invoke("check", str(p), "--map-type", "quantum-thing=llm", "--format", "json")
    assert "quantum-thing" not in res.stderr
    ids = {f["element"] for f in json.loads(res.stdout)["findings"]}
    cfg = tmp_path / "tg.toml"
    cfg.write_text('[otm_types]\n"quantum-thing" = "llm"\n')
    res2 = invoke("check", str(p), "--config", str(cfg), "--format", "json")
    assert {f["element"] for f in json.loads(res2.stdout)["findings"]} == ids
    assert "c1" in ids  # an LLM gets findings
    cfg.write_text('[otm_types]\n"quantum-thing" = "spaceship"\n')
    res = invoke("check", str(p), "--config", str(cfg))
    assert res.exit_code == 2 and f"{cfg}:" in res.output and "spaceship" in res.output


def test_one_bad_component_is_reported_once(tmp_path: Path) -> None:
    comps = [
        {
            "id": "bad",
            "name": "Bad",
            "type": "app",
            "parent": {"trustZone": "tz"},
            "attributes": {"x-threatgraph": {"kind": "spaceship"}},
        },
        {"id": "c1", "name": "One", "type": "web-service", "parent": {"component": "bad"}},
        {"id": "c2", "name": "Two", "type": "database", "parent": {"trustZone": "tz"}},
    ]
    flows = [
        {"id": "f1", "name": "a", "source": "bad", "destination": "c2"},
        {"id": "f2", "name": "b", "source": "c2", "destination": "bad"},
        {"id": "f3", "name": "c", "source": "c1", "destination": "c2"},
    ]
    p = _write_pretty(tmp_path, _otm(components=comps, dataflows=flows))
    with pytest.raises(InputError) as exc:
        load_paths([p])
    assert [pr.message for pr in exc.value.problems] == ["unknown kind 'spaceship'"]


def test_dataflow_ids_that_differ_in_case_and_reverse_ids_do_not_collide() -> None:
    (lm,) = load_paths([FIXTURES / "startleft-mtmt.otm.json"])
    ids = [f.id for f in lm.model.flows]
    assert len(ids) == len(set(ids)) == 4
    (lm,) = load_paths([FIXTURES / "startleft-visio.otm.json"])
    flows = {f.id: f for f in lm.model.flows}
    assert len(flows) == 5  # 60 both ways, the file's own 60-reverse, 61, 62
    assert flows["60-reverse"].name == "push notification"  # the file's id keeps its flow
    generated = [f for f in flows.values() if (f.otm or {}).get("reverse_of") == "60"]
    assert len(generated) == 1 and generated[0].id == "60-reverse-2"


def test_warning_counts_match_the_file() -> None:
    (lm,) = load_paths([FIXTURES / "startleft-mtmt.otm.json"])
    assert any("3 threat(s), 2 mitigation(s) and 3 threat instance(s)" in w for w in lm.warnings), (
        lm.warnings
    )
    (lm,) = load_paths([FIXTURES / "iriusrisk-export.otm.yaml"])
    text = "\n".join(lm.warnings)
    assert "2 threat(s), 3 mitigation(s) and 2 threat instance(s)" in text
    assert "2 component(s) of unknown type" not in text  # the cluster is read by its words


def test_custom_controls_are_kept_on_import(tmp_path: Path) -> None:
    """Issue 23: an implemented mitigation naming a control of a --rules directory is a
    declared control, like a catalogue one (it used to be dropped)."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "controls.yaml").write_text(
        "controls:\n"
        "  - id: underwriting.broker_allowlist\n"
        "    title: Broker allow-list\n"
        "    category: technical\n"
        "    description: Only registered brokers reach the copilot.\n"
        "    evidence: The allow-list and its review.\n"
    )
    src = FIXTURES / "iriusrisk-export.otm.yaml"
    (lm,) = load_paths([src])
    assert lm.model.element("copilot-api").control_ids() == {"guardrail.input_filter"}
    from threatgraph.engine.library import load_library

    lib = load_library([str(rules)])
    (lm,) = load_paths([src], lib.controls.keys())
    assert lm.model.element("copilot-api").control_ids() == {
        "guardrail.input_filter",
        "underwriting.broker_allowlist",
    }
    out = tmp_path / "m.yaml"
    res = invoke("import", "otm", str(src), "--rules", str(rules), "-o", str(out))
    assert res.exit_code == 0, res.output
    assert "underwriting.broker_allowlist" in out.read_text()
    res = invoke("check", str(src), "--rules", str(rules), "--format", "json")
    assert res.exit_code in (0, 1), res.output


def test_a_dataflow_to_a_network_container_goes_back_out(tmp_path: Path) -> None:
    comps = [
        {"id": "net", "name": "Net", "type": "vpc", "parent": {"trustZone": "tz"}},
        {"id": "c1", "name": "One", "type": "web-service", "parent": {"component": "net"}},
        {"id": "c2", "name": "Two", "type": "database", "parent": {"trustZone": "tz"}},
    ]
    flows = [
        {"id": "f1", "name": "F", "source": "c1", "destination": "c2"},
        {"id": "f2", "name": "G", "source": "net", "destination": "c2", "tags": ["sg"]},
    ]
    p = _write_pretty(tmp_path, _otm(components=comps, dataflows=flows))
    (lm,) = load_paths([p])
    assert [f.id for f in lm.model.flows] == ["f1"]
    assert lm.model.element("c1").boundary == "net"
    assert any("1 dataflow(s) start or end at a network container" in w for w in lm.warnings)
    doc = export(p, tmp_path / "o.json")
    validate(doc)
    back = {f["id"]: f for f in doc["dataflows"]}
    assert back["f2"]["source"] == "net" and back["f2"]["tags"] == ["sg"]
    comps_back = {c["id"]: c for c in doc["components"]}
    assert comps_back["net"]["type"] == "vpc"
    assert comps_back["c1"]["parent"] == {"component": "net"}


def test_export_of_hand_edited_otm_entries_stays_valid(tmp_path: Path) -> None:
    """The `otm:` entries of a YAML model are user input: wrong shapes never crash export
    and never make it invalid OTM."""
    p = tmp_path / "m.yaml"
    p.write_text(
        "threatgraph: 1\n"
        "model: {name: M, otm: {representations: [1, {id: x}], tags: t, attributes: 3}}\n"
        "boundaries:\n"
        "  - {name: Z, trust: internal, otm: {type: 7, rating: '80', id: [1]}}\n"
        "elements:\n"
        "  - name: A\n"
        "    kind: app\n"
        "    boundary: z\n"
        "    otm: {id: 5, parent: {component: [x]}, representations: [2, {id: 3}], type: 7}\n"
        "  - {name: B, kind: datastore, boundary: z}\n"
        "flows:\n"
        "  - {from: a, to: b, otm: {reverse_of: [a], tags: [1, ok], attributes: [x]}}\n"
        "data:\n"
        "  - {name: D, classification: pii, otm: {risk: {confidentiality: x}}}\n"
    )
    doc = export(p, tmp_path / "o.json")
    validate(doc)
    assert [c["id"] for c in doc["components"]] == ["a", "b"]
    assert doc["dataflows"][0]["tags"] == ["ok"]
