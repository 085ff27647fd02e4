"""The risk register file: what the risk management plan needs beyond the model and decisions.

Decisions (in the model or a decisions file) already say which findings are accepted, by whom,
until when and under which ticket. The register file adds, per finding, the response chosen
(mitigate, accept, transfer, avoid), its owner, due date, ticket and progress, the controls
planned, and the sign-off of an accepted residual risk; and, for the whole analysis, the
review log. ``threatgraph sra --register FILE`` reads it::

    threatgraph-register: 1
    risks:
      - finding: TG-PI-002/hosted-llm
        model: clinical-notes-assistant   # only when several models are analysed
        response: mitigate
        owner: ml-platform@example.org
        due: 2026-09-30
        ticket: SEC-201
        status: in_progress
        planned: [guardrail.input_filter]
      - finding: TG-HIPAA-005/clinician
        response: accept
        signoff: {by: Dana Reyes, role: Security official, date: 2026-06-01}
    reviews:
      - {date: 2026-06-01, by: Dana Reyes, role: Security official, note: Annual review}

It is read with the safe YAML reader; a mistake is reported with its file and line.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from threatgraph.util.errors import InputError, Problem
from threatgraph.util.yamlsafe import (
    LineDict,
    LineList,
    problems_from_validation,
    versioned_document,
)

HEADER = "threatgraph-register"
VERSION = 1

Response = Literal["mitigate", "accept", "transfer", "avoid"]
Progress = Literal["planned", "in_progress", "done"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SignOff(_Strict):
    """Who signed off an accepted residual risk, in which role, and when."""

    by: str = Field(min_length=1)
    role: str | None = None
    date: _dt.date


class RiskEntry(_Strict):
    """The plan for one finding."""

    finding: str = Field(min_length=1, description="Finding id, e.g. 'TG-PI-002/hosted-llm'.")
    model: str | None = Field(default=None, description="Model id, when ids could clash.")
    response: Response = Field(description="mitigate, accept, transfer or avoid.")
    owner: str | None = None
    due: _dt.date | None = None
    ticket: str | None = None
    status: Progress = "planned"
    planned: list[str] = Field(
        default_factory=list, description="Control ids to add (default: every missing one)."
    )
    note: str | None = None
    signoff: SignOff | None = None
    line: int = 0


class Review(_Strict):
    """One entry of the review log."""

    date: _dt.date
    by: str = Field(min_length=1)
    role: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Register:
    """A loaded register file (or the empty one when none is given)."""

    file: str = ""
    risks: tuple[RiskEntry, ...] = ()
    reviews: tuple[Review, ...] = ()

    def entry(self, model_id: str, finding: str) -> RiskEntry | None:
        """The entry for one finding of one model (an entry without a model fits any)."""
        for r in self.risks:
            if r.finding == finding and r.model in (None, model_id):
                return r
        return None


def _items(doc: LineDict, key: str, file: str) -> LineList | list[object]:
    items = doc.get(key) or []
    if not isinstance(items, list):
        raise InputError.single(file, doc.key_lines.get(key, 1), "must be a list", key)
    return items


def load(path: Path) -> Register:
    """Read and validate a register file; every problem is reported with its line."""
    file = str(path)
    keys = frozenset({"risks", "reviews"})
    doc = versioned_document(path, HEADER, VERSION, keys, "register file")
    problems: list[Problem] = []
    risks: list[RiskEntry] = []
    reviews: list[Review] = []
    seen: dict[tuple[str | None, str], int] = {}
    for key, cls in (("risks", RiskEntry), ("reviews", Review)):
        items = _items(doc, key, file)
        for i, item in enumerate(items):
            line = items.item_lines[i] if isinstance(items, LineList) else 0
            where = f"{key}.{i}"
            if not isinstance(item, dict):
                problems.append(Problem(file, line, "must be a mapping", where))
                continue
            if "line" in item:
                problems.append(Problem(file, line, "unknown field (typo?)", f"{where}.line"))
                continue
            try:
                extra = {"line": line} if cls is RiskEntry else {}
                obj = cls.model_validate({**item, **extra})
            except ValidationError as exc:
                for p in problems_from_validation(exc, item, file):
                    field = f"{where}.{p.field}" if p.field else where
                    problems.append(Problem(p.file, p.line or line, p.message, field))
                continue
            if isinstance(obj, RiskEntry):
                k = (obj.model, obj.finding)
                if k in seen:
                    problems.append(
                        Problem(
                            file, line, f"{obj.finding} is already planned at line {seen[k]}", where
                        )
                    )
                    continue
                seen[k] = line
                if obj.signoff is not None and obj.response != "accept":
                    problems.append(
                        Problem(file, line, "a sign-off is for an accepted risk", where)
                    )
                    continue
                risks.append(obj)
            elif isinstance(obj, Review):
                reviews.append(obj)
    if problems:
        raise InputError(problems)
    return Register(
        file=file,
        risks=tuple(risks),
        reviews=tuple(sorted(reviews, key=lambda r: (r.date, r.by, r.role or "", r.note or ""))),
    )
