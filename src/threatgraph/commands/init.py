"""`threatgraph init`: a starter model, the config section and the pre-commit snippet."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import click

from threatgraph.commands._common import echo, input_errors_exit_2
from threatgraph.util.errors import InputError
from threatgraph.util.readfile import read_input

HOOK_REPO = "https://github.com/threatgraph/threatgraph"

MODEL_TEMPLATE = '''"""Threat model of {name}.

Check it with `threatgraph check {path}`; `threatgraph report {path} -o threatgraph-report`
draws the data-flow diagram. Describe the real system: every part that handles prompts,
data or model output, the trust boundaries between them, and the data that flows.
Reference: docs/dsl.md in the threatgraph repository.
"""

from threatgraph import Model

m = Model({name_lit}, owner=None)  # owner: the team that answers for this system

# Trust boundaries: where the trust level changes.
internet = m.boundary("Internet", trust="untrusted")
service = m.boundary("Service", trust="internal")

# Data, with its classification (public, internal, confidential, pii, phi, secret...).
messages = m.data("User messages", classification="confidential")

# Elements: who and what handles the data. Declare controls as you put them in place,
# e.g. m.llm("LLM", inside=service, controls=["guardrail.input_filter"]);
# `threatgraph controls list` shows the catalogue.
user = m.actor("User", inside=internet)
app = m.app({app_lit}, inside=service)
llm = m.llm("LLM", inside=service)

# Flows: what moves between elements.
m.flow(user, app, "request", data=[messages], protocol="https")
m.flow(app, llm, "prompt", data=[messages], protocol="https")
'''


def _toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def _config_body(model_rel: str) -> str:
    return (
        f"models = [{_toml_str(model_rel)}]\n"
        'fail_on = "high"\n'
        '# decisions = ["security/threatgraph-decisions.yaml"]  # risk decisions kept apart\n'
        '# baseline = "threatgraph-baseline.json"  # written by `threatgraph baseline`\n'
        "# max_acceptance_days = 180\n"
        "# require_evidence = false\n"
    )


def snippet() -> str:
    """The .pre-commit-config.yaml entry.

    No release is tagged yet, so ``rev`` is a placeholder for a commit id that the user
    fills in (a ``v<version>`` tag would not exist, and pre-commit would fail to clone it).
    """
    return (
        "repos:\n"
        f"  - repo: {HOOK_REPO}\n"
        "    rev: COMMIT_SHA   # a full commit id of threatgraph: no release is tagged yet\n"
        "    hooks:\n"
        "      - id: threatgraph\n"
    )


def _repo_root(start: Path) -> Path:
    cur = start.resolve()
    for d in (cur, *cur.parents):
        if (d / ".git").exists():
            return d
    return cur


@click.command()
@click.option("--name", help="System name (default: the repository directory's name).")
@click.option(
    "--path",
    "model_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Model file to write (default: models/<name>.py when models/ exists, "
    "else threatmodel.py at the repository root).",
)
@input_errors_exit_2
def command(name: str | None, model_path: Path | None) -> None:
    """Scaffold a threat model for the current repository and print the next steps.

    Writes a starter model file and the configuration ([tool.threatgraph] appended to
    pyproject.toml when it has none, else .threatgraph.toml), and prints the pre-commit
    snippet. Never overwrites a file: what exists is left as it is and reported.
    """
    from threatgraph.model.schema import slugify
    from threatgraph.util.paths import display_path
    from threatgraph.util.writer import write_atomic

    root = _repo_root(Path.cwd())
    system = (name or root.name or "AI system").strip() or "AI system"
    if model_path is None:
        if (root / "models").is_dir():
            model_path = root / "models" / f"{slugify(system).replace('-', '_')}.py"
        else:
            model_path = root / "threatmodel.py"
    model_path = model_path if model_path.is_absolute() else Path.cwd() / model_path
    pyproject = root / "pyproject.toml"
    has_section = False
    text: str | None = None
    # Read it before writing anything: a broken file stops init, and so does a FIFO or a
    # device in its place (refused by the read, never waited on).
    if os.path.lexists(pyproject):
        try:
            text = read_input(pyproject).decode("utf-8")
            has_section = "threatgraph" in tomllib.loads(text).get("tool", {})
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError.single(str(pyproject), 0, f"invalid TOML: {exc}") from None
    done: list[str] = []

    if model_path.exists():
        done.append(f"kept   {display_path(str(model_path))} (exists; not overwritten)")
    else:
        rel = display_path(str(model_path))
        write_atomic(
            model_path,
            MODEL_TEMPLATE.format(
                name=system.replace("\\", "/").replace('"""', "'''"),
                path=rel,
                name_lit=repr(system),
                app_lit=repr(f"{system} app"),
            ),
        )
        done.append(f"wrote  {rel}")

    try:
        model_rel = model_path.resolve().relative_to(root).as_posix()
    except ValueError:
        model_rel = str(model_path)
    alt = root / ".threatgraph.toml"
    if text is not None:
        if has_section:
            done.append(f"kept   {display_path(str(pyproject))} ([tool.threatgraph] exists)")
        else:
            sep = "" if text.endswith("\n") or not text else "\n"
            new = f"{text}{sep}\n[tool.threatgraph]\n{_config_body(model_rel)}"
            tomllib.loads(new)  # never write a pyproject.toml that no longer parses
            write_atomic(pyproject, new)
            done.append(f"added  [tool.threatgraph] to {display_path(str(pyproject))}")
    elif alt.exists():
        done.append(f"kept   {display_path(str(alt))} (exists; not overwritten)")
    else:
        write_atomic(
            alt, "# threatgraph configuration (docs/workflow.md)\n" + _config_body(model_rel)
        )
        done.append(f"wrote  {display_path(str(alt))}")

    out = [*done, "", "Add the pre-commit hook to .pre-commit-config.yaml:", "", snippet()]
    out += [
        "Next steps:",
        f"  1. Describe your system in {display_path(str(model_path))}.",
        "  2. Run `threatgraph check`: each open finding lists the controls that mitigate it.",
        "  3. Declare the controls you have (with evidence), or record decisions for the rest.",
        "  4. Existing system with many findings? `threatgraph baseline -o "
        "threatgraph-baseline.json` and set `baseline` in the config.",
        "  5. In CI: see docs/ci.md (check, report, SARIF upload, diff comment on pull requests).",
    ]
    echo("\n".join(out), block=True)
