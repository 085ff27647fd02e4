"""Helpers the recognisers share: component keys, model names, pinned versions."""

from __future__ import annotations

import re

from threatgraph.features.discover import catalog
from threatgraph.features.discover.result import Category, Component, Discovery, Evidence, Link
from threatgraph.model.schema import slugify

_HEX = re.compile(r"^[0-9a-f]{7,64}$")
_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$")
#: Keyword arguments that name a model, in the SDKs discovery knows.
MODEL_KWARGS = frozenset(
    {
        "model",
        "model_name",
        "model_id",
        "modelId",
        "deployment_name",
        "azure_deployment",
        "deployment_id",
        "modelName",
    }
)


def key(category: Category, name: str) -> str:
    """The stable key of a component: ``category:slug``."""
    return f"{category}:{slugify(name)}"


def model_name(value: str) -> str | None:
    """``value`` when it looks like a model name (no spaces, not a path or URL), else None."""
    if "://" in value or value.startswith(("/", ".")) or not _MODEL_NAME.match(value):
        return None
    return value


def vendor_of_model(name: str) -> str | None:
    """The vendor serving a model name, from its prefix (``gpt-4o`` -> openai), or None.

    A ``vendor:model`` spelling (Pydantic AI, LiteLLM) names its vendor directly.
    """
    lower = name.lower()
    explicit = provider_of_model(lower)
    if explicit is not None:
        return explicit
    for prefix, vendor in catalog.MODEL_PREFIXES:
        if lower.startswith(prefix):
            return vendor
    return None


def provider_of_model(name: str) -> str | None:
    """The vendor a ``provider:model`` (or ``provider/model``) spelling names, or None."""
    for sep in (":", "/"):
        head, found, _ = name.lower().partition(sep)
        if found and head in catalog.PROVIDER_ALIASES:
            return catalog.PROVIDER_ALIASES[head]
    return None


def vendor_component(found: Discovery, vendor: str, evidence: Evidence | None) -> Component:
    """The model API component of a vendor (catalogue key), with ``evidence`` added."""
    tech = catalog.BY_KEY[vendor]
    comp = found.add(f"model_api:{vendor}", "model_api", f"{tech.name} API", evidence)
    comp.tech = comp.vendor = vendor
    comp.default_env = tech.env[0] if tech.env else ""
    return comp


def tech_component(found: Discovery, tech: catalog.Tech, evidence: Evidence | None) -> Component:
    """The component of a catalogue technology that is one (a model API or a vector store)."""
    if tech.category == "model_api":
        return vendor_component(found, tech.key, evidence)
    assert tech.category is not None
    comp = found.add(f"{tech.category}:{tech.key}", tech.category, tech.name, evidence)
    comp.tech = tech.key
    return comp


def revision_pinned(value: str | None) -> bool:
    """A hub revision is pinned when it is a commit hash (a tag or branch moves)."""
    return value is not None and bool(_HEX.match(value.lower()))


def env_vendor(name: str, vendors: set[str]) -> str | None:
    """Which of ``vendors`` an environment variable belongs to (its table, or its name)."""
    for v in sorted(vendors):
        if name in catalog.BY_KEY[v].env:
            return v
    upper = name.upper()
    for v in sorted(vendors):
        token = v.replace("-", "_").upper()
        if token in upper and ("KEY" in upper or "TOKEN" in upper):
            return v
    return None


def sdk_call(
    found: Discovery, tech: catalog.Tech, ev: Evidence, vendor: str | None = None
) -> Component | None:
    """A call into a model API or vector store SDK: its component (``vendor`` overrides the
    technology's, for an OpenAI client pointed at another service), with the evidence and
    the flow from the app that the call makes evident. None for other technologies."""
    if tech.category == "model_api":
        comp = vendor_component(found, vendor or tech.key, ev)
        found.links.add(Link("app", comp.key, "prompt", "call", ev))
        return comp
    if tech.category == "vector_store":
        comp = tech_component(found, tech, ev)
        found.links.add(Link("app", comp.key, "query", "read", ev))
        return comp
    return None


def attribute_env(found: Discovery, names: list[str], vendors: set[str]) -> None:
    """Credit the environment variables a file reads to the vendors it uses."""
    for name in names:
        vendor = env_vendor(name, vendors)
        if vendor:
            vendor_component(found, vendor, None).env_vars.add(name)
