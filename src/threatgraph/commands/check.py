"""`threatgraph check`: match models against the library and gate on open findings."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from threatgraph.commands._common import (
    common_options,
    echo,
    echo_json,
    fail_on_option,
    format_option,
    input_errors_exit_2,
    map_type_option,
    model_paths,
    output_option,
    policy_options,
    pytm_threats_option,
    reject_option_like,
    settings_for,
)
from threatgraph.util.paths import display_location, display_path
from threatgraph.util.safetext import terminal


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@fail_on_option
@format_option("text", "json", "sarif", default="text")
@output_option("the text, JSON or SARIF")
@click.option("-q", "--quiet", is_flag=True, help="Only the summary line.")
@click.option(
    "--hook",
    is_flag=True,
    help="Pre-commit mode: PATHs are a commit's files; check only the model files among them "
    "(recognised statically, nothing else runs).",
)
@click.option(
    "--drift",
    is_flag=True,
    help="Also compare each model with the AI components found in its code: unmodeled "
    "components and stale code links are findings (TG-DRIFT-*; config key drift_scope). With "
    "--hook, every configured model is checked whatever the commit changed.",
)
@pytm_threats_option
@map_type_option
@policy_options
@common_options
@input_errors_exit_2
def command(
    paths: tuple[str, ...],
    fail_on: str | None,
    fmt: str,
    output: Path | None,
    quiet: bool,
    hook: bool,
    drift: bool,
    pytm_threats: bool | None,
    map_types: tuple[str, ...],
    **options: Any,
) -> None:
    """Check model files or directories (PATH...) for AI threats.

    Prints one line per open finding as file:line: RULE-ID severity title (element), then
    accepted findings and a summary. Decisions files, a baseline and evidence checks come from
    the config ([tool.threatgraph] or .threatgraph.toml) and the options below.
    """
    settings = settings_for(options["config_path"])
    partial = False
    if hook and drift:
        # Any code change can drift from any model: check them all, whatever was staged.
        reject_option_like(paths, "check --drift --hook")
        if not settings.models:
            raise click.UsageError(
                "check --drift --hook needs 'models' in [tool.threatgraph] or .threatgraph.toml"
            )
        targets = model_paths(settings, ())
    elif hook:
        from threatgraph.commands._hook import select

        reject_option_like(paths, "check --hook")
        selected, partial = select(paths, settings)
        if not selected:
            sys.exit(0)  # no model file in this commit: nothing to check, nothing loaded
        targets = selected
    else:
        targets = model_paths(settings, paths)

    from threatgraph.commands._analysis import run_models

    result = run_models(
        targets,
        options,
        fail_on=fail_on,
        pytm_threats=pytm_threats,
        explicit_targets=True,
        partial=partial,
        map_types=map_types,
        drift=drift,
    )
    if fmt == "json":
        from threatgraph.formats import jsonout

        text = jsonout.render_document(result.results, result)
    elif fmt == "sarif":
        from threatgraph.formats import sarif

        text = sarif.render_run(result)
    else:
        text = render_text(result, quiet)
    if output is not None:
        from threatgraph.util.writer import write_atomic

        write_atomic(output, text)
    elif fmt in ("json", "sarif"):
        echo_json(text, nl=False)
    else:
        echo(text, nl=False, block=True)
    for n in result.verdict.notices:
        echo(notice_text(n), err=True)
    sys.exit(result.verdict.exit_code)


def notice_text(n: Any) -> str:
    """'level: file:line: message' with the file shown relative to the cwd."""
    where = display_location(n.location)
    return terminal(f"{n.level}: {where}: {n.message}" if where else f"{n.level}: {n.message}")


def _line(result: Any, f: Any) -> str:
    return (
        f"{display_path(f.location.file)}:{f.location.line}: {f.rule.id} {f.severity} "
        f"{f.rule.title} ({_element_name(result, f)})"
    )


def missing_text(f: Any) -> str:
    """What closes an open finding, in words: 'missing: a' (one control), 'missing, all
    needed: a, b', 'missing, any one closes it: a, b' or 'missing, 2 of these 3 close it:
    a, b, c'. Alternatives of one group read '(a or b)'. Empty when nothing is missing."""
    from threatgraph.engine.findings import still_needed

    need, groups = still_needed(f.rule, f.checklist)
    if not groups or need <= 0:
        return ""
    n = len(groups)
    if need <= 1 and (n > 1 or len(groups[0]) > 1):
        # Any one control of any missing group closes it: a flat list says that.
        how, listed = "any one closes it", ", ".join(c for g in groups for c in g)
    else:
        listed = ", ".join(g[0] if len(g) == 1 else "(" + " or ".join(g) + ")" for g in groups)
        if n == 1:
            return f"missing: {listed}"
        how = "all needed" if need >= n else f"{need} of these {n} close it"
    return f"missing, {how}: {listed}"


def render_text(result: Any, quiet: bool = False) -> str:
    """The human report: open findings with file:line, decided ones, then a summary."""
    lines: list[str] = []
    findings = [f for r in result.results for f in r.findings]
    lib = result.library
    verdict = result.verdict
    baselined = {id(f) for f in getattr(verdict, "baselined", [])}
    if not quiet:
        for f in findings:
            if f.status != "open":
                continue
            lines.append(_line(result, f) + (" [baseline]" if id(f) in baselined else ""))
            missing = missing_text(f)
            if missing:
                lines.append(f"    {missing}")
            for note in f.notes:
                lines.append(f"    note: {note}")
            if f.decision is not None and f.decision.location is not None:
                loc = f.decision.location
                lines.append(f"    decision: {display_path(loc.file)}:{loc.line}")
        decided = [f for f in findings if f.decision is not None and f.status != "open"]
        for f in decided:
            d = f.decision
            what = {"accepted": "ACCEPTED", "false_positive": "FALSE POSITIVE"}.get(
                f.status, "MITIGATED (decision)"
            )
            extra = f" by {d.owner}" if d.owner else ""
            if d.status == "accepted" and d.expires:
                extra += f" until {d.expires.isoformat()}"
            if d.ticket:
                extra += f" [{d.ticket}]"
            lines.append(f"{what}{extra}: {_line(result, f)}")
            lines.append(f"    reason: {d.reason}")
            if d.evidence:
                lines.append(f"    evidence: {', '.join(d.evidence)}")
    from threatgraph.formats.common import summary

    s = summary(findings)
    st, sev = s["by_status"], s["open_by_severity"]
    models = len(result.results)
    sev_txt = ", ".join(f"{n} {k}" for k, n in sev.items() if n) or "none"
    known = f", {len(baselined)} in baseline" if result.policy.baseline is not None else ""
    lines.append(
        f"{models} model{'s' if models != 1 else ''}, {len(lib.active)} rules: "
        f"{st['open']} open ({sev_txt}{known}), {st['mitigated']} mitigated, "
        f"{st['accepted']} accepted, {st['false_positive']} false positive."
    )
    reports = [r.evidence for r in result.results if getattr(r, "evidence", None) is not None]
    declared = sum(rep.declared for rep in reports)
    cited = sum(1 for rep in reports for c in rep.controls if c.cited)
    if cited or result.policy.require_evidence:
        with_ev = sum(rep.with_evidence for rep in reports)
        url_only = sum(rep.url_only for rep in reports)
        # A URL is never fetched: a control citing only URLs is cited, not checked.
        urls = f", {url_only} cite only URLs (cited, not checked)" if url_only else ""
        missing_items = sum(rep.missing_items for rep in reports)
        tail = (
            " (require_evidence: the others do not count)" if result.policy.require_evidence else ""
        )
        lines.append(
            f"evidence: {with_ev} of {declared} declared controls cite evidence that checks out"
            f"{urls}, {missing_items} cited item{'s' if missing_items != 1 else ''} missing{tail}."
        )
    if lib.disabled:
        lines.append(
            "disabled rules: " + "; ".join(f"{k} ({v})" for k, v in sorted(lib.disabled.items()))
        )
    failing = len(verdict.failing)
    errors = sum(1 for n in verdict.notices if n.level == "error")
    if failing:
        lines.append(
            f"FAIL: {failing} open finding{'s' if failing != 1 else ''} at or above "
            f"'{verdict.fail_on}'"
            + (" (not in the baseline)." if result.policy.baseline is not None else ".")
        )
    if errors:
        lines.append(
            f"FAIL: {errors} policy error{'s' if errors != 1 else ''} (strict mode; see stderr)."
        )
    if not failing and not errors:
        lines.append(f"PASS: no open findings at or above '{verdict.fail_on}'.")
    # One line per entry whatever the model's text holds (names, reasons, tickets).
    return "\n".join(terminal(line) for line in lines) + "\n"


def _element_name(result: Any, f: Any) -> str:
    for r in result.results:
        if r.model_id == f.model_id:
            return str(r.graph.describe(f.element))
    return str(f.element)
