"""threatgraph: threat modeling of AI systems as code.

Describe a system with :class:`Model`, then run ``threatgraph check`` on the file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Model", "Ref", "__version__", "control"]

if TYPE_CHECKING:
    from threatgraph.model.dsl import Model, Ref, control


def __getattr__(name: str) -> Any:
    # The DSL pulls in pydantic; import it on first use so that commands which never load a
    # model (a pre-commit run that touched no model file, --help) start fast.
    if name in ("Model", "Ref", "control"):
        from threatgraph.model import dsl

        return getattr(dsl, name)
    raise AttributeError(f"module 'threatgraph' has no attribute {name!r}")
