"""The reference models' diagrams, as drawn by every Graphviz renderer installed: no two
pieces of text overlap, and the picture stays within a size a screen can show.

Text boxes are estimated from the SVG itself: each ``<text>`` element's anchor, baseline,
font size and characters, with Helvetica's widths (what Graphviz lays out with, and what
graphviz-pure's bundled Arimo matches). Both renderers run where both are installed (CI has
Debian's Graphviz, and graphviz-pure is a default dependency).
"""

from __future__ import annotations

import os
import shutil
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import pytest

from threatgraph.formats.dot import layouts, render_dot
from threatgraph.formats.render import BUDGET, Renderer, RenderError, render_fitting
from threatgraph.formats.view import ModelView
from threatgraph.pipeline import run

ROOT = Path(__file__).resolve().parents[1]
MODELS = sorted(p for p in (ROOT / "models").iterdir() if p.suffix in (".py", ".yaml"))
SVG_NS = "{http://www.w3.org/2000/svg}"

#: The size budget, in points (SVG width and height): the renderer's (formats/render.py),
#: which docs/reports.md justifies. Before the diagrams were reworked the reference models
#: drew up to 3,583 pt wide, a third of it the legend; with one layout for all they drew up
#: to 2,703 x 861 pt (identity verification) and 1,002 x 1,936 pt (fraud detection).
MAX_WIDTH, MAX_HEIGHT = BUDGET
#: The smallest font of a drawing, in points (flow labels): a layout that fits must not do
#: it by shrinking the text.
MIN_FONT = 8.0
#: Text boxes may touch; overlapping by more than this (points, either way) fails.
TOLERANCE = 0.5

# Helvetica advance widths (1/1000 em) of the printable ASCII characters, from its AFM.
_WIDTHS = dict(
    zip(
        " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`"
        "abcdefghijklmnopqrstuvwxyz{|}~",
        [
            278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
            556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
            1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
            667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
            333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
            556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
        ],
        strict=True,
    )
)  # fmt: skip


def text_width(text: str, size: float, bold: bool = False) -> float:
    """The estimated width in points of ``text`` set in Helvetica at ``size``."""
    em = sum(_WIDTHS.get(c, 600) for c in text) / 1000
    return em * size * (1.1 if bold else 1.0)


@dataclass(frozen=True)
class Box:
    """The box a line of text covers: x0 < x1, y0 < y1 (SVG coordinates, y down)."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float

    def overlaps(self, other: Box) -> bool:
        """Whether the two boxes overlap by more than :data:`TOLERANCE` both ways."""
        dx = min(self.x1, other.x1) - max(self.x0, other.x0)
        dy = min(self.y1, other.y1) - max(self.y0, other.y0)
        return dx > TOLERANCE and dy > TOLERANCE


def text_boxes(svg: str) -> list[Box]:
    """A box per ``<text>`` element: from its anchor, baseline and font size (ascent 0.75,
    descent 0.2 of the size: Graphviz sets lines 1.2 sizes apart, so the lines of one
    label never overlap each other)."""
    root = ET.fromstring(svg[svg.index("<svg") :])
    out = []
    for t in root.iter(f"{SVG_NS}text"):
        text = "".join(t.itertext())
        if not text.strip():
            continue
        size = float(t.get("font-size", "14"))
        x, y = float(t.get("x", "0")), float(t.get("y", "0"))
        w = text_width(text, size, t.get("font-weight") == "bold")
        anchor = t.get("text-anchor", "start")
        x0 = x - w / 2 if anchor == "middle" else x - w if anchor == "end" else x
        out.append(Box(text, x0, y - 0.75 * size, x0 + w, y + 0.2 * size))
    return out


def overlaps(boxes: list[Box]) -> list[tuple[str, str]]:
    """The pairs of texts whose boxes overlap."""
    found = []
    ordered = sorted(boxes, key=lambda b: b.x0)
    for i, a in enumerate(ordered):
        for b in ordered[i + 1 :]:
            if b.x0 >= a.x1 - TOLERANCE:
                break
            if a.overlaps(b):
                found.append((a.text, b.text))
    return found


def svg_size(svg: str) -> tuple[float, float]:
    """The drawing's width and height in points."""
    root = ET.fromstring(svg[svg.index("<svg") :])
    return float(root.get("width", "0pt")[:-2]), float(root.get("height", "0pt")[:-2])


def renderers() -> list[Renderer]:
    """Every renderer installed: Graphviz's dot, graphviz-pure (on PATH or beside Python)."""
    out = []
    dot = shutil.which("dot")
    if dot:
        out.append(Renderer(dot, "dot"))
    pure = shutil.which("graphviz-pure")
    beside = Path(sys.executable).parent / "graphviz-pure"
    if pure is None and beside.is_file() and os.access(beside, os.X_OK):
        pure = str(beside)
    if pure:
        out.append(Renderer(pure, "graphviz-pure"))
    return out


RENDERERS = renderers()


@cache
def view_of(model: Path) -> ModelView:
    """The view of a reference model, analysed with the built-in library."""
    r = run([model], as_of=date(2026, 12, 1))
    m = r.results[0]
    return ModelView.build(m.graph, m.findings, r.library, r.as_of, "high", "x")


def dot_of(model: Path) -> str:
    """The DOT text of a reference model in its first layout (what diagram.dot holds
    when no renderer draws it)."""
    return render_dot(view_of(model))


@cache
def drawn(renderer: Renderer, model: Path) -> str:
    """The SVG a report holds for a reference model: the layout that fits, as chosen."""
    return render_fitting(renderer, view_of(model), 60.0)[1]


def test_a_renderer_is_installed() -> None:
    # graphviz-pure is a dependency wherever it has wheels (this machine, CI's): without a
    # renderer the tests below would skip, and prove nothing.
    assert RENDERERS, "neither dot nor graphviz-pure is installed"


@pytest.mark.parametrize("renderer", RENDERERS, ids=lambda r: r.name)
@pytest.mark.parametrize("model", MODELS, ids=lambda p: p.stem)
def test_reference_diagrams_have_no_overlapping_text(renderer: Renderer, model: Path) -> None:
    svg = drawn(renderer, model)
    boxes = text_boxes(svg)
    assert len(boxes) > 20
    assert overlaps(boxes) == []


@pytest.mark.parametrize("renderer", RENDERERS, ids=lambda r: r.name)
@pytest.mark.parametrize("model", MODELS, ids=lambda p: p.stem)
def test_reference_diagrams_fit_the_size_budget(renderer: Renderer, model: Path) -> None:
    svg = drawn(renderer, model)
    width, height = svg_size(svg)
    assert width <= MAX_WIDTH and height <= MAX_HEIGHT, (width, height)
    # At the size they were laid out (no scaling down), and never smaller text than before.
    root = ET.fromstring(svg[svg.index("<svg") :])
    assert "scale(1 1)" in (root.find(f"{SVG_NS}g").get("transform") or ""), "scaled"  # type: ignore[union-attr]
    sizes = [float(t.get("font-size", "14")) for t in root.iter(f"{SVG_NS}text")]
    assert min(sizes) >= MIN_FONT, min(sizes)


@pytest.mark.parametrize("renderer", RENDERERS, ids=lambda r: r.name)
def test_the_first_layout_is_kept_when_it_fits(renderer: Renderer) -> None:
    # A small model fits as it is drawn by default: no other layout is tried.
    model = ROOT / "models" / "rag_search.yaml"
    assert drawn(renderer, model) == renderer.run(dot_of(model), "svg").decode("utf-8")


def test_the_overlap_check_finds_overlaps() -> None:
    # The check itself: two labels drawn at the same place overlap, two apart do not.
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="100pt" height="50pt">'
        '<text text-anchor="middle" x="50" y="20" font-size="8.00">ticket call</text>'
        '<text text-anchor="middle" x="52" y="22" font-size="8.00">ticket result</text>'
        '<text text-anchor="start" x="0" y="45" font-size="8.00">far away</text>'
        "</svg>"
    )
    assert overlaps(text_boxes(svg)) == [("ticket result", "ticket call")] or overlaps(
        text_boxes(svg)
    ) == [("ticket call", "ticket result")]
    assert svg_size(svg) == (100.0, 50.0)
    assert text_width("WW", 10) > text_width("ii", 10)


def test_render_fitting_passes_over_failures_and_keeps_the_first_fit(tmp_path: Path) -> None:
    # A stand-in renderer: fails on the plain top-to-bottom layout, draws a loose layout
    # small and anything else too big. The choice is the first loose layout.
    fake = tmp_path / "fake-dot"
    fake.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        "src = sys.stdin.read()\n"
        "if 'rankdir=TB' in src and 'constraint' not in src:\n"
        "    sys.exit('plain TB: no')\n"
        "w = 900 if 'constraint=false' in src else 5000\n"
        'print(f\'<svg xmlns="http://www.w3.org/2000/svg" width="{w}pt" height="700pt"/>\')\n'
    )
    fake.chmod(0o755)
    view = view_of(ROOT / "models" / "fraud_detection.py")
    dot, svg = render_fitting(Renderer(str(fake), "dot"), view, 60.0)
    assert 'width="900pt"' in svg and "constraint=false" in dot
    assert dot == render_dot(view, next(lay for lay in layouts(view) if lay.beside == "loose"))
    # Nothing fits: the least oversized drawing; nothing draws: the first failure.
    fake.write_text(f"#!{sys.executable}\nimport sys\nsys.exit('no')\n")
    with pytest.raises(RenderError, match="no"):
        render_fitting(Renderer(str(fake), "dot"), view, 60.0)
