"""Shared plumbing of the analysis commands (sra, coverage, testplan): run the whole
pipeline with the same configuration, decisions and policy as `check`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from threatgraph.commands._common import (
    AnalysisOptions,
    build_policy,
    common_options,
    model_paths,
    otm_type_map,
    policy_options,
    resolve_run_options,
    settings_for,
)

if TYPE_CHECKING:
    from threatgraph.features.discover.drift import DriftOptions
    from threatgraph.results import Run
    from threatgraph.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


def analysis_options(fn: F) -> F:
    """--config, --rules, --as-of and the policy options of `check`."""
    return common_options(policy_options(fn))


def run_models(
    paths: tuple[str, ...] | list[str],
    options: AnalysisOptions,
    *,
    fail_on: str | None = None,
    pytm_threats: bool | None = None,
    explicit_targets: bool = False,
    partial: bool = False,
    map_types: tuple[str, ...] = (),
    drift: bool = False,
) -> Run:
    """Load, match and apply decisions for the models in ``paths``: every result, the verdict.

    ``options`` holds the values of :func:`analysis_options`; ``fail_on`` and
    ``pytm_threats`` override the config when given. With ``explicit_targets`` the paths are
    used as they are (a pre-commit selection) instead of falling back to the config's models.
    ``map_types`` are ``--map-type`` values, over the config's ``otm_types``. With ``drift``
    the drift findings between each model and its code join the run (``check --drift``).
    """
    from threatgraph.pipeline import run

    config_path: Path | None = options["config_path"]
    settings = settings_for(config_path)
    dirs, dis, day = resolve_run_options(settings, options["rule_dirs"], options["as_of"])
    policy = build_policy(
        settings,
        decision_files=options["decision_files"],
        baseline_file=options["baseline_file"],
        no_baseline=options["no_baseline"],
        strict=options["strict"],
        require_evidence=options["require_evidence"],
        max_acceptance_days=options["max_acceptance_days"],
        partial=partial,
    )
    return run(
        list(paths) if explicit_targets else model_paths(settings, paths),
        fail_on=(fail_on or settings.fail_on).lower(),
        rule_dirs=dirs,
        disabled=dis,
        as_of=day,
        policy=policy,
        pytm_threats=settings.pytm_threats if pytm_threats is None else pytm_threats,
        otm_types=otm_type_map(settings, map_types),
        drift=drift_options(settings) if drift else None,
    )


def drift_options(settings: Settings) -> DriftOptions:
    """The :class:`~threatgraph.features.discover.drift.DriftOptions` of the configuration:
    ``drift_scope`` paths made absolute (relative to the config file's directory)."""
    from threatgraph.commands._common import rel_to_config
    from threatgraph.features.discover.drift import DriftOptions

    scopes = {
        Path(rel_to_config(settings, [model])[0]).resolve(): [
            Path(p).resolve() for p in rel_to_config(settings, paths)
        ]
        for model, paths in settings.drift_scope.items()
    }
    from threatgraph.features.discover.ruleids import DRIFT_RULE_IDS

    off = frozenset(settings.disable) & DRIFT_RULE_IDS
    return DriftOptions(config_root=settings.root, scopes=scopes, disabled=off)
