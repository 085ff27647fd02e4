"""The typed result of a discovery run: AI components found in a repository, with evidence."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

Category = Literal[
    "model_api",
    "agent",
    "tool",
    "mcp_server",
    "vector_store",
    "artifact",
    "training",
    "deployment",
]
"""What a component is. Each category becomes one element kind in a draft."""

#: Categories in the order drafts and reports list them (the order of the Literal).
CATEGORIES: tuple[Category, ...] = get_args(Category)


@dataclass(frozen=True, order=True)
class Evidence:
    """Where a component was seen: a repository-relative file, a 1-based line, and what."""

    file: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, order=True)
class Package:
    """An AI package a dependency file declares, and whether its version is fixed."""

    name: str
    registry: Literal["pypi", "npm"]
    pinned: bool
    evidence: Evidence


@dataclass
class Component:
    """One AI component of the code (merged over every place it was seen).

    ``key`` is stable and unique within a discovery (``model_api:openai``,
    ``vector_store:chroma``, ``mcp_server:github``); drafts make element ids from it and drift
    findings carry it in their ids.
    """

    key: str
    category: Category
    name: str
    tech: str = ""  # catalogue key of the technology (openai, chroma, ollama...)
    vendor: str = ""  # catalogue key of the vendor behind a model API
    evidence: list[Evidence] = field(default_factory=list)
    models: set[str] = field(default_factory=set)  # model names used as literals
    env_vars: set[str] = field(default_factory=set)  # API key variables read in the code
    default_env: str = ""  # the variable the SDK reads when the code names none
    capabilities: set[str] = field(default_factory=set)
    tools: set[str] = field(default_factory=set)  # tool names of an agent or MCP server
    packages: list[Package] = field(default_factory=list)
    pinned: bool | None = None  # an artefact, image or MCP package at a fixed version
    remote_code: bool | None = None
    artifact_format: str | None = None
    hub: str | None = None
    loader: str | None = None
    transport: str | None = None
    command: str | None = None  # how a configured MCP server is started, or its URL
    at_runtime: bool | None = None
    ports: set[str] = field(default_factory=set)
    platform: str | None = None
    image: str | None = None

    @property
    def declared_only(self) -> bool:
        """Seen only in dependency files: declared, not used in code that discovery read."""
        return bool(self.packages) and not self.evidence

    @property
    def files(self) -> list[str]:
        """Every file the component was seen in (code and dependency files), sorted."""
        return sorted({e.file for e in self.evidence} | {p.evidence.file for p in self.packages})

    def first(self) -> Evidence:
        """The first place it was seen (code before dependency files)."""
        if self.evidence:
            return min(self.evidence)
        return min(p.evidence for p in self.packages)


@dataclass(frozen=True, order=True)
class Link:
    """A data flow the code makes evident, between two components (by key)."""

    source: str
    target: str
    name: str
    operation: Literal["call", "read", "write"]
    evidence: Evidence


@dataclass
class Discovery:
    """Everything one run found, and what it could not read (warnings, never fatal)."""

    root: str
    components: dict[str, Component] = field(default_factory=dict)
    links: set[Link] = field(default_factory=set)
    #: AI framework and SDK packages that dependency files declare (no component of their own).
    frameworks: list[Package] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    files_read: int = 0
    files_skipped: int = 0

    def add(self, key: str, category: Category, name: str, evidence: Evidence | None) -> Component:
        """The component ``key`` (made on first sight), with ``evidence`` added."""
        comp = self.components.get(key)
        if comp is None:
            comp = self.components[key] = Component(key, category, name)
        if evidence is not None and evidence not in comp.evidence:
            comp.evidence.append(evidence)
        return comp

    def sorted_components(self) -> list[Component]:
        """Components in category order, then by key: the order drafts list them."""
        rank = {c: i for i, c in enumerate(CATEGORIES)}
        return sorted(self.components.values(), key=lambda c: (rank[c.category], c.key))
