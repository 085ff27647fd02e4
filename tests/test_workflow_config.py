"""Configuration: discovery, precedence, file:line errors, relative paths, CLI overrides."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from workflow_util import chatbot, run_cli, write_config

from threatgraph.settings import (
    KEYS,
    REVIEW_KEYS,
    ReviewSettings,
    Settings,
    find_config,
    load_settings,
)
from threatgraph.util.errors import InputError

DOCS = Path(__file__).resolve().parents[1] / "docs" / "workflow.md"


def test_pyproject_section_found_upward_and_wins_over_fallback(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.threatgraph]\nfail_on = "medium"\n'
    )
    (tmp_path / ".threatgraph.toml").write_text('fail_on = "low"\n')
    sub = tmp_path / "src" / "pkg"
    sub.mkdir(parents=True)
    assert find_config(sub) == tmp_path / "pyproject.toml"
    s = load_settings(start=sub)
    assert s.fail_on == "medium"
    assert s.root == str(tmp_path)


def test_fallback_used_when_pyproject_has_no_section(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    (tmp_path / ".threatgraph.toml").write_text('fail_on = "low"\n')
    assert load_settings(start=tmp_path).fail_on == "low"


def test_search_stops_at_the_repository_root(tmp_path: Path) -> None:
    (tmp_path / ".threatgraph.toml").write_text('fail_on = "low"\n')
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    assert find_config(repo) is None
    assert load_settings(start=repo) == Settings()


def test_unknown_key_is_an_error_with_line_and_suggestion(tmp_path: Path) -> None:
    cfg = tmp_path / "pyproject.toml"
    cfg.write_text(
        '[project]\nname = "x"\nfail_onn = 1\n\n[tool.threatgraph]\nmodels = ["m"]\n'
        'fail_onn = "low"\n'
    )
    with pytest.raises(InputError) as exc:
        load_settings(cfg)
    (p,) = exc.value.problems
    assert (p.file, p.line, p.field) == (str(cfg), 7, "tool.threatgraph.fail_onn")
    assert "unknown key" in p.message and "fail_on" in p.message


def test_bad_values_point_at_their_lines(tmp_path: Path) -> None:
    cfg = tmp_path / ".threatgraph.toml"
    cfg.write_text(
        'models = ["m"]\nfail_on = "severe"\nmax_acceptance_days = 0\n\n[disable]\n"TG-X-1" = ""\n'
    )
    with pytest.raises(InputError) as exc:
        load_settings(cfg)
    got = {(p.field, p.line) for p in exc.value.problems}
    assert got == {("fail_on", 2), ("max_acceptance_days", 3), ("disable", 5)}


def test_reserved_internal_fields_are_not_settable(tmp_path: Path) -> None:
    cfg = tmp_path / ".threatgraph.toml"
    cfg.write_text('root = "/etc"\n')
    with pytest.raises(InputError, match="unknown key"):
        load_settings(cfg)


def test_invalid_toml_reports_line(tmp_path: Path) -> None:
    cfg = tmp_path / ".threatgraph.toml"
    cfg.write_text('fail_on = "high"\nmodels = [\n')
    with pytest.raises(InputError) as exc:
        load_settings(cfg)
    assert exc.value.problems[0].line == 2
    cfg.write_text('models = ["m"]\nfail_on = high\n')
    with pytest.raises(InputError) as exc:
        load_settings(cfg)
    assert exc.value.problems[0].line == 2


def test_cli_unknown_key_exit_2_with_file_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    (tmp_path / ".threatgraph.toml").write_text('models = ["bot.py"]\nbaseline_file = "x"\n')
    code, _, err = run_cli("check")
    assert code == 2
    assert re.search(r"error: .*\.threatgraph\.toml:2: \[baseline_file\] unknown key", err)
    assert "did you mean 'baseline'" in err


def test_paths_are_relative_to_the_config_and_flags_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "bot.py").write_text(chatbot())
    write_config(tmp_path, 'models = ["models"]\nfail_on = "critical"\n')
    sub = tmp_path / "deep" / "er"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)  # config and model paths resolve from the config's directory
    code, out, _ = run_cli("check")
    assert code == 0, out  # TG-PI-001 is high, the configured gate is critical
    assert "1 open (1 high)" in out
    code, out, _ = run_cli("check", "--fail-on", "high")
    assert code == 1
    assert "FAIL: 1 open finding at or above 'high'" in out


def test_disable_from_config_is_reported_with_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "bot.py").write_text(chatbot())
    write_config(tmp_path, 'models = ["bot.py"]\n', keep=())
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli("check")
    assert code == 0
    assert "0 rules" in out and "TG-PI-001 (not under test)" in out


def test_every_key_is_documented_in_the_reference_table() -> None:
    text = DOCS.read_text(encoding="utf-8")
    fields = set(Settings.model_fields) - {"source", "root"}
    assert fields == set(KEYS)
    for key in sorted(fields):
        assert re.search(rf"^\| `{key}` \|", text, re.MULTILINE), f"{key} missing in docs"
    assert set(ReviewSettings.model_fields) == set(REVIEW_KEYS)
    row = re.search(r"^\| `review` \|.*$", text, re.MULTILINE)
    assert row and all(f"`{k}`" in row.group(0) for k in REVIEW_KEYS)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('fail_on = "hgh"\n', "[fail_on] 'hgh' is not allowed here (did you mean 'high'?)"),
        (
            'formats = ["markdwn"]\n',
            "[formats] unknown format 'markdwn' (did you mean 'markdown'?)",
        ),
        ('[otm_types]\nweb = "ap"\n', "'ap' is not a kind (did you mean 'app'?)"),
        ('[otm_types]\nweb = "qqqq"\n', "'qqqq' is not a kind (the kinds: docs/dsl.md"),
        ('fail_on = "severe"\n', "one of 'info', 'low', 'medium', 'high' or 'critical'"),
    ],
)
def test_enum_errors_suggest_the_closest_value(tmp_path: Path, body: str, expected: str) -> None:
    (tmp_path / ".threatgraph.toml").write_text(body)
    with pytest.raises(InputError) as exc:
        load_settings(start=tmp_path)
    (p,) = exc.value.problems
    assert expected in str(p), str(p)
    assert "vector_store" not in str(p)  # never the whole list of kinds
