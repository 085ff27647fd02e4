"""expected.yaml: its schema, the exact comparison in lint, and tools/fixture_results.py."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from threatgraph.cli import cli
from threatgraph.engine.library import Library, load_library
from threatgraph.features.expected import differences, load_expectations, render
from threatgraph.features.lint import lint, rule_expectations
from threatgraph.util.errors import InputError
from threatgraph.util.paths import builtin_root

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "tools" / "fixture_results.py"
SOURCE = builtin_root() / "rules" / "agency" / "TG-AG-001"
RULE_ID = "ACME-AG-001"
GOOD = """\
negative-readonly.yaml: []
negative.yaml:
  - {element: mailer, status: mitigated}
positive.yaml:
  - {element: mailer, status: open}
"""


@pytest.fixture
def rule_dir(tmp_path: Path) -> Path:
    """A custom library holding a copy of TG-AG-001 as ACME-AG-001, with its fixtures."""
    d = tmp_path / "lib" / "rules" / "acme" / RULE_ID
    d.mkdir(parents=True)
    # The fixtures GOOD states (the built-in rule may have more; these tests are about lint).
    for name in ("rule.yaml", "negative-readonly.yaml", "negative.yaml", "positive.yaml"):
        shutil.copy(SOURCE / name, d / name)
    rule = d / "rule.yaml"
    rule.write_text(rule.read_text("utf-8").replace("id: TG-AG-001", f"id: {RULE_ID}"), "utf-8")
    (d / "expected.yaml").write_text(GOOD, "utf-8")
    return d


def _lib(rule_dir: Path) -> Library:
    """The library with only the custom rule in it, so that lint runs only its fixtures."""
    lib = load_library([rule_dir.parents[2]])
    return dataclasses.replace(lib, rules=[lib.rule(RULE_ID)])


def _messages(rule_dir: Path, fixtures: bool = True) -> list[str]:
    return [str(p) for p in lint(_lib(rule_dir), fixtures=fixtures)]


def test_exact_expectations_lint_clean(rule_dir: Path) -> None:
    assert _messages(rule_dir) == []


def test_a_wrong_element_is_a_lint_error_naming_both_files(rule_dir: Path) -> None:
    exp = rule_dir / "expected.yaml"
    exp.write_text(
        GOOD.replace("- {element: mailer, status: open}", "- {element: crm, status: open}")
    )
    msgs = _messages(rule_dir)
    assert len(msgs) == 1, msgs
    assert msgs[0].startswith(f"{exp}:4: [positive.yaml] fixture {rule_dir / 'positive.yaml'}")
    assert (
        "findings differ from the expectation: missing crm open; unexpected mailer open" in msgs[0]
    )


@pytest.mark.parametrize(
    ("replace", "why"),
    [
        (
            ("status: mitigated}", "status: mitigated, count: 2}"),
            "mailer mitigated: expected 2, got 1",
        ),
        (
            (
                "negative-readonly.yaml: []",
                "negative-readonly.yaml:\n  - {element: crm-reader, status: mitigated}",
            ),
            "missing crm-reader mitigated",
        ),
        (
            ("status: mitigated}", "status: accepted}"),
            "missing mailer accepted; unexpected mailer mitigated",
        ),
    ],
)
def test_counts_and_statuses_are_compared_exactly(
    rule_dir: Path, replace: tuple[str, str], why: str
) -> None:
    (rule_dir / "expected.yaml").write_text(GOOD.replace(*replace))
    msgs = _messages(rule_dir)
    assert len(msgs) == 1 and why in msgs[0], msgs


def test_missing_expected_file_is_an_error(rule_dir: Path) -> None:
    (rule_dir / "expected.yaml").unlink()
    msgs = _messages(rule_dir, fixtures=False)
    assert msgs == [
        f"{rule_dir / 'expected.yaml'}: [fixtures] missing: {RULE_ID} must state the expected "
        "findings of each fixture (negative-readonly.yaml, negative.yaml, positive.yaml); "
        "tools/fixture_results.py prints the current ones"
    ]


def test_fixture_without_expectation_and_expectation_without_fixture(rule_dir: Path) -> None:
    exp = rule_dir / "expected.yaml"
    exp.write_text(GOOD.replace("negative-readonly.yaml: []", "negative-typo.yaml: []"))
    msgs = _messages(rule_dir, fixtures=False)
    assert msgs == [
        f"{exp}: [fixtures] fixture {rule_dir / 'negative-readonly.yaml'} has no expectation here",
        f"{exp}:1: [negative-typo.yaml] expectation for negative-typo.yaml, but "
        f"{rule_dir / 'negative-typo.yaml'} does not exist",
    ]


def test_positive_must_expect_open_and_negative_must_not(rule_dir: Path) -> None:
    exp = rule_dir / "expected.yaml"
    exp.write_text(
        "negative-readonly.yaml:\n  - {element: mailer, status: open}\n"
        "negative.yaml:\n  - {element: mailer, status: mitigated}\n"
        "positive.yaml:\n  - {element: mailer, status: mitigated}\n"
    )
    msgs = _messages(rule_dir, fixtures=False)
    assert msgs == [
        f"{exp}:1: [negative-readonly.yaml] negative fixture negative-readonly.yaml must not "
        "expect an open finding",
        f"{exp}:5: [positive.yaml] positive fixture positive.yaml must expect at least one "
        "open finding",
    ]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            "positive.yaml:\n  - {element: mailer, status: opened}\n",
            2,
            "'opened' is not allowed here (did you mean 'open'?)",
        ),
        ("positive.yaml:\n  - {element: mailer, status: open, cnt: 2}\n", 2, "unknown field"),
        ("positive.yaml:\n  - {element: mailer, status: open, count: 0}\n", 2, "greater than"),
        ("positive.yaml:\n  - {status: open}\n", 2, "Field required"),
        ("positive.yaml:\n  - mailer\n", 2, "valid dictionary"),
        ("positive.yaml: mailer\n", 1, "expected a list of findings"),
        ("- positive.yaml\n", 1, "expected a mapping"),
        ("../positive.yaml: []\n", 1, "is not a fixture file name"),
        ("rule.yaml: []\n", 1, "is not a fixture file name"),
        (
            "positive.yaml:\n  - {element: mailer, status: open}\n"
            "  - {element: mailer, status: open}\n",
            3,
            "listed twice; give it a count instead",
        ),
        ("positive.yaml: !!python/object/apply:os.system [true]\n", 1, "unsupported tag"),
        ("positive.yaml: [\n", 2, ""),
    ],
)
def test_schema_errors_name_file_and_line(
    rule_dir: Path, text: str, line: int, message: str
) -> None:
    exp = rule_dir / "expected.yaml"
    exp.write_text(text)
    with pytest.raises(InputError) as info:
        load_expectations(exp)
    p = info.value.problems[0]
    assert (p.file, p.line) == (str(exp), line) and message in p.message, info.value.problems
    # Through lint, the same problems (and no traceback); the fixture checks still run.
    msgs = _messages(rule_dir)
    assert any(m.startswith(f"{exp}:{line}:") and message in m for m in msgs), msgs


def test_an_empty_file_expects_nothing_and_so_misses_every_fixture(rule_dir: Path) -> None:
    (rule_dir / "expected.yaml").write_text("")
    msgs = _messages(rule_dir, fixtures=False)
    assert len(msgs) == 3 and all("has no expectation here" in m for m in msgs), msgs


def test_cli_lint_exits_2_and_names_the_expectation(rule_dir: Path) -> None:
    exp = rule_dir / "expected.yaml"
    exp.write_text(GOOD.replace("status: mitigated}", "status: open}"))
    res = CliRunner().invoke(cli, ["threats", "lint", "--rules", str(rule_dir.parents[2])])
    assert res.exit_code == 2, res.output
    assert (
        f"error: {exp}:2: [negative.yaml] negative fixture negative.yaml must not expect an "
        "open finding" in res.output
    )
    assert f"error: {exp}:2: [negative.yaml] fixture {rule_dir / 'negative.yaml'}: {RULE_ID} " in (
        res.output
    )
    assert "Traceback" not in res.output


def test_differences_are_empty_only_when_equal() -> None:
    a = Counter({("x", "open"): 2, ("y", "mitigated"): 1})
    assert differences(a, Counter(a)) == []
    assert differences(a, Counter({("x", "open"): 1})) == [
        "x open: expected 2, got 1",
        "missing y mitigated",
    ]
    assert differences(Counter(), a) == ["unexpected x open x2", "unexpected y mitigated"]


_ids = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\ufeff"), min_size=1
)
_tally = st.dictionaries(
    st.tuples(_ids, st.sampled_from(["open", "mitigated", "accepted", "false_positive"])),
    st.integers(1, 5),
    max_size=4,
)


@settings(max_examples=200, deadline=None)
@given(
    results=st.dictionaries(
        st.from_regex(r"(positive|negative)[a-z0-9 :#-]{0,8}\.yaml", fullmatch=True),
        _tally,
        max_size=3,
    )
)
def test_render_round_trips_through_the_schema(
    results: dict[str, dict[tuple[str, str], int]],
) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "expected.yaml"
        path.write_text(render({k: Counter(v) for k, v in results.items()}), "utf-8")
        got = load_expectations(path)
    assert set(got.fixtures) == set(results)
    for name, t in results.items():
        assert got.tally(name) == Counter(t)


def _tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TOOL), *args], capture_output=True, text=True, check=False
    )


def test_tool_prints_actual_findings_in_the_expected_format(rule_dir: Path) -> None:
    res = _tool("--rules", str(rule_dir.parents[2]), RULE_ID)
    assert res.returncode == 0, res.stderr
    assert res.stdout == GOOD
    exp, problems = rule_expectations(_lib(rule_dir).rule(RULE_ID))
    assert exp is not None and not problems


def test_tool_diff_lists_only_fixtures_that_differ(rule_dir: Path) -> None:
    lib_dir = str(rule_dir.parents[2])
    assert _tool("--rules", lib_dir, "--diff", RULE_ID).stdout == ""
    (rule_dir / "expected.yaml").write_text(GOOD.replace("mitigated", "open"))
    res = _tool("--rules", lib_dir, "--diff", RULE_ID)
    assert res.returncode == 1
    assert res.stdout == "negative.yaml:\n  - {element: mailer, status: mitigated}\n"


def test_tool_refuses_unknown_rules_and_bad_input(tmp_path: Path) -> None:
    res = _tool("TG-NOPE-001")
    assert res.returncode == 2 and "unknown rule(s): TG-NOPE-001" in res.stderr
    res = _tool("--rules", str(tmp_path / "absent"), "--all")
    assert res.returncode == 2 and "rule directory does not exist" in res.stderr
    assert _tool().returncode == 2
