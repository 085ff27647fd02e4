"""Optional source formats: pytm model files and Open Threat Model (OTM) JSON or YAML.

The registry calls :func:`register_all` after the built-in formats, so the Python DSL
(files importing threatgraph) and threatgraph YAML/JSON (a top-level ``threatgraph`` key)
keep their files; these formats claim what is left by a static look at the file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from threatgraph.load.registry import Converted, LoadContext, SourceFormat
from threatgraph.model.schema import SystemModel


def _load_pytm(path: Path, ctx: LoadContext) -> list[Converted]:
    from threatgraph.load import pytm_loader

    return pytm_loader.load(path)


def _sniff_pytm(path: Path, head: str) -> bool:
    from threatgraph.load import pytm_loader

    return pytm_loader.looks_like_model(path, head)


def _mentions_pytm(text: str) -> bool:
    from threatgraph.load import pytm_loader

    return pytm_loader.PYTM_IMPORT_RE.search(text) is not None


def _load_otm(path: Path, ctx: LoadContext) -> list[SystemModel]:
    from threatgraph.load import otm_loader

    result = otm_loader.parse(path, ctx.otm_types, ctx.known_controls)
    ctx.warnings.extend(result.warnings)
    return [result.model]


def _sniff_otm(path: Path, head: str) -> bool:
    from threatgraph.load import otm_loader

    return otm_loader.looks_like_model(path, head)


def register_all(register: Callable[[SourceFormat], None]) -> None:
    """Register the pytm and OTM source formats (imports stay lazy until a file needs them)."""
    register(SourceFormat("pytm", (".py",), _sniff_pytm, _load_pytm, _mentions_pytm))
    # OTM claims .yaml/.yml files only when they have a top-level otmVersion (the threatgraph
    # YAML format, registered first, claims those with a top-level threatgraph key).
    register(SourceFormat("otm", (".json", ".otm", ".yaml", ".yml"), _sniff_otm, _load_otm))
