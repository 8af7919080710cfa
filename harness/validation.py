"""JSON Schema helpers: loading shipped schemas, readable errors, defaults."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from typing import Any

from harness.suggest import did_you_mean

__all__ = ["apply_defaults", "describe_error", "first_error", "load_schema"]


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The shipped schema ``schemas/<name>.schema.json``."""
    text = resources.files("harness.schemas").joinpath(f"{name}.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _expected(error: Any) -> str:
    validator, value = error.validator, error.validator_value
    match validator:
        case "type":
            return f"type {value if isinstance(value, str) else ' or '.join(value)}"
        case "enum":
            return "one of " + ", ".join(json.dumps(v) for v in value)
        case "const":
            return f"exactly {json.dumps(value)}"
        case "additionalProperties" | "unevaluatedProperties":
            allowed = sorted(error.schema.get("properties", {}))
            return "no other keys" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
        case "required":
            return "required keys " + ", ".join(value)
        case "minimum" | "exclusiveMinimum" | "maximum" | "exclusiveMaximum":
            sign = {
                "minimum": ">=",
                "exclusiveMinimum": ">",
                "maximum": "<=",
                "exclusiveMaximum": "<",
            }
            return f"a number {sign[validator]} {value}"
        case "minLength":
            return f"a string of at least {value} characters"
        case "minItems":
            return f"at least {value} items"
        case "pattern":
            return f"a string matching {value}"
        case _:
            return f"{validator} {json.dumps(value, default=str)}"


def describe_error(
    error: Any, prefix: Iterable[Any] = (), also: Iterable[str] = ()
) -> tuple[str, str, str]:
    """``(key path, expected, given)`` for a :class:`jsonschema.ValidationError`.

    An unknown key gets a "did you mean" among the allowed keys and ``also`` (keys
    the caller checks itself, such as a phase's ``timeout``).
    """
    path = [*prefix, *error.absolute_path]
    given: Any = error.instance
    if error.validator in ("additionalProperties", "unevaluatedProperties"):
        allowed = set(error.schema.get("properties", {}))
        patterns = error.schema.get("patternProperties", {})
        extra = [k for k in error.instance if k not in allowed and not patterns]
        if extra:
            path.append(extra[0])
            given = f"unknown key {extra[0]!r}" + did_you_mean(extra[0], {*allowed, *also})
            return _path(path), _expected(error), given
    if error.validator == "required":
        missing = [k for k in error.validator_value if k not in error.instance]
        return _path(path), f"required key {missing[0]!r}" if missing else "", "missing"
    text = json.dumps(given, default=str)
    if len(text) > 60:
        text = text[:57] + "..."
    return _path(path), _expected(error), text


def first_error(schema: Mapping[str, Any], instance: Any) -> Any | None:
    """The most relevant validation error, or ``None`` when ``instance`` is valid."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    if not errors:
        return None
    return jsonschema.exceptions.best_match(errors)


def apply_defaults(schema: Mapping[str, Any], instance: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``instance`` with the schema's property defaults filled in (recursively)."""
    out = dict(instance)
    for key, sub in schema.get("properties", {}).items():
        if not isinstance(sub, Mapping):
            continue
        if key not in out and "default" in sub:
            out[key] = json.loads(json.dumps(sub["default"]))
        if isinstance(out.get(key), dict) and sub.get("type") == "object":
            out[key] = apply_defaults(sub, out[key])
        elif isinstance(out.get(key), list) and isinstance(sub.get("items"), Mapping):
            items = sub["items"]
            out[key] = [apply_defaults(items, v) if isinstance(v, dict) else v for v in out[key]]
    return out
