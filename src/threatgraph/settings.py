"""Configuration: [tool.threatgraph] in pyproject.toml, or .threatgraph.toml, found upward.

CLI flags override the file; unknown keys are errors (a typo must not silently weaken a gate).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from threatgraph.errors import InputError, Problem


class Settings(BaseModel):
    """Project settings."""

    model_config = ConfigDict(extra="forbid")
    models: list[str] = Field(default_factory=list, description="Model paths checked by default.")
    fail_on: Literal["info", "low", "medium", "high", "critical"] = "high"
    rules: list[str] = Field(default_factory=list, description="Extra rule directories.")
    disable: dict[str, str] = Field(default_factory=dict, description="Rule id -> reason.")
    decisions: list[str] = Field(default_factory=list, description="Decision files.")
    baseline: str | None = None
    output: str = "threatgraph-report"
    max_acceptance_days: int = Field(default=365, gt=0)
    strict: bool = False
    pytm_threats: bool = False
    formats: list[str] = Field(default_factory=list)

    # Where the settings came from; paths in them are relative to this directory.
    source: str | None = Field(default=None, exclude=True)
    root: str | None = Field(default=None, exclude=True)


def find_config(start: Path) -> Path | None:
    """The nearest pyproject.toml with [tool.threatgraph], else .threatgraph.toml, upward."""
    cur = start.resolve()
    for d in (cur, *cur.parents):
        py = d / "pyproject.toml"
        if py.is_file():
            try:
                if "threatgraph" in tomllib.loads(py.read_text("utf-8")).get("tool", {}):
                    return py
            except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError):
                return py  # let load_settings report the problem
        alt = d / ".threatgraph.toml"
        if alt.is_file():
            return alt
        if (d / ".git").exists():
            break
    return None


def _toml_line(text: str, message: str) -> int:
    import re

    m = re.search(r"line (\d+)", message)
    return int(m.group(1)) if m else 0


def load_settings(path: Path | None = None, start: Path | None = None) -> Settings:
    """Settings from ``path``, or found upward from ``start`` (default: the cwd)."""
    cfg = path if path is not None else find_config(start or Path.cwd())
    if cfg is None:
        return Settings()
    file = str(cfg)
    try:
        text = cfg.read_text("utf-8")
        doc = tomllib.loads(text)
    except OSError as exc:
        raise InputError.single(file, 0, f"cannot read config: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError.single(file, 0, "config is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError.single(file, _toml_line(text, str(exc)), f"invalid TOML: {exc}") from None
    if cfg.name == "pyproject.toml":
        section = doc.get("tool", {}).get("threatgraph", {})
        prefix = "tool.threatgraph"
    else:
        section = doc
        prefix = ""
    if not isinstance(section, dict):
        raise InputError.single(file, 0, f"[{prefix}] must be a table")
    header_line = (
        next((i for i, line in enumerate(text.splitlines(), 1) if line.strip() == f"[{prefix}]"), 0)
        if prefix
        else 0
    )
    try:
        settings = Settings.model_validate(section)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            key = ".".join(str(p) for p in e["loc"])
            msg = "unknown key" if e["type"] == "extra_forbidden" else e["msg"]
            line = next(
                (
                    i
                    for i, ln in enumerate(text.splitlines(), 1)
                    if ln.strip().startswith(str(e["loc"][0]))
                ),
                header_line,
            )
            problems.append(Problem(file, line, msg, f"{prefix}.{key}".strip(".")))
        raise InputError(problems) from None
    settings.source = file
    settings.root = str(cfg.parent)
    return settings
