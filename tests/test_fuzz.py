"""A CI-sized fuzzing run of every loader of untrusted text.

Hypothesis generates arbitrary (mostly invalid) documents and feeds them to the model loader
(YAML and JSON), the rule loader, the config loader (pyproject.toml and .threatgraph.toml),
the decisions and baseline loaders, the OTM importer and the library cache reader. Three
kinds of input:

- raw bytes (binary, invalid UTF-8, NULs, BOMs, anything);
- structured documents built from each format's own vocabulary (right keys, wrong types,
  wrong nesting, odd Unicode), written as JSON or YAML;
- a valid document with random edits (characters inserted, deleted, replaced), which
  reaches deep into the parsers.

The invariant is the same everywhere: the loader returns a result or raises InputError whose
every problem names the file and a line (>= 1); no other exception, ever.

The run is deterministic (``derandomize=True``, no example database) with a fixed example
count per target, so CI sees the same inputs every time; it takes a few seconds.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threatgraph.baseline import load as load_baseline
from threatgraph.engine.library import load_library, load_rule_file
from threatgraph.load.decisions import load as load_decisions
from threatgraph.load.otm_loader import parse as parse_otm
from threatgraph.load.registry import load_paths
from threatgraph.settings import load_settings
from threatgraph.util.errors import InputError

FUZZ = settings(
    max_examples=int(os.environ.get("TG_FUZZ_EXAMPLES", "80")),
    derandomize=not os.environ.get("TG_FUZZ_RANDOM"),
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def work() -> Iterator[Path]:
    """One scratch directory for the module (hypothesis reuses it across examples)."""
    d = Path(tempfile.mkdtemp(prefix="tg-fuzz-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@functools.cache
def _controls() -> frozenset[str]:
    return frozenset(load_library().controls)


@contextlib.contextmanager
def _env(**values: str) -> Iterator[None]:
    """Environment variables set for a block (hypothesis runs many examples per test)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _holds(load: Callable[[Path], Any], path: Path, under: Path | None = None) -> None:
    """The invariant: a result, or InputError naming a file (under ``under``) and a line."""
    try:
        load(path)
    except InputError as exc:
        assert exc.problems
        for p in exc.problems:
            assert p.message.strip(), p
            assert p.file.startswith(str(under or path)), p
            assert p.line >= 1, p


# -- documents ----------------------------------------------------------------------------
_ODD = ["", " ", "\u202e", "\u200d", "\ufeff", "\u2028", "\x00", "\x7f", "\\", '"', "'", "\n"]
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(_ODD),
)


def documents(vocabulary: list[str], values: list[Any]) -> st.SearchStrategy[Any]:
    """Nested JSON-like values whose keys and strings come mostly from ``vocabulary``."""
    keys = st.one_of(st.sampled_from(vocabulary), st.text(max_size=8))
    leaves = st.one_of(st.sampled_from(values + vocabulary), _SCALARS)
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(keys, inner, max_size=6),
        ),
        max_leaves=25,
    )


def _dump(doc: Any, as_json: bool) -> str:
    if as_json:
        return json.dumps(doc, ensure_ascii=False, default=str)
    return str(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))


@st.composite
def edited(draw: st.DrawFn, base: str) -> bytes:
    """``base`` with a few random edits (insert, delete, replace), as bytes."""
    data = bytearray(base.encode("utf-8"))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        chunk = draw(
            st.one_of(
                st.binary(min_size=1, max_size=4),
                st.sampled_from(
                    ["{", "}", "[", "]", ":", ",", '"', "- ", "&a ", "*a", "!!", "\t"]
                ).map(str.encode),
                st.text(min_size=1, max_size=3).map(lambda t: t.encode("utf-8", "surrogatepass")),
            )
        )
        if op == "insert":
            data[at:at] = chunk
        elif op == "delete":
            del data[at : at + len(chunk)]
        else:
            data[at : at + len(chunk)] = chunk
    return bytes(data)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path inside a JSON-like value."""
    out: list[tuple[Any, ...]] = []
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else []
    )
    for k, v in items:
        out.append((*prefix, k))
        out.extend(_paths(v, (*prefix, k)))
    return out


@st.composite
def replaced(draw: st.DrawFn, base: str, vocabulary: list[str], values: list[Any]) -> bytes:
    """A valid document with one to three values swapped for arbitrary ones (right place,
    wrong type or content), as JSON or YAML text."""
    doc = yaml.safe_load(base)
    paths = _paths(doc)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths))
        parent = doc
        try:
            for k in path[:-1]:
                parent = parent[k]
            parent[path[-1]] = draw(documents(vocabulary, values))
        except (KeyError, IndexError, TypeError):
            continue  # an earlier swap removed this path
    return _dump(doc, draw(st.booleans())).encode("utf-8", "surrogatepass")


def inputs(base: str, vocabulary: list[str], values: list[Any]) -> st.SearchStrategy[bytes]:
    """Raw bytes, structured documents (JSON or YAML text), edits of a valid document and
    valid documents with values swapped."""
    structured = st.tuples(documents(vocabulary, values), st.booleans()).map(
        lambda t: _dump(*t).encode("utf-8", "surrogatepass")
    )
    return st.one_of(
        st.binary(max_size=200),
        structured,
        edited(base),
        replaced(base, vocabulary, values),
    )


# -- models -------------------------------------------------------------------------------
MODEL = """threatgraph: 1
model: {id: fuzz, name: Fuzz, controls: [process.threat_modeling]}
boundaries:
  - {id: net, name: Internet, trust: untrusted}
  - {id: corp, name: Corp, trust: internal, parent: net}
data:
  - {id: q, name: Questions, classification: pii}
elements:
  - {id: user, name: User, kind: actor, boundary: net}
  - {id: chat, name: Chat, kind: llm, boundary: corp, processes: [q], controls: [crypto.tls]}
  - {id: v, name: Vendor, kind: vendor, vendor: {baa: {signed: 2026-01-01}}}
flows:
  - {from: user, to: chat, name: prompt, data: [q], protocol: https}
decisions:
  - {finding: TG-PI-001/chat, status: accepted, reason: Pilot., owner: a@b.c,
     date: 2026-01-01, expires: 2026-06-01}
"""
MODEL_WORDS = [
    "threatgraph",
    "model",
    "boundaries",
    "data",
    "elements",
    "flows",
    "decisions",
    "id",
    "name",
    "kind",
    "trust",
    "parent",
    "boundary",
    "classification",
    "controls",
    "from",
    "to",
    "protocol",
    "stores",
    "processes",
    "provider",
    "vendor",
    "capabilities",
    "evidence",
    "finding",
    "status",
    "expires",
]
MODEL_VALUES: list[Any] = [1, "llm", "actor", "vendor", "untrusted", "pii", "https", "user", "chat"]


@FUZZ
@given(inputs(MODEL, MODEL_WORDS, MODEL_VALUES), st.sampled_from(["m.yaml", "m.json"]))
def test_model_loader(work: Path, raw: bytes, name: str) -> None:
    p = work / name
    p.write_bytes(raw)
    _holds(lambda q: load_paths([q], _controls()), p)


@FUZZ
@given(documents(MODEL_WORDS, MODEL_VALUES))
def test_model_loader_with_a_valid_header(work: Path, body: Any) -> None:
    """Past the header check: the schema and the semantic checks get the garbage."""
    doc = {"threatgraph": 1, "model": {"name": "Fuzz"}}
    if isinstance(body, dict):
        doc.update(body)
    p = work / "h.yaml"
    p.write_text(_dump(doc, as_json=False), encoding="utf-8", errors="surrogatepass")
    _holds(lambda q: load_paths([q], _controls()), p)


# -- rules --------------------------------------------------------------------------------
RULE = """id: TG-FUZ-001
title: A rule for the fuzzer
family: fuzz
description: >-
  A rule of the fuzzing run; it exists only to feed the rule loader varied input.
severity: high
severity_when:
  - if: {kind: agent}
    severity: critical
likelihood: low
stride: [tampering]
references: [cwe:CWE-20@4.16]
mitigations:
  - {control: guardrail.input_filter, at: [element, path], why: Screen prompts.}
match:
  path:
    from: {kind: actor, trust: {at_most: third_party}}
    to: {kind: [llm, agent], lacks_control: [crypto.tls]}
    via: {not: {data: {classification: [model_weights]}}}
detection: One finding per LLM reachable from an untrusted actor.
false_positives: None; this rule only feeds the fuzzer.
"""
RULE_WORDS = [
    "id",
    "title",
    "family",
    "description",
    "severity",
    "likelihood",
    "stride",
    "references",
    "mitigations",
    "control",
    "at",
    "match",
    "element",
    "flow",
    "path",
    "from",
    "to",
    "via",
    "kind",
    "attr",
    "trust",
    "at_most",
    "has_control",
    "lacks_control",
    "all",
    "any",
    "not",
    "use",
    "data",
    "classification",
    "max_hops",
]
RULE_VALUES: list[Any] = ["TG-FUZ-001", "high", "llm", "tampering", "cwe:CWE-20@4.16", "element"]


@FUZZ
@given(inputs(RULE, RULE_WORDS, RULE_VALUES))
def test_rule_loader(work: Path, raw: bytes) -> None:
    p = work / "rule.yaml"
    p.write_bytes(raw)
    _holds(load_rule_file, p)


@settings(FUZZ, max_examples=25)
@given(inputs(RULE, RULE_WORDS, RULE_VALUES))
def test_rule_directory(work: Path, raw: bytes) -> None:
    """A whole custom rule directory through load_library (cross-checks included)."""
    root = work / "lib"
    rule = root / "rules" / "fuzz" / "TG-FUZ-001" / "rule.yaml"
    rule.parent.mkdir(parents=True, exist_ok=True)
    rule.write_bytes(raw)
    # No cache: rewritten files of one size within one mtime tick would share a cache key.
    with _env(THREATGRAPH_NO_CACHE="1"):
        _holds(lambda q: load_library([q], include_builtin=False), root)


# -- config -------------------------------------------------------------------------------
CONFIG = """models = ["models"]
fail_on = "high"
rules = ["threats-extra"]
decisions = ["security/decisions.yaml"]
baseline = "security/baseline.json"
output = "out"
formats = ["html", "sarif"]
max_acceptance_days = 180
strict = true
require_evidence = false

[disable]
TG-PI-001 = "covered by the gateway"
"""
CONFIG_KEYS = [
    "models",
    "fail_on",
    "rules",
    "disable",
    "decisions",
    "baseline",
    "output",
    "formats",
    "max_acceptance_days",
    "strict",
    "require_evidence",
    "pytm_threats",
]


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)) or v is None:
        return json.dumps(v)  # NaN, Infinity and null are not TOML: invalid on purpose
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return (
            "{" + ", ".join(f"{json.dumps(str(k))} = {_toml_value(x)}" for k, x in v.items()) + "}"
        )
    return json.dumps(str(v), ensure_ascii=False)


@st.composite
def toml_texts(draw: st.DrawFn) -> bytes:
    """A TOML-ish table: known and unknown keys with values of any type."""
    doc = draw(documents(CONFIG_KEYS, ["high", "critical", "models", 30, True]))
    items = doc.items() if isinstance(doc, dict) else [(draw(st.sampled_from(CONFIG_KEYS)), doc)]
    lines = [f"{json.dumps(str(k), ensure_ascii=False)} = {_toml_value(v)}" for k, v in items]
    return "\n".join(lines).encode("utf-8", "surrogatepass")


CONFIG_INPUTS = st.one_of(st.binary(max_size=200), toml_texts(), edited(CONFIG))


@FUZZ
@given(CONFIG_INPUTS, st.booleans())
def test_config_loader(work: Path, raw: bytes, in_pyproject: bool) -> None:
    d = work / "cfg"
    d.mkdir(exist_ok=True)
    if in_pyproject:
        p = d / "pyproject.toml"
        p.write_bytes(b'[project]\nname = "x"\n\n[tool.threatgraph]\n' + raw)
    else:
        p = d / ".threatgraph.toml"
        p.write_bytes(raw)
    _holds(load_settings, p)


# -- decisions and baseline files ---------------------------------------------------------
DECISIONS = """threatgraph-decisions: 1
decisions:
  - finding: TG-PI-001/chat
    model: fuzz
    status: accepted
    reason: Pilot with known users.
    owner: security@example.org
    ticket: SEC-1
    date: 2026-01-10
    expires: 2026-06-30
    evidence: [docs/pilot.md]
"""
BASELINE = """{
  "threatgraph-baseline": 1,
  "findings": [
    {"model": "fuzz", "id": "TG-PI-001/chat", "severity": "high", "title": "T"}
  ]
}
"""
POLICY_WORDS = [
    "threatgraph-decisions",
    "threatgraph-baseline",
    "decisions",
    "findings",
    "finding",
    "model",
    "id",
    "status",
    "reason",
    "owner",
    "date",
    "expires",
    "evidence",
    "severity",
]
POLICY_VALUES: list[Any] = [1, "accepted", "false_positive", "TG-PI-001/chat", "2026-01-10"]


@FUZZ
@given(inputs(DECISIONS, POLICY_WORDS, POLICY_VALUES))
def test_decisions_loader(work: Path, raw: bytes) -> None:
    p = work / "decisions.yaml"
    p.write_bytes(raw)
    _holds(load_decisions, p)


@FUZZ
@given(inputs(BASELINE, POLICY_WORDS, POLICY_VALUES))
def test_baseline_loader(work: Path, raw: bytes) -> None:
    p = work / "baseline.json"
    p.write_bytes(raw)
    _holds(load_baseline, p)


# -- OTM ----------------------------------------------------------------------------------
OTM = json.dumps(
    {
        "otmVersion": "0.2.0",
        "project": {"name": "P", "id": "p", "attributes": {"x-threatgraph": {"decisions": []}}},
        "trustZones": [{"id": "tz", "name": "Zone", "risk": {"trustRating": 70}}],
        "assets": [{"id": "a1", "name": "Asset", "risk": {"confidentiality": 90}}],
        "components": [
            {"id": "c1", "name": "One", "type": "web-service", "parent": {"trustZone": "tz"}},
            {
                "id": "c2",
                "name": "Two",
                "type": "llm",
                "parent": {"component": "c1"},
                "threats": [{"threat": "t", "mitigations": [{"mitigation": "crypto.tls"}]}],
            },
        ],
        "dataflows": [
            {"id": "f1", "name": "F", "source": "c1", "destination": "c2", "assets": ["a1"]}
        ],
    },
    indent=2,
)
OTM_WORDS = [
    "otmVersion",
    "project",
    "trustZones",
    "components",
    "dataflows",
    "assets",
    "threats",
    "mitigations",
    "id",
    "name",
    "type",
    "parent",
    "trustZone",
    "component",
    "risk",
    "trustRating",
    "confidentiality",
    "source",
    "destination",
    "bidirectional",
    "attributes",
    "x-threatgraph",
    "kind",
    "state",
]
OTM_VALUES: list[Any] = ["0.2.0", "tz", "c1", "c2", "a1", 70, "web-service", "implemented"]


@FUZZ
@given(inputs(OTM, OTM_WORDS, OTM_VALUES))
def test_otm_importer(work: Path, raw: bytes) -> None:
    p = work / "m.otm.json"
    p.write_bytes(raw)
    _holds(parse_otm, p)


@settings(FUZZ, max_examples=40)
@given(documents(OTM_WORDS, OTM_VALUES))
def test_otm_importer_with_a_valid_header(work: Path, body: Any) -> None:
    doc: dict[str, Any] = {"otmVersion": "0.2.0", "project": {"name": "P", "id": "p"}}
    if isinstance(body, dict):
        doc.update(body)
    p = work / "h.otm.json"
    p.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8", errors="surrogatepass")
    _holds(parse_otm, p)


# -- the library cache --------------------------------------------------------------------
@settings(FUZZ, max_examples=25)
@given(st.one_of(st.binary(max_size=100), documents(["rules", "controls", "path", "rule"], [])))
def test_damaged_library_cache_is_rebuilt(work: Path, junk: Any) -> None:
    """Whatever sits in a cache file, the library loads as if there were no cache."""
    from threatgraph.engine import library

    root = work / "cachelib"
    rule = root / "rules" / "fuzz" / "TG-FUZ-001" / "rule.yaml"
    if not rule.is_file():
        rule.parent.mkdir(parents=True)
        rule.write_text(RULE, encoding="utf-8")
    cache = work / "cache"
    with _env(THREATGRAPH_CACHE_DIR=str(cache)):
        sig = library._signature(root)
        assert sig is not None
        cache.mkdir(exist_ok=True, mode=0o700)
        cfile = cache / f"library-{sig[0][:32]}.json"
        raw = junk if isinstance(junk, bytes) else json.dumps(junk).encode()
        cfile.write_bytes(raw)
        lib = load_library([root], include_builtin=False)
    assert [r.rule.id for r in lib.rules] == ["TG-FUZ-001"]
    assert lib.rules[0].rule == load_rule_file(rule)
