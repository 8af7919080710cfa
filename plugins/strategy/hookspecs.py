"""Hooks the ``strategy`` plugin adds for other plugins: strategy providers.

The ``strategy`` plugin registers this module through the core hook
``add_hookspecs``, so any plugin (an entry point, a ``plugins = [...]`` module or
file) may implement::

    from harness import hookimpl

    @hookimpl
    def strategy_functions():
        return {"my_breakout": my_breakout}

and name the strategy in ``[[phases.strategy.strategies]]``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from harness import hookspec

__all__ = ["strategy_functions"]


@hookspec
def strategy_functions() -> Mapping[str, Callable[..., Any]] | None:
    """Return strategies by name: ``{name: fn}``.

    ``fn(bars, **params)`` receives a :class:`~harness.Bars`
    (numpy arrays ``timestamp``, ``open``, ``high``, ``low``, ``close``,
    ``volume``) and the entry's ``params`` (and sweep values) as keyword
    arguments, and returns an array of the same length with -1 (sell), 0
    (nothing) or +1 (buy) per bar. ``signal[t]`` may use bars ``0..t`` only: the
    look-ahead gate recomputes it on cut data. Raise :class:`ValueError` for
    invalid parameters. Define ``fn`` at module level so that sweeps can run it
    in worker processes.

    Called at start-up (the ``strategy`` plugin's ``configure`` checks the
    entries' names and ``params``/``sweep`` keys against ``fn``'s signature; a
    ``**kwargs`` function accepts any key) and once per strategy phase run. A
    name that a built-in strategy or another plugin already uses is an error
    naming both.
    """
