"""Safe loading and safe writing: what threatgraph never does, checked.

- the source uses no unsafe YAML loader, no eval/exec outside the two loaders of Python model
  files (whose code comes only from compile_model, which compiles only *.py files), no
  pickle, no network client, and runs subprocesses only for git and Graphviz;
- a YAML payload that an unsafe loader would execute (in a model, a rule, a decisions file)
  is refused and runs nothing;
- evidence cited by a YAML model never reaches outside the repository (absolute paths, '..',
  symlinked files and directories, globs matching symlinks, NUL bytes, runaway '**');
- output paths are never written through a symlink (check -o, report -o, baseline -o,
  import -o), and a refused write changes nothing;
- a report run killed mid-way leaves the earlier reports as they were;
- a Graphviz renderer that writes garbage costs the diagram only: a warning, the DOT and
  Mermaid sources instead, and the exit code of the findings.
"""

from __future__ import annotations

import ast
import functools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from threatgraph.cli import cli

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "threatgraph"
VALID = ROOT / "tests" / "corpus" / "valid" / "model.yaml"
AS_OF = "2026-06-01"


def _cli(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


# -- the source ---------------------------------------------------------------------------
def _calls(tree: ast.AST) -> list[tuple[str, int]]:
    """Dotted names of every call in a module, with their lines."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            out.append((ast.unparse(node.func), node.lineno))
        elif isinstance(node, ast.keyword) and node.arg == "Loader":
            out.append(("Loader=" + ast.unparse(node.value), getattr(node.value, "lineno", 0)))
    return out


@functools.cache
def _modules() -> list[tuple[Path, ast.Module]]:
    return [(p, ast.parse(p.read_text("utf-8"))) for p in sorted(SRC.rglob("*.py"))]


def test_yaml_is_only_read_by_the_safe_loader() -> None:
    unsafe = {
        "yaml.load",
        "yaml.load_all",
        "yaml.unsafe_load",
        "yaml.unsafe_load_all",
        "yaml.full_load",
        "yaml.full_load_all",
        "yaml.safe_load",  # safe, but without lines and limits: yamlsafe only
        "yaml.safe_load_all",
    }
    found = []
    for path, tree in _modules():
        rel = path.relative_to(SRC).as_posix()
        for name, line in _calls(tree):
            if name in unsafe or (name.startswith("Loader=") and rel != "load/yamlsafe.py"):
                found.append(f"{rel}:{line}: {name}")
        text = path.read_text("utf-8")
        for bad in (
            "yaml.Loader",
            "yaml.UnsafeLoader",
            "yaml.FullLoader",
            "CLoader",
            "CFullLoader",
        ):
            if bad in text.replace("yaml.SafeLoader", "").replace("CSafeLoader", ""):
                found.append(f"{rel}: mentions {bad}")
    assert found == []


def test_eval_and_exec_only_in_the_python_model_loaders() -> None:
    allowed = {"load/python.py", "load/pytm_loader.py"}
    found = []
    for path, tree in _modules():
        rel = path.relative_to(SRC).as_posix()
        for name, line in _calls(tree):
            if name in ("eval", "exec", "builtins.eval", "builtins.exec") and rel not in allowed:
                found.append(f"{rel}:{line}: {name}")
            if name == "compile" and rel not in allowed:
                found.append(f"{rel}:{line}: compile")
    assert found == []


def test_code_is_only_ever_compiled_by_compile_model_and_run_from_it() -> None:
    """The one compile() is in compile_model, which refuses any file not named *.py; every
    exec() runs a code object that compile_model returned; nothing runs files another way
    (runpy, importlib's file loaders, __import__ of a path)."""
    found = []
    for path, tree in _modules():
        rel = path.relative_to(SRC).as_posix()
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef):
                continue
            from_compile_model = {
                t.id
                for node in ast.walk(fn)
                if isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Call)
                and ast.unparse(node.value.func) == "compile_model"
                for t in node.targets
                if isinstance(t, ast.Name)
            }
            for node in ast.walk(fn):
                if not isinstance(node, ast.Call):
                    continue
                name = ast.unparse(node.func)
                if name == "compile" and (rel, fn.name) != ("load/python.py", "compile_model"):
                    found.append(f"{rel}:{node.lineno}: compile outside compile_model")
                if name == "exec" and not (
                    node.args
                    and isinstance(node.args[0], ast.Name)
                    and node.args[0].id in from_compile_model
                ):
                    found.append(f"{rel}:{node.lineno}: exec of code not from compile_model")
        text = path.read_text("utf-8")
        for bad in ("runpy", "run_path", "exec_module", "spec_from_file_location", "__import__"):
            if bad in text:
                found.append(f"{rel}: mentions {bad}")
    assert found == []


def test_no_pickle_no_network_and_subprocesses_only_for_git_and_graphviz() -> None:
    banned = {"pickle", "marshal", "shelve", "socket", "ssl", "requests", "httpx", "urllib3"}
    banned_from = {"urllib.request", "http.client", "http.server", "ftplib", "smtplib", "xmlrpc"}
    found = []
    for path, tree in _modules():
        rel = path.relative_to(SRC).as_posix()
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for n in names:
                if n.split(".")[0] in banned or any(n.startswith(b) for b in banned_from):
                    found.append(f"{rel}:{node.lineno}: imports {n}")
                if n == "subprocess" and rel not in ("repo/gitrev.py", "formats/render.py"):
                    found.append(f"{rel}:{node.lineno}: imports subprocess")
        for name, line in _calls(tree):
            if name in ("os.system", "os.popen") or name.startswith("os.exec"):
                found.append(f"{rel}:{line}: {name}")
        if "shell=True" in path.read_text("utf-8"):
            found.append(f"{rel}: shell=True")
    assert found == []


# -- YAML payloads run nothing ------------------------------------------------------------
def test_python_tags_in_yaml_run_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    tag = f'!!python/object/apply:os.system ["touch {marker}"]'
    model = tmp_path / "model.yaml"
    model.write_text(f"threatgraph: 1\nmodel: {{name: M}}\nelements: {tag}\n")
    rule = tmp_path / "rules" / "rules" / "x" / "TG-PWN-001" / "rule.yaml"
    rule.parent.mkdir(parents=True)
    rule.write_text(f"id: TG-PWN-001\nmatch: {tag}\n")
    decisions = tmp_path / "decisions.yaml"
    decisions.write_text(f"threatgraph-decisions: 1\ndecisions: {tag}\n")
    for args in (
        ["check", str(model)],
        ["check", str(VALID), "--rules", str(tmp_path / "rules")],
        ["check", str(VALID), "--decisions", str(decisions)],
        ["threats", "lint", "--rules", str(tmp_path / "rules")],
    ):
        res = _cli(*args)
        assert res.exit_code == 2, res.output
        assert "unsupported tag 'tag:yaml.org,2002:python/object/apply:os.system'" in res.output
    assert not marker.exists()


# -- evidence stays in the repository -----------------------------------------------------
@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "src").mkdir()
    (root / "src" / "guard.py").write_text("def test_screen():\n    pass\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    (outside / "test_x.py").write_text("def test_x():\n    pass\n")
    os.symlink(outside / "secret.txt", root / "src" / "link.txt")
    os.symlink(outside, root / "src" / "linkdir")
    return root


@pytest.mark.parametrize(
    ("item", "why"),
    [
        ("/etc/passwd", "is absolute"),
        ("~/.ssh/id_rsa", "is absolute"),
        ("../outside/secret.txt", "through '..'"),
        ("src/../../outside/secret.txt", "through '..'"),
        ("..\\\\outside\\\\secret.txt", "through '..'"),
        ("src/link.txt", "through a symlink"),
        ("src/linkdir/secret.txt", "through a symlink"),
        ("src/linkdir/test_x.py::test_x", "through a symlink"),
        ("src/*.txt", "outside the repository"),
        ("**/link.txt", "outside the repository"),
        ("file:///etc/passwd", "unsupported evidence"),
        ("src/\\0guard.py", "NUL"),
        ("**/a/**/b/**/c", "more than 2 '**'"),
    ],
)
def test_evidence_never_leaves_the_repository(repo: Path, item: str, why: str) -> None:
    model = repo / "model.yaml"
    model.write_text(
        "threatgraph: 1\nmodel: {id: ev, name: Evidence}\nelements:\n"
        "  - {id: user, name: User, kind: actor}\n"
        "  - id: chat\n    name: Chat\n    kind: llm\n    controls:\n"
        f'      - {{id: guardrail.input_filter, evidence: ["{item}"]}}\n'
    )
    res = _cli("check", str(model), "--as-of", AS_OF)
    assert res.exit_code == 2, res.output
    assert f"error: {model}:9: [evidence]" in res.stderr, res.stderr
    assert why in res.stderr


# -- output paths -------------------------------------------------------------------------
def test_report_never_writes_through_a_symlinked_report_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _cli("report", str(VALID), "-o", str(out), "--as-of", AS_OF).exit_code == 1
    victim = tmp_path / "victim.txt"
    victim.write_text("not a report")
    (out / "corpus" / "report.md").unlink()
    (out / "corpus" / "report.md").symlink_to(victim)
    res = _cli("report", str(VALID), "-o", str(out), "--as-of", "2026-07-01")
    # The model directory is replaced as a whole: the symlink goes with the old one, and
    # nothing is written through it.
    assert res.exit_code == 1, res.output
    assert victim.read_text() == "not a report"
    report_md = out / "corpus" / "report.md"
    assert not report_md.is_symlink() and "2026-07-01" in report_md.read_text()
    assert not list(out.rglob("*.tmp"))


def test_report_never_writes_through_a_symlinked_index(tmp_path: Path) -> None:
    other = tmp_path / "other.yaml"
    other.write_text(VALID.read_text().replace("id: corpus", "id: other"))
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.md"
    victim.write_text("keep")
    (out / "index.md").symlink_to(victim)
    res = _cli("report", str(VALID), str(other), "-o", str(out), "--as-of", AS_OF)
    assert res.exit_code == 2 and "symlink" in res.stderr
    assert victim.read_text() == "keep"
    assert _snapshot(out) == {}


OTM = {
    "otmVersion": "0.2.0",
    "project": {"name": "P", "id": "p"},
    "trustZones": [{"id": "tz", "name": "Z", "risk": {"trustRating": 10}}],
    "components": [{"id": "c", "name": "C", "type": "web-service", "parent": {"trustZone": "tz"}}],
}


@pytest.mark.parametrize("command", ["check", "baseline", "import"])
def test_single_file_outputs_refuse_symlinks(tmp_path: Path, command: str) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    link = tmp_path / "out.json"
    link.symlink_to(victim)
    if command == "import":
        otm = tmp_path / "m.otm.json"
        otm.write_text(json.dumps(OTM))
        args = ["import", "otm", str(otm), "-o", str(link)]
    elif command == "check":
        args = ["check", str(VALID), "--format", "json", "-o", str(link), "--as-of", AS_OF]
    else:
        args = ["baseline", str(VALID), "-o", str(link), "--as-of", AS_OF]
    res = _cli(*args)
    assert res.exit_code == 2, res.output
    assert isinstance(res.exception, SystemExit)  # a message, not a crash
    assert "symlink" in res.stderr, res.stderr
    assert victim.read_text() == "keep"


# -- interrupted runs ---------------------------------------------------------------------
def _fake_dot(bindir: Path, body: str) -> None:
    bindir.mkdir(exist_ok=True)
    exe = bindir / "dot"
    exe.write_text(f"#!/bin/sh\n{body}\n")
    exe.chmod(0o755)


def test_killed_report_run_leaves_earlier_reports_intact(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _cli("report", str(VALID), "-o", str(out), "--as-of", AS_OF).exit_code == 1
    before = _snapshot(out)
    started = tmp_path / "dot-started"
    bindir = tmp_path / "bin"
    _fake_dot(bindir, f'touch "{started}"\nexec sleep 30')
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}
    # Another date than the earlier run: files it finished would differ from those.
    cmd = ["report", str(VALID), "-o", str(out), "--as-of", "2026-07-01"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "threatgraph", *cmd],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the fake dot is killed with it
    )
    try:
        deadline = time.monotonic() + 30
        while not started.exists():
            assert proc.poll() is None, "report ended before rendering"
            assert time.monotonic() < deadline, "the renderer never started"
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert _snapshot(out) == before
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


# -- broken renderers ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "body",
    [
        "head -c 300 /dev/urandom",
        "echo 'this is not an image'",
        "echo '<html><body>not svg</body></html>'",
        "printf '\\211PNG garbage'",
    ],
    ids=["random-bytes", "text", "not-svg-xml", "png-header-in-svg"],
)
def test_renderer_writing_garbage_only_costs_the_diagram(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str
) -> None:
    bindir = tmp_path / "bin"
    _fake_dot(bindir, body)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    out = tmp_path / "out"
    res = _cli("report", str(VALID), "-o", str(out), "--as-of", AS_OF, "--png")
    assert res.exit_code == 1, res.output  # the findings decide, as without a renderer
    assert isinstance(res.exception, SystemExit)
    assert res.stderr.count("warning: rendering failed") == 1, res.stderr
    files = {p.name for p in (out / "corpus").iterdir()}
    assert not files & {"diagram.svg", "diagram.png"}
    assert {"diagram.dot", "diagram.mmd", "report.html"} <= files


# -- the documented limits are the real ones ----------------------------------------------
def test_security_md_states_the_limits_in_force() -> None:
    from threatgraph.formats import render, sarif
    from threatgraph.model import schema
    from threatgraph.repo import codemap, evidence
    from threatgraph.util import yamlsafe

    text = (ROOT / "SECURITY.md").read_text("utf-8")
    rows = {
        "file size": f"{yamlsafe.MAX_BYTES // (1024 * 1024)} MiB",
        "nesting depth": f"{yamlsafe.MAX_DEPTH} levels",
        "alias expansion": f"{yamlsafe.MAX_NODES:,} nodes, {yamlsafe.MAX_CHARS:,} characters",
        "ids": f"{schema.MAX_ID} characters",
        "names": f"{schema.MAX_NAME} characters",
        "evidence items": f"{evidence.MAX_ITEM_LENGTH:,} characters, no NUL, at most "
        f"{evidence.MAX_DOUBLE_STARS} `**` segments, {evidence.MAX_GLOB_MATCHES:,} glob matches, "
        f"{evidence.MAX_GLOB_VISITS:,} entries looked at per glob",
        "code patterns": f"{codemap.MAX_PATTERN_LENGTH:,} characters, at most "
        f"{codemap.MAX_DOUBLE_STARS} `**` segments, {codemap.MAX_WALK_FILES:,} files and "
        "directories walked",
        "rendering": f"{render.DEFAULT_TIMEOUT:g} s per image",
        "SARIF": f"{sarif.MAX_RESULTS:,} results per run",
    }
    for name, value in rows.items():
        line = next((ln for ln in text.splitlines() if ln.startswith(f"| {name} |")), None)
        assert line is not None, name
        assert value in line, (name, value, line)


# -- terminal and CI logs -----------------------------------------------------------------
def test_text_output_cannot_style_the_terminal_or_start_a_ci_command(tmp_path: Path) -> None:
    payload = "Chat\x1b[2J\x1b]0;title\x07\n::error file=x::pwned\r\u2028::add-mask::y"
    model = tmp_path / "m.json"
    doc: dict[str, object] = {"threatgraph": 1, "model": {"name": "M"}}
    doc["elements"] = [
        {"id": "u", "name": "User", "kind": "actor"},
        {"id": "c", "name": payload, "kind": "llm"},
    ]
    doc["flows"] = [{"from": "u", "to": "c", "name": payload}]
    doc["decisions"] = [
        {
            "finding": "TG-SEC-008/c",
            "status": "accepted",
            "reason": payload,
            "owner": payload,
            "ticket": payload,
            "date": "2026-05-01",
            "expires": "2026-09-01",
        }
    ]
    model.write_text(json.dumps(doc))
    res = _cli("check", str(model), "--as-of", AS_OF)
    assert res.exit_code == 1, res.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"threatgraph: 1\nmodel: {{name: M}}\n{json.dumps(payload)}: 1\n")
    err = _cli("check", str(bad))
    assert err.exit_code == 2
    for out in (res.stdout, res.stderr, err.stderr):
        assert not any(ch in out for ch in "\x1b\x07\r\u2028")
        assert not any(line.startswith("::") for line in out.splitlines())
    assert "\\x1b[2J" in res.stdout and "\\x1b[2J" in err.stderr
