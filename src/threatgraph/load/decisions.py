"""Decisions files: risk decisions kept apart from the model (a security team can own them).

A decisions file is YAML (or JSON) with a version header and a list of decisions; each has the
fields of a decision in a model, plus an optional ``model`` (the model id) when the same
finding id could occur in several models::

    threatgraph-decisions: 1
    decisions:
      - finding: TG-PI-001/chat-model
        model: support-bot
        status: accepted
        reason: Internal pilot with 20 known users; input filter lands in Q3.
        owner: security@example.org
        ticket: SEC-142
        date: 2026-01-10
        expires: 2026-06-30

Nothing in the file is executed; it is read with the safe YAML loader.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from threatgraph.model.schema import Decision
from threatgraph.util.errors import InputError, Problem
from threatgraph.util.yamlsafe import (
    LineDict,
    LineList,
    problems_from_validation,
    versioned_document,
)

DECISIONS_VERSION = 1
HEADER = "threatgraph-decisions"


def looks_like_decisions(head: str) -> bool:
    """Static check: the text starts a decisions file (used by the pre-commit mode)."""
    return any(line.startswith(f"{HEADER}:") or f'"{HEADER}"' in line for line in head.splitlines())


def load(path: Path) -> list[Decision]:
    """Every decision in one decisions file, each with its file:line."""
    file = str(path)
    doc = versioned_document(
        path, HEADER, DECISIONS_VERSION, frozenset({"decisions"}), "decisions file"
    )
    items = doc.get("decisions") or []
    if not isinstance(items, list):
        line = doc.key_lines.get("decisions", 1) if isinstance(doc, LineDict) else 1
        raise InputError.single(file, line, "must be a list of decisions", "decisions")
    out: list[Decision] = []
    problems: list[Problem] = []
    for i, item in enumerate(items):
        line = items.item_lines[i] if isinstance(items, LineList) else 0
        if not isinstance(item, dict):
            problems.append(Problem(file, line, "a decision must be a mapping", f"decisions.{i}"))
            continue
        if "location" in item:
            problems.append(
                Problem(file, line, "'location' is set by threatgraph", f"decisions.{i}.location")
            )
            continue
        try:
            d = Decision.model_validate({**item, "location": {"file": file, "line": line}})
        except ValidationError as exc:
            for p in problems_from_validation(exc, item, file):
                where = f"decisions.{i}.{p.field}" if p.field else f"decisions.{i}"
                problems.append(Problem(p.file, p.line or line, p.message, where))
            continue
        out.append(d)
    if problems:
        raise InputError(problems)
    return out
