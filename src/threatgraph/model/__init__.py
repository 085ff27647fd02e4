"""The model layer: schema (pydantic), the Python DSL, and semantic validation."""

from threatgraph.model.dsl import Model, Ref, control
from threatgraph.model.schema import (
    Boundary,
    Classification,
    ControlRef,
    DataAsset,
    Decision,
    Element,
    Flow,
    Kind,
    Location,
    SystemModel,
    Trust,
)

__all__ = [
    "Boundary",
    "Classification",
    "ControlRef",
    "DataAsset",
    "Decision",
    "Element",
    "Flow",
    "Kind",
    "Location",
    "Model",
    "Ref",
    "SystemModel",
    "Trust",
    "control",
]
