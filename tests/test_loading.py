"""The DSL, the YAML/JSON loader, Python model execution, and directory discovery."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from helpers import builtin_library, model

from threatgraph.load.registry import discover, load_paths
from threatgraph.util.errors import InputError


def load(path: Path) -> list:  # type: ignore[type-arg]
    return load_paths([path], builtin_library().controls.keys())


def py(tmp_path: Path, body: str, name: str = "model.py") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(body))
    return p


def problems(exc: pytest.ExceptionInfo[InputError]) -> list[str]:
    return [str(p) for p in exc.value.problems]


# -- Python DSL -----------------------------------------------------------------------------
def test_dsl_builds_a_model_with_locations(tmp_path: Path) -> None:
    p = py(
        tmp_path,
        """\
        from threatgraph import Model, control

        m = Model("Demo", owner="me@example.org")
        corp = m.boundary("Corp", trust="internal")
        pii = m.data("Customer PII", classification="pii")
        app = m.app("Web app", inside=corp, controls=[control("audit.logging", "docs/audit.md")])
        llm = m.llm("Model", inside=corp, processes=[pii])
        m.flow(app, llm, "prompt", data=[pii], protocol="https")
        """,
    )
    (lm,) = load(p)
    sm = lm.model
    assert sm.model.id == "demo"
    assert [(e.id, e.kind.value, e.location.line) for e in sm.elements] == [
        ("web-app", "app", 6),
        ("model", "llm", 7),
    ]
    assert sm.flows[0].id == "web-app--model--prompt"
    assert sm.flows[0].location.line == 8
    assert sm.flows[0].is_encrypted
    assert sm.elements[0].controls[0].evidence == ["docs/audit.md"]
    assert sm.elements[0].boundary == "corp"
    assert lm.format == "python"


def test_dsl_collects_several_models_in_one_file(tmp_path: Path) -> None:
    p = py(
        tmp_path,
        """\
        from threatgraph import Model
        for name in ("One", "Two"):
            m = Model(name)
            m.app("App")
        """,
    )
    assert [lm.model.model.id for lm in load(p)] == ["one", "two"]


@pytest.mark.parametrize(
    ("body", "line", "needle"),
    [
        ("m.app('A')\nm.app('A')\n", 6, "duplicate element id 'a'"),
        ("m.app('A', controls=['audit.loging'])\n", 5, "did you mean 'audit.logging'"),
        ("m.app('A', internet_fasing=True)\n", 5, "did you mean 'internet_facing'"),
        ("m.flow('a', 'nowhere')\nm.app('A')\n", 5, "unknown flow target 'nowhere'"),
        ("a = m.app('A')\nm.flow(a, a, 'loop')\n", 6, "to itself"),
        ("m.llm('L', provider=m.app('Not a vendor'))\n", 5, "not an element of kind 'vendor'"),
        ("m.data('D', classification='top-secret')\n", 5, "classification"),
        ("m.boundary('B', trust='sorta')\n", 5, "trust"),
        ("m.app('A', inside='nowhere')\n", 5, "unknown boundary 'nowhere'"),
        ("m.accept('X/y', reason='r', owner='o', expires='2020-13-01')\n", 5, "expires"),
    ],
)
def test_dsl_errors_name_file_and_line(tmp_path: Path, body: str, line: int, needle: str) -> None:
    p = py(tmp_path, "from threatgraph import Model\n\n\nm = Model('T')\n" + body)
    with pytest.raises(InputError) as exc:
        load(p)
    msgs = problems(exc)
    assert any(f"{p}:{line}:" in m and needle in m for m in msgs), msgs


def test_dsl_references_by_name_are_resolved(tmp_path: Path) -> None:
    p = py(
        tmp_path,
        """\
        from threatgraph import Model
        m = Model("T")
        m.data("Patient notes", classification="phi")
        m.app("Front end")
        m.llm("Model")
        m.flow("Front end", "model", data=["Patient notes"])
        """,
    )
    fl = load(p)[0].model.flows[0]
    assert (fl.source, fl.target, fl.data) == ("front-end", "model", ["patient-notes"])


def test_python_model_that_raises(tmp_path: Path) -> None:
    p = py(tmp_path, "from threatgraph import Model\nm = Model('T')\n\n1 / 0\n")
    with pytest.raises(InputError) as exc:
        load(p)
    assert problems(exc) == [f"{p}:4: model raised ZeroDivisionError: division by zero"]


def test_python_model_syntax_error_and_exit(tmp_path: Path) -> None:
    p = py(tmp_path, "from threatgraph import Model\nm = Model('T'\n")
    with pytest.raises(InputError, match="syntax error"):
        load(p)
    q = py(tmp_path, "import sys\nfrom threatgraph import Model\nsys.exit(3)\n", "exits.py")
    with pytest.raises(InputError) as exc:
        load(q)
    assert problems(exc) == [f"{q}:3: model file called exit(3)"]


def test_python_file_without_a_model(tmp_path: Path) -> None:
    p = py(tmp_path, "import threatgraph\nx = 1\n")
    with pytest.raises(InputError, match="builds no threatgraph Model"):
        load(p)


def test_python_model_sees_its_argv_and_sibling_modules(tmp_path: Path) -> None:
    (tmp_path / "shared_parts.py").write_text("NAME = 'From sibling'\n")
    p = py(
        tmp_path,
        """\
        import sys
        from threatgraph import Model
        from shared_parts import NAME
        assert sys.argv == [__file__], sys.argv
        m = Model(NAME)
        """,
    )
    assert load(p)[0].model.model.name == "From sibling"


# -- YAML and JSON --------------------------------------------------------------------------
YAML_MODEL = """\
threatgraph: 1
model:
  name: Demo
boundaries:
  - {name: Corp, trust: internal}
elements:
  - kind: app
    name: App
    boundary: corp
  - kind: llm
    name: LLM
flows:
  - {from: app, to: llm, name: prompt}
"""


def test_yaml_model_lines(tmp_path: Path) -> None:
    p = tmp_path / "m.yaml"
    p.write_text(YAML_MODEL)
    sm = load(p)[0].model
    assert [e.location.line for e in sm.elements] == [7, 10]
    assert sm.flows[0].location.line == 13
    assert sm.boundaries[0].location.line == 5


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        (
            YAML_MODEL.replace("    name: LLM", "    name: LLM\n    colour: red"),
            12,
            "unknown field",
        ),
        (YAML_MODEL.replace("kind: llm", "kind: robot"), 10, "'robot' is not allowed here; one of"),
        (
            YAML_MODEL.replace("  - kind: app", "  - kind: app\n   bad: [unclosed"),
            8,
            "invalid YAML",
        ),
        (YAML_MODEL.replace("threatgraph: 1\n", ""), 1, "threatgraph: 1"),
        (YAML_MODEL.replace("to: llm", "to: lml"), 13, "did you mean 'llm'"),
        (YAML_MODEL + "  - {from: app, to: llm, name: prompt}\n", 14, "duplicate flow"),
        ("", 1, "empty file"),
        ("- just\n- a list\n", 1, "must be a mapping"),
        ("a: &x [1]\nb: *x\na: 2\n", 3, "duplicate key"),
    ],
)
def test_yaml_errors(tmp_path: Path, text: str, line: int, needle: str) -> None:
    p = tmp_path / "m.yaml"
    p.write_text(text)
    with pytest.raises(InputError) as exc:
        load(p)
    msgs = problems(exc)
    assert any(m.startswith(f"{p}:{line}:") and needle in m for m in msgs), msgs


def test_yaml_refuses_python_tags_and_alias_bombs(tmp_path: Path) -> None:
    p = tmp_path / "m.yaml"
    p.write_text("threatgraph: 1\nmodel: !!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(InputError, match="invalid YAML"):
        load(p)
    lol = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        lol.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    p.write_text("\n".join(lol) + "\n")
    with pytest.raises(InputError, match="aliases expand to more than"):
        load(p)
    # A few aliases that stay small are fine.
    p.write_text("threatgraph: 1\nmodel: &m {name: Anchored}\n")
    assert load(p)[0].model.model.name == "Anchored"


def test_yaml_binary_and_non_utf8(tmp_path: Path) -> None:
    p = tmp_path / "m.yaml"
    p.write_bytes(b"threatgraph: 1\n\x00\x01")
    with pytest.raises(InputError, match="binary"):
        load(p)
    p.write_bytes(b"threatgraph: 1\nmodel: {name: \xff}\n")
    with pytest.raises(InputError) as exc:
        load(p)
    assert problems(exc) == [f"{p}:2: not valid UTF-8 text"]


def test_json_model_and_errors(tmp_path: Path) -> None:
    p = tmp_path / "m.json"
    p.write_text(
        json.dumps(
            {"threatgraph": 1, "model": {"name": "J"}, "elements": [{"kind": "llm", "name": "L"}]},
            indent=1,
        )
    )
    assert load(p)[0].model.elements[0].id == "l"
    p.write_text('{"threatgraph": 1,\n "model": {"name": "J"},\n}')
    with pytest.raises(InputError) as exc:
        load(p)
    assert problems(exc)[0].startswith(f"{p}:3: invalid JSON")


def test_boundary_cycle(tmp_path: Path) -> None:
    doc = {
        "boundaries": [
            {"name": "A", "trust": "internal", "parent": "b"},
            {"name": "B", "trust": "internal", "parent": "a"},
        ]
    }
    with pytest.raises(InputError, match="parent cycle"):
        model(doc)


def test_acceptance_needs_owner_and_expiry() -> None:
    with pytest.raises(InputError, match="needs owner and expires"):
        model({"decisions": [{"finding": "X/y", "status": "accepted", "reason": "later"}]})


# -- discovery ------------------------------------------------------------------------------
def test_directory_search_never_runs_non_model_python(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    (tmp_path / "setup.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    (tmp_path / "script.py").write_text(
        f"# mentions threatgraph in a comment only\nopen({str(marker)!r}, 'w')\n"
    )
    (tmp_path / "notes.yaml").write_text("title: not a model\n")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "m.py").write_text("import threatgraph\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "tm.py").write_text("from threatgraph import Model\nModel('X')\n")
    (tmp_path / "sub" / "m.yaml").write_text(YAML_MODEL)
    found = [p.relative_to(tmp_path).as_posix() for p, _ in discover([tmp_path])]
    assert found == ["sub/m.yaml", "sub/tm.py"]
    assert len(load_paths([tmp_path], builtin_library().controls.keys())) == 2
    assert not marker.exists()


def test_missing_path_and_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        discover([tmp_path / "nope.py"])
    (tmp_path / "m.txt").write_text("x")
    with pytest.raises(InputError, match="not a model file"):
        discover([tmp_path / "m.txt"])


def test_json_lines_match_the_yaml_reader(tmp_path: Path) -> None:
    from threatgraph.util.yamlsafe import parse_json, parse_text

    text = json.dumps(
        {
            "threatgraph": 1,
            "model": {"name": "J", "controls": ["a.b"]},
            "elements": [
                {"kind": "llm", "name": "L: with [brackets] and {x}", "tags": ["a", "b"]},
                {"kind": "app", "name": 'A\\n"quoted"'},
            ],
            "flows": [{"from": "l", "to": "a", "data": []}],
        },
        indent=2,
    )
    fast, slow = parse_json(text, "m.json"), parse_text(text, "m.json")

    def walk(a: object, b: object) -> None:
        assert getattr(a, "line", None) == getattr(b, "line", None)
        if isinstance(a, dict):
            assert a.key_lines == b.key_lines  # type: ignore[attr-defined]
            for k in a:
                walk(a[k], b[k])  # type: ignore[index]
        elif isinstance(a, list):
            for i, x in enumerate(a):  # scalar items carry their list's line in JSON
                if isinstance(x, (dict, list)):
                    assert a.item_lines[i] == b.item_lines[i]  # type: ignore[attr-defined]
            for x, y in zip(a, b, strict=True):  # type: ignore[call-overload]
                walk(x, y)

    walk(fast, slow)
    p = tmp_path / "dup.json"
    p.write_text('{"threatgraph": 1, "model": {"name": "a", "name": "b"}}')
    with pytest.raises(InputError, match="duplicate key 'name'"):
        load(p)


def test_python_model_stuck_in_a_loop_is_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model file that never finishes fails with its file and line instead of hanging a
    pre-commit hook; its own ``except Exception`` cannot swallow the stop."""
    import signal

    monkeypatch.setenv("THREATGRAPH_MODEL_TIMEOUT", "0.2")
    p = py(
        tmp_path,
        """\
        from threatgraph import Model
        m = Model("T")
        while True:
            try:
                pass
            except Exception:
                pass
        """,
    )
    with pytest.raises(InputError) as exc:
        load(p)
    (problem,) = exc.value.problems
    assert problem.file == str(p) and 3 <= problem.line <= 7
    assert "still running after 0.2 s" in problem.message
    assert "THREATGRAPH_MODEL_TIMEOUT" in problem.message
    # The timer is off and the previous handler back once the load is over.
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) is signal.SIG_DFL


def test_python_model_time_limit_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from threatgraph.load.python import DEFAULT_MODEL_TIMEOUT, model_timeout

    p = py(tmp_path, "from threatgraph import Model\nm = Model('T')\nm.app('A')\n")
    monkeypatch.delenv("THREATGRAPH_MODEL_TIMEOUT", raising=False)
    assert model_timeout() == DEFAULT_MODEL_TIMEOUT
    monkeypatch.setenv("THREATGRAPH_MODEL_TIMEOUT", "0")  # no limit
    assert model_timeout() == 0 and load(p)[0].model.elements[0].id == "a"
    for bad in ("abc", "-1", "nan", "inf"):
        monkeypatch.setenv("THREATGRAPH_MODEL_TIMEOUT", bad)
        with pytest.raises(InputError) as exc:
            load(p)
        assert problems(exc) == [
            f"THREATGRAPH_MODEL_TIMEOUT: expected a number of seconds (0 for no limit), got {bad!r}"
        ]
