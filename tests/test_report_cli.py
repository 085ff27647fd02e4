"""`threatgraph report`: files, exit codes, determinism, atomic writes, renderer fallbacks."""

from __future__ import annotations

import os
import re
import shutil
import stat
from pathlib import Path

import pytest
from report_support import (
    AS_OF,
    ASSISTANT,
    HAVE_DOT,
    HAVE_RENDERER,
    HOSTILE,
    RULES,
    cli_run,
    report,
    snapshot,
)

from threatgraph.formats import render as render_mod
from threatgraph.util import writer as writer_mod

ALL = [
    "report.md",
    "report.html",
    "findings.json",
    "findings.sarif",
    "findings.csv",
    "diagram.dot",
    "diagram.mmd",
]

SAFE = """\
threatgraph: 1
model: {name: Safe, id: safe}
elements:
  - {kind: app, name: Batch job}
  - {kind: datastore, name: Store}
flows:
  - {from: batch-job, to: store, name: rows, protocol: https}
"""


@pytest.fixture
def no_renderer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setattr(render_mod, "SCRIPTS_DIR", empty)


def _fake_renderer(directory: Path, name: str, body: str) -> None:
    directory.mkdir(exist_ok=True)
    script = directory / name
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def _check_code(*paths: Path, extra: tuple[str, ...] = ()) -> int:
    code, _, _ = cli_run(
        "check", *map(str, paths), "--rules", str(RULES), "--as-of", AS_OF, "-q", *extra
    )
    return code


def test_writes_every_format_per_model_and_exits_like_check(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, stdout, stderr = report(out, ASSISTANT, HOSTILE)
    assert code == _check_code(ASSISTANT, HOSTILE) == 1
    for model in ("support-assistant", "hostile"):
        names = {p.name for p in (out / model).iterdir()}
        assert set(ALL) <= names
        assert ("diagram.svg" in names) == HAVE_RENDERER
        assert f"wrote {(out / model).as_posix()}/: report.md, report.html" in stdout
    assert (out / "index.md").is_file() and (out / "index.html").is_file()
    assert "FAIL:" in stdout and "Traceback" not in stderr
    assert not list(out.rglob("*.tmp"))


def test_clean_model_exits_0_and_has_no_index(tmp_path: Path) -> None:
    model = tmp_path / "safe.yaml"
    model.write_text(SAFE)
    out = tmp_path / "out"
    code, stdout, _ = report(out, model, extra=("--fail-on", "critical"))
    assert code == _check_code(model, extra=("--fail-on", "critical")) == 0
    assert "PASS:" in stdout
    assert not (out / "index.md").exists() and (out / "safe" / "report.md").is_file()


def test_bad_input_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("threatgraph: 1\nmodel: {name: Bad}\nelements:\n  - {kind: robot, name: R}\n")
    out = tmp_path / "out"
    code, _, stderr = report(out, bad)
    assert code == 2 and "error:" in stderr and "bad.yaml:4" in stderr
    assert not out.exists()
    code, _, stderr = report(out, ASSISTANT, extra=("--format", "pdf"))
    assert code == 2 and "unknown format 'pdf'" in stderr and not out.exists()


def test_format_subset_repeatable_and_comma_separated(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, _, _ = report(out, ASSISTANT, extra=("--format", "md,json", "--format", "SARIF"))
    assert code == 1
    assert sorted(p.name for p in (out / "support-assistant").iterdir()) == [
        "findings.json",
        "findings.sarif",
        "report.md",
    ]


@pytest.mark.parametrize("png", [False, True])
def test_two_runs_are_byte_identical(tmp_path: Path, png: bool) -> None:
    if png and not HAVE_RENDERER:
        pytest.skip("no Graphviz renderer is installed")
    extra = ("--png",) if png else ()
    a, b = tmp_path / "a", tmp_path / "b"
    assert report(a, ASSISTANT, HOSTILE, extra=extra)[0] == 1
    assert report(b, ASSISTANT, HOSTILE, extra=extra)[0] == 1
    sa, sb = snapshot(a), snapshot(b)
    assert sa.keys() == sb.keys() and len(sa) >= 16
    for name in sa:
        assert sa[name] == sb[name], name
    if png:
        assert "support-assistant/diagram.png" in sa


def test_render_failure_mid_way_leaves_previous_files_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    assert report(out, ASSISTANT, HOSTILE)[0] == 1
    before = snapshot(out)
    from threatgraph.formats import csvout

    calls = []

    def explode(view):  # type: ignore[no-untyped-def]
        calls.append(view.model_id)
        if len(calls) == 2:  # the second model: the first one's files are rendered already
            raise RuntimeError("boom")
        return "changed\r\n"

    monkeypatch.setattr(csvout, "render_csv", explode)
    with pytest.raises(RuntimeError, match="boom"):
        cli_run_raising(out)
    assert snapshot(out) == before
    assert not list(out.rglob("*.tmp"))


def cli_run_raising(out: Path) -> None:
    from click.testing import CliRunner

    from threatgraph.cli import cli

    args = ["report", str(ASSISTANT), str(HOSTILE), "-o", str(out), "--rules", str(RULES)]
    res = CliRunner().invoke(cli, [*args, "--as-of", AS_OF])
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception


@pytest.mark.parametrize("failure", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_write_failure_mid_way_leaves_previous_files_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: BaseException
) -> None:
    out = tmp_path / "out"
    assert report(out, ASSISTANT, HOSTILE)[0] == 1
    before = snapshot(out)
    real_fsync = os.fsync
    count = []

    def flaky_fsync(fd: int) -> None:
        count.append(fd)
        if len(count) == 9:  # the ninth staged file: the first model's are all staged
            raise failure
        real_fsync(fd)

    monkeypatch.setattr(writer_mod.os, "fsync", flaky_fsync)
    if isinstance(failure, OSError):
        code, _, stderr = report(out, ASSISTANT, HOSTILE, extra=("--as-of", "2026-06-02"))
        assert code == 2, stderr
        # The file that could not be written, by its own name (not a temporary one).
        last = stderr.rstrip().splitlines()[-1]
        assert re.fullmatch(
            rf"error: {re.escape(str(out))}/[a-z-]+/[a-z.]+: No space left on device", last
        ), stderr
        assert "Traceback" not in stderr
    else:  # Ctrl-C: exit code 130, never 1 (a failed gate)
        from click.testing import CliRunner

        from threatgraph.cli import cli

        args = ["report", str(ASSISTANT), str(HOSTILE), "-o", str(out), "--rules", str(RULES)]
        res = CliRunner().invoke(cli, [*args, "--as-of", AS_OF])
        assert res.exit_code == 130 and "interrupted" in res.stderr, res.output
    assert len(count) == 9
    assert snapshot(out) == before
    assert not list(out.rglob("*.tmp"))
    assert [p.name for p in out.rglob(".*")] == [".threatgraph-report.json"]


def test_no_renderer_still_succeeds_and_says_what_it_skipped(
    tmp_path: Path, no_renderer: None
) -> None:
    out = tmp_path / "out"
    code, _, stderr = report(out, ASSISTANT, HOSTILE)
    assert code == 1  # the verdict, as with a renderer
    warnings = [ln for ln in stderr.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 1
    assert "no Graphviz renderer found" in warnings[0]
    assert "skipped diagram.svg for 2 models" in warnings[0]
    assert "wrote diagram.dot and diagram.mmd instead" in warnings[0]
    for model in ("support-assistant", "hostile"):
        names = {p.name for p in (out / model).iterdir()}
        assert set(ALL) <= names and "diagram.svg" not in names
        html = (out / model / "report.html").read_text()
        assert 'id="tg-no-svg"' in html and "<pre>digraph dfd {" in html


def test_no_renderer_and_only_images_asked_keeps_the_sources(
    tmp_path: Path, no_renderer: None
) -> None:
    out = tmp_path / "out"
    code, _, stderr = report(out, ASSISTANT, extra=("--format", "svg", "--png"))
    assert code == 1 and stderr.count("warning:") == 1
    assert "skipped diagram.svg, diagram.png for 1 model" in stderr
    assert sorted(p.name for p in (out / "support-assistant").iterdir()) == [
        "diagram.dot",
        "diagram.mmd",
    ]


@pytest.mark.skipif(not HAVE_DOT, reason="Graphviz dot is not installed")
def test_graphviz_pure_is_used_when_dot_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_dot = shutil.which("dot")
    bindir = tmp_path / "bin"
    _fake_renderer(bindir, "graphviz-pure", f'exec "{real_dot}" "$@"')
    monkeypatch.setenv("PATH", str(bindir))
    monkeypatch.setattr(render_mod, "SCRIPTS_DIR", tmp_path / "none")
    assert render_mod.find_renderer() == render_mod.Renderer(
        str(bindir / "graphviz-pure"), "graphviz-pure"
    )
    out = tmp_path / "out"
    code, _, stderr = report(out, ASSISTANT, extra=("--format", "svg"))
    assert code == 1 and "warning" not in stderr
    assert (out / "support-assistant" / "diagram.svg").read_text().lstrip().startswith("<?xml")


def test_graphviz_pure_beside_the_interpreter_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    _fake_renderer(tmp_path / "venv-bin", "graphviz-pure", "exit 0")
    monkeypatch.setattr(render_mod, "SCRIPTS_DIR", tmp_path / "venv-bin")
    found = render_mod.find_renderer()
    assert found is not None and found.name == "graphviz-pure"


def test_failing_renderer_warns_once_and_keeps_the_exit_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bindir = tmp_path / "bin"
    _fake_renderer(bindir, "dot", 'echo "Error: syntax error in line 1" >&2; exit 1')
    monkeypatch.setenv("PATH", str(bindir))
    out = tmp_path / "out"
    code, _, stderr = report(out, ASSISTANT, HOSTILE)
    assert code == 1
    warnings = [ln for ln in stderr.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 1
    assert "rendering failed: support-assistant: dot failed: Error: syntax error" in warnings[0]
    assert (out / "hostile" / "diagram.dot").is_file()
    assert not (out / "hostile" / "diagram.svg").exists()


def test_slow_renderer_times_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bindir = tmp_path / "bin"
    _fake_renderer(bindir, "dot", f'exec "{shutil.which("sleep")}" 20')
    monkeypatch.setenv("PATH", str(bindir))
    out = tmp_path / "out"
    code, _, stderr = report(out, ASSISTANT, extra=("--render-timeout", "1"))
    assert code == 1
    assert "dot took longer than 1s" in stderr
    assert (out / "support-assistant" / "diagram.dot").is_file()


def test_refuses_to_write_through_a_symlinked_model_dir(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "support-assistant").symlink_to(elsewhere)
    code, _, stderr = report(out, ASSISTANT)
    assert code == 2 and "symlink" in stderr
    assert not list(elsewhere.iterdir())


def test_models_with_the_same_id_get_distinct_dirs(tmp_path: Path) -> None:
    a = tmp_path / "a.yaml"
    b = tmp_path / "b.yaml"
    a.write_text(SAFE)
    b.write_text(
        SAFE.replace("name: Batch job", "name: Other job").replace("batch-job", "other-job")
    )
    out = tmp_path / "out"
    code, _, _ = report(out, a, b, extra=("--format", "json"))
    assert code in (0, 1)
    dirs = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert len(dirs) == 2 and all((out / d / "findings.json").is_file() for d in dirs)
    index = (out / "index.md").read_text()
    assert all(f"{d}/findings.json" in index for d in dirs)


def test_model_dirs_are_unique_and_safe() -> None:
    from threatgraph.formats.reportset import model_dirs

    assert model_dirs(["a", "a", "b", "a"]) == ["a", "a-2", "b", "a-3"]
    assert model_dirs(["../x", "Bad Id"]) == ["x", "bad-id"]


def test_written_files_are_not_private(tmp_path: Path) -> None:
    out = tmp_path / "out"
    report(out, ASSISTANT, extra=("--format", "md"))
    mode = (out / "support-assistant" / "report.md").stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask


def test_identical_across_processes_with_different_hash_seeds(tmp_path: Path) -> None:
    import subprocess
    import sys

    outs = []
    for seed in ("1", "2"):
        out = tmp_path / f"seed{seed}"
        args = [str(ASSISTANT), str(HOSTILE), "-o", str(out), "--rules", str(RULES)]
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                "from threatgraph.cli import main; main()",
                "report",
                *args,
                "--as-of",
                AS_OF,
            ],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            timeout=300,
            check=False,
        )
        assert proc.returncode == 1, proc.stderr.decode()
        outs.append(snapshot(out))
    assert outs[0] == outs[1]


def test_config_output_dir_is_relative_to_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from threatgraph.cli import cli

    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "models" / "m.yaml").write_text(
        "threatgraph: 1\nmodel: {name: Tiny}\nelements:\n  - {kind: app, name: App}\n"
    )
    (project / ".threatgraph.toml").write_text(
        'models = ["models"]\noutput = "reports"\nformats = ["json"]\n'
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    res = CliRunner().invoke(cli, ["report", "--config", str(project / ".threatgraph.toml")])
    assert res.exit_code == 0, res.output
    assert (project / "reports" / "tiny" / "findings.json").is_file()
    assert not (elsewhere / "reports").exists()


def test_no_render_never_runs_graphviz_and_says_so_in_the_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("--no-render looked for a Graphviz renderer")

    monkeypatch.setattr(render_mod, "find_renderer", refuse)
    out = tmp_path / "out"
    code, _, stderr = report(out, ASSISTANT, extra=("--no-render",))
    assert code == _check_code(ASSISTANT)
    names = {p.name for p in (out / "support-assistant").iterdir()}
    assert set(ALL) <= names and not names & {"diagram.svg", "diagram.png"}
    page = (out / "support-assistant" / "report.html").read_text()
    assert "rendering turned off with --no-render" in page
    assert "run the report without --no-render" in page and "install Graphviz" not in page
    assert "digraph" in page  # the DOT source stands in for the drawing
    assert "warning" not in stderr  # turning rendering off is not a problem to warn about


@pytest.mark.parametrize("extra", [("--format", "svg"), ("--format", "html,png"), ("--png",)])
def test_no_render_refuses_images_it_cannot_make(tmp_path: Path, extra: tuple[str, ...]) -> None:
    out = tmp_path / "out"
    code, _, stderr = report(out, ASSISTANT, extra=("--no-render", *extra))
    assert code == 2 and "--no-render cannot write" in stderr
    assert not out.exists()


def test_render_reports_without_rendering_rejects_images() -> None:
    from report_support import analyse

    from threatgraph.formats.reportset import render_reports

    with pytest.raises(ValueError, match="render=False"):
        render_reports(analyse(ASSISTANT), Path("/x"), ["html", "svg"], render=False)
