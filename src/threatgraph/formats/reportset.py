"""The set of report files for one run: render everything in memory, then write it all.

This is what ``threatgraph report`` runs. It draws each model's diagrams once (DOT, Mermaid,
and SVG/PNG when a Graphviz renderer is available), asks every chosen format for its files,
adds DIR/index.md and DIR/index.html when there are several models, and only then writes,
through :func:`threatgraph.util.writer.write_files` (stage all, then rename): each model
directory is replaced as a whole, so it holds exactly the files of the last run, and the
entries an earlier run wrote that this one does not (a model no longer reported, an index)
are removed with the same commit.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from threatgraph.formats.base import REGISTRY, Diagrams, IndexEntry, ReportInput, get_format
from threatgraph.formats.view import ModelView
from threatgraph.model.schema import slugify, valid_id
from threatgraph.util.paths import display_path
from threatgraph.util.writer import safe_dir, write_files

if TYPE_CHECKING:
    from threatgraph.formats.render import Renderer
    from threatgraph.results import ModelResult, Run

#: Formats that need the DOT text, and those that need a rendered image.
_NEEDS_DOT = frozenset({"dot", "svg", "png", "html"})
_NEEDS_MERMAID = frozenset({"mermaid", "markdown", "svg", "png"})  # .mmd is the fallback


#: Files of the report set itself, beside the model directories: a model whose id is one
#: of these (``index.md`` is a valid id) gets ``index.md-2`` as its directory.
RESERVED = frozenset({"index.md", "index.html"})

#: The list of what the last run wrote into DIR, so that the next run can remove what it no
#: longer writes. Hidden, and never a model directory (ids do not start with a dot).
MANIFEST = ".threatgraph-report.json"

#: What a model directory may hold for the next run to remove it as stale: the files
#: report formats write. A directory holding anything else is left alone.
_REPORT_FILE = re.compile(
    r"(report\.(md|html)|findings\.(json|sarif|csv)|diagram(-[0-9]+)?\.(dot|mmd|svg|png))"
)


def model_dirs(ids: Sequence[str]) -> list[str]:
    """A directory name per model: its id, made unique (``id``, ``id-2``...) and safe, and
    never a name of the report set's own files (:data:`RESERVED`)."""
    out: list[str] = []
    for mid in ids:
        base = mid if valid_id(mid) and mid not in (".", "..") else slugify(mid)
        name, n = base, 1
        while name in out or name in RESERVED:
            n += 1
            name = f"{base}-{n}"
        out.append(name)
    return out


def _stale(out_dir: Path, keep: set[str]) -> list[Path]:
    """Entries of DIR that the last run wrote (its manifest says) and this one does not.

    Only ``index.md``/``index.html`` as regular files and directories holding nothing but
    report files are removed: a manifest is a file in the output directory, and whatever
    it says must not cost the user a file threatgraph did not write.
    """
    try:
        listed = json.loads(_read_manifest(out_dir / MANIFEST)).get("entries", [])
    except (OSError, ValueError, AttributeError):
        return []
    out: list[Path] = []
    for name in listed if isinstance(listed, list) else []:
        if not isinstance(name, str) or name in keep or not (valid_id(name) or name in RESERVED):
            continue
        path = out_dir / name
        try:
            if name in RESERVED:
                if path.is_file() and not path.is_symlink():
                    out.append(path)
            elif path.is_dir() and not path.is_symlink():
                with os.scandir(path) as it:
                    if all(
                        e.is_file(follow_symlinks=False) and _REPORT_FILE.fullmatch(e.name)
                        for e in it
                    ):
                        out.append(path)
        except OSError:
            continue
    return sorted(out)


#: A manifest lists a few names per model; anything longer is not one threatgraph wrote.
_MANIFEST_MAX = 1 << 20


def _read_manifest(path: Path) -> bytes:
    """The manifest's bytes: only a regular file, not through a symlink, and small
    (:func:`threatgraph.util.readfile.read_input` refuses FIFOs and devices, which could block
    or never end). Raises OSError when it is anything else."""
    from threatgraph.util.errors import InputError
    from threatgraph.util.readfile import read_input

    if path.is_symlink():
        raise OSError(f"{path} is a symlink")
    try:
        return read_input(path, _MANIFEST_MAX)
    except InputError as exc:
        raise OSError(str(exc)) from None


def _manifest(entries: Sequence[str]) -> str:
    return json.dumps({"threatgraph": 1, "entries": sorted(entries)}, indent=1) + "\n"


#: Why there is no SVG when the caller turned rendering off (``report --no-render``).
RENDER_OFF = "rendering turned off with --no-render"


def _diagrams(
    view: ModelView,
    formats: Sequence[str],
    renderer: Renderer | None,
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
    from threatgraph.formats.render import RenderError, render_fitting

    if not render:
        d.render_problem = RENDER_OFF
        return d
    if renderer is None:
        d.render_problem = "no Graphviz renderer was found"
        return d
    try:
        # The layout whose drawing fits the size budget; diagram.dot is what was drawn.
        d.dot, svg = render_fitting(renderer, view, timeout)
        if wanted & {"svg", "html"}:
            d.svg = svg
        if "png" in wanted:
            d.png = renderer.run(d.dot, "png", timeout)
        d.renderer = renderer.description
    except RenderError as exc:
        d.svg, d.png = None, None
        d.render_problem = str(exc)
    return d


def render_reports(
    run: Run,
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

    Nothing is written here. ``warn`` is called at most once, when a diagram could not be
    rendered. ``render=False`` never runs Graphviz: report.html shows the DOT source (svg
    and png must not be asked for).
    """
    from threatgraph.formats.render import find_renderer
    from threatgraph.formats.sarif import repo_root as find_root

    _check_formats(formats, render)
    root = repo_root or find_root()
    wants_image = bool(set(formats) & {"svg", "png", "html"})
    renderer = find_renderer() if wants_image and render else None
    job = _Job(run, list(formats), renderer, render_timeout, render, sarif_suppressed, root)
    results = list(run.results)
    dirs = model_dirs([r.model_id for r in results])
    files: dict[Path, str | bytes] = {}
    written: list[tuple[Path, list[str]]] = []
    index: list[IndexEntry] = []
    problems: list[tuple[str, str]] = []
    for r, dname in zip(results, dirs, strict=True):
        model_dir = safe_dir(out_dir, dname)
        view, inp, out = _model_files(job, r)
        if render and inp.diagrams.render_problem and (set(formats) & {"svg", "png", "html"}):
            problems.append((r.model_id, inp.diagrams.render_problem))
        names: list[str] = []
        for fname, content in out.items():
            files[model_dir / fname] = content
            names.append(fname)
        written.append((model_dir, names))
        if len(results) > 1:  # no index for a single model (counting its findings costs a pass)
            index.append(_index_entry(view, dname, names))
    if len(results) > 1:
        files.update(_index_files(run, out_dir, index, "html" in formats))
    if problems:
        warn(_render_warning(problems, formats))
    return files, written


def _check_formats(formats: Sequence[str], render: bool) -> None:
    # Before anything is rendered.
    unknown = [n for n in formats if n not in REGISTRY]
    if unknown:
        raise KeyError(unknown[0])
    if not render and set(formats) & {"svg", "png"}:
        raise ValueError("svg and png need rendering, which render=False turns off")


@dataclass(frozen=True)
class _Job:
    """What every model of one report set is rendered with."""

    run: Run
    formats: list[str]
    renderer: Renderer | None
    timeout: float
    render: bool
    sarif_suppressed: bool
    repo_root: Path


def _model_files(
    job: _Job, r: ModelResult
) -> tuple[ModelView, ReportInput, dict[str, str | bytes]]:
    """One model's view, the input its formats read, and its files in the order of the
    formats asked for (then the diagram sources written when an image could not be made)."""
    run = job.run
    source = display_path(str(r.loaded.path))
    view = ModelView.build(r.graph, r.findings, run.library, run.as_of, run.verdict.fail_on, source)
    mine = {id(f) for f in r.findings}
    view.failing_ids = {id(f) for f in run.verdict.failing if id(f) in mine}
    view.baselined_ids = {id(f) for f in run.verdict.baselined if id(f) in mine}
    inp = ReportInput(
        view=view,
        diagrams=_diagrams(view, job.formats, job.renderer, job.timeout, job.render),
        run=run,
        result=r,
        repo_root=job.repo_root,
        written=frozenset(job.formats),
        sarif_suppressed=job.sarif_suppressed,
    )
    names = list(job.formats)
    if inp.diagrams.render_problem and set(job.formats) & {"svg", "png"}:
        # When an image cannot be made, its sources are written so it can be rendered later.
        names += [n for n in ("dot", "mermaid") if n not in job.formats]
    out: dict[str, str | bytes] = {}
    for name in names:
        out.update(get_format(name).render(inp))
    return view, inp, out


def _index_entry(view: ModelView, dname: str, names: list[str]) -> IndexEntry:
    s = view.counts()
    return IndexEntry(
        dir=dname,
        name=view.model_name,
        file=view.source_file,
        open=list(s["open_by_severity"].values()),
        mitigated=s["by_status"]["mitigated"],
        accepted=s["by_status"]["accepted"] + s["by_status"]["false_positive"],
        result="FAIL" if view.failing() else "PASS",
        files=names,
    )


def _index_files(
    run: Run, out_dir: Path, index: list[IndexEntry], html: bool
) -> dict[Path, str | bytes]:
    """DIR/index.md, and DIR/index.html with the HTML format, for several models."""
    failing = len(run.verdict.failing)
    verdict = (
        f"FAIL: {failing} open finding{'s' if failing != 1 else ''} at or above "
        f"'{run.verdict.fail_on}'"
        if failing
        else f"PASS: no open findings at or above '{run.verdict.fail_on}'"
    )
    from threatgraph.formats.markdown import render_index as md_index

    files: dict[Path, str | bytes] = {
        out_dir / "index.md": md_index(index, run.as_of.isoformat(), verdict)
    }
    if html:
        from threatgraph.formats.html import render_index as html_index

        files[out_dir / "index.html"] = html_index(
            index, run.as_of.isoformat(), verdict, bool(failing)
        )
    return files


def _render_warning(problems: list[tuple[str, str]], formats: Sequence[str]) -> str:
    """The one warning for every model whose diagram could not be rendered."""
    skipped = [f"diagram.{x}" for x in ("svg", "png") if x in formats]
    what = ", ".join(skipped) if skipped else "the diagram in report.html"
    if all(p == "no Graphviz renderer was found" for _, p in problems):
        reason = (
            "no Graphviz renderer found (install Graphviz for 'dot', or "
            "pip install 'threatgraph[render]' for graphviz-pure)"
        )
    else:
        reason = "rendering failed: " + "; ".join(f"{m}: {p}" for m, p in problems)
    models = f"{len(problems)} model{'s' if len(problems) != 1 else ''}"
    if set(formats) & {"svg", "png"} or {"dot", "mermaid"} <= set(formats):
        return f"{reason}; skipped {what} for {models}; wrote diagram.dot and diagram.mmd instead"
    return f"{reason}; skipped {what} for {models}"


def build_reports(
    run: Run,
    out_dir: Path,
    formats: Sequence[str],
    *,
    render_timeout: float = 60.0,
    sarif_suppressed: bool = True,
    warn: Callable[[str], None] = lambda _msg: None,
    render: bool = True,
) -> list[tuple[Path, list[str]]]:
    """Render every report file in memory, then write them all. Returns what was written.

    All or nothing: every model directory is replaced as a whole (it holds exactly this
    run's files afterwards) and the index files with it, or, on any error or signal,
    nothing changes. What the previous run wrote and this one does not is removed.
    """
    files, written = render_reports(
        run,
        out_dir,
        formats,
        render_timeout=render_timeout,
        sarif_suppressed=sarif_suppressed,
        warn=warn,
        render=render,
    )
    entries = [d.name for d, _ in written] + [p.name for p in files if p.parent == out_dir]
    files[out_dir / MANIFEST] = _manifest(entries)
    write_files(
        files,
        whole_dirs=[d for d, _ in written],
        remove=_stale(out_dir, set(entries)),
    )
    return written


__all__ = ["MANIFEST", "RESERVED", "build_reports", "model_dirs", "render_reports"]
