"""`threatgraph init`: scaffolds, never overwrites, and leaves a model that loads."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from workflow_util import run_cli

from threatgraph.load.registry import load_paths


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "notes-assistant"
    (root / ".git").mkdir(parents=True)
    monkeypatch.chdir(root)
    return root


def test_init_without_pyproject_writes_model_and_fallback_config(repo: Path) -> None:
    code, out, _ = run_cli("init")
    assert code == 0
    assert "wrote  threatmodel.py" in out and "wrote  .threatgraph.toml" in out
    assert "- id: threatgraph" in out and "rev: COMMIT_SHA" in out and "Next steps:" in out
    cfg = tomllib.loads((repo / ".threatgraph.toml").read_text())
    assert cfg == {"models": ["threatmodel.py"], "fail_on": "high"}
    (lm,) = load_paths([repo / "threatmodel.py"])
    assert lm.model.model.name == "notes-assistant"
    # The scaffold is a real model: check runs on it (findings expected, no input error).
    assert run_cli("check")[0] in (0, 1)


def test_init_appends_to_pyproject_and_uses_models_dir(repo: Path) -> None:
    (repo / "models").mkdir()
    original = '[project]\nname = "x"\nversion = "1"'
    (repo / "pyproject.toml").write_text(original)  # no trailing newline on purpose
    code, out, _ = run_cli("init", "--name", 'Triage "bot" \\ v2')
    assert code == 0, out
    text = (repo / "pyproject.toml").read_text()
    assert text.startswith(original + "\n")
    doc = tomllib.loads(text)
    assert doc["project"] == {"name": "x", "version": "1"}
    assert doc["tool"]["threatgraph"]["models"] == ["models/triage_bot_v2.py"]
    (lm,) = load_paths([repo / "models" / "triage_bot_v2.py"])
    assert lm.model.model.name == 'Triage "bot" \\ v2'


def test_init_never_overwrites(repo: Path) -> None:
    (repo / "threatmodel.py").write_text("# mine\n")
    (repo / "pyproject.toml").write_text('[tool.threatgraph]\nfail_on = "low"\n')
    code, out, _ = run_cli("init")
    assert code == 0
    assert "kept   threatmodel.py (exists; not overwritten)" in out
    assert "kept   pyproject.toml ([tool.threatgraph] exists)" in out
    assert (repo / "threatmodel.py").read_text() == "# mine\n"
    assert (repo / "pyproject.toml").read_text() == '[tool.threatgraph]\nfail_on = "low"\n'
    assert not (repo / ".threatgraph.toml").exists()


def test_init_keeps_existing_fallback_config(repo: Path) -> None:
    (repo / ".threatgraph.toml").write_text('fail_on = "low"\n')
    code, out, _ = run_cli("init", "--path", "tm/system.py")
    assert code == 0
    assert "wrote  tm/system.py" in out and "kept   .threatgraph.toml" in out
    assert (repo / ".threatgraph.toml").read_text() == 'fail_on = "low"\n'


def test_init_refuses_broken_pyproject(repo: Path) -> None:
    (repo / "pyproject.toml").write_text("[project\n")
    code, _, err = run_cli("init")
    assert code == 2 and "pyproject.toml" in err and "invalid TOML" in err
    assert not (repo / "threatmodel.py").exists()  # nothing written
