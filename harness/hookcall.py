"""Calling hooks one implementation at a time, so one failure silences nobody."""

from __future__ import annotations

from collections.abc import Container, Iterator
from dataclasses import dataclass
from typing import Any

import pluggy

__all__ = ["ImplResult", "call_each"]


@dataclass(frozen=True, slots=True)
class ImplResult:
    """What one hook implementation returned, or the exception it raised."""

    plugin: str
    value: Any = None
    error: Exception | None = None


def call_each(
    hook: pluggy.HookCaller, skip: Container[str] = (), **kwargs: Any
) -> Iterator[ImplResult]:
    """Call every implementation of ``hook`` in pluggy's order, isolating failures.

    ``Exception``\\ s are captured into the :class:`ImplResult`; ``BaseException``
    (interrupts, timeouts) propagates as usual. Plugins named in ``skip``
    are not called.
    """
    for impl in reversed(hook.get_hookimpls()):
        if impl.plugin_name in skip:
            continue
        args = {name: kwargs[name] for name in impl.argnames}
        try:
            value = impl.function(**args)
        except Exception as exc:
            yield ImplResult(impl.plugin_name, error=exc)
        else:
            yield ImplResult(impl.plugin_name, value=value)
