"""The AI security risk analysis (HIPAA 164.308(a)(1)(ii)(A)) of a model, as Markdown and HTML.

``build`` computes the document from one analysed model (a pipeline ``ModelResult``);
``markdown.render`` and ``html.render`` lay it out. ``threatgraph sra`` writes both.
"""

from __future__ import annotations

from threatgraph.features.sra.build import Options, Sra, build

__all__ = ["Options", "Sra", "build"]
