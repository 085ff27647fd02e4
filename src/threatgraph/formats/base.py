"""The small interface every per-model output format implements (pip-audit's _format/ layout).

A format takes a :class:`ReportInput` (one analysed model, arranged as a
:class:`~threatgraph.formats.view.ModelView`, plus the diagrams already drawn) and returns the
files it wants written, as ``{file name: content}``. Formats never write to disk themselves:
``threatgraph report`` renders every file of every model in memory first and only then
writes them (atomically), so an error or Ctrl-C while rendering leaves earlier reports intact.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:  # the JSON document (`check --format json`) needs no view at all
    from threatgraph.formats.view import ModelView
    from threatgraph.results import ModelResult, Run


@dataclass
class Diagrams:
    """The drawings of one model: DOT and Mermaid text always; SVG/PNG when rendered."""

    dot: str
    mermaid: list[tuple[str, str]]  # (file name, Mermaid text): one, or an overview + parts
    mermaid_titles: list[str]  # a heading for each Mermaid text (empty for a single diagram)
    svg: str | None = None
    png: bytes | None = None
    render_problem: str | None = None  # why no SVG, when rendering was wanted and failed
    renderer: str | None = None  # what drew the SVG/PNG ('graphviz-pure 0.2.2'), when drawn


@dataclass
class ReportInput:
    """Everything a format may read about one model."""

    view: ModelView
    diagrams: Diagrams
    run: Run
    result: ModelResult
    repo_root: Path
    written: frozenset[str] = field(default_factory=frozenset)  # formats written beside it
    sarif_suppressed: bool = True  # SARIF: closed findings as suppressed results


@dataclass
class IndexEntry:
    """One model in DIR/index.md and DIR/index.html (written when there are several)."""

    dir: str  # the model's directory name under DIR
    name: str  # the model's display name (model text: formats escape it)
    file: str  # the model file, relative to the cwd when inside it
    open: list[int]  # open findings by severity, worst first
    mitigated: int
    accepted: int  # accepted or false positive
    result: str  # 'PASS' or 'FAIL'
    files: list[str]  # file names written for the model


class ReportFormat(ABC):
    """One output format of ``threatgraph report``."""

    #: Name used with ``--format``.
    name: ClassVar[str]
    #: One-line description for ``--help`` and the docs.
    summary: ClassVar[str]

    @abstractmethod
    def render(self, inp: ReportInput) -> dict[str, str | bytes]:
        """The files of this format for one model: ``{file name: content}``."""


#: Format name -> module (under threatgraph.formats) that defines ``FORMAT``.
#: Modules are imported only when their format is asked for.
REGISTRY: dict[str, str] = {
    "markdown": "markdown",
    "html": "html",
    "json": "jsonout",
    "sarif": "sarif",
    "csv": "csvout",
    "dot": "dot",
    "mermaid": "mermaid",
    "svg": "render",
    "png": "render",
}

#: Accepted spellings of format names.
ALIASES: dict[str, str] = {"md": "markdown", "mmd": "mermaid", "gv": "dot", "htm": "html"}

#: Written when no --format is given (PNG only on request).
DEFAULT_FORMATS: tuple[str, ...] = (
    "markdown",
    "html",
    "json",
    "sarif",
    "csv",
    "dot",
    "mermaid",
    "svg",
)


def get_format(name: str) -> ReportFormat:
    """The format called ``name`` (KeyError when unknown)."""
    module = import_module(f"threatgraph.formats.{REGISTRY[name]}")
    if name in ("svg", "png"):
        fmt: ReportFormat = module.FORMATS[name]
    else:
        fmt = module.FORMAT
    return fmt
