"""Baseline files: the open findings of a system when threatgraph was adopted.

``threatgraph baseline`` writes one; ``check --baseline FILE`` then fails only on open
findings that are not in it, and reports entries that no longer occur. The file is JSON,
sorted, with a version header, so that it diffs cleanly in review::

    {
      "threatgraph-baseline": 1,
      "findings": [
        {"model": "support-bot", "id": "TG-PI-001/chat-model", "severity": "high",
         "title": "Direct prompt injection from users of an LLM"}
      ]
    }

Entries match findings by model id and finding id (both stable when lines move or unrelated
parts of the model change); ``severity`` and ``title`` are there for the human reader.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from threatgraph.engine.findings import Finding
from threatgraph.util.errors import InputError, Problem
from threatgraph.util.yamlsafe import LineDict, LineList, versioned_document

BASELINE_VERSION = 1
HEADER = "threatgraph-baseline"


@dataclass(frozen=True)
class Baseline:
    """A loaded baseline: (model id, finding id) -> line of the entry."""

    path: str
    entries: dict[tuple[str, str], int]

    def __contains__(self, key: object) -> bool:
        return key in self.entries


def dumps(findings: Iterable[Finding]) -> str:
    """The baseline document for ``findings`` (their open ones), deterministic."""
    rows = sorted(
        {
            (f.model_id, f.id): {
                "model": f.model_id,
                "id": f.id,
                "severity": f.severity,
                "title": f.rule.title,
            }
            for f in findings
            if f.status == "open"
        }.items()
    )
    doc = {HEADER: BASELINE_VERSION, "findings": [row for _, row in rows]}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def load(path: Path) -> Baseline:
    """Read a baseline file; any problem is an InputError with file:line."""
    file = str(path)
    doc = versioned_document(
        path,
        HEADER,
        BASELINE_VERSION,
        frozenset({"findings"}),
        "threatgraph baseline",
        missing="baseline file does not exist (write one with `threatgraph baseline -o FILE`)",
    )
    items = doc.get("findings", [])
    if not isinstance(items, list):
        raise InputError.single(file, _key_line(doc, "findings"), "must be a list", "findings")
    entries: dict[tuple[str, str], int] = {}
    problems: list[Problem] = []
    for i, item in enumerate(items):
        line = items.item_lines[i] if isinstance(items, LineList) else 0
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("model"), str)
            or not isinstance(item.get("id"), str)
        ):
            problems.append(
                Problem(file, line, "each entry needs string 'model' and 'id'", f"findings.{i}")
            )
            continue
        entries[(item["model"], item["id"])] = line
    if problems:
        raise InputError(problems)
    return Baseline(file, entries)


def _key_line(doc: object, key: str) -> int:
    return doc.key_lines.get(key, 1) if isinstance(doc, LineDict) else 1
