"""threatgraph: threat modeling of AI systems as code.

Describe a system with :class:`Model`, then run ``threatgraph check`` on the file.
"""

from threatgraph.model.dsl import Model, Ref, control

__version__ = "0.1.0"
__all__ = ["Model", "Ref", "__version__", "control"]
