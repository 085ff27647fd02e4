"""`threatgraph export otm`: a model and its findings as an Open Threat Model (OTM) file."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from threatgraph.commands._common import (
    build_policy,
    common_options,
    config_option,
    echo_json,
    input_errors_exit_2,
    library_disabled,
    otm_type_map,
    output_option,
    resolve_run_options,
    settings_for,
    write_stdout,
)
from threatgraph.engine.findings import Finding
from threatgraph.util.errors import InputError, Problem


@click.group(name="export")
def command() -> None:
    """Export models to other tools' formats (Open Threat Model, GraphML)."""


@command.command(name="graphml")
@click.argument("path", type=click.Path(exists=True, path_type=str))
@output_option("the GraphML")
@config_option
@input_errors_exit_2
def graphml_cmd(path: str, output: Path | None, config_path: Path | None) -> None:
    """Write the model at PATH (one model file) as GraphML, with the derived facts.

    Nodes are elements and edges flows, each with the facts the rules read (effective trust,
    runs_model, agentic, the requester and server of each flow, how content moves): the graph
    that `threatgraph.graph_of` returns in Python, for graph tools (Gephi, yEd, networkx).
    """
    import io

    import networkx as nx

    from threatgraph.graph import build
    from threatgraph.load.registry import load_paths

    settings = settings_for(config_path)
    from threatgraph.engine.library import load_library

    lib = load_library(resolve_run_options(settings, (), None)[0], library_disabled(settings))
    loaded = load_paths([path], lib.controls.keys() if lib.controls else None, aliases=lib.aliases)
    if len(loaded) != 1:
        raise InputError(
            [Problem(path, 0, f"holds {len(loaded)} models; export one model file at a time")]
        )
    buf = io.BytesIO()
    nx.write_graphml(build(loaded[0].model).g, buf, encoding="utf-8", prettyprint=True)
    text = buf.getvalue().decode("utf-8")
    if output is None:
        write_stdout(text, nl=False)
    else:
        from threatgraph.util.writer import write_atomic

        write_atomic(output, text)


@command.command(name="otm")
@click.argument("path", type=click.Path(exists=True, path_type=str))
@output_option("the OTM JSON")
@click.option(
    "--threats/--no-threats",
    default=True,
    show_default=True,
    help="Include the model's findings as OTM threats and mitigations.",
)
@click.option(
    "--pytm-threats/--no-pytm-threats",
    "pytm_threats",
    default=None,
    help="Include pytm's classic threats too (config key pytm_threats).",
)
@common_options
@input_errors_exit_2
def otm_cmd(
    path: str,
    output: Path | None,
    threats: bool,
    pytm_threats: bool | None,
    config_path: Path | None,
    rule_dirs: tuple[Path, ...],
    as_of: datetime | None,
) -> None:
    """Write the model at PATH (one model file) as OTM 0.2.0 JSON.

    Boundaries become trust zones, elements components (type = threatgraph kind, or the
    type an imported OTM file gave), flows dataflows, data assets; findings become threats
    whose mitigations are implemented or required. Facts OTM cannot hold are kept under
    attributes."x-threatgraph", so `threatgraph import otm` gives the same model back; a
    model imported from OTM keeps the other tool's types, nesting, ratings, tags and
    attributes.
    """
    from threatgraph.engine.library import load_library
    from threatgraph.interop import otm_export
    from threatgraph.load.registry import load_paths
    from threatgraph.pipeline import evaluate_loaded

    settings = settings_for(config_path)
    dirs, dis, day = resolve_run_options(settings, rule_dirs, as_of)
    lib = load_library(dirs, dis)
    loaded = load_paths(
        [path],
        lib.controls.keys() if lib.controls else None,
        otm_type_map(settings),
        aliases=lib.aliases,
    )
    if len(loaded) != 1:
        raise InputError(
            [
                Problem(
                    path,
                    0,
                    f"holds {len(loaded)} models; an OTM file describes one: export one model "
                    "file at a time",
                )
            ]
        )
    findings: list[Finding] = []
    if threats:
        from datetime import date

        use_pytm = settings.pytm_threats if pytm_threats is None else pytm_threats
        run = evaluate_loaded(
            loaded,
            lib,
            day or date.today(),
            settings.fail_on,
            build_policy(settings, use_baseline=False),
            pytm_threats=use_pytm,
        )
        findings = run.results[0].findings
    for w in loaded[0].warnings:
        click.echo(f"warning: {w}", err=True)
    doc = otm_export.document(loaded[0].model, findings, lib.controls)
    text = otm_export.dumps(doc)
    if output is None:
        echo_json(text, nl=False)
    else:
        from threatgraph.util.writer import write_atomic

        write_atomic(output, text)
