"""``harness init``: the commented starter configuration, written from a template.

The template is the shipped built-in demo (``harness/default.toml``) itself, so the
starter is the demo with every comment kept; machine-written TOML elsewhere (a
run's ``config.toml``) stays with tomli-w. ``--pyproject`` appends the same
document as a ``[tool.harness]`` section to an existing ``pyproject.toml``: the
file's text is kept byte for byte and only appended to.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from harness.errors import UsageError

__all__ = ["append_to_pyproject", "pyproject_section", "starter_config"]

_HEADER = (
    "# harness.toml: written by `harness init`; edit it for your bot.\n"
    "# Reference: README.md (Configuration), `harness schema config`. Relative paths are\n"
    "# relative to this file's folder. Below: the built-in demo, commented.\n"
)
_PYPROJECT_HEADER = (
    "# harness configuration, added by `harness init --pyproject` (a harness.toml next to this\n"
    "# file would win over it). Every table of a harness.toml nests under [tool.harness]:\n"
    "# [harness] -> [tool.harness.harness], [phases.data] -> [tool.harness.phases.data].\n"
)
#: A table header line of the template: ``[a.b]`` or ``[[a.b]]`` (with a trailing comment).
_TABLE = re.compile(r"^(\[\[?)\s*([A-Za-z0-9_.\-\"' ]+?)\s*(\]\]?)(.*)$")


def _template_body() -> str:
    """``default.toml`` without its leading comment block (it speaks of the built-in default)."""
    from harness.config import builtin_default_text

    lines = builtin_default_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() and not line.startswith("#"))
    return "\n".join(lines[start:]).rstrip() + "\n"


def starter_config() -> str:
    """The starter ``harness.toml``: the built-in demo with its comments, a header first."""
    return _HEADER + "\n" + _template_body()


def pyproject_section() -> str:
    """The starter as a ``[tool.harness]`` section: every table header nested under it."""
    out = []
    for line in _template_body().splitlines():
        match = _TABLE.match(line)
        if match:
            open_, name, close, rest = match.groups()
            line = f"{open_}tool.harness.{name}{close}{rest}"
        out.append(line)
    return _PYPROJECT_HEADER + "\n".join(out) + "\n"


def append_to_pyproject(path: Path) -> None:
    """Append :func:`pyproject_section` to the existing ``pyproject.toml`` at ``path``.

    :raises UsageError: no such file, it is not valid TOML, or it already has ``[tool.harness]``.
    """
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise UsageError(
            f"{path}: no such file (--pyproject adds [tool.harness] to an existing "
            "pyproject.toml; plain `harness init` writes a harness.toml)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: invalid TOML, not changed: {exc}") from None
    if "harness" in document.get("tool", {}):
        raise UsageError(f"{path} already has a [tool.harness] section; not changed")
    combined = text + ("" if text.endswith("\n") or not text else "\n") + "\n" + pyproject_section()
    tomllib.loads(combined)  # the template nests cleanly; never write a file TOML rejects
    try:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(combined[len(text) :])
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
