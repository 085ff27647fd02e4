"""`threatgraph controls list|show`: the controls catalogue."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from threatgraph.commands._common import (
    config_option,
    echo,
    echo_json,
    format_option,
    input_errors_exit_2,
    rules_option,
)
from threatgraph.commands.threats import command_library
from threatgraph.util.safetext import terminal


@click.group()
def command() -> None:
    """Browse the controls catalogue."""


@command.command("list")
@format_option("text", "json", default="text")
@rules_option
@config_option
@input_errors_exit_2
def list_(fmt: str, rule_dirs: tuple[Path, ...], config_path: Path | None) -> None:
    """List controls with the rules each one mitigates."""
    lib = command_library(config_path, rule_dirs)
    used: dict[str, list[str]] = {}
    for lr in lib.rules:
        for m in lr.rule.mitigations:
            used.setdefault(m.control, []).append(lr.rule.id)
    if fmt == "json":
        echo_json(
            json.dumps(
                [
                    {**c.model_dump(mode="json"), "mitigates": sorted(used.get(c.id, []))}
                    for c in sorted(lib.controls.values(), key=lambda c: c.id)
                ],
                indent=2,
            )
        )
        return
    for c in sorted(lib.controls.values(), key=lambda c: c.id):
        echo(f"{c.id:<40} {c.category:<15} {c.title}  ({len(used.get(c.id, []))} rules)")


@command.command("show")
@click.argument("control_id")
@format_option("text", "json", default="text")
@rules_option
@config_option
@input_errors_exit_2
def show(control_id: str, fmt: str, rule_dirs: tuple[Path, ...], config_path: Path | None) -> None:
    """Show one control."""
    from threatgraph.util.hints import suggest

    lib = command_library(config_path, rule_dirs)
    c = lib.controls.get(control_id)
    if c is None and control_id in lib.aliases:
        # A former id (a merged control): show the control that replaced it, and say so.
        current = lib.aliases[control_id]
        echo(f"note: {control_id!r} is deprecated; it is now {current!r}", err=True)
        c = lib.controls[current]
    if c is None:
        echo(f"error: no control {control_id!r}{suggest(control_id, lib.controls)}", err=True)
        sys.exit(2)
    rules = sorted(
        lr.rule.id for lr in lib.rules if any(m.control == c.id for m in lr.rule.mitigations)
    )
    if fmt == "json":
        echo_json(json.dumps({**c.model_dump(mode="json"), "mitigates": rules}, indent=2))
        return
    # The title is one line (a line break in it shows as '\n'); the description is text
    # over lines, each made safe on its own.
    echo(f"{terminal(c.id)}: {terminal(c.title)} ({terminal(c.category)})\n", block=True)
    echo(c.description, block=True)
    echo(f"\nEvidence: {terminal(c.evidence)}", block=True)
    if c.aliases:
        echo("Former ids (deprecated, still read as this one): " + ", ".join(c.aliases))
    if c.atlas:
        echo("ATLAS mitigations: " + ", ".join(c.atlas))
    if c.review_questions:
        echo("Review questions:")
        for q in c.review_questions:
            echo(f"  - {q}")
    echo("Mitigates: " + (", ".join(rules) or "no rule yet"))
