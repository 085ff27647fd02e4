"""Rendering DOT to SVG/PNG with whatever Graphviz renderer is installed, never installing one.

Search order: ``dot`` on PATH (Graphviz), then ``graphviz-pure`` on PATH, then
``graphviz-pure`` beside the running Python (where ``pip install threatgraph`` puts it, as a
dependency on the platforms it has wheels for, even when that directory is not on PATH).
When none is found, or the renderer fails or times out, the caller gets a
:class:`RenderError` with a one-line reason and writes the .dot/.mmd files only.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from threatgraph.formats.base import ReportFormat, ReportInput

if TYPE_CHECKING:
    from threatgraph.formats.view import ModelView

#: Renderers by preference: Graphviz's own dot, then the pure-Rust port (the `render` extra).
CANDIDATES: tuple[str, ...] = ("dot", "graphviz-pure")
#: Seconds one rendering may take before it is abandoned.
DEFAULT_TIMEOUT = 60.0
#: The size budget of a drawing, in points (width, height): what a laptop screen or a slide
#: shows with the flow labels (8 pt) still readable, scrolling down a little at most
#: (docs/reports.md, "Size budget"). tests/test_diagram_legibility.py holds every
#: reference model to it, with both renderers.
BUDGET = (1600.0, 1200.0)
#: Models with more elements are drawn in their first layout only: each layout tried is one
#: more run of Graphviz, and no layout brings hundreds of elements within the budget.
MAX_CHOOSING = 60
#: Where pip puts console scripts for the running interpreter (a venv's bin/).
SCRIPTS_DIR = Path(sys.executable).parent


class RenderError(Exception):
    """Rendering was wanted but could not be done; the message says why, on one line."""


@dataclass(frozen=True)
class Renderer:
    """A Graphviz renderer executable."""

    path: str
    name: str
    #: Its version as it reports it (``-V``), '' when it would not say. Not part of its
    #: identity: the same executable is the same renderer.
    version: str = field(default="", compare=False)

    @property
    def description(self) -> str:
        """What reports say drew the diagram: 'Graphviz dot 2.43.0', 'graphviz-pure 0.2.2'."""
        what = "Graphviz dot" if self.name == "dot" else self.name
        return f"{what} {self.version}" if self.version else what

    def run(self, dot_source: str, fmt: str, timeout: float = DEFAULT_TIMEOUT) -> bytes:
        """Render DOT text to ``fmt`` ('svg' or 'png'). Raises RenderError."""
        try:
            proc = subprocess.run(
                [self.path, f"-T{fmt}"],
                input=dot_source.encode("utf-8"),
                capture_output=True,
                timeout=timeout,
                check=False,
                env=_render_env(),
            )
        except subprocess.TimeoutExpired:
            raise RenderError(f"{self.name} took longer than {timeout:g}s") from None
        except OSError as exc:
            raise RenderError(f"could not run {self.path}: {exc.strerror or exc}") from None
        if proc.returncode != 0 or not proc.stdout:
            err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            detail = err[0] if err else f"exit code {proc.returncode}"
            raise RenderError(f"{self.name} failed: {detail}")
        _check_image(self.name, fmt, proc.stdout)
        return proc.stdout


def _check_image(name: str, fmt: str, data: bytes) -> None:
    """Raise RenderError unless ``data`` is an image of ``fmt``: a broken or impostor
    renderer must cost the diagram, not the run (or a garbage diagram.svg)."""
    if fmt == "png":
        if not data.startswith(b"\x89PNG\r\n\x1a\n"):
            raise RenderError(f"{name} wrote no PNG image")
        return
    try:
        # Only the <svg> element is parsed: no prolog, DOCTYPE or entity definitions.
        root = ET.fromstring(svg_for_html(data.decode("utf-8")))  # noqa: S314
    except (UnicodeDecodeError, ET.ParseError):
        raise RenderError(f"{name} wrote no valid SVG") from None
    if str(root.tag).rsplit("}", 1)[-1] != "svg":
        raise RenderError(f"{name} wrote no valid SVG")


def _render_env() -> dict[str, str]:
    # A fixed locale and no user font cache surprises: same input, same bytes.
    env = dict(os.environ)
    env["LC_ALL"] = "C.UTF-8"
    env.pop("SOURCE_DATE_EPOCH", None)
    return env


_VERSION = re.compile(r"version\s+([0-9][0-9A-Za-z.+~-]*)")


def renderer_version(path: str, timeout: float = 10.0) -> str:
    """The version a renderer prints for ``-V`` ('2.43.0'), or '' when it says none."""
    try:
        proc = subprocess.run(
            [path, "-V"], capture_output=True, timeout=timeout, check=False, env=_render_env()
        )
    except (subprocess.TimeoutExpired, OSError):
        return ""
    text = (proc.stderr + proc.stdout).decode("utf-8", "replace")
    m = _VERSION.search(text)
    return m.group(1) if m else ""


def find_renderer() -> Renderer | None:
    """The first available renderer with its version, or None. Never installs anything."""
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return Renderer(found, name, renderer_version(found))
    beside = SCRIPTS_DIR / "graphviz-pure"
    if beside.is_file() and os.access(beside, os.X_OK):
        return Renderer(str(beside), "graphviz-pure", renderer_version(str(beside)))
    return None


_SIZE = re.compile(r'<svg\b[^>]*?\bwidth="([0-9.]+)pt"[^>]*?\bheight="([0-9.]+)pt"')


def svg_size(svg: str) -> tuple[float, float] | None:
    """A drawing's width and height in points, from its ``<svg>`` element (None when it
    does not say them in points)."""
    m = _SIZE.search(svg)
    return (float(m.group(1)), float(m.group(2))) if m else None


def _overshoot(svg: str) -> float:
    # How far past the budget a drawing is: 1.0 or less fits.
    size = svg_size(svg)
    if size is None:
        return float("inf")
    return max(size[0] / BUDGET[0], size[1] / BUDGET[1])


def render_fitting(renderer: Renderer, view: ModelView, timeout: float) -> tuple[str, str]:
    """The DOT text and SVG of the first layout (:func:`threatgraph.formats.dot.layouts`)
    whose drawing fits :data:`BUDGET`, else of the one that overshoots it least (the first
    of those). A layout the renderer fails on is passed over; RenderError when every one
    fails. The same model and renderer give the same choice, so the same bytes."""
    from threatgraph.formats.dot import layouts, render_dot

    candidates = layouts(view)
    if len(view.graph.elements) > MAX_CHOOSING:
        candidates = candidates[:1]
    best: tuple[float, str, str] | None = None
    failure: RenderError | None = None
    for layout in candidates:
        dot = render_dot(view, layout)
        started = time.monotonic()
        try:
            svg = renderer.run(dot, "svg", timeout).decode("utf-8")
        except RenderError as exc:
            failure = failure or exc
            if time.monotonic() - started >= timeout:
                break  # timed out: the next layout would take as long
            continue
        over = _overshoot(svg)
        if over <= 1.0:
            return dot, svg
        if best is None or over < best[0]:
            best = (over, dot, svg)
    if best is None:
        raise failure or RenderError("no layout was drawn")
    return best[1], best[2]


def svg_for_html(svg: str) -> str:
    """The ``<svg>`` element of a renderer's output, without XML prolog, DOCTYPE or comments.

    Only what an HTML page can inline. The comments dropped hold only generated ids, but a
    page has no use for them.
    """
    start = svg.find("<svg")
    body = svg[start:] if start >= 0 else svg
    out: list[str] = []
    i = 0
    while True:
        j = body.find("<!--", i)
        if j < 0:
            out.append(body[i:])
            break
        out.append(body[i:j])
        k = body.find("-->", j + 4)
        if k < 0:
            break
        i = k + 3
        if i < len(body) and body[i] == "\n":
            i += 1
    return "".join(out).strip() + "\n"


class SvgFormat(ReportFormat):
    """diagram.svg, rendered from the DOT source."""

    name = "svg"
    summary = "diagram.svg: the data-flow diagram rendered by Graphviz"

    def render(self, inp: ReportInput) -> dict[str, str | bytes]:
        """The SVG when it was rendered; nothing otherwise (the command warns)."""
        return {"diagram.svg": inp.diagrams.svg} if inp.diagrams.svg is not None else {}


class PngFormat(ReportFormat):
    """diagram.png, rendered from the DOT source (only on request)."""

    name = "png"
    summary = "diagram.png: the data-flow diagram as a bitmap (with --png)"

    def render(self, inp: ReportInput) -> dict[str, str | bytes]:
        """The PNG when it was rendered; nothing otherwise (the command warns)."""
        return {"diagram.png": inp.diagrams.png} if inp.diagrams.png is not None else {}


FORMATS: dict[str, ReportFormat] = {"svg": SvgFormat(), "png": PngFormat()}
