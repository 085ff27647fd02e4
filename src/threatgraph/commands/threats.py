"""`threatgraph threats list|show|lint`: browse and check the threat library."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from threatgraph.commands._common import (
    config_option,
    echo,
    echo_json,
    format_option,
    input_errors_exit_2,
    library_disabled,
    rel_to_config,
    rules_option,
    settings_for,
)

if TYPE_CHECKING:
    from threatgraph.engine.library import Library, LoadedRule


def command_library(config_path: Path | None, rule_dirs: tuple[Path, ...]) -> Library:
    """The library the threats and controls commands read: the settings' rules, then --rules."""
    from threatgraph.engine.library import load_library

    settings = settings_for(config_path)
    return load_library(
        rel_to_config(settings, settings.rules) + [str(d) for d in rule_dirs],
        library_disabled(settings),
    )


def rule_summary(lr: LoadedRule, lib: Library) -> dict[str, Any]:
    """A rule as JSON (for list)."""
    r = lr.rule
    return {
        "id": r.id,
        "title": r.title,
        "family": r.family,
        "severity": r.severity,
        "likelihood": r.likelihood,
        "stride": list(r.stride),
        "match": r.match.mode,
        "references": list(r.references),
        "mitigations": [m.control for m in r.mitigations],
        "builtin": lr.builtin,
        "disabled": lib.disabled.get(r.id),
    }


def rule_detail(lr: LoadedRule, lib: Library) -> dict[str, Any]:
    """A rule as JSON with everything (for show)."""
    from threatgraph.formats.common import reference_url

    r = lr.rule
    out = rule_summary(lr, lib)
    out.update(
        {
            "description": r.description,
            "detection": r.detection,
            "false_positives": r.false_positives,
            "attack": list(r.attack),
            "mitigations": [
                {
                    "control": m.control,
                    "title": getattr(lib.controls.get(m.control), "title", None),
                    "at": list(m.at) if m.at else None,
                    "why": m.why,
                }
                for m in r.mitigations
            ],
            "mitigated_when": r.mitigated_when,
            "rationale": dict(r.rationale),
            "reference_urls": {
                ref: u for ref in r.references if (u := reference_url(ref, lib.references))
            },
            "match_spec": r.match.model_dump(mode="json", by_alias=True, exclude_none=True),
            "fixtures": {
                "positive": [p.name for p in lr.positives],
                "negative": [p.name for p in lr.negatives],
            },
        }
    )
    return out


@click.group()
def command() -> None:
    """Browse and lint the threat library."""


@command.command("list")
@format_option("text", "json", default="text")
@click.option("--family", help="Only this family.")
@rules_option
@config_option
@input_errors_exit_2
def list_(
    fmt: str, family: str | None, rule_dirs: tuple[Path, ...], config_path: Path | None
) -> None:
    """List threat rules."""
    lib = command_library(config_path, rule_dirs)
    rules = [lr for lr in lib.rules if family is None or lr.rule.family == family]
    if fmt == "json":
        echo_json(json.dumps([rule_summary(lr, lib) for lr in rules], indent=2))
        return
    for lr in rules:
        r = lr.rule
        off = f"  [disabled: {lib.disabled[r.id]}]" if r.id in lib.disabled else ""
        echo(f"{r.id:<16} {r.severity:<8} {r.family:<20} {r.title}{off}")
    echo(f"{len(rules)} rules", err=True)


@command.command("show")
@click.argument("rule_id")
@format_option("text", "json", default="text")
@rules_option
@config_option
@input_errors_exit_2
def show(rule_id: str, fmt: str, rule_dirs: tuple[Path, ...], config_path: Path | None) -> None:
    """Show one rule: description, detection logic, mitigations, references."""
    from threatgraph.util.hints import suggest

    lib = command_library(config_path, rule_dirs)
    try:
        lr = lib.rule(rule_id.upper())
    except KeyError:
        echo(
            f"error: no rule {rule_id!r}{suggest(rule_id.upper(), [r.rule.id for r in lib.rules])}",
            err=True,
        )
        sys.exit(2)
    d = rule_detail(lr, lib)
    if fmt == "json":
        echo_json(json.dumps(d, indent=2))
        return
    r = lr.rule
    # One-line fields go through echo() whole: a line break in a title shows as '\n'. The
    # descriptions are text over lines: each of their lines is made safe on its own.
    echo(f"{r.id}: {r.title}")
    echo("")
    echo(
        f"family {r.family} · severity {r.severity} · likelihood {r.likelihood} · "
        f"STRIDE {', '.join(r.stride)} · matches {r.match.mode}"
    )
    echo("")
    echo(r.description.strip() + "\n", block=True)
    echo("Detection: " + r.detection.strip(), block=True)
    echo("Known false positives: " + r.false_positives.strip() + "\n", block=True)
    echo("Mitigations:")
    for m in d["mitigations"]:
        echo(f"  - {m['control']}: {m['title'] or ''}" + (f" ({m['why']})" if m["why"] else ""))
    echo("References:")
    for ref in r.references:
        url = d["reference_urls"].get(ref)
        echo(f"  - {ref}" + (f"  {url}" if url else ""))
        if ref in r.rationale:
            # Why the rule cites it: a reviewer checks this line, not only the id.
            echo(f"      {r.rationale[ref]}")


@command.command("lint")
@click.option("--no-fixtures", is_flag=True, help="Skip running fixture models.")
@rules_option
@config_option
@input_errors_exit_2
def lint_cmd(no_fixtures: bool, rule_dirs: tuple[Path, ...], config_path: Path | None) -> None:
    """Check the library: schema, ids, references, controls, fixtures. Exit 0 or 2."""
    from threatgraph.features.lint import lint

    lib = command_library(config_path, rule_dirs)
    problems = lint(lib, fixtures=not no_fixtures)
    for p in problems:
        echo(f"error: {p}", err=True)
    n = len(lib.rules)
    if problems:
        echo(f"{len(problems)} problem(s) in {n} rules", err=True)
        sys.exit(2)
    echo(f"{n} rules, {len(lib.controls)} controls: ok")
