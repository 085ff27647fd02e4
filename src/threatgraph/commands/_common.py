"""Options and plumbing shared by commands."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn, TypedDict, TypeVar

import click

from threatgraph.settings import Settings, load_settings
from threatgraph.util.errors import InputError
from threatgraph.util.safetext import terminal, terminal_json

if TYPE_CHECKING:
    from threatgraph.policy import PolicyConfig

F = TypeVar("F", bound=Callable[..., Any])
SEVERITY_CHOICE = click.Choice(["info", "low", "medium", "high", "critical"], case_sensitive=False)


class AnalysisOptions(TypedDict):
    """What :func:`common_options` and :func:`policy_options` pass a command (``**options``)."""

    config_path: Path | None
    rule_dirs: tuple[Path, ...]
    as_of: datetime | None
    decision_files: tuple[Path, ...]
    baseline_file: Path | None
    no_baseline: bool
    strict: bool | None
    require_evidence: bool | None
    max_acceptance_days: int | None


def echo(text: str, *, err: bool = False, nl: bool = True, block: bool = False) -> None:
    """Write text for people to stdout (or stderr), made safe for a terminal.

    By default ``text`` is one line: a line break in it shows as ``\\n``. A ``block`` is
    text the command laid out over lines itself (a report, a rule's description): its line
    feeds stay and each line is made safe on its own. Either way what the inputs put into
    the text (names, titles, descriptions, reasons) cannot bring an escape sequence or a
    workflow command with it (:func:`threatgraph.util.safetext.terminal`).
    """
    _to_stdout(lambda: click.echo(terminal(text, multiline=block), err=err, nl=nl))


def echo_json(text: str, *, nl: bool = True) -> None:
    """Write JSON text to stdout: the same JSON value, with no raw bidirectional or C1
    control character in it (:func:`threatgraph.util.safetext.terminal_json`)."""
    _to_stdout(lambda: click.echo(terminal_json(text), nl=nl))


def emit(text: str, output: Path | None, *, json_text: bool) -> None:
    """A command's report: written atomically to ``output``, else to stdout (JSON with
    :func:`echo_json`, anything else with :func:`echo` as a block)."""
    from threatgraph.util.writer import write_atomic

    if output is not None:
        write_atomic(output, text)
    elif json_text:
        echo_json(text, nl=False)
    else:
        echo(text, nl=False, block=True)


def write_stdout(text: str, *, nl: bool = True) -> None:
    """Write text that is not for a terminal (a machine-readable document) to stdout as it
    is; a failure to write is a :class:`StdoutError`."""
    _to_stdout(lambda: click.echo(text, nl=nl))


def quiet_broken_pipe() -> NoReturn:
    """Exit 0, saying nothing: the reader of stdout went away (``| head -1``, ``| less`` quit).

    That is how a pipeline ends normally, not an error in the user's input. stdout is
    pointed at /dev/null first, so that the flush at interpreter exit does not fail on the
    closed pipe again (Python would print "Exception ignored ... BrokenPipeError").
    """
    _stdout_to_devnull()
    sys.exit(0)


def _stdout_to_devnull() -> None:
    # What is left in stdout's buffer would fail again in the flush at interpreter exit.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (an in-process test runner)
        pass


class StdoutError(OSError):
    """Standard output could not be written (``> /dev/full``, a full disk, an I/O error)."""


def _to_stdout(write: Callable[[], None]) -> None:
    # A closed pipe stays a BrokenPipeError (a quiet, normal end); any other failure to
    # write stdout becomes a StdoutError, reported as "error: standard output: ...".
    try:
        write()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise StdoutError(exc.errno, exc.strerror or str(exc)) from exc


def output_error_exit_2(exc: OSError) -> NoReturn:
    """Exit 2 with one line on stderr, ``error: standard output: <why>``: the output could
    not be written, which is a problem of where it goes, not a crash."""
    click.echo(terminal(f"error: standard output: {exc.strerror or exc}"), err=True)
    _stdout_to_devnull()
    sys.exit(2)


def input_errors_exit_2(fn: F) -> F:
    """Turn InputError into 'file:line: message' lines on stderr and exit code 2.

    An OSError that reaches a command (an output path that is a symlink, a directory
    without write permission, a full disk) is reported the same way: a problem with the
    user's files, not a crash.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except InputError as exc:
            for p in exc.problems:
                click.echo(f"error: {p}", err=True)
            sys.exit(2)
        except BrokenPipeError:
            quiet_broken_pipe()
        except OSError as exc:
            if isinstance(exc, StdoutError):
                output_error_exit_2(exc)
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(terminal(f"error: {where}{exc.strerror or exc}"), err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


#: Options that mean the same in every command that has them. They are made only by the
#: functions below (as :class:`SharedOption`), so their help and type cannot drift apart
#: between commands (tests/test_cli_options.py holds them to it).
SHARED_OPTIONS = (
    "--format",
    "--output",
    "--fail-on",
    "--decisions",
    "--config",
    "--rules",
    "--as-of",
)


class SharedOption(click.Option):
    """An option made by this module: one of :data:`SHARED_OPTIONS`."""


def _shared(*decls: str, **attrs: Any) -> Callable[[F], F]:
    return click.option(*decls, cls=SharedOption, **attrs)


class FormatChoice(click.Choice):  # type: ignore[type-arg]  # click's Choice is generic in 8.2
    """Output format names, the same in every command: ``md`` is ``markdown`` everywhere.

    The value a command receives is always the canonical name (``markdown``), whichever
    spelling the user typed; the aliases are those of ``report --format``.
    """

    def __init__(self, *names: str) -> None:
        from threatgraph.formats.base import ALIASES

        self.names = names
        self.aliases = {a: n for a, n in ALIASES.items() if n in names}
        super().__init__([*names, *self.aliases], case_sensitive=False)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """The canonical name of the format ``value`` names."""
        name = super().convert(value, param, ctx)
        return self.aliases.get(name, name)


def format_help(names: Sequence[str]) -> str:
    """The help of every ``--format``: the canonical names, and the aliases they accept."""
    from threatgraph.formats.base import ALIASES

    aliases = [f"{a!r} for {n!r}" for a, n in ALIASES.items() if n in names]
    also = f" (also {', '.join(aliases)})" if aliases else ""
    return f"Output format: {', '.join(names)}{also}."


def format_option(
    *names: str, default: str | None = None, multiple: bool = False, note: str = ""
) -> Callable[[F], F]:
    """``--format`` taking ``names`` (canonical spellings; aliases are accepted too)."""
    return _shared(
        "--format",
        "fmt",
        type=FormatChoice(*names),
        default=default,
        multiple=multiple,
        show_default=default is not None,
        metavar="[" + "|".join(names) + "]",
        help=format_help(names) + (f" {note}" if note else ""),
    )


def format_list_option(names: Sequence[str], note: str) -> Callable[[F], F]:
    """``--format`` taking comma-separated lists of ``names`` (repeatable), for ``report``.

    The value is the raw text: the command parses it (with the same aliases).
    """
    return _shared(
        "--format",
        "formats",
        multiple=True,
        metavar="FORMAT[,FORMAT...]",
        help=f"{format_help(names)} {note}",
    )


def output_option(
    what: str,
    *,
    directory: bool = False,
    required: bool = False,
    dest: str = "output",
    note: str = "",
) -> Callable[[F], F]:
    """``-o/--output``: a file written atomically (else stdout), or a directory."""
    if directory:
        text = f"Write {what} into this directory (created if needed{note})."
    else:
        text = f"Write {what} to this file, atomically ({note or 'default: stdout'})."
    return _shared(
        "-o",
        "--output",
        dest,
        required=required,
        type=click.Path(file_okay=not directory, dir_okay=directory, path_type=Path),
        help=text,
    )


def config_option(fn: F) -> F:
    """--config FILE."""
    return _shared(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Config file (default: [tool.threatgraph] in the nearest "
        "pyproject.toml, or .threatgraph.toml).",
    )(fn)


def rules_option(fn: F) -> F:
    """--rules DIR (repeatable), added to the configured rule directories."""
    return _shared(
        "--rules",
        "rule_dirs",
        multiple=True,
        type=click.Path(file_okay=False, path_type=Path),
        help="Extra rule directory (repeatable; added to the configured 'rules').",
    )(fn)


def as_of_option(fn: F) -> F:
    """--as-of DATE."""
    return _shared(
        "--as-of",
        "as_of",
        type=click.DateTime(formats=["%Y-%m-%d"]),
        help="Evaluate expiries and reviews as of this date (default: today).",
    )(fn)


def decisions_option(fn: F) -> F:
    """--decisions FILE (repeatable), added to the configured decisions files."""
    return _shared(
        "--decisions",
        "decision_files",
        multiple=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help="Decisions file (repeatable; added to the configured 'decisions').",
    )(fn)


def common_options(fn: F) -> F:
    """--config, --rules, --as-of.

    There is deliberately no option to disable a rule: a rule is switched off only by the
    ``disable`` table of the configuration, which a reviewer sees as configuration (a file
    name passed by a hook can never turn a rule off).
    """
    return config_option(rules_option(as_of_option(fn)))


def reject_option_like(names: Sequence[str], command: str) -> None:
    """Refuse a FILE argument that looks like an option and names no existing file.

    The hooks end their options with ``--`` (a committed file named ``--fail-on=low.yaml``
    stays a file name), so anything pre-commit passes through ``args:`` arrives after it as
    a file name too. Such a value was meant as an option: say so instead of ignoring it, so
    that a hook configuration never silently loses an option.
    """
    for name in names:
        if name.startswith("-") and not Path(name).exists():
            raise click.UsageError(
                f"{name!r} is not a file. Options go before '--' on the command line; the "
                f"pre-commit hooks take theirs from [tool.threatgraph] or .threatgraph.toml "
                f"(their entries end with '{command} --', so hook 'args' are read as files)"
            )


def settings_for(config_path: Path | None) -> Settings:
    """Load settings (explicit file or found upward from the cwd)."""
    return load_settings(config_path)


def rel_to_config(settings: Settings, paths: Sequence[str]) -> list[str]:
    """Paths from the config file are relative to the config file's directory."""
    if settings.root is None:
        return list(paths)
    root = Path(settings.root)
    return [str(p) if Path(p).is_absolute() else str(root / p) for p in paths]


def resolve_run_options(
    settings: Settings, rule_dirs: Sequence[Path], as_of: datetime | None
) -> tuple[list[str], dict[str, str], date | None]:
    """Merge CLI flags over config values (disabled rules come from the config alone)."""
    dirs = rel_to_config(settings, settings.rules) + [str(d) for d in rule_dirs]
    day = as_of.date() if as_of is not None else None
    return dirs, library_disabled(settings), day


def library_disabled(settings: Settings) -> dict[str, str]:
    """The config's ``disable`` table for the rule library: the drift rules it names are
    switched off by ``check --drift`` itself (they are not library rules)."""
    from threatgraph.features.discover.ruleids import DRIFT_RULE_IDS

    return {k: v for k, v in settings.disable.items() if k not in DRIFT_RULE_IDS}


def model_paths(settings: Settings, paths: Sequence[str]) -> list[str]:
    """The paths to check: arguments, else the config's models, else an error."""
    if paths:
        return list(paths)
    if settings.models:
        return rel_to_config(settings, settings.models)
    raise click.UsageError("no PATH given and no 'models' in the configuration")


def policy_options(fn: F) -> F:
    """--decisions, --baseline/--no-baseline, --strict, --require-evidence, --max-acceptance-days.

    Each overrides the config key of the same name (``--decisions`` adds to the configured
    files).
    """
    fn = decisions_option(fn)
    fn = click.option(
        "--baseline",
        "baseline_file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Baseline file: open findings listed in it do not fail the run.",
    )(fn)
    fn = click.option("--no-baseline", is_flag=True, help="Ignore the configured baseline file.")(
        fn
    )
    fn = click.option(
        "--strict/--no-strict",
        default=None,
        help="Decisions that match no finding and stale baseline entries are errors.",
    )(fn)
    fn = click.option(
        "--require-evidence/--no-require-evidence",
        default=None,
        help="A control counts as present only when it cites evidence and none of it fails "
        "its check (URLs are never fetched: cited, not checked).",
    )(fn)
    fn = click.option(
        "--max-acceptance-days",
        type=click.IntRange(min=1),
        default=None,
        help="Longest allowed acceptance (default: config, else 365).",
    )(fn)
    return fn


def build_policy(
    settings: Settings,
    *,
    decision_files: Sequence[Path] = (),
    baseline_file: Path | None = None,
    no_baseline: bool = False,
    strict: bool | None = None,
    require_evidence: bool | None = None,
    max_acceptance_days: int | None = None,
    partial: bool = False,
    use_baseline: bool = True,
    verify_evidence: Literal["always", "if_required"] = "always",
) -> PolicyConfig:
    """The policy stage's options: config values with the CLI flags merged over them.

    ``verify_evidence``: check cited evidence against the repository always (``check``), or
    only when unevidenced controls must not count (``review``: require_evidence).
    """
    from threatgraph import baseline as baseline_mod
    from threatgraph.load import decisions as decisions_mod
    from threatgraph.policy import PolicyConfig

    files = [Path(p) for p in rel_to_config(settings, settings.decisions)]
    files += [Path(p) for p in decision_files]
    decisions = []
    problems = []
    seen: set[Path] = set()
    for f in files:
        key = f.resolve()
        if key in seen:
            continue
        seen.add(key)
        try:
            decisions.extend(decisions_mod.load(f))
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
    base = None
    if use_baseline and not no_baseline:
        if baseline_file is not None:
            base = baseline_mod.load(baseline_file)
        elif settings.baseline:
            base = baseline_mod.load(Path(rel_to_config(settings, [settings.baseline])[0]))
    required = settings.require_evidence if require_evidence is None else require_evidence
    return PolicyConfig(
        decisions=decisions,
        max_acceptance_days=max_acceptance_days or settings.max_acceptance_days,
        expiry_warning_days=settings.expiry_warning_days,
        strict=settings.strict if strict is None else strict,
        baseline=base,
        require_evidence=required,
        verify_evidence=verify_evidence == "always" or required,
        config_root=settings.root,
        partial=partial,
    )


def fail_on_option(fn: F) -> F:
    """--fail-on SEVERITY (default from the config, else high)."""
    return _shared(
        "--fail-on",
        type=SEVERITY_CHOICE,
        default=None,
        help="Lowest severity of an open finding that fails the run with exit code 1 "
        "(default: the config's fail_on, else high).",
    )(fn)


def map_type_option(fn: F) -> F:
    """--map-type TYPE=KIND (repeatable), over the config key otm_types."""
    return click.option(
        "--map-type",
        "map_types",
        multiple=True,
        metavar="TYPE=KIND",
        help="Read OTM component type TYPE as threatgraph kind KIND (repeatable; config key "
        "otm_types).",
    )(fn)


def otm_type_map(settings: Settings, values: Sequence[str] = ()) -> dict[str, Any]:
    """The config's ``otm_types`` with the ``--map-type TYPE=KIND`` values over them."""
    from threatgraph.load.otm_map import parse_type_map

    try:
        out: dict[str, Any] = dict(
            parse_type_map(f"{k}={v}" for k, v in settings.otm_types.items())
        )
        out.update(parse_type_map(values))
    except ValueError as exc:
        raise click.UsageError(f"--map-type {exc}") from None
    return out


def pytm_threats_option(fn: F) -> F:
    """--pytm-threats/--no-pytm-threats (default from the config key pytm_threats)."""
    return click.option(
        "--pytm-threats/--no-pytm-threats",
        "pytm_threats",
        default=None,
        help="Also run pytm's classic threat library (web, API, infrastructure) through "
        "pytm's engine and merge its findings (ids pytm:SID/...; config key pytm_threats).",
    )(fn)
