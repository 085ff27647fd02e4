"""``threatgraph discover``: AI components found statically in a repository, drafted as a
model, and the drift between a model and its code (docs/discover.md)."""

from threatgraph.features.discover.result import Component, Discovery, Evidence
from threatgraph.features.discover.scan import discover

__all__ = ["Component", "Discovery", "Evidence", "discover"]
