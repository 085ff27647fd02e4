"""`threatgraph discover`: draft a model from the AI components found in a repository."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, cast

import click

from threatgraph.commands._common import echo, format_option, input_errors_exit_2, output_option


@click.command()
@click.argument(
    "path", required=False, default=".", type=click.Path(file_okay=False, path_type=Path)
)
@format_option("yaml", "py", default="yaml", note="'py' writes the Python DSL.")
@output_option("the draft model")
@click.option("--name", help="The system's name in the draft (default: the directory's name).")
@input_errors_exit_2
def command(path: Path, fmt: str, output: Path | None, name: str | None) -> None:
    """Draft a threat model from the AI components found in the repository at PATH.

    Reads the code statically (it never imports or runs it, and never uses the network):
    model APIs and vendors, agent frameworks, agents and their tools, MCP servers and
    client configs, vector stores, model artefacts, training code, model servers in Compose
    and Kubernetes files, and AI dependencies. Every element is tagged 'discovered' and
    carries its code links and evidence (file:line) for review (docs/discover.md).
    """
    from threatgraph.features.discover import discover
    from threatgraph.features.discover.draft import draft
    from threatgraph.util.errors import InputError

    if not path.exists():
        raise InputError.single(str(path), 0, "no such directory")
    found = discover(path)
    system = name or path.resolve().name or "system"
    text = draft(found, system, cast(Literal["yaml", "py"], fmt))
    if output is not None:
        from threatgraph.util.writer import write_atomic

        write_atomic(output, text)
    else:
        echo(text, nl=False, block=True)
    for warning in found.warnings:
        echo(f"warning: {warning}", err=True)
    echo(
        f"discover: {len(found.components)} components in {found.files_read} files read"
        + (
            f" ({found.files_skipped} skipped: binary, too large or not UTF-8)"
            if found.files_skipped
            else ""
        ),
        err=True,
    )
