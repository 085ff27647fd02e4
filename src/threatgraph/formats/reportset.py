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

from threatgraph.formats.base import Diagrams, IndexEntry, ReportInput, get_format
from threatgraph.formats.common import display_path
from threatgraph.formats.view import ModelView
from threatgraph.formats.writer import safe_dir, write_files
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


def _diagrams(
    view: ModelView,
    formats: Sequence[str],
    renderer: Any,
    timeout: float,
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

    if renderer is None:
        d.render_problem = "no Graphviz renderer was found"
        return d
    try:
        if wanted & {"svg", "html"}:
            d.svg = renderer.run(dot, "svg", timeout).decode("utf-8")
        if "png" in wanted:
            d.png = renderer.run(dot, "png", timeout)
    except RenderError as exc:
        d.svg, d.png = None, None
        d.render_problem = str(exc)
    return d


def render_reports(
    run: Any,
    out_dir: Path,
    formats: Sequence[str],
    *,
    render_timeout: float = 60.0,
    sarif_suppressed: bool = True,
    warn: Callable[[str], None] = lambda _msg: None,
    repo_root: Path | None = None,
) -> tuple[dict[Path, str | bytes], list[tuple[Path, list[str]]]]:
    """Every file to write (path -> content) and, per model, its directory and file names.

    ``run`` is a :class:`threatgraph.pipeline.Run`. Nothing is written here. ``warn`` is
    called at most once, when a diagram could not be rendered.
    """
    from threatgraph.formats.render import find_renderer
    from threatgraph.formats.sarif import repo_root as find_root

    root = repo_root or find_root()
    wants_image = bool(set(formats) & {"svg", "png", "html"})
    renderer = find_renderer() if wants_image else None
    effective = list(formats)
    fmts = [(name, get_format(name)) for name in effective]
    # When an image cannot be made, its sources are written so it can be rendered later.
    fallback = [n for n in ("dot", "mermaid") if n not in effective]  # imported when used
    results = list(run.results)
    dirs = model_dirs([r.model_id for r in results])
    files: dict[Path, str | bytes] = {}
    written: list[tuple[Path, list[str]]] = []
    index: list[IndexEntry] = []
    problems: list[tuple[str, str]] = []
    for r, dname in zip(results, dirs, strict=True):
        model_dir = safe_dir(out_dir, dname)
        source = display_path(str(r.loaded.path))
        view = ModelView.build(
            r.graph, r.findings, run.library, run.as_of, run.verdict.fail_on, source
        )
        mine = {id(f) for f in r.findings}
        view.failing_ids = {id(f) for f in run.verdict.failing if id(f) in mine}
        view.baselined_ids = {id(f) for f in run.verdict.baselined if id(f) in mine}
        diagrams = _diagrams(view, effective, renderer, render_timeout)
        if diagrams.render_problem and (set(effective) & {"svg", "png", "html"}):
            problems.append((r.model_id, diagrams.render_problem))
        inp = ReportInput(
            view=view,
            diagrams=diagrams,
            run=run,
            result=r,
            repo_root=root,
            written=frozenset(effective),
            sarif_suppressed=sarif_suppressed,
        )
        names: list[str] = []
        model_fmts = list(fmts)
        if diagrams.render_problem and set(effective) & {"svg", "png"}:
            model_fmts += [(n, get_format(n)) for n in fallback]
        for _name, fmt in model_fmts:
            for fname, content in fmt.render(inp).items():
                files[model_dir / fname] = content
                names.append(fname)
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
    return files, written


def build_reports(
    run: Any,
    out_dir: Path,
    formats: Sequence[str],
    *,
    render_timeout: float = 60.0,
    sarif_suppressed: bool = True,
    warn: Callable[[str], None] = lambda _msg: None,
) -> list[tuple[Path, list[str]]]:
    """Render every report file in memory, then write them all. Returns what was written."""
    files, written = render_reports(
        run,
        out_dir,
        formats,
        render_timeout=render_timeout,
        sarif_suppressed=sarif_suppressed,
        warn=warn,
    )
    write_files(files)
    return written


__all__ = ["build_reports", "model_dirs", "render_reports"]
