"""``harness schema``: the shipped schemas, composed with what plugins contribute."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

__all__ = ["composed_schema"]


def composed_schema(kind: str, config: Path | None = None) -> dict[str, Any]:
    """The schema ``kind`` (event, summary, config) as a run here would use it.

    ``config``: the plugins' ``[plugins.<name>]`` schemas become properties, and
    each plugin's phase schema applies (through ``if``/``then``) to the phase
    tables it runs. ``event``: plugin event types are listed under ``$defs``.
    """
    from harness.prepare import RunOptions, prepare
    from harness.validation import load_schema

    doc = copy.deepcopy(load_schema(kind))
    if kind == "summary":
        return doc
    prepared = prepare(RunOptions(config=config))
    if kind == "event":
        doc["$defs"] = {
            name: {"description": f"data of {name!r} events (plugin {plugin!r})", **schema}
            for name, (plugin, schema) in prepared.event_types.items()
        }
        return doc
    plugins = doc["properties"]["plugins"]
    plugins["properties"] = dict(prepared.schemas.settings)
    phase = doc["properties"]["phases"]["additionalProperties"]
    phase["properties"].update(
        {
            name: {"$ref": f"#/properties/plugins/properties/{name}"}
            for name in prepared.schemas.settings
        }
    )
    phase["allOf"] = [
        {
            "if": {"required": ["plugin"], "properties": {"plugin": {"const": name}}},
            "then": {"$ref": f"#/$defs/phase.{name}"},
        }
        for name in prepared.schemas.phase
    ]
    doc["$defs"] = {
        f"phase.{name}": {k: v for k, v in schema.items() if k != "additionalProperties"}
        for name, schema in prepared.schemas.phase.items()
    }
    return doc
