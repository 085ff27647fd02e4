"""Errors that point at the fix: the Python DSL and YAML suggest the closest id, kind,
method or finding id, with the file and line (issue 20, part 4)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from helpers import builtin_library
from workflow_util import chatbot, run_cli, write_config

from threatgraph.load.registry import load_paths
from threatgraph.util.errors import InputError


def _problems(tmp_path: Path, body: str, name: str = "model.py") -> list[str]:
    p = tmp_path / name
    p.write_text(textwrap.dedent(body))
    with pytest.raises(InputError) as exc:
        load_paths([p], builtin_library().controls.keys())
    return [str(x) for x in exc.value.problems]


HEAD = """\
from threatgraph import Model
m = Model("Demo", owner="me@example.org")
cluster = m.boundary("Corp build cluster", trust="internal")
"""


def test_unknown_boundary_suggests_id_and_says_how_ids_derive(tmp_path: Path) -> None:
    (msg,) = _problems(tmp_path, HEAD + 'm.app("Builder", inside="corp")\n')
    assert msg.startswith(f"{tmp_path / 'model.py'}:4: [boundary] unknown boundary 'corp'")
    assert "did you mean 'corp-build-cluster'?" in msg
    assert "'Corp build cluster' has id 'corp-build-cluster'" in msg


def test_unknown_flow_endpoint_suggests_id(tmp_path: Path) -> None:
    body = HEAD + 'a = m.app("Builder")\nm.llm("Hosted LLM")\nm.flow(a, "hosted", "prompt")\n'
    (msg,) = _problems(tmp_path, body)
    assert ":6: [to] unknown flow target 'hosted' (did you mean 'hosted-llm'?" in msg


def test_unknown_reference_with_nothing_close_has_no_hint(tmp_path: Path) -> None:
    (msg,) = _problems(tmp_path, HEAD + 'm.app("Builder", inside="zzz")\n')
    assert msg.endswith("unknown boundary 'zzz'")


@pytest.mark.parametrize("name", ["model.py", "model.yaml"])
def test_mistyped_kind_suggests_the_closest_kind_only(tmp_path: Path, name: str) -> None:
    if name.endswith(".py"):
        body = HEAD + 'm.element("vectorstore", "Index")\n'
    else:
        body = (
            "threatgraph: 1\nmodel: {name: Demo, owner: me@example.org}\n"
            "elements:\n  - {name: Index, kind: vectorstore}\n"
        )
    (msg,) = _problems(tmp_path, body, name)
    assert ":4: [" in msg and "'vectorstore' is not allowed here" in msg
    assert "(did you mean 'vector_store'" in msg
    assert "guardrail" not in msg  # not the list of all kinds


def test_kind_with_nothing_close_lists_the_kinds(tmp_path: Path) -> None:
    (msg,) = _problems(tmp_path, HEAD + 'm.element("qqqqqq", "Index")\n')
    assert "'qqqqqq' is not allowed here; one of 'actor'" in msg and "'vendor'" in msg


def test_mistyped_method_names_the_methods_with_file_and_line(tmp_path: Path) -> None:
    (msg,) = _problems(tmp_path, HEAD + 'm.vectorstore("Index")\n')
    assert msg.startswith(f"{tmp_path / 'model.py'}:4: Model has no method 'vectorstore'")
    assert "did you mean 'vector_store'" in msg and "its methods are accept, actor" in msg
    assert "AttributeError" not in msg


def test_hasattr_on_a_model_still_works() -> None:
    from threatgraph import Model

    m = Model("Demo")
    assert not hasattr(m, "vectorstore") and hasattr(m, "vector_store")
    assert getattr(m, "nope", 7) == 7


def test_accept_without_owner_and_expiry_says_what_is_missing(tmp_path: Path) -> None:
    body = HEAD + 'm.accept("TG-PI-001/x", reason="pilot")\nm.accept("TG-PI-002/x")\n'
    first, second = _problems(tmp_path, body)
    assert first.startswith(f"{tmp_path / 'model.py'}:4: m.accept('TG-PI-001/x') is missing")
    assert "missing owner= and expires=" in first and "TypeError" not in first
    assert ":5: " in second and "missing reason= and owner= and expires=" in second


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_unmatched_decision_suggests_the_closest_finding_id(repo: Path) -> None:
    typo = 'm.false_positive("TG-PI-001/chat-modle", reason="typo")\n'
    (repo / "bot.py").write_text(chatbot(extra=typo))
    write_config(repo, 'models = ["bot.py"]\n')
    code, _, err = run_cli("check", "--as-of", "2026-06-01")
    assert code == 1
    assert (
        "decision for 'TG-PI-001/chat-modle' matches no finding "
        "(fixed, renamed, or a typo? did you mean 'TG-PI-001/chat-model'?)" in err
    )
