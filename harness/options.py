"""Command-line options that plugins add to ``harness run`` (the ``addoption`` hook).

Each option is a shorthand for ``--set <setting>=<value>``: it names the
configuration key it sets, so its value is validated by the plugin's schema and
recorded in ``config.toml`` like any setting, and the CLI module knows no
plugin's keys (pytest's ``pytest_addoption`` / ``junitxml.py`` shape).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

__all__ = ["OptionKind", "OptionParser", "PluginOption", "describe_options", "parse_plugin_args"]

OptionKind = Literal["string", "path", "flag", "choice"]


@dataclass(frozen=True, slots=True)
class PluginOption:
    """One option: its flags, the setting it sets, and how its value is read."""

    names: tuple[str, ...]
    setting: str
    help: str
    kind: OptionKind = "string"
    metavar: str | None = None
    choices: tuple[str, ...] = ()
    flag_value: Any = True

    def override(self, value: Any, cwd: Path) -> str:
        """The ``--set`` item this option stands for, given the parsed ``value``."""
        if self.kind == "flag":
            value = self.flag_value
        elif self.kind == "path":
            path = Path(str(value)).expanduser()
            value = str(path if path.is_absolute() else cwd / path)
        # JSON's strings, numbers, booleans and arrays are TOML values too
        return f"{self.setting}={json.dumps(value)}"


class OptionParser:
    """Collects the options plugins add in :hook:`addoption`."""

    def __init__(self) -> None:
        self.options: list[PluginOption] = []

    def addoption(
        self,
        *names: str,
        setting: str,
        help: str,
        kind: OptionKind = "string",
        metavar: str | None = None,
        choices: Sequence[str] = (),
        flag_value: Any = True,
    ) -> None:
        """Add an option to ``harness run``.

        :param names: its flags, long (``--junit-xml``) and optionally short.
        :param setting: the dotted configuration key it sets
            (``"plugins.junit.path"``).
        :param help: one line for ``harness run --help``.
        :param kind: ``"string"`` (a value), ``"path"`` (a value made absolute
            against the working directory), ``"choice"`` (one of ``choices``)
            or ``"flag"`` (no value: sets ``flag_value``).
        :raises ValueError: a flag that is not ``-x`` / ``--long``, or taken already.
        """
        taken = {n for option in self.options for n in option.names}
        for name in names:
            if not name.startswith("-") or name in taken:
                raise ValueError(f"option {name!r}: not a flag, or already added")
        if kind == "choice" and not choices:
            raise ValueError(f"option {names[0]!r}: kind 'choice' needs choices")
        self.options.append(
            PluginOption(tuple(names), setting, help, kind, metavar, tuple(choices), flag_value)
        )


def _argparser(options: Sequence[PluginOption]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="harness run", add_help=False, allow_abbrev=False, exit_on_error=False
    )
    for index, option in enumerate(options):
        dest = f"o{index}"
        if option.kind == "flag":
            parser.add_argument(*option.names, dest=dest, action="store_true", default=None)
        else:
            choices = option.choices or None
            parser.add_argument(*option.names, dest=dest, choices=choices, default=None)
    return parser


def parse_plugin_args(options: Sequence[PluginOption], args: Sequence[str], cwd: Path) -> list[str]:
    """The ``--set`` items that ``args`` (the plugin options given to ``harness run``) stand for.

    :raises UsageError: an option nobody added, a missing value, a bad choice.
    """
    from harness.errors import UsageError

    parser = _argparser(options)
    try:
        parsed, rest = parser.parse_known_args(list(args))
    except argparse.ArgumentError as exc:
        raise UsageError(f"harness run: {exc}") from None
    if rest:
        known = ", ".join(n for o in options for n in o.names if n.startswith("--"))
        raise UsageError(
            f"harness run: no such option: {rest[0]} (plugin options: {known or 'none'}; "
            "see harness run --help)"
        )
    values = vars(parsed)
    return [
        option.override(values[f"o{index}"], cwd)
        for index, option in enumerate(options)
        if values[f"o{index}"] is not None
    ]


def describe_options(options: Sequence[PluginOption]) -> str:
    """The plugin options as help text (the epilog of ``harness run --help``)."""
    if not options:
        return "Plugin options: none."
    lines = ["Plugin options (each sets one config key, as --set does):", ""]
    for option in options:
        value = "" if option.kind == "flag" else f" {option.metavar or 'VALUE'}"
        choices = f" [{'|'.join(option.choices)}]" if option.choices else ""
        lines.append(
            f"  {', '.join(option.names)}{value}: {option.help}{choices} (sets {option.setting})"
        )
    return "\n\n".join(lines)
