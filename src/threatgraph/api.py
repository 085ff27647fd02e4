"""The Python API: check a model from a notebook or a test suite and read typed results.

:func:`check` runs the same pipeline as ``threatgraph check`` (load, graph, match, decisions,
gate) and returns a :class:`~threatgraph.results.Run`. It reads no configuration file:
everything comes from its arguments. docs/api.md shows it in use.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from threatgraph.util.errors import InputError, Problem

if TYPE_CHECKING:
    from threatgraph.engine.library import Library
    from threatgraph.load.registry import LoadedModel
    from threatgraph.model.dsl import Model
    from threatgraph.model.schema import SystemModel
    from threatgraph.results import Run


def check(
    model: Model | SystemModel | str | os.PathLike[str],
    *,
    rules: Sequence[str | os.PathLike[str]] = (),
    decisions: Sequence[str | os.PathLike[str]] = (),
    as_of: date | None = None,
    fail_on: str = "high",
) -> Run:
    """Check one model (or every model under a path) against the threat library.

    ``model`` is a DSL :class:`~threatgraph.Model`, a validated
    :class:`~threatgraph.model.schema.SystemModel`, or the path of a model file or of a
    directory of them (a Python model file is run, as ``threatgraph check`` runs it).
    ``rules`` are directories of custom rules, added to the built-in library (``--rules``);
    ``decisions`` are decisions files (``--decisions``), applied after the model's own
    decisions; ``as_of`` is the date expiries are judged on (default: today); ``fail_on`` is
    the gate severity (``info``, ``low``, ``medium``, ``high`` or ``critical``).

    Returns the :class:`~threatgraph.results.Run`: ``run.findings`` every finding,
    ``run.results`` one :class:`~threatgraph.results.ModelResult` per model (its findings,
    notices and graph; ``result.networkx`` is the graph as networkx), ``run.verdict`` the
    gate's decision (``run.verdict.exit_code`` is what the CLI would exit with).

    Raises :class:`~threatgraph.InputError` for bad input (a model, rule or decisions file
    that does not load or validate, an unknown ``fail_on``): ``exc.problems`` lists every
    problem with its file and line. Raises ``TypeError`` when ``model`` is none of the above.
    """
    from threatgraph.engine.library import load_library
    from threatgraph.engine.rules import SEVERITIES
    from threatgraph.load import decisions as decisions_mod
    from threatgraph.pipeline import evaluate_loaded, run
    from threatgraph.policy import PolicyConfig

    if fail_on not in SEVERITIES:
        expected = ", ".join(SEVERITIES)
        raise InputError([Problem("fail_on", 0, f"{fail_on!r} is not one of {expected}")])
    day = as_of or date.today()
    lib = load_library([Path(d) for d in rules])
    found = []
    problems: list[Problem] = []
    for file in decisions:
        try:
            found.extend(decisions_mod.load(Path(file)))
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
    policy = PolicyConfig(decisions=found)
    if isinstance(model, str | os.PathLike):
        return run([Path(model)], fail_on=fail_on, library=lib, as_of=day, policy=policy)
    return evaluate_loaded([_loaded(model, lib)], lib, day, fail_on, policy)


def _loaded(model: Model | SystemModel, lib: Library) -> LoadedModel:
    """A model object as the load stage would give it: validated against ``lib``'s controls,
    its file the one that declared it (evidence paths are relative to that file's repository).
    """
    from threatgraph.load.registry import LoadedModel
    from threatgraph.model.dsl import Model
    from threatgraph.model.schema import SystemModel
    from threatgraph.model.validate import finalize

    if isinstance(model, Model):
        system = finalize(model.build(), lib.controls.keys() if lib.controls else None, lib.aliases)
    elif isinstance(model, SystemModel):
        system = model
    else:
        raise TypeError(f"expected a Model, a SystemModel or a path, got {type(model).__name__}")
    where = Path(system.location.file) if system.location is not None else Path.cwd()
    return LoadedModel(system, where, "python")
