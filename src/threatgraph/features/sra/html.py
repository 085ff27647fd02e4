"""The security risk analysis as one self-contained HTML page, ready to print or file.

The page has no script; its Content-Security-Policy allows only its own inline style (pinned
by hash) and nothing to be fetched, so even a slip in escaping could not run code.
"""

from __future__ import annotations

from threatgraph.features.sra import blocks, sections
from threatgraph.features.sra.build import Sra


def render(s: Sra) -> str:
    """The whole page."""
    return blocks.html(sections.document(s))
