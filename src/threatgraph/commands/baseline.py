"""`threatgraph baseline`: record today's open findings so that only new ones fail later."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from threatgraph.commands._common import (
    build_policy,
    common_options,
    decisions_option,
    echo,
    input_errors_exit_2,
    model_paths,
    output_option,
    rel_to_config,
    resolve_run_options,
    settings_for,
)


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@output_option("the baseline", note="default: the config's 'baseline'")
@click.option(
    "--drift",
    is_flag=True,
    help="Include the drift findings of `check --drift` (TG-DRIFT-*; docs/discover.md).",
)
@decisions_option
@common_options
@input_errors_exit_2
def command(
    paths: tuple[str, ...],
    output: Path | None,
    drift: bool,
    decision_files: tuple[Path, ...],
    config_path: Path | None,
    rule_dirs: tuple[Path, ...],
    as_of: datetime | None,
) -> None:
    """Write the ids of the open findings of PATH... (default: the configured models).

    The file is sorted JSON with a version header. Commit it, point `baseline` in the config
    (or `check --baseline FILE`) at it, and `check` then fails only on open findings that are
    not in it, and lists entries that no longer occur so the file can shrink over time.
    Decisions are applied first, and the file is written whatever the gate says (exit 0).
    """
    from threatgraph import baseline as baseline_mod
    from threatgraph.pipeline import run
    from threatgraph.util.paths import display_path
    from threatgraph.util.writer import write_atomic

    settings = settings_for(config_path)
    if output is None:
        if not settings.baseline:
            raise click.UsageError("give -o FILE or set 'baseline' in the configuration")
        output = Path(rel_to_config(settings, [settings.baseline])[0])
    dirs, dis, day = resolve_run_options(settings, rule_dirs, as_of)
    policy = build_policy(
        settings,
        decision_files=decision_files,
        use_baseline=False,
        strict=False,  # stale decisions are check's business, not a reason to refuse
    )
    drift_opts = None
    if drift:
        from threatgraph.commands._analysis import drift_options

        drift_opts = drift_options(settings)
    result = run(
        model_paths(settings, paths),
        rule_dirs=dirs,
        disabled=dis,
        as_of=day,
        policy=policy,
        drift=drift_opts,
    )
    findings = [f for r in result.results for f in r.findings]
    write_atomic(output, baseline_mod.dumps(findings))
    n = sum(1 for f in findings if f.status == "open")
    echo(
        f"wrote {n} open finding{'s' if n != 1 else ''} of {len(result.results)} "
        f"model{'s' if len(result.results) != 1 else ''} to {display_path(str(output))}",
        err=True,
    )
