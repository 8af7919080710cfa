"""Artifacts: typed values one phase hands to later phases of the same run."""

from __future__ import annotations

import threading
from typing import Any, TypeVar, overload

from harness.errors import NonRetryableError

__all__ = ["Artifacts", "MissingArtifact"]

T = TypeVar("T")


class MissingArtifact(NonRetryableError, KeyError):
    """No artifact of that name: an earlier phase did not run or did not produce it.

    Non-retryable (waiting does not make it appear); a ``KeyError`` for callers
    that test with ``except KeyError``.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "missing artifact"


class Artifacts:
    """A run-wide store of named values (``ctx.artifacts``).

    A phase ``put``\\ s what it produced under a documented key (the data phase
    puts ``"data.market"``); a later phase ``get``\\ s it, optionally checking
    its type. Artifacts live in memory: a plugin whose artifact must survive
    ``--resume`` rebuilds it in ``phase_resume`` (or saves it under
    ``ctx.run_dir`` and reloads it there).
    """

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}
        self._lock = threading.Lock()

    def put(self, key: str, value: object) -> None:
        with self._lock:
            self._values[key] = value

    @overload
    def get(self, key: str) -> Any: ...
    @overload
    def get(self, key: str, kind: type[T]) -> T: ...

    def get(self, key: str, kind: type[Any] | None = None) -> Any:
        """Return the artifact ``key``; :class:`MissingArtifact` naming it when absent.

        :param kind: when given, the value must be an instance of it
            (:class:`TypeError` otherwise).
        """
        with self._lock:
            if key not in self._values:
                known = ", ".join(sorted(self._values)) or "none"
                raise MissingArtifact(f"no artifact {key!r} (artifacts so far: {known})")
            value = self._values[key]
        if kind is not None and not isinstance(value, kind):
            raise TypeError(f"artifact {key!r} is {type(value).__name__}, expected {kind.__name__}")
        return value

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._values

    def keys(self) -> list[str]:
        with self._lock:
            return sorted(self._values)
