"""`threatgraph check`: match models against the library and gate on open findings."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from threatgraph.commands._common import (
    SEVERITY_CHOICE,
    common_options,
    input_errors_exit_2,
    model_paths,
    resolve_run_options,
    settings_for,
)
from threatgraph.formats.common import display_path, summary


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option(
    "--fail-on",
    type=SEVERITY_CHOICE,
    default=None,
    help="Lowest severity of an open finding that fails the run (default: high).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the JSON or text here (atomically) instead of stdout.",
)
@click.option("-q", "--quiet", is_flag=True, help="Only the summary line.")
@common_options
@input_errors_exit_2
def command(
    paths: tuple[str, ...],
    fail_on: str | None,
    fmt: str,
    output: Path | None,
    quiet: bool,
    config_path: Path | None,
    rule_dirs: tuple[Path, ...],
    disabled: tuple[str, ...],
    as_of: Any,
) -> None:
    """Check model files or directories (PATH...) for AI threats.

    Prints one line per open finding as file:line: RULE-ID severity title (element).
    """
    from threatgraph.pipeline import run

    settings = settings_for(config_path)
    dirs, dis, day = resolve_run_options(settings, rule_dirs, disabled, as_of)
    gate_sev = (fail_on or settings.fail_on).lower()
    result = run(
        model_paths(settings, paths), fail_on=gate_sev, rule_dirs=dirs, disabled=dis, as_of=day
    )
    if fmt == "json":
        from threatgraph.formats import jsonout

        text = jsonout.dumps(jsonout.document(result.results, result))
    else:
        text = render_text(result, quiet)
    if output is not None:
        from threatgraph.formats.common import write_atomic

        write_atomic(output, text)
    elif fmt == "json":
        click.echo(text, nl=False)
    else:
        click.echo(text, nl=False, err=False)
    for n in result.verdict.notices:
        click.echo(f"{n.level}: {n}", err=True)
    sys.exit(result.verdict.exit_code)


def render_text(result: Any, quiet: bool = False) -> str:
    """The human report: open findings with file:line, accepted ones, then a summary."""
    lines: list[str] = []
    findings = [f for r in result.results for f in r.findings]
    lib = result.library
    if not quiet:
        for f in findings:
            if f.status != "open":
                continue
            el = _element_name(result, f)
            lines.append(
                f"{display_path(f.location.file)}:{f.location.line}: {f.rule.id} "
                f"{f.severity} {f.rule.title} ({el})"
            )
            missing = ", ".join(f.missing)
            if missing:
                lines.append(f"    missing: {missing}")
            for note in f.notes:
                lines.append(f"    note: {note}")
        accepted = [f for f in findings if f.status in ("accepted", "false_positive")]
        for f in accepted:
            d = f.decision
            extra = ""
            if d is not None:
                extra = f" by {d.owner}" if d.owner else ""
                if d.expires:
                    extra += f" until {d.expires.isoformat()}"
            lines.append(
                f"{display_path(f.location.file)}:{f.location.line}: {f.rule.id} "
                f"{f.severity} {f.status.replace('_', ' ')}{extra}: {f.rule.title} "
                f"({_element_name(result, f)})"
            )
    s = summary(findings)
    st, sev = s["by_status"], s["open_by_severity"]
    models = len(result.results)
    sev_txt = ", ".join(f"{n} {k}" for k, n in sev.items() if n) or "none"
    lines.append(
        f"{models} model{'s' if models != 1 else ''}, {len(lib.active)} rules: "
        f"{st['open']} open ({sev_txt}), {st['mitigated']} mitigated, {st['accepted']} accepted, "
        f"{st['false_positive']} false positive."
    )
    failing = len(result.verdict.failing)
    if lib.disabled:
        lines.append(
            "disabled rules: " + "; ".join(f"{k} ({v})" for k, v in sorted(lib.disabled.items()))
        )
    if failing:
        lines.append(
            f"FAIL: {failing} open finding{'s' if failing != 1 else ''} at or above "
            f"'{result.verdict.fail_on}'."
        )
    else:
        lines.append(f"PASS: no open findings at or above '{result.verdict.fail_on}'.")
    return "\n".join(lines) + "\n"


def _element_name(result: Any, f: Any) -> str:
    for r in result.results:
        if r.model_id == f.model_id:
            return str(r.graph.describe(f.element))
    return str(f.element)
