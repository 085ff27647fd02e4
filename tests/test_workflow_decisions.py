"""Risk decisions: in the DSL, in YAML models and in decisions files; expiry, horizon, strict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from workflow_util import chatbot, run_cli, write_config

from threatgraph.load import decisions as decisions_mod
from threatgraph.util.errors import InputError

DAY = "2026-06-01"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _decisions(path: Path, *items: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(items) if items else " []\n"
    path.write_text("threatgraph-decisions: 1\ndecisions:" + ("\n" + body if items else body))
    return path


ACCEPT = """\
  - finding: TG-PI-001/chat-model
    status: accepted
    reason: Pilot with 20 named users; input filter ships in Q3.
    owner: security@example.org
    ticket: SEC-142
    date: 2026-05-01
    expires: {expires}
"""


def test_dsl_acceptance_until_expiry_then_open_again(repo: Path) -> None:
    accept = (
        'm.accept("TG-PI-001/chat-model", reason="pilot", owner="sec@example.org", '
        'expires="2026-12-31", ticket="SEC-1")\n'
    )
    (repo / "bot.py").write_text(chatbot(extra=accept))
    write_config(repo, 'models = ["bot.py"]\n')
    code, out, err = run_cli("check", "--as-of", DAY)
    assert code == 0, out + err
    assert "ACCEPTED by sec@example.org until 2026-12-31 [SEC-1]: bot.py:8: TG-PI-001" in out
    assert "reason: pilot" in out
    assert "0 open (none), 0 mitigated, 1 accepted" in out  # the summary counts it

    code, out, err = run_cli("check", "--as-of", "2027-01-01")
    assert code == 1
    assert "bot.py:8: TG-PI-001 high" in out
    assert "note: acceptance by sec@example.org expired on 2026-12-31" in out
    assert "decision: bot.py:11" in out
    assert "warning: bot.py:11: acceptance of TG-PI-001/chat-model expired on 2026-12-31" in err


def test_acceptance_needs_owner_and_expiry(repo: Path) -> None:
    (repo / "bot.py").write_text(
        chatbot(extra='m.false_positive("TG-PI-001/chat-model", reason="")\n')
    )
    code, _, err = run_cli("check", "bot.py")
    assert code == 2 and "bot.py:11" in err
    p = _decisions(
        repo / "d.yaml",
        "  - {finding: TG-PI-001/chat-model, status: accepted, reason: because}\n",
    )
    with pytest.raises(InputError) as exc:
        decisions_mod.load(p)
    (prob,) = exc.value.problems
    assert prob.line == 3 and "an acceptance needs owner and expires" in prob.message


def test_max_acceptance_days_from_decision_date(repo: Path) -> None:
    (repo / "bot.py").write_text(chatbot())
    _decisions(repo / "sec" / "decisions.yaml", ACCEPT.format(expires="2027-06-01"))
    write_config(
        repo, 'models = ["bot.py"]\ndecisions = ["sec/decisions.yaml"]\nmax_acceptance_days = 90\n'
    )
    code, _, err = run_cli("check", "--as-of", DAY)
    assert code == 2
    assert "sec/decisions.yaml:3: [expires] acceptance of TG-PI-001/chat-model runs 396 days" in err
    assert "the maximum is 90 days" in err
    # The flag overrides the config.
    assert run_cli("check", "--as-of", DAY, "--max-acceptance-days", "400")[0] == 0


def test_decisions_file_from_config_and_from_flag(repo: Path) -> None:
    (repo / "bot.py").write_text(chatbot())
    write_config(repo, 'models = ["bot.py"]\n')
    d = _decisions(repo / "security" / "d.yaml", ACCEPT.format(expires="2026-09-30"))
    assert run_cli("check", "--as-of", DAY)[0] == 1
    code, out, _ = run_cli("check", "--as-of", DAY, "--decisions", str(d))
    assert code == 0 and "1 accepted" in out


def test_expired_acceptance_in_file_reopens(repo: Path) -> None:
    (repo / "bot.py").write_text(chatbot())
    _decisions(repo / "d.yaml", ACCEPT.format(expires="2026-05-31"))
    write_config(repo, 'models = ["bot.py"]\ndecisions = ["d.yaml"]\n')
    code, out, err = run_cli("check", "--as-of", DAY)
    assert code == 1
    assert "expired on 2026-05-31" in out and "the finding is open again" in err


def test_false_positive_and_mitigated_decisions(repo: Path) -> None:
    (repo / "bot.py").write_text(chatbot())
    (repo / "docs").mkdir()
    (repo / "docs" / "pentest.md").write_text("report\n")
    _decisions(
        repo / "d.yaml",
        "  - {finding: TG-PI-001/chat-model, status: mitigated, reason: WAF rule,"
        " evidence: [docs/pentest.md]}\n",
    )
    write_config(repo, 'models = ["bot.py"]\ndecisions = ["d.yaml"]\n')
    code, out, _ = run_cli("check", "--as-of", DAY)
    assert code == 0
    assert "MITIGATED (decision): bot.py:8: TG-PI-001" in out
    assert "evidence: docs/pentest.md" in out
    _decisions(
        repo / "d.yaml",
        "  - {finding: TG-PI-001/chat-model, status: false_positive, reason: no user text}\n",
    )
    code, out, _ = run_cli("check", "--as-of", DAY)
    assert code == 0 and "1 false positive" in out


def test_mitigated_decision_evidence_must_exist_and_stay_inside(repo: Path) -> None:
    (repo / "bot.py").write_text(chatbot())
    _decisions(
        repo / "d.yaml",
        "  - {finding: TG-PI-001/chat-model, status: mitigated, reason: x,"
        " evidence: [../outside.md]}\n",
    )
    write_config(repo, 'models = ["bot.py"]\ndecisions = ["d.yaml"]\n')
    code, _, err = run_cli("check", "--as-of", DAY)
    assert code == 2 and "d.yaml:3: [evidence]" in err and "leaves the repository" in err


def test_unmatched_decision_warns_and_strict_fails(repo: Path) -> None:
    (repo / "bot.py").write_text(chatbot(controls=repr(list(_pi001()))))
    _decisions(
        repo / "d.yaml",
        "  - {finding: TG-PI-001/chat-modle, status: false_positive, reason: typo}\n",
    )
    write_config(repo, 'models = ["bot.py"]\ndecisions = ["d.yaml"]\n')
    code, _, err = run_cli("check", "--as-of", DAY)
    assert code == 0
    assert "warning: d.yaml:3: decision for 'TG-PI-001/chat-modle' matches no finding" in err
    code, out, err = run_cli("check", "--as-of", DAY, "--strict")
    assert code == 1
    assert "error: d.yaml:3: decision for 'TG-PI-001/chat-modle'" in err
    assert "FAIL: 1 policy error" in out
    write_config(repo, 'models = ["bot.py"]\ndecisions = ["d.yaml"]\nstrict = true\n')
    assert run_cli("check", "--as-of", DAY)[0] == 1
    assert run_cli("check", "--as-of", DAY, "--no-strict")[0] == 0


def test_decision_no_longer_needed_when_controls_mitigate(repo: Path) -> None:
    accept = 'm.accept("TG-PI-001/chat-model", reason="pilot", owner="o", expires="2026-12-31")\n'
    (repo / "bot.py").write_text(chatbot(controls=repr(list(_pi001())), extra=accept))
    write_config(repo, 'models = ["bot.py"]\n')
    code, out, err = run_cli("check", "--as-of", DAY)
    assert code == 0 and "1 mitigated, 0 accepted" in out
    assert "is no longer needed" in err
    assert run_cli("check", "--as-of", DAY, "--strict")[0] == 1


def test_file_decision_replaces_model_decision_and_model_scope(repo: Path) -> None:
    accept = 'm.accept("TG-PI-001/chat-model", reason="r", owner="o", expires="2026-06-02")\n'
    (repo / "bot.py").write_text(chatbot(extra=accept))
    _decisions(
        repo / "d.yaml",
        "  - {finding: TG-PI-001/chat-model, model: support-bot, status: false_positive,"
        " reason: fixed prompts}\n"
        "  - {finding: TG-PI-001/chat-model, model: other-model, status: false_positive,"
        " reason: elsewhere}\n",
    )
    write_config(repo, 'models = ["bot.py"]\ndecisions = ["d.yaml"]\n')
    code, out, _ = run_cli("check", "--as-of", DAY, "--format", "json")
    assert code == 0
    doc = json.loads(out)
    (f,) = doc["findings"]
    assert f["status"] == "false_positive" and f["decision"]["reason"] == "fixed prompts"
    messages = [n["message"] for n in doc["notices"]]
    assert any("replaces the one at" in m for m in messages)
    assert any(
        "'TG-PI-001/chat-model' in model 'other-model' matches no finding" in m for m in messages
    )


def test_yaml_model_decisions(repo: Path) -> None:
    (repo / "m.yaml").write_text(
        "threatgraph: 1\nmodel: {name: Bot}\n"
        "elements:\n  - {kind: actor, name: Visitor}\n  - {kind: llm, name: LLM}\n"
        "flows:\n  - {from: visitor, to: llm, name: prompt}\n"
        "decisions:\n"
        "  - finding: TG-PI-001/llm\n    status: accepted\n    reason: demo\n"
        "    owner: me@example.org\n    expires: 2026-07-01\n"
    )
    write_config(repo, 'models = ["m.yaml"]\n')
    code, out, _ = run_cli("check", "--as-of", DAY)
    assert code == 0 and "ACCEPTED by me@example.org until 2026-07-01" in out


def test_decisions_file_format_errors(tmp_path: Path) -> None:
    p = tmp_path / "d.yaml"
    p.write_text("decisions: []\n")
    with pytest.raises(InputError, match="threatgraph-decisions: 1"):
        decisions_mod.load(p)
    p.write_text("threatgraph-decisions: 1\ndecision: []\n")
    with pytest.raises(InputError) as exc:
        decisions_mod.load(p)
    assert exc.value.problems[0].line == 2
    p.write_text(
        "threatgraph-decisions: 1\ndecisions:\n  - {finding: X/y, status: maybe, reason: r}\n"
    )
    with pytest.raises(InputError) as exc:
        decisions_mod.load(p)
    assert exc.value.problems[0].line == 3
    assert exc.value.problems[0].field == "decisions.0.status"
    p.write_text("threatgraph-decisions: 1\ndecisions:\n  - !!python/object:os.system {}\n")
    with pytest.raises(InputError):
        decisions_mod.load(p)


def _pi001() -> tuple[str, ...]:
    from workflow_util import PI001_CONTROLS

    return PI001_CONTROLS
