"""Hostile inputs beyond a single broken file: special files, unbounded walks, config paths.

- every input file is read through ``threatgraph.util.readfile`` (a source scan), only when it is a
  regular file, and never more than the limit (a FIFO never blocks a run, ``/dev/zero`` and a
  file whose size ``stat`` misstates are refused);
- evidence globs never enter a symlinked directory and stop at MAX_GLOB_VISITS entries with
  an error at the control's file:line; the code-pattern walk outside git counts directories;
- paths in the configuration stay inside the repository, paths on the command line are free.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from threatgraph.cli import cli
from threatgraph.repo import codemap, evidence
from threatgraph.util.errors import InputError
from threatgraph.util.readfile import read_head, read_input

ROOT = Path(__file__).resolve().parents[1]
VALID = ROOT / "tests" / "corpus" / "valid" / "model.yaml"
AS_OF = "2026-06-01"
UNIX = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs and /dev/zero are POSIX")


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The real entry point in a fresh process: a read that blocks fails by the timeout."""
    env = {**os.environ, "THREATGRAPH_NO_CACHE": "1"}
    env.pop("THREATGRAPH_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "threatgraph", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
        cwd=cwd,
    )


# -- every reader goes through readfile ---------------------------------------------------
READERS = {"read_text", "read_bytes", "open", "fdopen", "load"}


def test_no_input_is_read_outside_readfile() -> None:
    """Source scan: file reads happen in threatgraph/util/readfile.py only; writers are allowed."""
    offenders = []
    for path in sorted((ROOT / "src" / "threatgraph").rglob("*.py")):
        rel = path.relative_to(ROOT / "src").as_posix()
        if rel == "threatgraph/util/readfile.py":
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name not in READERS:
                continue
            owner = func.value if isinstance(func, ast.Attribute) else None
            if name in ("read_text", "read_bytes") and owner is None:
                continue  # yamlsafe.read_text, the wrapper of readfile.read_input
            if name == "load" and not (
                isinstance(owner, ast.Name) and owner.id in ("json", "tomllib", "yaml")
            ):
                continue
            if name == "open" and owner is not None:
                # Path.open() / Path.open("rb"); not os.open or a renderer's own open(depth, ..)
                first = node.args[0] if node.args else None
                if first is not None:
                    if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                        continue
                    if any(c in first.value for c in "wax"):
                        continue
            modes = [a.value for a in node.args[1:2] if isinstance(a, ast.Constant)]
            modes += [
                k.value.value
                for k in node.keywords
                if k.arg == "mode" and isinstance(k.value, ast.Constant)
            ]
            if name in ("open", "fdopen") and any("w" in str(m) for m in modes):
                continue  # writing an output
            if name == "open" and isinstance(owner, ast.Name) and owner.id == "webbrowser":
                continue
            offenders.append(f"{rel}:{node.lineno}: {ast.unparse(func)}")
    assert offenders == []


# -- special files and bounded reads ------------------------------------------------------
@UNIX
def test_a_fifo_named_on_the_command_line_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "model.yaml"
    os.mkfifo(fifo)
    proc = _run("check", str(fifo))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"error: {fifo}: not a regular file (a FIFO")


@UNIX
def test_a_directory_search_skips_fifos_and_device_links(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "model.yaml").write_bytes(VALID.read_bytes())
    os.mkfifo(models / "pipe.yaml")
    os.mkfifo(models / "pipe.py")
    (models / "zero.json").symlink_to("/dev/zero")
    proc = _run("check", str(models), "--as-of", AS_OF)
    assert proc.returncode == 1, proc.stderr  # the valid model's findings decide
    assert "error" not in proc.stderr


@UNIX
def test_a_fifo_config_found_upward_is_refused_without_blocking(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    os.mkfifo(tmp_path / ".threatgraph.toml")
    proc = _run("check", str(VALID), cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert f"{tmp_path / '.threatgraph.toml'}: not a regular file (a FIFO" in proc.stderr


@UNIX
def test_init_refuses_a_pyproject_that_is_a_device(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").symlink_to("/dev/zero")
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(cli, ["init"])
    assert res.exit_code == 2, res.output
    assert "not a regular file (a device)" in res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [".git", "pyproject.toml"]


def test_reads_are_bounded_by_bytes_read_not_by_stat(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"x" * 11)
    with pytest.raises(InputError, match="file is 11 bytes; the limit is 10"):
        read_input(big, 10)
    assert read_input(big, 11) == b"x" * 11
    proc = Path("/proc/self/status")  # stat says 0 bytes, reading gives more
    if proc.is_file() and proc.stat().st_size == 0:
        with pytest.raises(InputError, match="file is over 10 bytes; the limit is 10"):
            read_input(proc, 10)


@UNIX
def test_readers_refuse_special_files_and_heads_skip_them(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    zero = tmp_path / "zero"
    zero.symlink_to("/dev/zero")
    for path, kind in ((fifo, "a FIFO"), (zero, "a device"), (tmp_path, "a directory")):
        with pytest.raises(InputError, match=kind) as info:
            read_input(path)
        assert info.value.problems[0].line == 0
        assert read_head(path, 100) is None


# -- evidence globs -----------------------------------------------------------------------
def _repo_with_link_out(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "src").mkdir()
    (root / "src" / "guard.py").write_text("def test_x():\n    pass\n")
    (root / "vendor").mkdir()
    (root / "vendor" / "everything").symlink_to("/", target_is_directory=True)
    return root.resolve()


@UNIX
def test_evidence_globs_do_not_walk_or_probe_through_a_link_to_root(tmp_path: Path) -> None:
    root = _repo_with_link_out(tmp_path)
    start = time.monotonic()
    # a walk of the whole file system before; now the link is never entered
    assert evidence.check_item(root, "*/**/passwd") == "pattern '*/**/passwd' matches no file"
    assert evidence.check_item(root, "**/*.conf") == "pattern '**/*.conf' matches no file"
    # an existing and a missing file outside give the same answer (nothing is revealed)
    exists = evidence.check_item(root, "*/everything/etc/passwd")
    missing = evidence.check_item(root, "*/everything/etc/no-such-file")
    assert exists is not None and missing is not None
    assert exists.replace("passwd", "X") == missing.replace("no-such-file", "X")
    assert time.monotonic() - start < 10
    # in-repository globs still work
    assert evidence.check_item(root, "src/*.py") is None
    assert evidence.check_item(root, "**/guard.py") is None


def test_a_glob_that_looks_at_too_many_entries_is_an_error_at_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(evidence, "MAX_GLOB_VISITS", 50)
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    for i in range(60):
        (root / "docs" / f"d{i}").mkdir(parents=True)
    model = root / "model.yaml"
    model.write_text(
        "threatgraph: 1\nmodel: {name: M}\nelements:\n"
        "  - {id: u, name: U, kind: actor}\n"
        "  - id: c\n    name: C\n    kind: llm\n"
        "    controls: [{id: guardrail.input_filter, evidence: ['docs/**/x.md']}]\n"
    )
    res = CliRunner().invoke(cli, ["check", str(model), "--as-of", AS_OF])
    assert res.exit_code == 2, res.output
    assert res.stderr.startswith(f"error: {model}:8: [evidence] evidence pattern 'docs/**/x.md'")
    assert "looks at more than 50 files and directories" in res.stderr


def test_the_code_walk_outside_git_counts_directories_and_names_the_element(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(codemap, "MAX_WALK_FILES", 20)
    root = tmp_path / "proj"
    for i in range(30):
        (root / "empty" / f"d{i}").mkdir(parents=True)  # no files at all
    model = root / "model.yaml"
    model.write_text(
        "threatgraph: 1\nmodel: {name: M}\nelements:\n"
        "  - {id: u, name: U, kind: actor}\n"
        "  - {id: c, name: C, kind: app, code: [src]}\n"
    )
    res = CliRunner().invoke(cli, ["check", str(model), "--as-of", AS_OF])
    assert res.exit_code == 2, res.output
    assert res.stderr.startswith(f"error: {model}:5: [code] element c: more than 20 files")


# -- configuration paths ------------------------------------------------------------------
def test_command_line_paths_may_leave_the_repository(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / ".threatgraph.toml").write_text('output = "reports"\n')
    out = tmp_path / "elsewhere"
    res = CliRunner().invoke(
        cli,
        [
            "report",
            str(VALID),
            "--config",
            str(repo / ".threatgraph.toml"),
            "-o",
            str(out),
            "--no-render",
            "--format",
            "json",
            "--as-of",
            AS_OF,
        ],
    )
    assert res.exit_code == 1, res.output
    assert (out / "corpus" / "findings.json").is_file()


def test_configured_paths_may_climb_within_the_repository_and_use_inner_links(
    tmp_path: Path,
) -> None:
    from threatgraph.settings import load_settings

    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "shared" / "rules").mkdir(parents=True)
    (repo / "svc").mkdir()
    (repo / "svc" / "rules-link").symlink_to(repo / "shared" / "rules")
    cfg = repo / "svc" / ".threatgraph.toml"
    cfg.write_text(
        'rules = ["../shared/rules", "rules-link"]\noutput = "../reports"\n'
        'decisions = ["./d.yaml"]\n'
    )
    s = load_settings(cfg)
    assert s.rules == ["../shared/rules", "rules-link"]
    # outside git, the config file's directory is the repository
    (repo / ".git").rmdir()
    with pytest.raises(InputError) as info:
        load_settings(cfg)
    fields = sorted(p.field or "" for p in info.value.problems)
    assert fields == ["output", "rules", "rules"]
    assert {p.line for p in info.value.problems} == {1, 2}
