"""The CI recipes: action.yml's scripts run for real on a fixture repository; docs parse."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from workflow_util import commit_all, git, git_init, write_config

ROOT = Path(__file__).resolve().parents[1]
ACTION = ROOT / "action.yml"
CI_DOC = ROOT / "docs" / "ci.md"
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "diffrepo"


def _steps() -> dict[str, dict[str, object]]:
    doc = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    return {str(s.get("name", s.get("uses"))): s for s in doc["runs"]["steps"]}


def test_action_shape_and_no_script_injection() -> None:
    doc = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    assert doc["runs"]["using"] == "composite"
    assert {"paths", "fail-on", "package", "report-dir", "upload-sarif", "diff", "base"} <= set(
        doc["inputs"]
    )
    assert {"exit-code", "report-dir", "diff-file", "diff-exit-code"} <= set(doc["outputs"])
    steps = doc["runs"]["steps"]
    uses = [s["uses"] for s in steps if "uses" in s]
    assert any(u.startswith("github/codeql-action/upload-sarif@") for u in uses)
    for s in steps:
        if "run" in s:
            assert s["shell"] == "bash"
            # Inputs and event data reach scripts through env only.
            assert "${{" not in s["run"], s["name"]
    assert steps[-1]["name"].startswith("Gate")


def _run_step(name: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = str(_steps()[name]["run"])
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_action_scripts_on_a_pull_request(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    git_init(repo)
    shutil.copytree(FIXTURE / "base", repo, dirs_exist_ok=True)
    write_config(
        repo,
        'models = ["models"]\nformats = ["sarif", "markdown"]\n',
        keep=("TG-PI-001", "TG-PI-002"),
    )
    commit_all(repo, "base")
    git(repo, "checkout", "-q", "-b", "feature")
    shutil.copytree(FIXTURE / "head", repo, dirs_exist_ok=True)
    commit_all(repo, "head")

    gh_output = tmp_path / "github_output"
    summary = tmp_path / "summary.md"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "GITHUB_OUTPUT": str(gh_output),
        "GITHUB_STEP_SUMMARY": str(summary),
        "TG_PATHS": "",
        "TG_FAIL_ON": "",
        "TG_REPORT_DIR": "threatgraph-report",
        "TG_BASE": "main",
        "TG_BASE_REF": "main",
    }
    res = _run_step("Reports (Markdown, HTML, JSON, SARIF, CSV, diagrams)", repo, env)
    assert res.returncode == 0, res.stderr  # findings do not stop the reports
    sarif = sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*.sarif"))
    assert sarif == ["threatgraph-report/support-assistant/findings.sarif"]

    res = _run_step("Model diff (pull requests)", repo, env)
    assert res.returncode == 0, res.stderr
    outputs = gh_output.read_text()
    assert "exit-code=1\n" in outputs  # the pull request introduces a high finding
    assert "file=threatgraph-report/diff.md\n" in outputs
    assert "### Threats introduced" in (repo / "threatgraph-report" / "diff.md").read_text()
    assert summary.read_text().startswith("## threatgraph: model changes")

    gh_output.write_text("")
    res = _run_step("Gate (threatgraph check)", repo, env)
    assert res.returncode == 1
    assert gh_output.read_text() == "exit-code=1\n"
    assert "FAIL:" in res.stdout

    env["TG_FAIL_ON"] = "critical"
    gh_output.write_text("")
    res = _run_step("Gate (threatgraph check)", repo, env)
    assert res.returncode == 0 and gh_output.read_text() == "exit-code=0\n"


def test_ci_doc_yaml_blocks_parse() -> None:
    text = CI_DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)
    assert len(blocks) >= 3
    for block in blocks:
        assert isinstance(yaml.safe_load(block), dict)
    assert "github/codeql-action/upload-sarif" in text and "GitLab CI" in text
