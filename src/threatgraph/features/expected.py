"""Expected findings of a rule's fixtures: the ``expected.yaml`` next to ``rule.yaml``.

A rule directory holds fixture models (``positive*.yaml``, ``negative*.yaml``) and one
``expected.yaml`` that states, for each fixture, the exact findings of this rule on it::

    positive.yaml:
      - {element: mailer, status: open}
    negative.yaml:
      - {element: mailer, status: mitigated}
    negative-readonly.yaml: []

Each entry is the finding's primary element and its status, with ``count`` when the rule
finds that element more than once with that status (flow rules: one finding per flow).
Fixture runs are compared with this exactly, as a multiset of (element, status).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from threatgraph.engine.findings import Status
from threatgraph.util.errors import InputError, Problem
from threatgraph.util.yamlsafe import LineDict, LineList, load_document, problems_from_validation

#: The file name, next to rule.yaml.
EXPECTED_FILE = "expected.yaml"

#: Fixture file names the library loader picks up (see engine/library.py).
FIXTURE_NAME = re.compile(r"^(positive|negative)[^/\\]*\.(yaml|yml|json)$")

#: (primary element id, status) -> number of findings.
Tally = Counter[tuple[str, str]]


class ExpectedFinding(BaseModel):
    """One expected finding (or ``count`` of them) of the rule on a fixture."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    element: str = Field(min_length=1, description="The finding's primary element id.")
    status: Status
    count: int = Field(
        default=1, ge=1, description="Findings on this element with this status (flow rules)."
    )


@dataclass(frozen=True)
class Expectations:
    """A parsed expected.yaml: per fixture file name, its findings and the key's line."""

    path: Path
    fixtures: dict[str, list[ExpectedFinding]]
    lines: dict[str, int]

    def tally(self, fixture: str) -> Tally:
        """The expected findings of one fixture as a multiset."""
        out: Tally = Counter()
        for e in self.fixtures[fixture]:
            out[(e.element, e.status)] += e.count
        return out

    def line(self, fixture: str) -> int:
        """The line of the fixture's key (0 when unknown)."""
        return self.lines.get(fixture, 0)


def load_expectations(path: Path) -> Expectations:
    """Read and validate an expected.yaml; InputError (file, line) on any problem."""
    file = str(path)
    doc = load_document(path)
    if doc is None:
        doc = LineDict()
    if not isinstance(doc, dict):
        raise InputError.single(
            file, getattr(doc, "line", 1) or 1, "expected a mapping: fixture file -> findings"
        )
    key_lines: dict[str, int] = doc.key_lines if isinstance(doc, LineDict) else {}
    problems: list[Problem] = []
    fixtures: dict[str, list[ExpectedFinding]] = {}
    for name, items in doc.items():
        line = key_lines.get(name, 1)
        if not isinstance(name, str) or not FIXTURE_NAME.match(name):
            problems.append(
                Problem(
                    file,
                    line,
                    f"{name!r} is not a fixture file name (positive*.yaml or negative*.yaml, "
                    "in the rule's directory)",
                    str(name),
                )
            )
            continue
        if items is None or not isinstance(items, list):
            problems.append(Problem(file, line, "expected a list of findings ([] for none)", name))
            continue
        got: list[ExpectedFinding] = []
        seen: dict[tuple[str, str], int] = {}
        for i, item in enumerate(items):
            item_line = items.item_lines[i] if isinstance(items, LineList) else line
            try:
                ef = ExpectedFinding.model_validate(item)
            except ValidationError as exc:
                for p in problems_from_validation(exc, item, file):
                    where = f"{name}.{i}" + (f".{p.field}" if p.field else "")
                    problems.append(Problem(file, p.line or item_line, p.message, where))
                continue
            key = (ef.element, ef.status)
            if key in seen:
                problems.append(
                    Problem(
                        file,
                        item_line,
                        f"{ef.element} ({ef.status}) is listed twice; give it a count instead",
                        f"{name}.{i}",
                    )
                )
                continue
            seen[key] = i
            got.append(ef)
        fixtures[name] = got
    if problems:
        raise InputError(problems)
    return Expectations(path, fixtures, {k: key_lines.get(k, 0) for k in fixtures})


def tally(findings: Iterable[tuple[str, str]]) -> Tally:
    """A multiset of (element, status) pairs."""
    return Counter(findings)


def _show(key: tuple[str, str], n: int) -> str:
    element, status = key
    return f"{element} {status}" + (f" x{n}" if n != 1 else "")


def differences(expected: Tally, actual: Tally) -> list[str]:
    """What differs between expected and actual findings, one phrase each; [] when equal."""
    out: list[str] = []
    for key in sorted(set(expected) | set(actual)):
        want, got = expected.get(key, 0), actual.get(key, 0)
        if want == got:
            continue
        if not got:
            out.append(f"missing {_show(key, want)}")
        elif not want:
            out.append(f"unexpected {_show(key, got)}")
        else:
            out.append(f"{key[0]} {key[1]}: expected {want}, got {got}")
    return out


#: Plain scalars YAML 1.1 would read as something other than a string.
_RESERVED = frozenset({"true", "false", "yes", "no", "on", "off", "null", "y", "n"})


def _scalar(text: str) -> str:
    """A YAML scalar for an element id: plain when unambiguous, else double-quoted."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", text) and text.lower() not in _RESERVED:
        return text
    out = []
    for ch in text:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 0x20 <= code < 0x7F:
            out.append(ch)
        else:
            # Escapes for everything else, so that control, non-printable and astral
            # characters come back as they were (YAML's \u and \U escapes).
            out.append(f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


def _key(name: str) -> str:
    """A fixture file name as a mapping key (plain unless it needs quoting)."""
    return name if re.fullmatch(r"[A-Za-z0-9_.-]+", name) else _scalar(name)


def render(results: Mapping[str, Tally]) -> str:
    """expected.yaml text for the given fixture results (fixtures and entries sorted)."""
    lines: list[str] = []
    for name in sorted(results):
        t = results[name]
        if not +t:
            lines.append(f"{_key(name)}: []")
            continue
        lines.append(f"{_key(name)}:")
        for (element, status), n in sorted(t.items()):
            if n <= 0:
                continue
            extra = f", count: {n}" if n != 1 else ""
            lines.append(f"  - {{element: {_scalar(element)}, status: {status}{extra}}}")
    return "\n".join(lines) + "\n"
