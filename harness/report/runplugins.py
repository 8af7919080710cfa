"""The plugins of a finished run, loaded again so that they can add report sections.

``harness report`` runs in a new process after the run. It loads the plugins the
run's saved ``config.toml`` names (``[harness] plugins`` and ``disable``; relative
files are found next to the original config file, else in the run directory),
the entry-point plugins and the built-ins, plus ``-p`` plugins of the report
command. Only the plugins are loaded: the configuration is not validated again
(the saved copy has its secrets masked), and no plugin is configured. A plugin
that cannot be loaded is left out and named at the top of the report.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pluggy

__all__ = ["load_run_plugins"]


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def load_run_plugins(
    run_dir: Path, summary: Mapping[str, Any], cli: Sequence[str] = ()
) -> tuple[pluggy.PluginManager | None, list[str]]:
    """``(plugin manager, notes)`` for the run in ``run_dir``."""
    from harness.errors import PluginError
    from harness.manager import load_plugins

    notes: list[str] = []
    table: Mapping[str, Any] = {}
    saved = run_dir / "config.toml"
    if saved.is_file():
        try:
            table = tomllib.loads(saved.read_text("utf-8")).get("harness", {})
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            notes.append(f"{saved}: unreadable ({exc}); only built-in plugins are loaded")
    original = Path(str((summary.get("config") or {}).get("path") or ""))
    root = original.parent if original.is_file() else run_dir
    extra = _strings(table.get("plugins"))
    disable = set(_strings(table.get("disable")))
    for _ in range(len(extra) + len(cli) + 20):
        try:
            plugins = load_plugins(extra=extra, disable=sorted(disable), cli=cli, root=root)
        except PluginError as exc:
            if exc.plugin in disable:
                break
            notes.append(f"plugin {exc.plugin!r} left out of the report: {exc}")
            disable.add(exc.plugin)
            continue
        return plugins.pm, notes
    notes.append("plugins could not be loaded; the report has the core sections only")
    return None, notes
