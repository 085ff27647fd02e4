"""`threatgraph schema`: the JSON Schema of model files (or of rule files)."""

from __future__ import annotations

import json

import click

from threatgraph.commands._common import echo_json


@click.command()
@click.option(
    "--kind",
    type=click.Choice(["model", "rule"]),
    default="model",
    show_default=True,
    help="Which schema: a model file or a rule file.",
)
def command(kind: str) -> None:
    """Print the JSON Schema for YAML/JSON model files (or rule files), for editors."""
    echo_json(json.dumps(json_schema(kind), indent=2, sort_keys=True))


def json_schema(kind: str = "model") -> dict[str, object]:
    """The schema, generated from the same pydantic models the loader validates with."""
    if kind == "rule":
        from threatgraph.engine.rules import Rule

        schema = Rule.model_json_schema(by_alias=True)
        schema["title"] = "threatgraph threat rule"
    else:
        from threatgraph.model.schema import SystemModel

        schema = SystemModel.model_json_schema(by_alias=True)
        schema["title"] = "threatgraph model"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
