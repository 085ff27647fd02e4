"""The command line: thin click commands that wire the stages together.

Each command lives in threatgraph/commands/<name>.py and is imported only when used,
so `threatgraph check` in a pre-commit hook does not pay for the report formats.
"""

from __future__ import annotations

import errno
import os
import pkgutil
import signal
import sys
import types
from importlib import import_module
from typing import Any

import click

from threatgraph.util.errors import InputError, Terminated
from threatgraph.version import __version__


def _command_modules() -> dict[str, str]:
    from threatgraph import commands

    out = {}
    for info in pkgutil.iter_modules(commands.__path__):
        if info.name.startswith("_"):
            continue
        out[info.name.rstrip("_").replace("_", "-")] = info.name
    return out


class LazyGroup(click.Group):
    """A group whose subcommands are modules imported on demand."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_command_modules())

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        mod = _command_modules().get(cmd_name)
        if mod is None:
            return None
        command: click.Command = import_module(f"threatgraph.commands.{mod}").command
        return command

    def invoke(self, ctx: click.Context) -> Any:
        """Run the subcommand; an interrupt exits 130 (SIGINT) or 143 (SIGTERM).

        Click would turn Ctrl-C into "Aborted!" and exit code 1, which CI reads as a gate
        failure. By the time the exception gets here, the ``finally`` blocks on its way
        have removed every temporary file, and no output has been half-replaced. A closed
        stdout (``| head -1``) is a quiet, normal end: exit 0.
        """
        try:
            return super().invoke(ctx)
        except BrokenPipeError:  # commands without input_errors_exit_2, and click's own output
            from threatgraph.commands._common import quiet_broken_pipe

            quiet_broken_pipe()
        except OSError as exc:  # stdout unwritable, in a command without input_errors_exit_2
            from threatgraph.commands._common import StdoutError, output_error_exit_2

            if not isinstance(exc, StdoutError):
                raise
            output_error_exit_2(exc)
        except Terminated:
            click.echo("terminated", err=True)
            ctx.exit(128 + signal.SIGTERM)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(128 + signal.SIGINT)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="threatgraph")
def cli() -> None:
    """threatgraph: threat modeling of AI systems as code.

    Exit codes: 0 clean, 1 open findings at or above the gate, 2 usage or input error,
    130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
    """


def report_input_error(exc: InputError) -> None:
    """Print every problem as 'file:line: [field] message' on stderr."""
    for p in exc.problems:
        click.echo(f"error: {p}", err=True)


#: What a failed write of standard output raises (a full disk or /dev/full, a quota, a file
#: too big, an I/O error).
_WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO})


def main(argv: list[str] | None = None) -> Any:
    """Console entry point; maps errors to exit code 2 without tracebacks."""
    _terminate_like_interrupt()
    try:
        return cli.main(args=argv, prog_name="threatgraph", standalone_mode=True)
    except InputError as exc:  # raised outside click's own handling
        report_input_error(exc)
        sys.exit(2)
    except OSError as exc:
        # Click's own --help and --version text, written to an unwritable stdout (a
        # command's output fails as a StdoutError, handled where the command runs).
        if exc.filename is not None or exc.errno not in _WRITE_ERRNOS:
            raise
        from threatgraph.commands._common import output_error_exit_2

        output_error_exit_2(exc)


def _raise_terminated(_signum: int, _frame: object) -> None:
    raise Terminated()


def _terminate_like_interrupt() -> None:
    """SIGTERM unwinds the run like Ctrl-C (cleaning up on the way) and exits 143.

    Left at its default, SIGTERM would end the process at once, leaving the staging
    directory of a report half-written (the next run would remove it, but a caller
    looking at the output directory meanwhile would see it). Not when SIGTERM is ignored
    (``nohup``-like callers) or when this is not the main thread.
    """
    try:
        if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread: signals are not ours to handle
        pass


def _excepthook_guard() -> None:
    # Internal errors: one line unless THREATGRAPH_DEBUG asks for the traceback.
    if os.environ.get("THREATGRAPH_DEBUG"):
        return

    def hook(
        exc_type: type[BaseException], exc: BaseException, tb: types.TracebackType | None
    ) -> None:
        if issubclass(exc_type, Terminated):
            click.echo("terminated", err=True)
            sys.exit(128 + signal.SIGTERM)
        if issubclass(exc_type, KeyboardInterrupt):
            click.echo("interrupted", err=True)
            sys.exit(128 + signal.SIGINT)
        from threatgraph.util.safetext import terminal

        click.echo(
            terminal(
                f"internal error: {exc_type.__name__}: {exc} "
                "(set THREATGRAPH_DEBUG=1 for the traceback; please report it)"
            ),
            err=True,
        )
        sys.exit(2)

    sys.excepthook = hook


_excepthook_guard()
