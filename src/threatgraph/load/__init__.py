"""Loading models from files: one module per source format, and a registry."""

from threatgraph.load.registry import LoadedModel, discover, load_paths

__all__ = ["LoadedModel", "discover", "load_paths"]
