"""The command line: exit codes, text and JSON output, error messages without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from threatgraph.cli import cli

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"

RISKY = """\
threatgraph: 1
model: {name: Risky}
elements:
  - {kind: external_content, name: Web, content: web}
  - {kind: vector_store, name: Index}
  - {kind: llm, name: LLM}
flows:
  - {from: web, to: index, name: pages}
  - {from: index, to: llm, name: passages}
"""

SAFE = """\
threatgraph: 1
model: {name: Safe}
elements:
  - {kind: app, name: Batch job}
  - {kind: datastore, name: Store}
flows:
  - {from: batch-job, to: store, name: rows}
"""


def run(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return res.exit_code, res.stdout, res.stderr


@pytest.fixture
def risky(tmp_path: Path) -> Path:
    p = tmp_path / "risky.yaml"
    p.write_text(RISKY)
    return p


@pytest.fixture
def safe(tmp_path: Path) -> Path:
    p = tmp_path / "safe.yaml"
    p.write_text(SAFE)
    return p


def test_check_exit_1_and_finding_lines(risky: Path) -> None:
    code, out, _ = run("check", str(risky))
    assert code == 1
    lines = out.splitlines()
    assert any(
        ln.startswith(f"{risky}:6: TG-PI-002 high Indirect prompt injection")
        and ln.endswith("(LLM)")
        for ln in lines
    ), out
    assert lines[-1].startswith("FAIL:")


def test_check_exit_0_when_clean(safe: Path) -> None:
    code, out, _ = run("check", str(safe))
    assert code == 0, out
    assert out.splitlines()[-1].startswith("PASS:")


def test_fail_on_moves_the_gate(risky: Path) -> None:
    assert run("check", "--fail-on", "critical", str(risky))[0] == 0
    assert run("check", "--fail-on", "low", str(risky))[0] == 1


def test_disable_rule_comes_from_config_with_a_reason(risky: Path) -> None:
    # No command-line option turns a rule off (a hook's file names could): only config.
    code, _, err = run("check", "--disable", "TG-PI-002=x", str(risky))
    assert code == 2 and "No such option" in err
    cfg = risky.parent / ".threatgraph.toml"
    cfg.write_text('[disable]\n"TG-PI-002" = ""\n')
    code, _, err = run("check", "--config", str(cfg), str(risky))
    assert code == 2 and ".threatgraph.toml" in err
    cfg.write_text('[disable]\n"TG-PI-002" = "covered by the platform gateway"\n')
    code, out, _ = run("check", "--config", str(cfg), "--fail-on", "critical", str(risky))
    assert "TG-PI-002 (covered by the platform gateway)" in out
    assert "TG-PI-002" not in out.split("disabled rules")[0]


def test_check_json_document(risky: Path) -> None:
    code, out, _ = run("check", "--format", "json", str(risky))
    assert code == 1
    doc = json.loads(out)
    assert doc["schema_version"] == "1.0"
    f = next(x for x in doc["findings"] if x["threat"] == "TG-PI-002")
    assert f["id"] == "TG-PI-002/llm"
    assert f["status"] == "open" and f["severity"] == "high"
    assert f["elements"] == ["llm", "web"]
    assert f["location"]["line"] == 6 and f["location"]["file"].endswith("risky.yaml")
    assert {"control": "input.content_sanitisation", "present": False} in [
        {k: m[k] for k in ("control", "present")} for m in f["mitigations"]
    ]
    assert "owasp-llm:LLM01@2025" in f["references"]
    assert f["path"] == ["web", "index", "llm"]


def test_json_is_deterministic(risky: Path) -> None:
    assert (
        run("check", "--format", "json", "--as-of", "2026-01-01", str(risky))[1]
        == run("check", "--format", "json", "--as-of", "2026-01-01", str(risky))[1]
    )


def test_output_file_is_written(risky: Path, tmp_path: Path) -> None:
    out = tmp_path / "o" / "findings.json"
    code, stdout, _ = run("check", "--format", "json", "-o", str(out), str(risky))
    assert code == 1 and stdout == ""
    assert json.loads(out.read_text())["findings"]


@pytest.mark.parametrize(
    ("name", "text", "needle"),
    [
        ("bad.yaml", "threatgraph: 1\nmodel: {name: X\n", ":3: invalid YAML"),
        (
            "raises.py",
            "from threatgraph import Model\nm = Model('X')\nraise RuntimeError('boom')\n",
            ":3: model raised RuntimeError: boom",
        ),
        (
            "typo.yaml",
            "threatgraph: 1\nmodel: {name: X}\nelements:\n  - {kind: llm, nmae: L}\n",
            ":4: [elements.0.nmae] unknown field",
        ),
    ],
)
def test_input_errors_exit_2_with_file_line(
    tmp_path: Path, name: str, text: str, needle: str
) -> None:
    p = tmp_path / name
    p.write_text(text)
    code, out, err = run("check", str(p))
    assert code == 2
    assert f"error: {p}{needle}" in err, err
    assert "Traceback" not in err + out


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run("check", str(tmp_path / "missing.yaml"))[0] == 2
    assert run("check", "--fail-on", "severe", str(tmp_path))[0] == 2
    assert run("frobnicate")[0] == 2


def test_validate(risky: Path, tmp_path: Path) -> None:
    code, out, _ = run("validate", str(risky))
    assert code == 0 and "ok: Risky (3 elements, 2 flows, 0 boundaries)" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text(RISKY.replace("to: llm", "to: lm"))
    code, _, err = run("validate", str(bad))
    assert code == 2 and "unknown flow target 'lm'" in err


def test_threats_list_and_show() -> None:
    code, out, _ = run("threats", "list", "--format", "json")
    rules = json.loads(out)
    assert code == 0 and rules
    for r in rules:
        assert {"id", "title", "severity", "references"} <= set(r)
        assert all(":" in ref and "@" in ref for ref in r["references"])
    code, out, _ = run("threats", "show", "TG-PI-002")
    assert code == 0 and "Detection:" in out and "input.content_sanitisation" in out
    code, _, err = run("threats", "show", "TG-PI-02")
    assert code == 2 and "did you mean" in err


def test_controls_list_and_show() -> None:
    code, out, _ = run("controls", "list", "--format", "json")
    assert code == 0 and any(c["id"] == "crypto.tls" for c in json.loads(out))
    code, out, _ = run("controls", "show", "crypto.tls")
    assert code == 0 and "Evidence:" in out


def test_schema_validates_the_yaml_models(risky: Path) -> None:
    import jsonschema
    import yaml

    code, out, _ = run("schema")
    schema = json.loads(out)
    jsonschema.validate(yaml.safe_load(risky.read_text()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {
                "threatgraph": 1,
                "model": {"name": "x"},
                "elements": [{"kind": "robot", "name": "r"}],
            },
            schema,
        )
    code, out, _ = run("schema", "--kind", "rule")
    assert code == 0 and "match" in json.loads(out)["properties"]


def test_example_models_check_exits_1() -> None:
    code, out, _ = run("check", str(MODELS))
    assert code == 1
    assert "clinical_notes_assistant.py:" in out


def test_console_script_runs_without_traceback(tmp_path: Path) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text("threatgraph: 1\nmodel: [\n")
    res = subprocess.run(
        [sys.executable, "-m", "threatgraph", "check", str(p)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 2
    assert "Traceback" not in res.stderr and "invalid YAML" in res.stderr
