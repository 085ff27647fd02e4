"""`threatgraph discover` and `check --drift`: fixture repositories with their expected
drafts, precision (mentions are not uses), hostile repositories, and drift as findings."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from workflow_util import run_cli

from threatgraph.features.discover import discover
from threatgraph.features.discover.draft import draft
from threatgraph.features.discover.jsscan import tokenize
from threatgraph.features.discover.walk import MAX_FILE_BYTES

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "discover"
ECOSYSTEMS = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())


def test_one_fixture_per_ecosystem() -> None:
    assert ECOSYSTEMS == [
        "agents",
        "artifacts",
        "dependencies",
        "deployment",
        "mcp",
        "model_apis",
        "precision",
        "vector_stores",
    ]


@pytest.mark.parametrize("name", ECOSYSTEMS)
def test_fixture_draft_is_the_expected_one(name: str) -> None:
    code, out, err = run_cli("discover", str(FIXTURES / name), "--name", name)
    assert code == 0, err
    assert out == (FIXTURES / f"{name}.expected.yaml").read_text(encoding="utf-8")


def test_python_dsl_draft_is_the_expected_one() -> None:
    code, out, err = run_cli(
        "discover", str(FIXTURES / "agents"), "--name", "agents", "--format", "py"
    )
    assert code == 0, err
    assert out == (FIXTURES / "agents.expected.py").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ECOSYSTEMS)
@pytest.mark.parametrize("fmt", ["yaml", "py"])
def test_draft_loads_checks_and_covers_its_code(
    name: str, fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / name
    shutil.copytree(FIXTURES / name, repo)
    (repo / ".git").mkdir()  # the repository root of the model and its code links
    monkeypatch.chdir(repo)
    target = "threat-model.yaml" if fmt == "yaml" else "threat_model.py"
    code, _, err = run_cli("discover", ".", "--format", fmt, "-o", target)
    assert code == 0, err
    code, out, err = run_cli("check", "--drift", target)
    assert code in (0, 1), out + err  # findings are fine; an input error is not
    assert "TG-DRIFT" not in out, out  # the draft covers everything discovery found
    assert "matches no file" not in err


def test_precision_mentions_are_not_uses() -> None:
    found = discover(FIXTURES / "precision")
    assert found.components == {}
    assert found.links == set()


def test_tokenizer_drops_comments_strings_and_regexes() -> None:
    toks = tokenize('a = "openai" // openai\n/* x */ b = /openai/g; c = `t ${d} u`')
    ids = [t.value for t in toks if t.kind == "id"]
    assert ids == ["a", "b", "c", "d"]
    assert [t.value for t in toks if t.kind == "str"] == ["openai", "t ", " u"]


def test_output_is_deterministic() -> None:
    one = draft(discover(FIXTURES / "model_apis"), "x")
    two = draft(discover(FIXTURES / "model_apis"), "x")
    assert one == two


def test_output_file_is_written_atomically(tmp_path: Path) -> None:
    out = tmp_path / "draft.yaml"
    code, stdout, _ = run_cli("discover", str(FIXTURES / "mcp"), "-o", str(out))
    assert code == 0 and stdout == ""
    assert "mcp-filesystem" in out.read_text(encoding="utf-8")


def test_missing_directory_is_an_input_error(tmp_path: Path) -> None:
    code, _, err = run_cli("discover", str(tmp_path / "nope"))
    assert code == 2
    assert "no such directory" in err


# -- hostile repositories ---------------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks and FIFOs")
def test_hostile_repository(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text("import openai\n", encoding="utf-8")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "linked.py").symlink_to(outside / "secret.py")
    (repo / "linkdir").symlink_to(outside, target_is_directory=True)
    (repo / "loop").symlink_to(repo, target_is_directory=True)
    (repo / "huge.py").write_text("import anthropic\n" + "#" * (MAX_FILE_BYTES + 10))
    (repo / "binary.py").write_bytes(b"import cohere\n\x00\x01\x02")
    (repo / "latin1.py").write_bytes(b"import groq\n# caf\xe9\n")
    (repo / "deep.py").write_text("import mistralai\nx = " + "(" * 5000 + "1" + ")" * 5000)
    os.mkfifo(repo / "pipe.py")
    deep = repo
    for _ in range(60):
        deep = deep / "d"
    deep.mkdir(parents=True)
    (deep / "far.py").write_text("import litellm\n", encoding="utf-8")
    (repo / "node_modules").mkdir()
    (repo / "node_modules" / "x.py").write_text("import ollama\n", encoding="utf-8")
    (repo / "ok.py").write_text("from qdrant_client import QdrantClient\n", encoding="utf-8")
    (repo / "bad\nname.py").write_text("import openai\n", encoding="utf-8")
    (repo / "back\\slash.py").write_text("import openai\n", encoding="utf-8")
    # Nested calls through an SDK name: every call is looked at, in linear time.
    (repo / "nested.js").write_text(
        'import { x } from "@pinecone-database/pinecone";\n'
        + "x(" * 100_000
        + ")" * 100_000
        + "\n",
        encoding="utf-8",
    )
    found = discover(repo)
    assert sorted(found.components) == ["vector_store:pinecone", "vector_store:qdrant"]
    assert found.files_skipped >= 3  # huge, binary, not UTF-8 (the FIFO too)
    warnings = "\n".join(found.warnings)
    assert "deeper than 40 directories" in warnings
    assert "control character or backslash" in warnings
    assert "deep.py" in warnings  # too deeply nested to parse: said, not fatal


def test_hostile_names_still_make_a_loadable_draft(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".git").mkdir()
    long_name = "t" * 300
    (repo / "tools.py").write_text(
        "from langchain_core.tools import tool\n\n"
        f"@tool('{long_name}\\u202e\\x1b[31m')\ndef f() -> None:\n    pass\n",
        encoding="utf-8",
    )
    (repo / "we[ir]d*.py").write_text("import anthropic\n", encoding="utf-8")
    out = repo / "model.yaml"
    code, _, err = run_cli("discover", str(repo), "--name", "x\x1by", "-o", str(out))
    assert code == 0, err
    text = out.read_text(encoding="utf-8")
    assert "\x1b" not in text and "\u202e" not in text
    assert '"we[[]ir]d[*].py"' in text  # a code pattern matching exactly that file
    code, _, err = run_cli("check", "--drift", str(out))
    assert code in (0, 1), err
    assert "matches no file" not in err


# -- drift ------------------------------------------------------------------------------------

MODEL = """threatgraph: 1
model: {name: Shop assistant}
elements:
  - {name: Web app, kind: app, code: [src/app.py]}
  - {name: OpenAI API, kind: llm, code: [src/app.py]}
"""


@pytest.fixture
def drift_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "shop"
    (root / "src").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "src" / "app.py").write_text(
        "from openai import OpenAI\nclient = OpenAI()\n", encoding="utf-8"
    )
    (root / "model.yaml").write_text(MODEL, encoding="utf-8")
    (root / ".threatgraph.toml").write_text('models = ["model.yaml"]\n', encoding="utf-8")
    monkeypatch.chdir(root)
    return root


def test_drift_clean_model_passes(drift_repo: Path) -> None:
    code, out, err = run_cli("check", "--drift", "--fail-on", "high")
    assert "TG-DRIFT" not in out, out
    assert code in (0, 1), err


def test_unmodeled_vendor_is_a_finding_with_file_and_line(drift_repo: Path) -> None:
    (drift_repo / "src" / "app.py").write_text(
        "from openai import OpenAI\nimport anthropic\nclient = OpenAI()\n"
        "claude = anthropic.Anthropic()\n",
        encoding="utf-8",
    )
    code, out, _ = run_cli("check", "--drift", "-q")
    assert code == 1
    code, out, _ = run_cli("check", "--drift")
    assert "src/app.py:2: TG-DRIFT-001 high" in out
    assert "Anthropic API is used at src/app.py:2" in out
    # Without --drift the same model passes drift by: nothing is compared.
    _, plain, _ = run_cli("check")
    assert "TG-DRIFT" not in plain
    # Once the model covers it, it passes.
    (drift_repo / "model.yaml").write_text(
        MODEL + "  - {name: Claude, kind: llm, code: [src/app.py]}\n", encoding="utf-8"
    )
    _, out, _ = run_cli("check", "--drift")
    assert "TG-DRIFT" not in out


def test_drift_findings_are_decided_and_reported_like_any_other(drift_repo: Path) -> None:
    (drift_repo / "src" / "rag.py").write_text("import chromadb\n", encoding="utf-8")
    code, out, _ = run_cli("check", "--drift", "--format", "sarif")
    assert code == 1
    assert '"ruleId": "TG-DRIFT-001"' in out
    (drift_repo / "decisions.yaml").write_text(
        "threatgraph-decisions: 1\ndecisions:\n"
        "  - finding: TG-DRIFT-001/vector_store.chroma\n"
        "    status: false_positive\n"
        "    reason: The notebook experiment is not part of the shipped system.\n",
        encoding="utf-8",
    )
    _, out, _ = run_cli("check", "--drift", "--decisions", "decisions.yaml")
    assert "FALSE POSITIVE: src/rag.py:1: TG-DRIFT-001 high" in out
    assert "1 false positive" in out
    assert "src/rag.py:1: TG-DRIFT-001" not in out.split("FALSE POSITIVE")[0]


def test_stale_code_link_is_a_finding(drift_repo: Path) -> None:
    (drift_repo / "model.yaml").write_text(
        MODEL + "  - {name: Ranker, kind: ml_model, code: [src/ranker.py]}\n", encoding="utf-8"
    )
    _, out, _ = run_cli("check", "--drift", "--fail-on", "medium")
    assert "TG-DRIFT-002 medium Element's linked code no longer exists (Ranker)" in out


def test_declared_only_package_is_low(drift_repo: Path) -> None:
    (drift_repo / "requirements.txt").write_text("pinecone==5.0.0\n", encoding="utf-8")
    _, out, _ = run_cli("check", "--drift")
    assert "requirements.txt:1: TG-DRIFT-003 low" in out


def test_config_disable_switches_drift_rules_off(drift_repo: Path) -> None:
    # The drift rules are not library rules, yet the config's disable table names them like
    # any rule; the other drift rules and the library keep working.
    (drift_repo / "requirements.txt").write_text("pinecone==5.0.0\n", encoding="utf-8")
    (drift_repo / "model.yaml").write_text(
        MODEL + "  - {name: Ranker, kind: ml_model, code: [src/ranker.py]}\n", encoding="utf-8"
    )
    (drift_repo / ".threatgraph.toml").write_text(
        'models = ["model.yaml"]\n[disable]\n"TG-DRIFT-003" = "SDKs we vendor but do not call"\n',
        encoding="utf-8",
    )
    code, out, err = run_cli("check", "--drift", "--fail-on", "critical")
    assert code == 0, err
    assert "TG-DRIFT-003" not in out
    assert "TG-DRIFT-002 medium" in out
    code, _, err = run_cli("threats", "list")
    assert code == 0, err
    (drift_repo / ".threatgraph.toml").write_text(
        'models = ["model.yaml"]\n[disable]\n"TG-DRIFT-009" = "no such rule"\n',
        encoding="utf-8",
    )
    code, _, err = run_cli("check", "--drift")
    assert code == 2 and "TG-DRIFT-009" in err


def test_drift_rule_ids_are_the_drift_rules() -> None:
    from threatgraph.features.discover.drift import RULES
    from threatgraph.features.discover.ruleids import DRIFT_RULE_IDS

    assert {r.id for r in RULES} == DRIFT_RULE_IDS


def test_drift_scope_limits_the_code_a_model_covers(drift_repo: Path) -> None:
    (drift_repo / "other").mkdir()
    (drift_repo / "other" / "svc.py").write_text("import groq\n", encoding="utf-8")
    _, out, _ = run_cli("check", "--drift")
    assert "other/svc.py:1: TG-DRIFT-001" in out
    (drift_repo / ".threatgraph.toml").write_text(
        'models = ["model.yaml"]\n[drift_scope]\n"model.yaml" = ["src"]\n', encoding="utf-8"
    )
    _, out, _ = run_cli("check", "--drift")
    assert "TG-DRIFT" not in out


def test_drift_scope_outside_the_repository_is_refused(drift_repo: Path) -> None:
    (drift_repo / ".threatgraph.toml").write_text(
        'models = ["model.yaml"]\n[drift_scope]\n"model.yaml" = ["../elsewhere"]\n',
        encoding="utf-8",
    )
    code, _, err = run_cli("check", "--drift")
    assert code == 2
    assert "drift_scope" in err and "inside the repository" in err


def test_drift_hook_checks_every_configured_model(drift_repo: Path) -> None:
    (drift_repo / "src" / "agent.py").write_text("import mistralai\n", encoding="utf-8")
    code, out, _ = run_cli("check", "--drift", "--hook", "--", "README.md")
    assert code == 1
    assert "src/agent.py:1: TG-DRIFT-001 high" in out


def test_baseline_with_drift_keeps_known_drift_out_of_the_gate(drift_repo: Path) -> None:
    (drift_repo / "src" / "rag.py").write_text("import chromadb\n", encoding="utf-8")
    code, _, err = run_cli("baseline", "--drift", "-o", "baseline.json")
    assert code == 0, err
    assert "TG-DRIFT-001/vector_store.chroma" in (drift_repo / "baseline.json").read_text()
    code, out, _ = run_cli("check", "--drift", "--baseline", "baseline.json")
    assert "[baseline]" in out
    assert code == 0, out
    # A new unmodeled component is not in the baseline: the gate fails again.
    (drift_repo / "src" / "agent.py").write_text("import groq\n", encoding="utf-8")
    code, out, _ = run_cli("check", "--drift", "--baseline", "baseline.json")
    assert code == 1
    assert "src/agent.py:1: TG-DRIFT-001 high" in out


def test_drift_hook_needs_configured_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli("check", "--drift", "--hook", "--", "a.py")
    assert code == 2
    assert "needs 'models'" in err
