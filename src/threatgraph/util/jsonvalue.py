"""The type of a JSON value, for the functions that encode or read any JSON document."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeAlias

#: Any JSON value as Python holds it. Read-only containers (Mapping, Sequence) so that a
#: ``dict[str, str]`` or a ``list[int]`` is one too.
JSONValue: TypeAlias = (
    bool | int | float | str | Sequence["JSONValue"] | Mapping[str, "JSONValue"] | None
)
