"""`check --hook`: only model files of a commit are checked; nothing else is executed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from workflow_util import disable_table, run_cli

from threatgraph.commands._hook import is_model_file, select
from threatgraph.settings import load_settings

CONSUMER = Path(__file__).resolve().parent / "fixtures" / "consumer"


@pytest.fixture
def consumer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "consumer"
    shutil.copytree(CONSUMER, root)
    (root / ".git").mkdir()
    monkeypatch.chdir(root)
    return root


def test_static_recognition(consumer: Path) -> None:
    assert is_model_file(Path("models/assistant.py"))
    assert not is_model_file(Path("models/parts.py"))  # imports threatgraph, builds no Model
    assert not is_model_file(Path("app/main.py"))
    assert not is_model_file(Path("security/decisions.yaml"))
    assert not is_model_file(Path("pyproject.toml"))
    (consumer / "m.yaml").write_text("threatgraph: 1\nmodel: {name: X}\n")
    assert is_model_file(Path("m.yaml"))
    (consumer / "broken.py").write_text("from threatgraph import Model\nm = Model(\n")
    assert is_model_file(Path("broken.py"))  # reported by the loader, not skipped


def test_select(consumer: Path) -> None:
    s = load_settings()
    assert select(["app/main.py"], s) == ([], True)
    assert select(["models/assistant.py", "app/main.py"], s) == (["models/assistant.py"], True)
    # A helper beside the models: the models of its directory are re-checked.
    assert select(["models/parts.py"], s) == (["models/assistant.py"], True)
    # A policy file (config, decisions) re-checks every configured model, not partial.
    targets, partial = select(["security/decisions.yaml"], s)
    assert [Path(t) for t in targets] == [(consumer / "models").resolve()] and not partial
    assert select(["pyproject.toml"], s)[1] is False
    # Outside the configured model paths: skipped even when it is a model.
    (consumer / "fixtures").mkdir()
    shutil.copy(consumer / "models" / "assistant.py", consumer / "fixtures" / "m.py")
    assert select(["fixtures/m.py"], s) == ([], True)


def test_hook_never_executes_ordinary_code(consumer: Path) -> None:
    code, out, err = run_cli("check", "--hook", "app/main.py", "security/nothing.py")
    assert (code, out, err) == (0, "", "")
    assert not (consumer / "app" / "EXECUTED").exists()


def test_hook_gates_the_model(consumer: Path) -> None:
    with (consumer / "pyproject.toml").open("a", encoding="utf-8") as fh:
        fh.write("\n[tool.threatgraph.disable]\n" + disable_table())
    code, out, _ = run_cli("check", "--hook", "models/assistant.py", "app/main.py")
    assert code == 1
    assert "models/assistant.py:15: TG-PI-001 high" in out
    assert not (consumer / "app" / "EXECUTED").exists()
    shutil.copy(
        consumer / "variants" / "assistant_mitigated.py", consumer / "models" / "assistant.py"
    )
    code, out, err = run_cli("check", "--hook", "models/assistant.py")
    assert code == 0, out + err
    assert "1 mitigated" in out


def test_partial_run_keeps_quiet_about_other_models_decisions(consumer: Path) -> None:
    (consumer / "security" / "decisions.yaml").write_text(
        "threatgraph-decisions: 1\ndecisions:\n"
        "  - {finding: TG-PI-001/other, status: false_positive, reason: other model}\n"
    )
    (consumer / "pyproject.toml").write_text(
        (consumer / "pyproject.toml").read_text() + "strict = true\n"
    )
    code, _, err = run_cli("check", "--hook", "models/assistant.py", "--fail-on", "critical")
    assert code == 0 and "matches no finding" not in err
    # The same decision fails a full strict run.
    code, _, err = run_cli("check", "--fail-on", "critical")
    assert code == 1 and "matches no finding" in err
