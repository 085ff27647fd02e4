"""`threatgraph validate`: load and validate models without matching threats."""

from __future__ import annotations

from pathlib import Path

import click

from threatgraph.commands._common import (
    config_option,
    echo,
    input_errors_exit_2,
    model_paths,
    rules_option,
    settings_for,
)
from threatgraph.util.paths import display_path


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@config_option
@rules_option
@input_errors_exit_2
def command(paths: tuple[str, ...], config_path: Path | None, rule_dirs: tuple[Path, ...]) -> None:
    """Validate model files (syntax, schema, references, controls). Exit 0 or 2."""
    from threatgraph.commands._common import otm_type_map, rel_to_config
    from threatgraph.engine.library import load_library
    from threatgraph.load.registry import load_paths

    settings = settings_for(config_path)
    lib = load_library(rel_to_config(settings, settings.rules) + [str(d) for d in rule_dirs])
    models = load_paths(
        model_paths(settings, paths),
        lib.controls.keys(),
        otm_type_map(settings),
        aliases=lib.aliases,
    )
    for lm in models:
        m = lm.model
        for w in lm.warnings:
            echo(f"warning: {display_path(str(lm.path))}: {w}", err=True)
        echo(
            f"{display_path(str(lm.path))}: ok: {m.model.name} ({len(m.elements)} "
            f"elements, {len(m.flows)} flows, {len(m.boundaries)} boundaries)"
        )
