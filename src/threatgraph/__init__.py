"""threatgraph: threat modeling of AI systems as code.

Describe a system with :class:`Model`, then run ``threatgraph check`` on the file, or
:func:`check` it from Python and read the typed results (docs/api.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from threatgraph.version import __version__

__all__ = [
    "CheckItem",
    "Finding",
    "InputError",
    "Model",
    "ModelResult",
    "Notice",
    "Problem",
    "Ref",
    "Run",
    "Verdict",
    "__version__",
    "check",
    "control",
    "graph_of",
]

if TYPE_CHECKING:
    from pathlib import Path

    import networkx as nx

    from threatgraph.api import check
    from threatgraph.model.dsl import Model, Ref, control
    from threatgraph.model.schema import SystemModel
    from threatgraph.results import CheckItem, Finding, ModelResult, Notice, Run, Verdict
    from threatgraph.util.errors import InputError, Problem


def graph_of(model: Model | SystemModel | str | Path) -> nx.MultiDiGraph:
    """A model as a networkx ``MultiDiGraph`` with the facts the rules read.

    ``model`` is a DSL :class:`Model`, a validated model, or the path of one model file (a
    Python model file is run, as ``threatgraph check`` runs it). Nodes are element ids and
    edges flows keyed by flow id; :func:`threatgraph.graph.to_networkx` lists the attributes.
    """
    from pathlib import Path

    from threatgraph.graph import build
    from threatgraph.model.dsl import Model
    from threatgraph.model.schema import SystemModel
    from threatgraph.model.validate import finalize

    if isinstance(model, str | Path):
        from threatgraph.load.registry import load_paths
        from threatgraph.util.errors import InputError, Problem

        loaded = load_paths([Path(model)])
        if len(loaded) != 1:
            raise InputError([Problem(str(model), 0, f"holds {len(loaded)} models, not one")])
        system = loaded[0].model
    elif isinstance(model, Model):
        system = finalize(model.build())
    elif isinstance(model, SystemModel):
        system = model
    else:
        raise TypeError(f"expected a Model, a SystemModel or a path, got {type(model).__name__}")
    return build(system).g


#: Public names imported on first use -> the module that defines them. The DSL pulls in
#: pydantic and the results the engine: commands that never load a model (a pre-commit run
#: that touched no model file, --help) start fast.
_LAZY = {
    "Model": "threatgraph.model.dsl",
    "Ref": "threatgraph.model.dsl",
    "control": "threatgraph.model.dsl",
    "check": "threatgraph.api",
    "CheckItem": "threatgraph.results",
    "Finding": "threatgraph.results",
    "ModelResult": "threatgraph.results",
    "Notice": "threatgraph.results",
    "Run": "threatgraph.results",
    "Verdict": "threatgraph.results",
    "InputError": "threatgraph.util.errors",
    "Problem": "threatgraph.util.errors",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'threatgraph' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(module), name)
