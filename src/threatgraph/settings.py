"""Configuration: [tool.threatgraph] in pyproject.toml, or .threatgraph.toml, found upward.

The search starts in the current directory and walks up to the repository root (the first
directory holding ``.git``), like ruff and mypy do. In each directory a ``pyproject.toml``
with a ``[tool.threatgraph]`` table wins over a ``.threatgraph.toml``.

CLI flags override the file; unknown keys are errors with file:line (a typo must not silently
weaken a gate). Paths in the file are relative to the directory of the file and must stay
inside the repository (the git work tree holding the file, else the file's directory): a
config file from a pull request must not point threatgraph at ``/`` or write reports
outside the repository. Paths given on the command line are the user's and are not checked.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from threatgraph.util.errors import InputError, Problem
from threatgraph.util.hints import choice_message, suggest
from threatgraph.util.readfile import not_regular, read_input

#: Every key a config file may hold, with a one-line meaning (docs/workflow.md has the table).
KEYS: dict[str, str] = {
    "models": "model files or directories checked when no PATH is given",
    "fail_on": "lowest severity of an open finding that fails the run",
    "rules": "extra rule directories",
    "disable": "rules to switch off, each with the reason reports show",
    "decisions": "decisions files (risk acceptances, false positives, mitigated)",
    "baseline": "baseline file of known open findings that do not fail the run",
    "output": "output directory of `threatgraph report`",
    "formats": "formats `threatgraph report` writes by default",
    "max_acceptance_days": "longest allowed time between an acceptance and its expiry",
    "expiry_warning_days": "days ahead of the run date in which an expiring vendor BAA or "
    "certification is warned about",
    "strict": "decisions that match no finding and stale baseline entries are errors",
    "require_evidence": "a control counts as present only when it cites existing evidence",
    "pytm_threats": "also run pytm's classic threat library on every model",
    "otm_types": "OTM component type -> threatgraph kind, for types threatgraph does not know",
    "drift_scope": "model file -> the code paths it covers, for `check --drift` (default: the "
    "whole repository holding the model)",
    "review": "settings of `threatgraph review` (a table: ignore, fail_on_unmapped)",
}

#: The keys of the ``review`` table (``[tool.threatgraph.features.review]``).
REVIEW_KEYS: dict[str, str] = {
    "ignore": "changed files matching these globs (repository-relative) are never unmapped",
    "fail_on_unmapped": "also fail the review when a changed file belongs to no element",
}

#: The keys that hold paths (each a string or a list of strings): they must stay inside the
#: repository.
PATH_KEYS = ("models", "rules", "decisions", "baseline", "output")


class Sourced(str):
    """A string from a config file that remembers where it was written.

    Some config values can only be checked after loading (a disabled rule id needs the
    library); the error then still points at the config file and line.
    """

    file: str
    line: int

    def __new__(cls, value: str, file: str, line: int) -> Sourced:
        obj = super().__new__(cls, value)
        obj.file, obj.line = file, line
        return obj


class ReviewSettings(BaseModel):
    """``[tool.threatgraph.features.review]``: what ``threatgraph review`` and its pre-commit hook,
    which takes no arguments, read instead of ``--ignore`` and ``--fail-on-unmapped``."""

    model_config = ConfigDict(extra="forbid", strict=True)
    ignore: list[str] = Field(default_factory=list, description=REVIEW_KEYS["ignore"])
    fail_on_unmapped: bool = Field(default=False, description=REVIEW_KEYS["fail_on_unmapped"])

    @field_validator("ignore")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        # Checked here, so that a bad pattern is reported at its line in the config.
        from threatgraph.repo.codemap import PatternError, compile_pattern

        for item in value:
            if not item.strip():
                raise ValueError("entries must be non-empty patterns")
            try:
                compile_pattern(item)
            except PatternError as exc:
                raise ValueError(str(exc)) from None
        return value


class Settings(BaseModel):
    """Project settings from the config file (CLI flags are merged over them by commands)."""

    # strict: TOML values are typed, so "yes" for a boolean or "90" for a number is a
    # mistake to report, not a value to coerce.
    model_config = ConfigDict(extra="forbid", strict=True)
    models: list[str] = Field(default_factory=list, description=KEYS["models"])
    fail_on: Literal["info", "low", "medium", "high", "critical"] = Field(
        default="high", description=KEYS["fail_on"]
    )
    rules: list[str] = Field(default_factory=list, description=KEYS["rules"])
    disable: dict[str, str] = Field(default_factory=dict, description=KEYS["disable"])
    decisions: list[str] = Field(default_factory=list, description=KEYS["decisions"])
    baseline: str | None = Field(default=None, description=KEYS["baseline"])
    output: str = Field(default="threatgraph-report", description=KEYS["output"])
    formats: list[str] = Field(default_factory=list, description=KEYS["formats"])
    max_acceptance_days: int = Field(
        default=365, gt=0, le=3660, description=KEYS["max_acceptance_days"]
    )
    expiry_warning_days: int = Field(
        default=60, ge=0, le=3660, description=KEYS["expiry_warning_days"]
    )
    strict: bool = Field(default=False, description=KEYS["strict"])
    require_evidence: bool = Field(default=False, description=KEYS["require_evidence"])
    pytm_threats: bool = Field(default=False, description=KEYS["pytm_threats"])
    otm_types: dict[str, str] = Field(default_factory=dict, description=KEYS["otm_types"])
    drift_scope: dict[str, list[str]] = Field(default_factory=dict, description=KEYS["drift_scope"])
    review: ReviewSettings = Field(default_factory=ReviewSettings, description=KEYS["review"])

    # Where the settings came from (set by load_settings, never read from the file); paths
    # in the file are relative to ``root``.
    source: str | None = Field(default=None, exclude=True)
    root: str | None = Field(default=None, exclude=True)

    @field_validator("models", "rules", "decisions", "formats")
    @classmethod
    def _non_empty_items(cls, value: list[str]) -> list[str]:
        if any(not v.strip() for v in value):
            raise ValueError("entries must be non-empty strings")
        return value

    @field_validator("drift_scope")
    @classmethod
    def _scopes(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for model, paths in value.items():
            if not model.strip() or not paths or any(not p.strip() for p in paths):
                raise ValueError(
                    f"drift_scope {model!r}: give the model file and a non-empty list of paths"
                )
        return value

    @field_validator("baseline", "output")
    @classmethod
    def _non_empty(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must be a non-empty path")
        return value

    @field_validator("formats")
    @classmethod
    def _known_formats(cls, value: list[str]) -> list[str]:
        # The names `report --format` takes (comma-separated lists too), checked here so that
        # a typo is reported at its line in the config, not later without one.
        from threatgraph.formats.base import ALIASES, REGISTRY

        known = {*REGISTRY, *ALIASES, "all"}
        for item in value:
            for raw in item.split(","):
                name = raw.strip().lower()
                if name and name not in known:
                    # The canonical names first: 'htlm' is 'html', not the alias 'htm'.
                    hint = suggest(name, [*REGISTRY, "all"], n=1) or suggest(name, ALIASES, n=1)
                    if not hint:
                        hint = "; choose from " + ", ".join([*REGISTRY, "all"])
                    raise ValueError(f"unknown format {raw.strip()!r}{hint}")
        return value

    @field_validator("otm_types")
    @classmethod
    def _kinds(cls, value: dict[str, str]) -> dict[str, str]:
        from threatgraph.load.otm_map import parse_type_map

        parse_type_map(f"{k}={v}" for k, v in value.items())  # ValueError names the entry
        return value

    @field_validator("disable")
    @classmethod
    def _reasons(cls, value: dict[str, str]) -> dict[str, str]:
        empty = sorted(k for k, v in value.items() if not v.strip())
        if empty:
            raise ValueError(f"give the reason for disabling {', '.join(empty)}")
        return value


def find_config(start: Path) -> Path | None:
    """The nearest pyproject.toml with [tool.threatgraph], else .threatgraph.toml, upward.

    The search stops at the repository root (a directory containing ``.git``).
    """
    cur = start.resolve()
    for d in (cur, *cur.parents):
        py = d / "pyproject.toml"
        if _special(py):
            return py  # a FIFO or a device: load_settings refuses it with its name
        if py.is_file():
            try:
                if "threatgraph" in tomllib.loads(read_input(py).decode("utf-8")).get("tool", {}):
                    return py
            except (tomllib.TOMLDecodeError, InputError, UnicodeDecodeError):
                return py  # let load_settings report the problem
        alt = d / ".threatgraph.toml"
        if alt.is_file() or _special(alt):
            return alt
        if (d / ".git").exists():
            break
    return None


def _special(path: Path) -> bool:
    """A FIFO, device or socket (not a regular file, not a directory)."""
    return not_regular(path) not in (None, "a directory")


def repo_root(directory: Path) -> Path:
    """The repository a config file in ``directory`` belongs to: the git work tree holding
    it (the nearest directory with ``.git``), else ``directory`` itself (symlinks resolved).
    """
    cur = directory.resolve()
    for d in (cur, *cur.parents):
        if (d / ".git").exists():
            return d
    return cur


def _toml_line(message: str, text: str) -> int:
    m = re.search(r"line (\d+)", message)
    if m:
        return int(m.group(1))
    return max(1, len(text.splitlines())) if "end of document" in message else 0


_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")


def _key_pattern(key: str) -> re.Pattern[str]:
    k = re.escape(key)
    # A quoted key may be written with escapes ("\f", "\u00e9"): JSON's escaping is TOML's.
    esc = re.escape(json.dumps(key)[1:-1])
    return re.compile(rf"^\s*(?:{k}|\"{k}\"|'{k}'|\"{esc}\")\s*=")


class _Lines:
    """Finds the line of a key of the threatgraph table in the config text."""

    def __init__(self, text: str, prefix: str) -> None:
        self.lines = text.splitlines()
        self.prefix = prefix
        # (table name, first line, last line) for the threatgraph table and its sub-tables.
        self.tables: list[tuple[str, int, int]] = []
        current: str | None = "" if not prefix else None
        start = 1
        for i, line in enumerate(self.lines, 1):
            m = _HEADER.match(line)
            if not m or line.lstrip().startswith("[["):
                continue
            if current is not None:
                self.tables.append((current, start, i - 1))
            name = m.group(1).replace(" ", "")
            full = f"{prefix}." if prefix else ""
            if prefix and name == prefix:
                current = ""
            elif name.startswith(full) or (not prefix):
                current = name[len(full) :]
            else:
                current = None
            start = i
        if current is not None:
            self.tables.append((current, start, len(self.lines)))

    @property
    def header(self) -> int:
        if not self.prefix:
            return 1  # .threatgraph.toml: the whole file is the table
        for name, first, _ in self.tables:
            if name == "":
                return first
        return 0

    def line_of(self, loc: tuple[Any, ...]) -> int:
        """The line of ``loc`` (key, then an optional nested key), else the table header.

        A key written another way (a dotted key ``threatgraph.fail_on = ...`` under
        ``[tool]``, an inline table) is found by a looser scan of the whole text; failing
        that, the header, else line 1: a config problem always has a line.
        """
        if not loc:
            return self.header or 1
        key = str(loc[0])
        pat = _key_pattern(key)
        for name, first, last in self.tables:
            if name == "":
                for i in range(first, last + 1):
                    if pat.match(self.lines[i - 1]):
                        return i
            elif name == key:
                if len(loc) > 1:
                    sub = _key_pattern(str(loc[1]))
                    for i in range(first, last + 1):
                        if sub.match(self.lines[i - 1]):
                            return i
                return first
        loose = re.compile(rf"(?:^|[\s{{,.\"']){re.escape(key)}[\"']?\s*=")
        for i, line in enumerate(self.lines, 1):
            if loose.search(line):
                return i
        return self.header or 1


def load_settings(path: Path | None = None, start: Path | None = None) -> Settings:
    """Settings from ``path``, or found upward from ``start`` (default: the cwd).

    Raises InputError (file:line) for unreadable or invalid TOML, unknown keys and bad values.
    """
    cfg = path if path is not None else find_config(start or Path.cwd())
    if cfg is None:
        return Settings()
    file = str(cfg)
    text = ""
    try:
        text = read_input(cfg).decode("utf-8")
        doc = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise InputError.single(file, line, "config is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError.single(file, _toml_line(str(exc), text), f"invalid TOML: {exc}") from None
    if cfg.name == "pyproject.toml":
        section = doc.get("tool", {}).get("threatgraph", {})
        prefix = "tool.threatgraph"
    else:
        section = doc
        prefix = ""
    lines = _Lines(text, prefix)
    if not isinstance(section, dict):
        # `threatgraph = ...` in [tool], or `tool.threatgraph = ...` at the top.
        line = next(
            (
                i
                for i, ln in enumerate(text.splitlines(), 1)
                if re.match(r"^\s*(tool\s*\.\s*)?threatgraph\s*=", ln)
            ),
            lines.header or 1,
        )
        raise InputError.single(file, line, f"[{prefix}] must be a table")
    problems: list[Problem] = []
    for key in sorted(k for k in section if k not in KEYS):
        close = difflib.get_close_matches(key, list(KEYS), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        problems.append(
            Problem(file, lines.line_of((key,)), f"unknown key{hint}", f"{prefix}.{key}".strip("."))
        )
    settings = Settings()
    try:
        settings = Settings.model_validate({k: v for k, v in section.items() if k in KEYS})
    except ValidationError as exc:
        for e in exc.errors():
            key = ".".join(str(p) for p in e["loc"])
            # A mistyped severity: the closest one, not pydantic's list of every value.
            msg = choice_message(e) or e["msg"].removeprefix("Value error, ")
            if e["type"] == "model_type":
                msg = "must be a table"
            if e["type"] == "extra_forbidden" and len(e["loc"]) == 2 and e["loc"][0] == "review":
                hint = suggest(str(e["loc"][1]), REVIEW_KEYS, n=1)
                msg = f"unknown key{hint}; [review] takes {', '.join(REVIEW_KEYS)}"
            problems.append(
                Problem(file, lines.line_of(e["loc"]), msg, f"{prefix}.{key}".strip("."))
            )
    problems.extend(_escaping_paths(section, cfg, lines, prefix))
    if problems:
        raise InputError(problems)
    settings.source = file
    settings.root = str(cfg.parent)
    settings.disable = {
        k: Sourced(v, file, lines.line_of(("disable", k))) for k, v in settings.disable.items()
    }
    return settings


def _escaping_paths(
    section: dict[str, Any], cfg: Path, lines: _Lines, prefix: str
) -> list[Problem]:
    """Problems for configured paths that are absolute or resolve outside the repository.

    Read from the raw table, so that they are reported together with other problems of the
    file (a value of the wrong type is the validation's to report).
    """
    base = cfg.parent
    root = repo_root(base)
    problems: list[Problem] = []
    scopes = section.get("drift_scope")
    checked: list[tuple[str, Any]] = [(key, section.get(key)) for key in PATH_KEYS]
    if isinstance(scopes, dict):
        # Both the model files and the code paths of drift_scope are paths in the repository.
        checked += [
            ("drift_scope", [k, *(v if isinstance(v, list) else [])]) for k, v in scopes.items()
        ]
    for key, raw in checked:
        values = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
        for value in values:
            if not isinstance(value, str) or not value.strip():
                continue
            why = _escape(value, base, root)
            if why is not None:
                problems.append(
                    Problem(
                        str(cfg),
                        lines.line_of((key,)),
                        f"{key} {value!r} {why}: a path in the configuration must stay "
                        f"inside the repository ({root}); give it on the command line instead",
                        f"{prefix}.{key}".strip("."),
                    )
                )
    return problems


def _escape(value: str, base: Path, root: Path) -> str | None:
    """Why configured path ``value`` (relative to ``base``) leaves ``root``, or None."""
    if os.path.isabs(value) or value.startswith(("/", "\\", "~")):
        return "is absolute"
    try:
        target = (base / value).resolve()
    except (OSError, RuntimeError, ValueError):  # a symlink loop, a NUL byte
        return "cannot be resolved"
    if target.is_relative_to(root):
        return None
    lexical = os.path.normpath(os.path.join(base.resolve(), value))
    if not Path(lexical).is_relative_to(root) and ".." in Path(value).parts:
        return "climbs out of the repository (through '..')"
    return "resolves outside the repository (through a symlink)"
