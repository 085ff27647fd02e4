"""Large report sets render on two processes (a forked worker takes some formats).

Whatever the split, the files must be byte-identical to a one-process run, and the set is
still written all-or-nothing: a failure on either side leaves no file and no temporary
file behind.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from report_support import ASSISTANT, HOSTILE, analyse, snapshot

from threatgraph.formats import reportset
from threatgraph.formats.base import get_format

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the forked worker runs on Linux only"
)

FORMATS = ["markdown", "html", "json", "sarif", "csv", "dot", "mermaid"]


@pytest.fixture
def parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Split even small runs, and never let the environment turn the worker off."""
    monkeypatch.setattr(reportset, "PARALLEL_MIN_FINDINGS", 0)
    monkeypatch.delenv("THREATGRAPH_JOBS", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 2)


def _forks(monkeypatch: pytest.MonkeyPatch) -> list[frozenset[str]]:
    """Record each worker started (the formats it was given)."""
    started: list[frozenset[str]] = []
    real = reportset._Worker.__init__

    def spy(self: reportset._Worker, prepared: list, names: frozenset[str]) -> None:  # type: ignore[type-arg]
        started.append(names)
        real(self, prepared, names)

    monkeypatch.setattr(reportset._Worker, "__init__", spy)
    return started


@pytest.mark.usefixtures("parallel")
def test_two_processes_write_the_same_bytes_as_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = _forks(monkeypatch)
    run = analyse(ASSISTANT, HOSTILE)
    both = reportset.build_reports(run, tmp_path / "two", FORMATS)
    assert started == [frozenset({"markdown", "mermaid", "sarif"})]
    monkeypatch.setenv("THREATGRAPH_JOBS", "1")
    one = reportset.build_reports(run, tmp_path / "one", FORMATS)
    assert len(started) == 1  # THREATGRAPH_JOBS=1: no second worker
    assert snapshot(tmp_path / "two") == snapshot(tmp_path / "one")
    # The same files are reported written, in the same order (the order of the formats).
    assert [(p.name, names) for p, names in both] == [(p.name, names) for p, names in one]
    assert "index.md" in snapshot(tmp_path / "two")


@pytest.mark.usefixtures("parallel")
def test_small_runs_and_worker_only_sets_stay_in_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = _forks(monkeypatch)
    run = analyse(ASSISTANT)
    reportset.build_reports(run, tmp_path / "a", ["markdown", "sarif"])  # nothing left here
    reportset.build_reports(run, tmp_path / "b", ["html", "json"])  # nothing for a worker
    monkeypatch.setattr(reportset, "PARALLEL_MIN_FINDINGS", 10**9)
    reportset.build_reports(run, tmp_path / "c", FORMATS)  # too small to be worth a fork
    assert started == []
    # render_reports (in memory, nothing written) never forks.
    monkeypatch.setattr(reportset, "PARALLEL_MIN_FINDINGS", 0)
    reportset.render_reports(run, tmp_path / "d", FORMATS)
    assert started == []


@pytest.mark.usefixtures("parallel")
def test_a_failing_worker_leaves_nothing_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fmt = get_format("sarif")  # rendered by the worker

    def broken(inp: object) -> dict[str, str | bytes]:
        raise RuntimeError("sarif exploded")

    monkeypatch.setattr(fmt, "render", broken)  # the fork inherits the patch
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="sarif exploded"):
        reportset.build_reports(analyse(ASSISTANT), out, FORMATS)
    assert not [p for p in out.rglob("*") if p.is_file()]


@pytest.mark.usefixtures("parallel")
def test_a_failing_main_process_removes_what_the_worker_staged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fmt = get_format("html")  # rendered here, while the worker stages Markdown and SARIF

    def broken(inp: object) -> dict[str, str | bytes]:
        raise RuntimeError("html exploded")

    monkeypatch.setattr(fmt, "render", broken)
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="html exploded"):
        reportset.build_reports(analyse(ASSISTANT), out, FORMATS)
    assert not [p for p in out.rglob("*") if p.is_file()]  # no report, no .tmp left over


@pytest.mark.usefixtures("parallel")
def test_a_failed_write_removes_the_workers_staged_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    model_dir = out / "support-assistant"
    model_dir.mkdir(parents=True)
    (tmp_path / "elsewhere").write_text("x")
    # A symlink where this process writes findings.json: staging refuses it, after the
    # worker has already staged its own files beside their targets.
    (model_dir / "findings.json").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(OSError, match="symlink"):
        reportset.build_reports(analyse(ASSISTANT), out, FORMATS)
    assert sorted(p.name for p in model_dir.iterdir()) == ["findings.json"]
    assert (tmp_path / "elsewhere").read_text() == "x"


@pytest.mark.usefixtures("parallel")
def test_a_failure_after_both_sides_staged_leaves_nothing_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both processes have staged their files when the index of the set is written.
    import threatgraph.formats.markdown as markdown

    def broken(*args: object) -> str:
        raise RuntimeError("index exploded")

    monkeypatch.setattr(markdown, "render_index", broken)
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="index exploded"):
        reportset.build_reports(analyse(ASSISTANT, HOSTILE), out, FORMATS)
    assert not [p for p in out.rglob("*") if p.is_file()]  # no report, no .tmp left over
