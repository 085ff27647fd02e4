"""How threatgraph writes its outputs (formats/writer.py), against hostile targets and failures.

- special files (character devices, FIFOs) are written through, never replaced; sockets,
  block devices and directories are refused;
- a failed write (a full disk) names the file, exits 2 and changes nothing, for every writer;
- sets of files (report, sra, testplan, coverage) are written all or nothing;
- a report directory holds exactly the files of its last run;
- staging directories left by killed runs are removed by the next run, live ones are not.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from unittest import mock

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from report_support import ASSISTANT, HOSTILE, RULES, snapshot

from threatgraph.cli import cli
from threatgraph.formats.reportset import MANIFEST, model_dirs
from threatgraph.util import writer

ROOT = Path(__file__).resolve().parents[1]
VALID = ROOT / "tests" / "corpus" / "valid" / "model.yaml"
AS_OF = "2026-06-01"
OTM = {
    "otmVersion": "0.2.0",
    "project": {"name": "P", "id": "p"},
    "trustZones": [{"id": "tz", "name": "Z", "risk": {"trustRating": 10}}],
    "components": [{"id": "c", "name": "C", "type": "web-service", "parent": {"trustZone": "tz"}}],
}


def _cli(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def _stages(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if writer.STAGE_NAME.fullmatch(p.name)]


def _single_file_args(tmp_path: Path, command: str, target: Path) -> list[str]:
    """A command writing one file to ``target`` (every single-file output there is)."""
    if command == "import":
        otm = tmp_path / "m.otm.json"
        otm.write_text(json.dumps(OTM))
        return ["import", "otm", str(otm), "-o", str(target)]
    if command == "export":
        return ["export", "otm", str(VALID), "-o", str(target), "--as-of", AS_OF]
    if command == "coverage":
        return ["coverage", str(VALID), "-o", str(target), "--as-of", AS_OF]
    if command == "baseline":
        return ["baseline", str(VALID), "-o", str(target), "--as-of", AS_OF]
    return ["check", str(VALID), "--format", "json", "-o", str(target), "--as-of", AS_OF]


SINGLE = ["check", "baseline", "import", "export", "coverage"]


# -- special files ----------------------------------------------------------------------------
def test_a_character_device_is_written_through_not_replaced() -> None:
    before = os.stat("/dev/null")
    writer.write_atomic(Path("/dev/null"), "x" * 100_000)
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
    assert (after.st_ino, after.st_dev) == (before.st_ino, before.st_dev)
    assert not _stages(Path("/dev"))


@pytest.mark.parametrize("command", [*SINGLE, "diff", "review"])
def test_every_single_file_output_writes_through_dev_null(tmp_path: Path, command: str) -> None:
    """As root (CI containers) a rename would have replaced /dev/null with a file."""
    if command in ("diff", "review"):
        if shutil.which("git") is None:
            pytest.skip("git is not installed")
        from workflow_util import commit_all, git_init

        repo = tmp_path / "repo"
        git_init(repo)
        shutil.copy(VALID, repo / "model.yaml")
        (repo / ".threatgraph.toml").write_text('models = ["model.yaml"]\n')
        commit_all(repo, "model")
        cwd = os.getcwd()
        os.chdir(repo)
        try:
            extra = ["main"] if command == "diff" else ["--base", "main"]
            res = _cli(command, *extra, "--as-of", AS_OF, "-o", "/dev/null")
        finally:
            os.chdir(cwd)
    else:
        res = _cli(*_single_file_args(tmp_path, command, Path("/dev/null")))
    assert res.exit_code in (0, 1), res.output
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_fifo_is_written_through(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    res = _cli(*_single_file_args(tmp_path, "check", fifo))
    reader.join(timeout=30)
    assert res.exit_code == 1, res.output
    assert json.loads(got[0])["summary"]["total"] > 0
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


@pytest.mark.parametrize("command", SINGLE)
def test_a_socket_is_refused_not_replaced(tmp_path: Path, command: str) -> None:
    path = tmp_path / "sock"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        res = _cli(*_single_file_args(tmp_path, command, path))
        assert res.exit_code == 2, res.output
        assert isinstance(res.exception, SystemExit)
        assert f"error: {path}: refusing to replace a file that is not a regular file" in (
            res.stderr
        )
        assert stat.S_ISSOCK(os.lstat(path).st_mode)
    assert not _stages(tmp_path)


def test_a_block_device_is_refused_before_anything_is_opened(tmp_path: Path) -> None:
    # A block device, as lstat would show one (opening a real disk in a test is no option).
    target = tmp_path / "disk"
    real_lstat = os.lstat
    fake = os.stat_result((stat.S_IFBLK | 0o660, 1, 1, 1, 0, 0, 0, 0, 0, 0))

    def lstat(p: object, *a: object, **k: object) -> os.stat_result:
        return fake if Path(str(p)) == target else real_lstat(p, *a, **k)  # type: ignore[arg-type]

    with (
        mock.patch.object(writer.os, "lstat", lstat),
        mock.patch.object(writer.os, "open", side_effect=AssertionError("opened")),
        pytest.raises(OSError, match="not a regular file") as err,
    ):
        writer.write_atomic(target, "data")
    assert err.value.filename == str(target)


def test_a_directory_target_is_refused(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    with pytest.raises(IsADirectoryError) as err:
        writer.write_atomic(tmp_path / "d", "x")
    assert err.value.filename == str(tmp_path / "d")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


# -- modes ------------------------------------------------------------------------------------
def test_modes_are_computed_not_taken_from_a_toggled_umask(tmp_path: Path) -> None:
    umask = os.umask(0o027)  # the test sets one; threatgraph must never change it
    try:
        with mock.patch.object(writer.os, "umask", side_effect=AssertionError("umask changed")):
            writer.write_atomic(tmp_path / "new.txt", "a")
            kept = tmp_path / "kept.txt"
            kept.write_text("old")
            kept.chmod(0o604)
            writer.write_atomic(kept, "new")
        assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o640
        assert stat.S_IMODE(kept.stat().st_mode) == 0o604 and kept.read_text() == "new"
    finally:
        os.umask(umask)


def test_one_writer_and_no_umask_in_the_source() -> None:
    """Every output goes through util/writer.py: no second way to write atomically."""
    src = ROOT / "src" / "threatgraph"
    own = src / "util" / "writer.py"
    # Files written into private temporary directories (git's blobs, a base revision's
    # decisions), never a user's output.
    private = {src / "repo" / "gitrev.py", src / "features" / "revision.py"}
    pattern = re.compile(
        r"os\.umask|os\.replace\(|os\.rename\(|mkstemp|NamedTemporaryFile|\.write_(text|bytes)\("
        r"|open\([^)]*['\"][wax]b?['\"]"
    )
    offenders = []
    for path in sorted(src.rglob("*.py")):
        if path == own:
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            hit = pattern.search(line)
            if hit and not (path in private and hit.group().startswith(".write_bytes")):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert offenders == []


# -- write errors name the file ---------------------------------------------------------------
def _full_disk_after(n: int) -> mock._patch[object]:
    """write_text raising ENOSPC from its n-th call on (the n-th file staged)."""
    real = writer.write_text
    calls = [0]

    def write_text(fh: object, data: str | bytes) -> None:
        calls[0] += 1
        if calls[0] >= n:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fh, data)  # type: ignore[arg-type]

    return mock.patch.object(writer, "write_text", write_text)


def _set_args(tmp_path: Path, command: str, out: Path) -> list[str]:
    other = tmp_path / "other.yaml"
    other.write_text(VALID.read_text().replace("id: corpus", "id: other"))
    models = [str(VALID), str(other)]
    if command == "report":
        return ["report", *models, "-o", str(out), "--as-of", AS_OF, "--no-render"]
    if command == "sra":
        return ["sra", *models, "-o", str(out), "--as-of", AS_OF]
    return ["testplan", *models, "-o", str(out), "--pytest", "--as-of", AS_OF]


@pytest.mark.parametrize("command", SINGLE)
def test_disk_full_on_a_single_file_names_it_and_keeps_the_old_one(
    tmp_path: Path, command: str
) -> None:
    target = tmp_path / "out" / "result.txt"
    target.parent.mkdir()
    target.write_text("earlier")
    with _full_disk_after(1):
        res = _cli(*_single_file_args(tmp_path, command, target))
    assert res.exit_code == 2, res.output
    assert res.stderr.splitlines()[-1] == f"error: {target}: No space left on device"
    assert "Traceback" not in res.output and isinstance(res.exception, SystemExit)
    assert target.read_text() == "earlier"
    assert sorted(p.name for p in target.parent.iterdir()) == ["result.txt"]


@pytest.mark.parametrize("command", ["report", "sra", "testplan"])
@pytest.mark.parametrize("nth", [1, 2])
def test_disk_full_in_a_set_names_the_file_and_writes_none(
    tmp_path: Path, command: str, nth: int
) -> None:
    out = tmp_path / "out"
    assert _cli(*_set_args(tmp_path, command, out)).exit_code in (0, 1)
    (out / "mine.txt").write_text("a file of the user's")
    before = snapshot(out)
    with _full_disk_after(nth):
        res = _cli(*_set_args(tmp_path, command, out), "--as-of", "2026-07-01")
    assert res.exit_code == 2, res.output
    last = res.stderr.splitlines()[-1]
    assert re.fullmatch(rf"error: {re.escape(str(out))}/\S+: No space left on device", last), last
    assert "Traceback" not in res.output
    assert snapshot(out) == before
    assert not _stages(out)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
@pytest.mark.parametrize("command", ["check", "baseline", "export"])
def test_dev_full(tmp_path: Path, command: str) -> None:
    res = _cli(*_single_file_args(tmp_path, command, Path("/dev/full")))
    assert res.exit_code == 2, res.output
    assert res.stderr.splitlines()[-1] == "error: /dev/full: No space left on device"
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
@pytest.mark.parametrize(
    "args",
    [
        ["check", str(VALID), "--as-of", AS_OF],
        ["check", str(VALID), "--as-of", AS_OF, "--format", "json"],
        ["schema"],
        ["threats", "list"],
        ["export", "graphml", str(VALID)],
        ["--help"],
        ["--version"],
    ],
    ids=lambda a: "-".join(x for x in a if x.startswith("-") or "/" not in x)[:40],
)
def test_stdout_on_a_full_device_is_a_clean_error(args: list[str]) -> None:
    # A real process with stdout on /dev/full (not -o): exit 2, one line, no traceback.
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "threatgraph", *args],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == "error: standard output: No space left on device\n"


def test_an_unwritable_directory_is_named(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        res = _cli(*_single_file_args(tmp_path, "check", locked / "out.json"))
    finally:
        locked.chmod(0o700)
    assert res.exit_code == 2
    assert res.stderr.splitlines()[-1] == f"error: {locked}: Permission denied"


# -- sets of files ----------------------------------------------------------------------------
def test_testplan_writes_its_files_together_and_keeps_existing_tests(tmp_path: Path) -> None:
    out = tmp_path / "plan"
    with _full_disk_after(2):
        res = _cli(*_set_args(tmp_path, "testplan", out))
    assert res.exit_code == 2
    assert not out.exists() or not [p for p in out.rglob("*") if p.is_file()]
    assert not out.exists() or not _stages(out)
    res = _cli(*_set_args(tmp_path, "testplan", out))
    assert res.exit_code == 0, res.output
    tests = sorted(out.glob("test_*.py"))
    assert len(tests) >= 2 and (out / "testplan.md").is_file()
    tests[0].write_text("# my filled-in test\n")
    res = _cli(*_set_args(tmp_path, "testplan", out))
    assert f"kept {tests[0]} (exists)" in res.stderr
    assert tests[0].read_text() == "# my filled-in test\n"


def test_coverage_and_its_navigator_layer_are_written_together(tmp_path: Path) -> None:
    report, layer = tmp_path / "coverage.md", tmp_path / "layer.json"
    args = ["coverage", str(VALID), "-o", str(report), "--navigator", str(layer)]
    with _full_disk_after(2):
        assert _cli(*args).exit_code == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    assert _cli(*args).exit_code == 0
    assert report.is_file() and layer.is_file()


def _report(out: Path, *models: Path, as_of: str = AS_OF) -> Result:
    return _cli(
        "report", *map(str, models), "-o", str(out), "--rules", str(RULES), "--as-of", as_of
    )


def test_a_failed_commit_puts_back_the_models_already_replaced(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _report(out, ASSISTANT, HOSTILE).exit_code == 1
    before = snapshot(out)
    real = os.rename
    moved: list[str] = []

    def rename(src: object, dst: object) -> None:
        # The second model directory moved into place: the first one is already there.
        if Path(str(dst)).parent == out and Path(str(src)).parent != out:
            moved.append(Path(str(dst)).name)
            if len(moved) == 2:
                raise OSError(errno.EIO, os.strerror(errno.EIO))
        real(src, dst)  # type: ignore[arg-type]

    with mock.patch.object(writer.os, "rename", rename):
        res = _report(out, ASSISTANT, HOSTILE, as_of="2026-07-01")
    assert res.exit_code == 2, res.output
    assert res.stderr.splitlines()[-1] == f"error: {out / moved[1]}: Input/output error"
    assert snapshot(out) == before
    assert not _stages(out)


def test_sra_documents_are_all_or_nothing_across_models(tmp_path: Path) -> None:
    from threatgraph.features.sra import html as sra_html

    out = tmp_path / "sra"
    real = sra_html.render
    calls: list[int] = []

    def render(doc: object) -> str:
        calls.append(1)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(out / "x"))
        return real(doc)  # type: ignore[arg-type]

    with mock.patch.object(sra_html, "render", render):
        assert _cli(*_set_args(tmp_path, "sra", out)).exit_code == 2
    assert not out.exists() or not list(out.iterdir())


# -- a report directory holds exactly its last run --------------------------------------------
def test_files_of_an_earlier_run_do_not_survive_in_a_model_directory(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _report(out, ASSISTANT).exit_code == 1
    model = out / "support-assistant"
    expected = sorted(p.name for p in model.iterdir())
    # What a bigger model's run leaves behind: more diagram parts, and a stray file.
    (model / "diagram-7.mmd").write_text("flowchart LR\n")
    (model / "notes.txt").write_text("x")
    assert _report(out, ASSISTANT).exit_code == 1
    assert sorted(p.name for p in model.iterdir()) == expected


def test_a_big_models_diagram_parts_go_when_the_model_shrinks(tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import generate
    finally:
        sys.path.remove(str(ROOT / "bench"))
    big, small = tmp_path / "big.json", tmp_path / "small.json"
    doc = generate.estate(300, 1)
    big.write_text(json.dumps(doc))
    doc = generate.estate(40, 1)
    doc["model"]["id"] = generate.estate(300, 1)["model"]["id"]
    small.write_text(json.dumps(doc))
    out = tmp_path / "out"
    args = ("--format", "mermaid,json", "--as-of", AS_OF)
    assert _cli("report", str(big), "-o", str(out), *args).exit_code == 1
    (model,) = [p for p in out.iterdir() if p.is_dir()]
    assert (model / "diagram-2.mmd").is_file()
    assert _cli("report", str(small), "-o", str(out), *args).exit_code == 1
    assert sorted(p.name for p in model.iterdir()) == ["diagram.mmd", "findings.json"]


def test_models_no_longer_reported_and_the_index_are_removed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "README.txt").write_text("the user's")
    (out / "notes").mkdir()
    (out / "notes" / "a.md").write_text("the user's")
    assert _report(out, ASSISTANT, HOSTILE).exit_code == 1
    assert {"index.md", "index.html", "hostile", "support-assistant"} <= {
        p.name for p in out.iterdir()
    }
    assert _report(out, ASSISTANT).exit_code == 1
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [MANIFEST, "README.txt", "notes", "support-assistant"]
    )
    assert (out / "notes" / "a.md").read_text() == "the user's"


def test_a_hostile_manifest_cannot_remove_the_users_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "src").mkdir(parents=True)
    (out / "src" / "main.py").write_text("keep")
    (out / "old-model").mkdir()
    (out / "old-model" / "report.md").write_text("a report")
    (out / "index.md").mkdir()  # not a file: not the index an earlier run wrote
    (tmp_path / "outside").mkdir()
    (out / "link").symlink_to(tmp_path / "outside")
    listed = ["src", "../outside", "/etc", "link", "index.md", "old-model", ".", ""]
    (out / MANIFEST).write_text(json.dumps({"threatgraph": 1, "entries": listed}))
    assert _report(out, ASSISTANT).exit_code == 1
    assert (out / "src" / "main.py").read_text() == "keep"
    assert (tmp_path / "outside").is_dir() and (out / "link").is_symlink()
    assert (out / "index.md").is_dir()
    assert not (out / "old-model").exists()  # only report files in it: an earlier model's


@pytest.mark.parametrize("kind", ["symlink", "fifo", "huge"])
def test_a_manifest_that_is_no_file_of_ours_is_ignored(tmp_path: Path, kind: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "old-model").mkdir()
    (out / "old-model" / "report.md").write_text("a report")
    listing = json.dumps({"entries": ["old-model"]})
    if kind == "symlink":
        (tmp_path / "elsewhere.json").write_text(listing)
        (out / MANIFEST).symlink_to(tmp_path / "elsewhere.json")
    elif kind == "fifo":
        os.mkfifo(out / MANIFEST)  # reading it would block for ever
    else:
        (out / MANIFEST).write_text(listing[:-1] + ", " + '"x", ' * 300_000 + '"y"]}')
    res = _report(out, ASSISTANT)
    assert (out / "old-model" / "report.md").is_file()  # not read from there, so not removed
    if kind == "huge":
        assert res.exit_code == 1 and (out / MANIFEST).is_file()
    else:  # the manifest's place is taken by something threatgraph will not replace
        assert res.exit_code == 2, res.output
        assert f"error: {out / MANIFEST}: " in res.stderr, res.stderr


def test_model_ids_of_the_report_sets_own_files_get_other_directories(tmp_path: Path) -> None:
    assert model_dirs(["index.md", "index.html", "index.md"]) == [
        "index.md-2",
        "index.html-2",
        "index.md-3",
    ]
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(VALID.read_text().replace("id: corpus", "id: index.md"))
    b.write_text(VALID.read_text().replace("id: corpus", "id: index.html"))
    out = tmp_path / "out"
    res = _cli("report", str(a), str(b), "-o", str(out), "--as-of", AS_OF, "--no-render")
    assert res.exit_code == 1, res.output
    assert (out / "index.md").is_file() and (out / "index.html").is_file()
    assert (out / "index.md-2" / "report.md").is_file()
    assert (out / "index.html-2" / "report.md").is_file()
    assert "index.md-2/report.md" in (out / "index.md").read_text()


def test_a_signal_during_the_renames_waits_until_they_are_done(tmp_path: Path) -> None:
    import signal

    (tmp_path / "a.txt").write_text("old a")
    (tmp_path / "b.txt").write_text("old b")
    real = os.replace
    sent: list[bool] = []

    def replace(src: object, dst: object) -> None:
        if not sent:  # Ctrl-C between the first rename and the second
            sent.append(True)
            signal.raise_signal(signal.SIGINT)
        real(src, dst)  # type: ignore[arg-type]

    files = {tmp_path / "a.txt": "new a", tmp_path / "b.txt": "new b"}
    with mock.patch.object(writer.os, "replace", replace), pytest.raises(KeyboardInterrupt):
        writer.write_files(files)
    assert sent
    assert (tmp_path / "a.txt").read_text() == "new a"
    assert (tmp_path / "b.txt").read_text() == "new b"
    assert not _stages(tmp_path)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


# -- staging directories of killed runs -------------------------------------------------------
def test_stale_staging_directories_go_and_live_ones_stay(tmp_path: Path) -> None:
    import fcntl

    stale = tmp_path / ".threatgraph-0123456789abcdef.tmp"
    (stale / "model").mkdir(parents=True)
    (stale / "model" / "report.md").write_text("half")
    live = tmp_path / ".threatgraph-fedcba9876543210.tmp"
    live.mkdir()
    (tmp_path / ".threatgraph-notes.tmp").mkdir()  # not a name threatgraph makes
    (tmp_path / ".threatgraph-00000000000000aa.tmp").write_text("a file, not a stage")
    fd = os.open(live, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # a run in progress holds its lock
        writer.write_atomic(tmp_path / "out.json", "{}")
    finally:
        os.close(fd)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".threatgraph-00000000000000aa.tmp",
        ".threatgraph-fedcba9876543210.tmp",
        ".threatgraph-notes.tmp",
        "out.json",
    ]
    assert writer.remove_stale(tmp_path) == [live]  # unlocked now


def test_a_stage_removed_by_another_run_is_made_again(tmp_path: Path) -> None:
    # Another run's remove_stale can take a stage between its mkdir and its lock.
    real = writer._same_file
    answers = iter([False])

    def same(fd: int, path: Path) -> bool:
        return next(answers, True) and real(fd, path)

    with mock.patch.object(writer, "_same_file", same):
        writer.write_atomic(tmp_path / "a.txt", "a")
    assert (tmp_path / "a.txt").read_text() == "a"


# -- property: all or nothing -----------------------------------------------------------------
NAMES = st.sampled_from(["a.json", "b.md", "c.csv", "sub/d.txt", "sub/e.txt", "f"])
CONTENT = st.binary(max_size=64) | st.text(max_size=64)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    old=st.dictionaries(NAMES, st.binary(max_size=32), max_size=4),
    new=st.dictionaries(NAMES, CONTENT, min_size=1, max_size=5),
    whole=st.booleans(),
    fail_write=st.integers(min_value=0, max_value=6),
    fail_rename=st.integers(min_value=0, max_value=6),
)
def test_a_set_is_written_whole_or_not_at_all(
    old: dict[str, bytes],
    new: dict[str, str | bytes],
    whole: bool,
    fail_write: int,
    fail_rename: int,
) -> None:
    """Whatever fails (the n-th file written, the n-th rename), the directory afterwards is
    exactly as before or exactly the new set, and no staging directory is left."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, data in old.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(data)
        before = snapshot(root)
        files = {root / name: data for name, data in new.items()}
        expected = dict(before)
        if whole:
            expected = {k: v for k, v in expected.items() if not k.startswith("sub/")}
        for name, data in new.items():
            expected[name] = data.encode() if isinstance(data, str) else data
        real_write, real_rename, real_replace = writer.write_text, os.rename, os.replace
        count = {"w": 0, "r": 0}

        def write(fh: object, data: str | bytes) -> None:
            count["w"] += 1
            if count["w"] == fail_write:
                raise OSError(errno.ENOSPC, "No space left on device")
            real_write(fh, data)  # type: ignore[arg-type]

        def moved(real: object) -> object:
            def move(src: object, dst: object) -> None:
                count["r"] += 1
                if count["r"] == fail_rename:
                    raise OSError(errno.EIO, "Input/output error")
                real(src, dst)  # type: ignore[operator]

            return move

        with (
            mock.patch.object(writer, "write_text", write),
            mock.patch.object(writer.os, "rename", moved(real_rename)),
            mock.patch.object(writer.os, "replace", moved(real_replace)),
        ):
            try:
                writer.write_files(files, whole_dirs=[root / "sub"] if whole else ())
                failed = False
            except OSError as exc:
                failed = True
                assert exc.filename is not None
                assert not writer.STAGE_NAME.search(exc.filename)  # the target, not a temp
        after = snapshot(root)
        assert after == (before if failed else expected)
        assert not _stages(root)
