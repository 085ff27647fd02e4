"""`threatgraph diff` on a fixture git repository with two commits."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from workflow_util import commit_all, git, git_init, run_cli, write_config

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "diffrepo"
DAY = "2026-06-01"

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """main: the base commit; branch 'feature': the head commit (checked out)."""
    root = tmp_path / "repo"
    git_init(root)
    shutil.copytree(FIXTURE / "base", root, dirs_exist_ok=True)
    write_config(root, 'models = ["models"]\n', keep=("TG-PI-001", "TG-PI-002"))
    commit_all(root, "base")
    git(root, "checkout", "-q", "-b", "feature")
    shutil.copytree(FIXTURE / "head", root, dirs_exist_ok=True)
    commit_all(root, "head")
    monkeypatch.chdir(root)
    return root


def _json(*args: str) -> tuple[int, dict[str, object]]:
    code, out, err = run_cli("diff", "--as-of", DAY, "--format", "json", *args)
    assert code in (0, 1), err
    return code, json.loads(out)


def test_diff_between_two_commits_lists_exactly_introduced_and_resolved(repo: Path) -> None:
    code, doc = _json("main")
    assert code == 1  # a high finding is introduced
    assert [(f["id"], f["status"]) for f in doc["introduced"]] == [  # type: ignore[union-attr,index]
        ("TG-PI-002/ticket-model", "open")
    ]
    assert sorted((f["id"], f["now"]) for f in doc["resolved"]) == [  # type: ignore[union-attr,index]
        ("TG-PI-001/chat-model", "mitigated"),
        ("TG-PI-002/summariser", "no longer matches"),
    ]
    assert doc["elements_added"] == [
        {"model": "support-assistant", "id": "customer-tickets", "kind": "external_content"},
        {"model": "support-assistant", "id": "ticket-model", "kind": "llm"},
    ]
    assert [e["id"] for e in doc["elements_removed"]] == ["summariser", "web-pages"]  # type: ignore[union-attr,index]
    assert [f["id"] for f in doc["flows_added"]] == [  # type: ignore[union-attr,index]
        "customer-tickets--ticket-model--ticket-text"
    ]
    assert [f["id"] for f in doc["flows_removed"]] == ["web-pages--summariser--pages"]  # type: ignore[union-attr,index]
    crossing = doc["new_trust_boundary_crossings"]
    assert [(f["id"], f["detail"]) for f in crossing] == [  # type: ignore[union-attr,index]
        ("customer-tickets--ticket-model--ticket-text", "untrusted -> internal")
    ]
    assert [(f["id"], f["detail"]) for f in doc["new_sensitive_flows"]] == [  # type: ignore[union-attr,index]
        ("customer-tickets--ticket-model--ticket-text", "pii; NOT encrypted")
    ]
    assert doc["controls_removed"] == [
        {
            "model": "support-assistant",
            "on": "flow",
            "owner": "support-app--chat-model--prompt",
            "control": "crypto.tls",
        }
    ]
    assert [c["control"] for c in doc["controls_added"]] == [  # type: ignore[union-attr,index]
        "guardrail.input_filter",
        "guardrail.system_prompt_hardening",
        "testing.prompt_injection_suite",
    ]


def test_default_base_is_merge_base_with_main(repo: Path) -> None:
    code, doc = _json()
    assert code == 1
    assert str(doc["base"]).endswith("(merge base with main)")
    assert [f["id"] for f in doc["introduced"]] == ["TG-PI-002/ticket-model"]  # type: ignore[union-attr,index]


def test_working_tree_changes_count_and_tree_is_untouched(repo: Path) -> None:
    model = repo / "models" / "assistant.py"
    model.write_text(
        model.read_text()
        .replace(
            'ticket_model = m.llm("Ticket model", inside=cloud)',
            'ticket_model = m.llm("Ticket model", inside=cloud, controls=['
            '"input.prompt_segregation", "guardrail.output_filter"])',
        )
        .replace("data=[question])", 'data=[question], controls=["input.content_sanitisation"])')
    )
    before = git(repo, "status", "--porcelain")
    code, doc = _json("HEAD")
    assert code == 0  # the finding the head commit introduced is mitigated in the working tree
    assert doc["introduced"] == []
    assert [(f["id"], f["now"]) for f in doc["resolved"]] == [  # type: ignore[union-attr,index]
        ("TG-PI-002/ticket-model", "mitigated")
    ]
    assert git(repo, "status", "--porcelain") == before  # no checkout, nothing written
    code, doc = _json("main")
    assert code == 0 and doc["introduced"] == []


def test_fail_on_gate(repo: Path) -> None:
    assert run_cli("diff", "main", "--as-of", DAY, "--fail-on", "critical")[0] == 0


def test_text_output(repo: Path) -> None:
    code, out, _ = run_cli("diff", "main", "--as-of", DAY)
    assert code == 1
    assert out.startswith("threatgraph diff: main -> working tree\n")
    assert "threats introduced (1):\n  + models/assistant.py:24: TG-PI-002 high" in out
    assert "threats resolved (2):" in out
    assert "- crypto.tls from flow Support app -> Chat model (prompt)" in out
    assert out.rstrip().endswith("FAIL: the change introduces 1 open finding at or above 'high'.")


def test_markdown_output_with_mermaid(repo: Path) -> None:
    code, out, _ = run_cli("diff", "main", "--as-of", DAY, "--format", "markdown", "-o", "c.md")
    assert code == 1 and out == ""
    md = (repo / "c.md").read_text()
    assert md.startswith("## threatgraph: model changes\n")
    assert "### Threats introduced" in md and "`TG-PI-002`" in md
    assert "### Threats resolved" in md and "no longer matches" in md
    assert "```mermaid\nflowchart LR\n" in md
    block = md.split("```mermaid\n", 1)[1].split("```", 1)[0]
    assert '["Ticket model<br/>llm"]' in block
    assert "-.->" in block  # the removed flow is dashed
    assert "class " in block and " added" in block and " removed" in block
    again = run_cli("diff", "main", "--as-of", DAY, "--format", "markdown")[1]
    assert again == md  # deterministic


def test_text_and_markdown_list_the_same_changes(repo: Path) -> None:
    """Both formats list every kind of change, with the same count of rows each."""
    text = run_cli("diff", "main", "--as-of", DAY)[1]
    md = run_cli("diff", "main", "--as-of", DAY, "--format", "markdown")[1]
    in_text = {
        m.group(1): int(m.group(2))
        for m in re.finditer(r"^([a-z][a-z -]+) \((\d+)\):$", text, re.M)
        if not m.group(1).startswith("threats ")
    }
    in_md = {
        title.lower(): sum(line.startswith("- ") for line in body.splitlines())
        for title, body in re.findall(r"^### (.+)\n((?:.|\n)*?)(?=^### |\Z)", md, re.M)
        if not title.startswith(("Threats", "What changed"))
    }
    assert in_text and in_text == in_md
    assert "- `crypto.tls` from flow Support app -&gt; Chat model (prompt)" in md


def test_hostile_names_are_escaped_in_markdown(repo: Path) -> None:
    model = repo / "models" / "assistant.py"
    model.write_text(
        model.read_text().replace(
            '"Ticket model"', "'Ticket <img src=x onerror=alert(1)> | `x` @team [a](b) \"q\"'"
        )
    )
    out = run_cli("diff", "main", "--as-of", DAY, "--format", "markdown")[1]
    text, rest = out.split("```mermaid\n", 1)
    block, after = rest.split("```", 1)
    for part in (text, after):
        assert "<img" not in part and "@team" not in part and "[a](b)" not in part
    assert "Ticket &lt;img src=x onerror=alert(1)&gt; \\| \\`x\\` &#64;team" in text
    assert '"q"' not in block and "`" not in block and "<img" not in block and "[a]" not in block


def test_model_added_at_head_and_sibling_isolation(repo: Path) -> None:
    # A second model directory that did not exist at main.
    (repo / "more").mkdir()
    (repo / "more" / "m.yaml").write_text(
        "threatgraph: 1\nmodel: {name: Extra}\nelements:\n  - {kind: actor, name: User}\n"
        "  - {kind: llm, name: Bot}\nflows:\n  - {from: user, to: bot, name: chat}\n"
    )
    _, doc = _json("main", "models", "more")
    assert doc["models_added"] == ["extra"]
    assert "TG-PI-001/bot" in [f["id"] for f in doc["introduced"]]  # type: ignore[union-attr,index]
    # The base still loaded its own parts.py (summariser present there, hence removed now).
    assert [e["id"] for e in doc["elements_removed"]] == ["summariser", "web-pages"]  # type: ignore[union-attr,index]


def test_bad_base_and_paths(repo: Path, tmp_path: Path) -> None:
    code, _, err = run_cli("diff", "no-such-rev")
    assert code == 2 and "neither a path nor a git revision" in err
    code, _, err = run_cli("diff", "--base", "no-such-rev")
    assert code == 2 and "not a git revision" in err
    code, _, err = run_cli("diff", "main", str(tmp_path))
    assert code == 2 and "outside the git repository" in err


def test_broken_base_model_is_reported_with_revision(repo: Path) -> None:
    (repo / "models" / "assistant.py").write_text("from threatgraph import Model\nModel(\n")
    commit_all(repo, "broken")
    (repo / "models" / "assistant.py").write_text(
        (FIXTURE / "head/models/assistant.py").read_text()
    )
    base = git(repo, "rev-parse", "HEAD")[:12]
    code, _, err = run_cli("diff", "HEAD", "--as-of", DAY)
    assert code == 2 and f"{base}:models/assistant.py:2" in err


def test_diff_with_revision_leaves_the_callers_policy_alone(repo: Path) -> None:
    """The feature under `diff`: both sides analysed without evidence checks and not strict,
    on copies of the policy it is given (the caller's object is not changed)."""
    from datetime import date

    from threatgraph.engine.library import load_library
    from threatgraph.features.revision import diff_with_revision
    from threatgraph.policy import PolicyConfig
    from threatgraph.repo import gitrev

    policy = PolicyConfig(strict=True, verify_evidence=True)
    commit = gitrev.resolve("main", repo)
    assert commit is not None
    got = diff_with_revision(
        commit,
        "main",
        ["models"],
        repo,
        load_library(),
        date.fromisoformat(DAY),
        "high",
        policy,
    )
    assert (policy.strict, policy.verify_evidence, policy.history) == (True, True, False)
    introduced = {f.id for f in got.diff.introduced}
    assert "TG-PI-002/ticket-model" in introduced and "TG-PI-001/chat-model" not in introduced
    base_files = {got.base_path(f.location.file) for f, _ in got.diff.resolved if f.location}
    assert base_files and all(f.startswith(commit[:12] + ":models/") for f in base_files)
    assert got.head_path(str(repo / "models" / "x.py")) == "models/x.py"
