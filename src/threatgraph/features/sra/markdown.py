"""The security risk analysis as Markdown (the blocks of :mod:`.sections`, escaped)."""

from __future__ import annotations

from threatgraph.features.sra import blocks, sections
from threatgraph.features.sra.build import Sra


def render(s: Sra) -> str:
    """The whole document."""
    return blocks.markdown(sections.document(s))
