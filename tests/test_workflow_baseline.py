"""Baselines: writing the known open findings, gating only on new ones, stale entries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from workflow_util import chatbot, run_cli, write_config

from threatgraph.baseline import load
from threatgraph.util.errors import InputError

DAY = "2026-06-01"
RAG = """\
m.data("Notes", classification="pii")
web = m.external_content("Web pages", content="web")
m.flow(web, llm, "retrieved")
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bot.py").write_text(chatbot())
    write_config(
        tmp_path,
        'models = ["bot.py"]\nbaseline = "tg-baseline.json"\n',
        keep=("TG-PI-001", "TG-PI-002"),
    )
    return tmp_path


def test_baseline_writes_sorted_versioned_open_ids(repo: Path) -> None:
    code, _, err = run_cli("baseline", "--as-of", DAY)
    assert code == 0 and "wrote 1 open finding of 1 model to tg-baseline.json" in err
    doc = json.loads((repo / "tg-baseline.json").read_text())
    assert doc == {
        "threatgraph-baseline": 1,
        "findings": [
            {
                "model": "support-bot",
                "id": "TG-PI-001/chat-model",
                "severity": "high",
                "title": "Direct prompt injection from users of an LLM",
            }
        ],
    }
    first = (repo / "tg-baseline.json").read_bytes()
    run_cli("baseline", "--as-of", DAY, "-o", "again.json")
    assert (repo / "again.json").read_bytes() == first  # deterministic


def test_check_fails_only_on_findings_not_in_the_baseline(repo: Path) -> None:
    run_cli("baseline", "--as-of", DAY)
    code, out, _ = run_cli("check", "--as-of", DAY)
    assert code == 0, out
    assert (
        "TG-PI-001 high Direct prompt injection from users of an LLM (Chat model) [baseline]" in out
    )
    assert "1 open (1 high, 1 in baseline)" in out

    (repo / "bot.py").write_text(chatbot(extra=RAG))
    code, out, _ = run_cli("check", "--as-of", DAY)
    assert code == 1
    assert "FAIL: 1 open finding at or above 'high' (not in the baseline)." in out
    new = [ln for ln in out.splitlines() if "TG-PI-002" in ln]
    assert new and "[baseline]" not in new[0]

    code, out, _ = run_cli("check", "--as-of", DAY, "--no-baseline")
    assert code == 1 and "FAIL: 2 open findings" in out


def test_stale_entries_reported_and_strict(repo: Path) -> None:
    run_cli("baseline", "--as-of", DAY)
    doc = json.loads((repo / "tg-baseline.json").read_text())
    doc["findings"].append({"model": "gone-model", "id": "TG-PI-002/x"})
    (repo / "tg-baseline.json").write_text(json.dumps(doc, indent=2))
    (repo / "bot.py").write_text(
        chatbot(
            controls="['guardrail.input_filter', 'guardrail.system_prompt_hardening', "
            "'testing.prompt_injection_suite']"
        )
    )
    code, _, err = run_cli("check", "--as-of", DAY)
    assert code == 0
    assert (
        "tg-baseline.json:4: baseline entry TG-PI-001/chat-model (model support-bot) is not " in err
    )
    assert "baseline entry TG-PI-002/x (model gone-model) belongs to no model here" in err
    assert run_cli("check", "--as-of", DAY, "--strict")[0] == 1


def test_baseline_flag_and_json_output(repo: Path) -> None:
    run_cli("baseline", "--as-of", DAY, "-o", "other.json")
    code, out, _ = run_cli("check", "--as-of", DAY, "--baseline", "other.json", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["baseline"] == {"file": "other.json", "known": 1}
    assert doc["findings"][0]["baselined"] is True and doc["failing"] == 0


def test_accepted_findings_are_not_written(repo: Path) -> None:
    (repo / "bot.py").write_text(
        chatbot(
            extra='m.accept("TG-PI-001/chat-model", reason="r", owner="o", expires="2026-07-01")\n'
        )
    )
    run_cli("baseline", "--as-of", DAY)
    assert json.loads((repo / "tg-baseline.json").read_text())["findings"] == []


def test_baseline_needs_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    (tmp_path / "bot.py").write_text(chatbot())
    code, _, err = run_cli("baseline", "bot.py")
    assert code == 2 and "give -o FILE" in err


def test_bad_baseline_files(tmp_path: Path) -> None:
    p = tmp_path / "b.json"
    with pytest.raises(InputError, match="does not exist"):
        load(p)
    p.write_text('{"findings": []}')
    with pytest.raises(InputError, match="not a threatgraph baseline"):
        load(p)
    p.write_text('{\n "threatgraph-baseline": 1,\n "findings": [\n  {"model": 1}\n ]\n}\n')
    with pytest.raises(InputError) as exc:
        load(p)
    assert exc.value.problems[0].line == 4


def test_baseline_and_decisions_files_share_their_header_checks(tmp_path: Path) -> None:
    """One reader checks the header, the keys and the list of both kinds of file."""
    from threatgraph.load import decisions

    b = tmp_path / "b.json"
    d = tmp_path / "d.yaml"
    b.write_text('{\n "threatgraph-baseline": 1,\n "finding": []\n}\n')
    d.write_text("threatgraph-decisions: 1\ndecision: []\n")
    for path, reader, line in ((b, load, 3), (d, decisions.load, 2)):
        with pytest.raises(InputError) as exc:
            reader(path)
        (p,) = exc.value.problems
        assert (p.line, p.message) == (line, "unknown key (typo?)")
    b.write_text('{"threatgraph-baseline": 1, "findings": null}')
    d.write_text("threatgraph-decisions: 1\ndecisions:\n")
    assert load(b).entries == {}
    assert decisions.load(d) == []
    b.write_text('{"threatgraph-baseline": 1, "findings": {}}')
    with pytest.raises(InputError, match="must be a list of findings"):
        load(b)
