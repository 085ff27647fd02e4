"""threatgraph: threat modeling of AI systems as code.

Describe a system with :class:`Model`, then run ``threatgraph check`` on the file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from threatgraph.version import __version__

__all__ = ["Model", "Ref", "__version__", "control", "graph_of"]

if TYPE_CHECKING:
    from pathlib import Path

    import networkx as nx

    from threatgraph.model.dsl import Model, Ref, control
    from threatgraph.model.schema import SystemModel


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


def __getattr__(name: str) -> Any:
    # The DSL pulls in pydantic; import it on first use so that commands which never load a
    # model (a pre-commit run that touched no model file, --help) start fast.
    if name in ("Model", "Ref", "control"):
        from threatgraph.model import dsl

        return getattr(dsl, name)
    raise AttributeError(f"module 'threatgraph' has no attribute {name!r}")
