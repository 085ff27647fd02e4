"""Errors that reach the user as 'file:line: message' and exit code 2, never a traceback."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from threatgraph.util.safetext import terminal

#: The terminal escaper under its older name (one line: a line break shows as ``\n``).
printable = terminal


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, with where it is."""

    file: str
    line: int
    message: str
    field: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        field = f" [{self.field}]" if self.field else ""
        return printable(f"{where}:{field} {self.message}")


class InputError(Exception):
    """Bad input (model, rule, config, decisions...). Carries one or more problems."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def single(cls, file: str, line: int, message: str, field: str | None = None) -> InputError:
        """An error with one problem."""
        return cls([Problem(file, line, message, field)])


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived (the CLI's handler raises it; exit code 143).

    A KeyboardInterrupt, so that it unwinds like Ctrl-C: through every ``finally`` that
    removes temporary files, and past the model loaders, which turn any other exception of
    a model file into an input error.
    """
