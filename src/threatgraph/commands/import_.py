"""`threatgraph import pytm|otm`: convert a pytm model or an OTM file to threatgraph YAML."""

from __future__ import annotations

from pathlib import Path

import click

from threatgraph.commands._common import (
    config_option,
    echo,
    input_errors_exit_2,
    map_type_option,
    otm_type_map,
    output_option,
    rel_to_config,
    rules_option,
    settings_for,
)


def _known_controls(
    config_path: Path | None, rule_dirs: tuple[Path, ...]
) -> tuple[list[str], dict[str, str]]:
    """Controls the converted model may declare (the catalogue plus custom libraries'), and
    the former ids that are read as them."""
    from threatgraph.engine.library import load_library

    settings = settings_for(config_path)
    lib = load_library(rel_to_config(settings, settings.rules) + [str(d) for d in rule_dirs])
    return list(lib.controls), lib.aliases


def _write(text: str, output: Path | None) -> None:
    if output is None:
        # modelyaml writes every string the escaper would change double-quoted, where its
        # escapes (\u202e, \x3a) are YAML escapes of the same characters.
        echo(text, nl=False, block=True)
        return
    from threatgraph.util.writer import write_atomic

    write_atomic(output, text)


def _summary(model: object, output: Path | None) -> str:
    from threatgraph.model.schema import SystemModel
    from threatgraph.util.paths import display_path

    assert isinstance(model, SystemModel)
    where = f" -> {display_path(str(output))}" if output else ""
    return (
        f"converted {model.model.name!r}: {len(model.elements)} elements, {len(model.flows)} "
        f"flows, {len(model.boundaries)} boundaries, {len(model.data)} data{where}"
    )


_output = output_option("the YAML model")


@click.group(name="import")
def command() -> None:
    """Convert models from other tools (pytm, Open Threat Model) to threatgraph YAML."""


@command.command(name="pytm")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_output
@config_option
@rules_option
@input_errors_exit_2
def pytm_cmd(
    path: Path, output: Path | None, config_path: Path | None, rule_dirs: tuple[Path, ...]
) -> None:
    """Run a pytm model file (PATH, a .py file) and write it as a threatgraph YAML model.

    The file runs as pytm would run it, with argv cleared and tm.process() disabled; a file
    not named *.py is refused, never run (a YAML model can be valid Python too). Boundary
    trust levels are guessed from boundary names: review them (docs/migrating-from-pytm.md).
    """
    from threatgraph.interop.modelyaml import dumps
    from threatgraph.load import pytm_loader
    from threatgraph.model.validate import finalize
    from threatgraph.util.paths import display_path

    known, aliases = _known_controls(config_path, rule_dirs)
    (converted,) = pytm_loader.load(path)
    model = finalize(converted.model, known, aliases)
    header = (
        f"Converted from the pytm model {display_path(str(path))} by `threatgraph import pytm`.\n"
        "pytm has no trust levels: boundary trust was guessed from names; review it."
    )
    _write(dumps(model, header), output)
    echo(_summary(model, output), err=True, block=True)


@command.command(name="otm")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_output
@map_type_option
@config_option
@rules_option
@input_errors_exit_2
def otm_cmd(
    path: Path,
    output: Path | None,
    map_types: tuple[str, ...],
    config_path: Path | None,
    rule_dirs: tuple[Path, ...],
) -> None:
    """Convert an Open Threat Model file (PATH, OTM 0.2.0, JSON or YAML) to a threatgraph YAML
    model.

    OTM threats and mitigations are not imported as such: threatgraph derives its own findings
    from its library (run `threatgraph check` on the result). What threatgraph has no field
    for (the other tool's types, nesting, ratings, attributes...) is kept under `otm:` and
    written back by `threatgraph export otm`.
    """
    from threatgraph.interop.modelyaml import dumps
    from threatgraph.load import otm_loader
    from threatgraph.model.validate import finalize
    from threatgraph.util.paths import display_path

    types = otm_type_map(settings_for(config_path), map_types)
    known, aliases = _known_controls(config_path, rule_dirs)
    result = otm_loader.parse(path, types, frozenset(known) | frozenset(aliases))
    model = finalize(result.model, known, aliases)
    header = f"Converted from the OTM file {display_path(str(path))} by `threatgraph import otm`."
    _write(dumps(model, header), output)
    for w in result.warnings:
        echo(f"warning: {w}", err=True)
    echo(_summary(model, output), err=True, block=True)
