"""Signals sent to a real `threatgraph report` process.

Each run is the CLI's own entry point (``threatgraph.cli.main``) in a fresh process, on a
generated model big enough to have many files. To make the signal land in a known phase,
the process is started through a small wrapper that slows that phase down and says when it
has begun (a marker file); nothing else is changed.

What must hold after SIGINT or SIGTERM: exit code 130 or 143 (never 1, a failed gate, nor
0), no process left behind (a caller reading stdout to EOF returns), no temporary file, and
the earlier reports exactly as they were. After SIGKILL, which nothing can clean up after,
the next run in that directory removes what was left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from report_support import snapshot

from threatgraph.util.writer import STAGE_NAME

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

ROOT = Path(__file__).resolve().parents[1]

#: Runs the CLI with one phase slowed down; TG_TEST_MARKER is created when it begins.
WRAPPER = """
import os, sys, time
from pathlib import Path
marker, phase = Path(os.environ["TG_TEST_MARKER"]), os.environ["TG_TEST_PHASE"]
if phase == "render":
    from threatgraph.formats import reportset
    real_diagrams = reportset._diagrams
    def slow_diagrams(*a, **k):
        marker.touch()
        time.sleep(60)
        return real_diagrams(*a, **k)
    reportset._diagrams = slow_diagrams
else:
    from threatgraph.util import writer
    real_write = writer._Stage._write
    def slow_write(*a, **k):
        real_write(*a, **k)
        marker.touch()
        time.sleep(0.5)
    writer._Stage._write = staticmethod(slow_write)
from threatgraph.cli import main
sys.argv[0] = "threatgraph"
main()
"""


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated model of 300 elements (about 50 report files)."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import generate
    finally:
        sys.path.remove(str(ROOT / "bench"))
    path = tmp_path_factory.mktemp("estate") / "estate.json"
    path.write_text(json.dumps(generate.estate(300, 1)))
    return path


def _args(model: Path, out: Path, as_of: str) -> list[str]:
    return ["report", str(model), "-o", str(out), "--no-render", "--as-of", as_of]


def _earlier_report(model: Path, out: Path) -> dict[str, bytes]:
    res = subprocess.run(
        [sys.executable, "-m", "threatgraph", *_args(model, out, "2026-06-01")],
        capture_output=True,
        check=False,
    )
    assert res.returncode == 1, res.stderr
    return snapshot(out)


def _start(model: Path, out: Path, phase: str, marker: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TG_TEST_MARKER": str(marker), "TG_TEST_PHASE": phase}
    return subprocess.Popen(
        [sys.executable, "-c", WRAPPER, *_args(model, out, "2026-07-01")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: what is left of it can be seen
    )


def _wait_for(marker: Path, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()[1].decode()
        assert time.monotonic() < deadline, "the phase never began"
        time.sleep(0.01)


def _group_is_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize("phase", ["render", "stage"])
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_an_interrupted_report_exits_with_the_signals_code_and_changes_nothing(
    tmp_path: Path, estate: Path, phase: str, sig: int, code: int
) -> None:
    out = tmp_path / "out"
    before = _earlier_report(estate, out)
    marker = tmp_path / "began"
    proc = _start(estate, out, phase, marker)
    try:
        _wait_for(marker, proc)
        if phase == "stage":
            assert [p for p in out.iterdir() if STAGE_NAME.fullmatch(p.name)]
        proc.send_signal(sig)
        # Reading stdout to EOF returns: no process of the run holds it open any more.
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == code, stderr.decode()
    assert stderr.decode().splitlines()[-1] == ("terminated" if code == 143 else "interrupted")
    assert b"Traceback" not in stderr and b"wrote" not in stdout
    assert _group_is_gone(proc.pid)
    assert snapshot(out) == before
    assert not [p for p in out.rglob("*") if STAGE_NAME.fullmatch(p.name)]


def test_what_a_killed_run_leaves_is_removed_by_the_next_run(tmp_path: Path, estate: Path) -> None:
    out = tmp_path / "out"
    before = _earlier_report(estate, out)
    marker = tmp_path / "began"
    proc = _start(estate, out, "stage", marker)
    try:
        _wait_for(marker, proc)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
    left = [p for p in out.iterdir() if STAGE_NAME.fullmatch(p.name)]
    assert len(left) == 1 and any(left[0].rglob("*"))  # recognisable by its name
    assert snapshot(out) == {**before, **{k: v for k, v in snapshot(out).items() if ".tmp" in k}}
    res = subprocess.run(
        [sys.executable, "-m", "threatgraph", *_args(estate, out, "2026-07-01")],
        capture_output=True,
        check=False,
    )
    assert res.returncode == 1, res.stderr
    assert not [p for p in out.rglob("*") if STAGE_NAME.fullmatch(p.name)]
    after = snapshot(out)
    assert after.keys() == before.keys() and after != before  # the new date, the same files
