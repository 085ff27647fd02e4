"""The set of report files for one run: render everything in memory, then write it all.

This is what ``threatgraph report`` runs. It draws each model's diagrams once (DOT, Mermaid,
and SVG/PNG when a Graphviz renderer is available), asks every chosen format for its files,
adds DIR/index.md and DIR/index.html when there are several models, and only then writes,
through :func:`threatgraph.formats.writer.write_files` (stage all, then rename).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from threatgraph.formats.base import REGISTRY, Diagrams, IndexEntry, ReportInput, get_format
from threatgraph.formats.common import display_path
from threatgraph.formats.view import ModelView
from threatgraph.formats.writer import discard, safe_dir, stage_files, write_files
from threatgraph.model.schema import slugify, valid_id

#: Formats that need the DOT text, and those that need a rendered image.
_NEEDS_DOT = frozenset({"dot", "svg", "png", "html"})
_NEEDS_MERMAID = frozenset({"mermaid", "markdown", "svg", "png"})  # .mmd is the fallback


def model_dirs(ids: Sequence[str]) -> list[str]:
    """A directory name per model: its id, made unique (``id``, ``id-2``...) and safe."""
    out: list[str] = []
    for mid in ids:
        base = mid if valid_id(mid) and mid not in (".", "..") else slugify(mid)
        name, n = base, 1
        while name in out:
            n += 1
            name = f"{base}-{n}"
        out.append(name)
    return out


#: Why there is no SVG when the caller turned rendering off (``report --no-render``).
RENDER_OFF = "rendering turned off with --no-render"


def _diagrams(
    view: ModelView,
    formats: Sequence[str],
    renderer: Any,
    timeout: float,
    render: bool = True,
) -> Diagrams:
    # Each module is imported only when its drawing is wanted.
    wanted = set(formats)
    dot = ""
    if wanted & _NEEDS_DOT:
        from threatgraph.formats.dot import render_dot

        dot = render_dot(view)
    files: list[tuple[str, str]] = []
    titles: list[str] = []
    if wanted & _NEEDS_MERMAID:
        from threatgraph.formats.mermaid import render_mermaid

        files, titles = render_mermaid(view)
    d = Diagrams(dot=dot, mermaid=files, mermaid_titles=titles)
    if not wanted & {"svg", "png", "html"}:
        return d
    from threatgraph.formats.render import RenderError

    if not render:
        d.render_problem = RENDER_OFF
        return d
    if renderer is None:
        d.render_problem = "no Graphviz renderer was found"
        return d
    try:
        if wanted & {"svg", "html"}:
            d.svg = renderer.run(dot, "svg", timeout).decode("utf-8")
        if "png" in wanted:
            d.png = renderer.run(dot, "png", timeout)
        d.renderer = renderer.description
    except RenderError as exc:
        d.svg, d.png = None, None
        d.render_problem = str(exc)
    return d


#: Formats a forked worker may render: those that need no Graphviz renderer and so never
#: warn or fall back. The main process keeps HTML, JSON, CSV, DOT and the images (a split
#: measured to keep both processes about equally busy on large estates).
_WORKER_FORMATS = ("markdown", "mermaid", "sarif")

#: Below this many findings in a run, one process renders everything: a fork costs more
#: than it saves on small report sets.
PARALLEL_MIN_FINDINGS = 2000


def _split(formats: Sequence[str], findings: int) -> frozenset[str] | None:
    """The formats to render in a forked worker, or None to render everything here.

    Only on Linux with more than one CPU, for a run with many findings, and when both
    processes get something to do. ``THREATGRAPH_JOBS=1`` turns it off.
    """
    import os
    import sys

    if (
        os.environ.get("THREATGRAPH_JOBS", "").strip() == "1"
        or not sys.platform.startswith("linux")
        or not hasattr(os, "fork")
        or (os.cpu_count() or 1) < 2
        or findings < PARALLEL_MIN_FINDINGS
    ):
        return None
    theirs = frozenset(f for f in formats if f in _WORKER_FORMATS)
    if not theirs or theirs >= set(formats):
        return None
    return theirs


#: What a forked worker renders from: set just before the fork, read by the child.
_FORK_STATE: tuple[Callable[[], list[tuple[Path, ReportInput]]], frozenset[str]] | None = None


def _worker_render() -> tuple[list[dict[str, list[str]]], list[tuple[str, Path]]]:
    """In the forked worker: render the worker's formats for every model and stage their
    files (written and flushed beside their targets, not yet renamed).

    Returns the file names per model and format, and the staged (temporary, target) pairs
    for the main process to rename with the rest of the set. Only these small lists travel
    back: sending the text itself (tens of MB) cost more than rendering it.
    """
    assert _FORK_STATE is not None
    prepare, names = _FORK_STATE
    files: dict[Path, str | bytes] = {}
    out: list[dict[str, list[str]]] = []
    for model_dir, inp in prepare():
        wanted = sorted(n for n in inp.written if n in names)
        # The worker draws its own diagrams (Mermaid for Markdown); no renderer is needed.
        inp.diagrams = _diagrams(inp.view, wanted, None, 0.0)
        listed: dict[str, list[str]] = {}
        for n in wanted:
            rendered = get_format(n).render(inp)
            listed[n] = list(rendered)
            for fname, content in rendered.items():
                files[model_dir / fname] = content
        out.append(listed)
    return out, stage_files(files)


class _Worker:
    """One forked process rendering part of the report set; ``result()`` waits for it."""

    def __init__(
        self, prepare: Callable[[], list[tuple[Path, ReportInput]]], names: frozenset[str]
    ) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        global _FORK_STATE
        _FORK_STATE = (prepare, names)
        try:
            # Fork shares the analysed models with the worker without copying or pickling
            # them; only the rendered text comes back.
            self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
            self._future = self._pool.submit(_worker_render)
        finally:
            _FORK_STATE = None

    def result(self) -> tuple[list[dict[str, list[str]]], list[tuple[str, Path]]]:
        """The worker's file names per model and its staged files (raises what the worker
        raised)."""
        got: tuple[list[dict[str, list[str]]], list[tuple[str, Path]]] = self._future.result()
        return got

    def abandon(self) -> None:
        """The main process failed: wait for the worker and remove what it staged."""
        try:
            _names, staged = self._future.result()
        except BaseException:  # the main process's error is the one to report
            return
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)
        discard(staged)

    def release(self) -> None:
        """The worker has finished: its process ends on its own, without this one waiting
        for it (the executor's thread collects it)."""
        self._pool.shutdown(wait=False)


def render_reports(
    run: Any,
    out_dir: Path,
    formats: Sequence[str],
    *,
    render_timeout: float = 60.0,
    sarif_suppressed: bool = True,
    warn: Callable[[str], None] = lambda _msg: None,
    repo_root: Path | None = None,
    render: bool = True,
) -> tuple[dict[Path, str | bytes], list[tuple[Path, list[str]]]]:
    """Every file to write (path -> content) and, per model, its directory and file names.

    ``run`` is a :class:`threatgraph.pipeline.Run`. Nothing is written here. ``warn`` is
    called at most once, when a diagram could not be rendered. ``render=False`` never runs
    Graphviz: report.html shows the DOT source (svg and png must not be asked for).
    """
    files, written, _staged = _render(
        run,
        out_dir,
        formats,
        render_timeout=render_timeout,
        sarif_suppressed=sarif_suppressed,
        warn=warn,
        repo_root=repo_root,
        parallel=False,
        render=render,
    )
    return files, written


def _render(
    run: Any,
    out_dir: Path,
    formats: Sequence[str],
    *,
    render_timeout: float,
    sarif_suppressed: bool,
    warn: Callable[[str], None],
    repo_root: Path | None,
    parallel: bool,
    render: bool = True,
) -> tuple[dict[Path, str | bytes], list[tuple[Path, list[str]]], list[tuple[str, Path]]]:
    """render_reports, and with ``parallel`` both processes' files already staged on disk:
    (files still to write, what is written per model, the staged files to rename)."""
    from threatgraph.formats.render import find_renderer
    from threatgraph.formats.sarif import repo_root as find_root

    root = repo_root or find_root()
    wants_image = bool(set(formats) & {"svg", "png", "html"})
    renderer = find_renderer() if wants_image and render else None
    effective = list(formats)
    unknown = [n for n in effective if n not in REGISTRY]
    if unknown:  # before anything is rendered or forked
        raise KeyError(unknown[0])
    if not render and set(effective) & {"svg", "png"}:
        raise ValueError("svg and png need rendering, which render=False turns off")
    # When an image cannot be made, its sources are written so it can be rendered later.
    fallback = [n for n in ("dot", "mermaid") if n not in effective]  # imported when used
    results = list(run.results)
    dirs = model_dirs([r.model_id for r in results])
    files: dict[Path, str | bytes] = {}
    written: list[tuple[Path, list[str]]] = []
    index: list[IndexEntry] = []
    problems: list[tuple[str, str]] = []
    split = _split(effective, sum(len(r.findings) for r in results)) if parallel else None
    here = [n for n in effective if split is None or n not in split]
    targets = [(safe_dir(out_dir, dname), r) for r, dname in zip(results, dirs, strict=True)]

    def prepare() -> list[tuple[Path, ReportInput]]:
        """Each model's view (and a place for its diagrams), built on each side of a fork:
        building them before it would make the other process wait."""
        out: list[tuple[Path, ReportInput]] = []
        for model_dir, r in targets:
            source = display_path(str(r.loaded.path))
            view = ModelView.build(
                r.graph, r.findings, run.library, run.as_of, run.verdict.fail_on, source
            )
            mine = {id(f) for f in r.findings}
            view.failing_ids = {id(f) for f in run.verdict.failing if id(f) in mine}
            view.baselined_ids = {id(f) for f in run.verdict.baselined if id(f) in mine}
            inp = ReportInput(
                view=view,
                diagrams=Diagrams(dot="", mermaid=[], mermaid_titles=[]),
                run=run,
                result=r,
                repo_root=root,
                written=frozenset(effective),
                sarif_suppressed=sarif_suppressed,
            )
            out.append((model_dir, inp))
        return out

    # Large report sets render on two processes: a forked worker renders the formats in
    # ``split`` while this process renders the rest (see _Worker). Format modules are
    # imported after the fork, by the side that needs them.
    other = _Worker(prepare, split) if split else None
    rendered: list[dict[str, dict[str, str | bytes]]] = []
    theirs: list[dict[str, list[str]]] | None = None
    staged: list[tuple[str, Path]] = []
    try:
        prepared = prepare()
        for _model_dir, inp in prepared:
            inp.diagrams = _diagrams(inp.view, here, renderer, render_timeout, render)
            out: dict[str, dict[str, str | bytes]] = {}
            for name in here:
                out[name] = get_format(name).render(inp)
            if inp.diagrams.render_problem and set(effective) & {"svg", "png"}:
                for name in fallback:
                    out[name] = get_format(name).render(inp)
            rendered.append(out)
        if other is not None:
            # This side's files go to disk (staged, not yet renamed) while the worker
            # finishes its own; the set is still renamed all at once by write_files.
            early = {
                model_dir / fname: content
                for (model_dir, _inp), out in zip(prepared, rendered, strict=True)
                for files_of in out.values()
                for fname, content in files_of.items()
            }
            staged = stage_files(early)
            theirs, from_worker = other.result()
            staged += from_worker
            other.release()
    except BaseException:
        discard(staged)
        if other is not None:
            other.abandon()
        raise
    try:
        for i, ((model_dir, inp), out) in enumerate(zip(prepared, rendered, strict=True)):
            r = inp.result
            if render and inp.diagrams.render_problem and (set(effective) & {"svg", "png", "html"}):
                problems.append((r.model_id, inp.diagrams.render_problem))
            names: list[str] = []
            # Files in the order of the formats asked for, whichever process rendered them.
            for name in [*effective, *fallback]:
                if theirs is not None and name in theirs[i]:
                    names += theirs[i][name]  # staged by the worker
                    continue
                for fname, content in out.get(name, {}).items():
                    if other is None:  # else staged above, with this side's other files
                        files[model_dir / fname] = content
                    names.append(fname)
            view, dname, source = inp.view, model_dir.name, display_path(str(r.loaded.path))
            written.append((model_dir, names))
            if len(results) == 1:
                continue  # no index for a single model (counting its findings costs a pass)
            s = view.counts()
            index.append(
                IndexEntry(
                    dir=dname,
                    name=view.model_name,
                    file=source,
                    open=list(s["open_by_severity"].values()),
                    mitigated=s["by_status"]["mitigated"],
                    accepted=s["by_status"]["accepted"] + s["by_status"]["false_positive"],
                    result="FAIL" if view.failing() else "PASS",
                    files=names,
                )
            )
        if len(results) > 1:
            failing = len(run.verdict.failing)
            verdict = (
                f"FAIL: {failing} open finding{'s' if failing != 1 else ''} at or above "
                f"'{run.verdict.fail_on}'"
                if failing
                else f"PASS: no open findings at or above '{run.verdict.fail_on}'"
            )
            from threatgraph.formats.markdown import render_index as md_index

            files[out_dir / "index.md"] = md_index(index, run.as_of.isoformat(), verdict)
            if "html" in effective:
                from threatgraph.formats.html import render_index as html_index

                files[out_dir / "index.html"] = html_index(
                    index, run.as_of.isoformat(), verdict, bool(failing)
                )
        if problems:
            skipped = [f"diagram.{x}" for x in ("svg", "png") if x in effective]
            what = ", ".join(skipped) if skipped else "the diagram in report.html"
            if all(p == "no Graphviz renderer was found" for _, p in problems):
                reason = (
                    "no Graphviz renderer found (install Graphviz for 'dot', or "
                    "pip install 'threatgraph[render]' for graphviz-pure)"
                )
            else:
                reason = "rendering failed: " + "; ".join(f"{m}: {p}" for m, p in problems)
            warn(
                f"{reason}; skipped {what} for {len(problems)} model"
                f"{'s' if len(problems) != 1 else ''}; wrote diagram.dot and diagram.mmd instead"
                if set(effective) & {"svg", "png"} or {"dot", "mermaid"} <= set(effective)
                else f"{reason}; skipped {what} for {len(problems)} model"
                f"{'s' if len(problems) != 1 else ''}"
            )
    except BaseException:
        discard(staged)  # nothing is renamed: the previous report set stays as it was
        raise
    return files, written, staged


def build_reports(
    run: Any,
    out_dir: Path,
    formats: Sequence[str],
    *,
    render_timeout: float = 60.0,
    sarif_suppressed: bool = True,
    warn: Callable[[str], None] = lambda _msg: None,
    render: bool = True,
) -> list[tuple[Path, list[str]]]:
    """Render every report file in memory, then write them all. Returns what was written.

    A large report set on a multi-core Linux machine renders on two processes (see
    :func:`_split`); the set is still written all-or-nothing.
    """
    files, written, staged = _render(
        run,
        out_dir,
        formats,
        render_timeout=render_timeout,
        sarif_suppressed=sarif_suppressed,
        warn=warn,
        repo_root=None,
        parallel=True,
        render=render,
    )
    write_files(files, staged)
    return written


__all__ = ["build_reports", "model_dirs", "render_reports"]
