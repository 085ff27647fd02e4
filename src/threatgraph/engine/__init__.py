"""The rule engine: rule schema, compiled matchers, findings, the library loader."""

from threatgraph.engine.evaluate import evaluate
from threatgraph.engine.findings import CheckItem, Finding
from threatgraph.engine.library import Library, load_library
from threatgraph.engine.rules import Rule

__all__ = ["CheckItem", "Finding", "Library", "Rule", "evaluate", "load_library"]
