"""Keeping secrets inside the process: every string that leaves goes through here."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import orjson

__all__ = ["MASK", "Redactor"]

MASK = "***"


class Redactor:
    """Replaces every registered secret value with ``***``.

    Values shorter than 4 characters are not registered (they would mask
    ordinary words); plugins register secrets with ``ctx.add_secret``.
    """

    def __init__(self) -> None:
        self._secrets: list[str] = []
        self._encoded: tuple[bytes, ...] = ()
        self._lock = threading.Lock()

    def add(self, value: str) -> None:
        if len(value) < 4:
            return
        with self._lock:
            if value not in self._secrets:
                # longest first, so that a secret containing another is masked whole
                self._secrets = sorted([*self._secrets, value], key=len, reverse=True)
                # as they appear inside a JSON line (orjson escapes only " \ and controls)
                self._encoded = tuple(orjson.dumps(v)[1:-1] for v in self._secrets)

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def found_in(self, line: bytes) -> bool:
        """Whether a JSON ``line`` holds any secret (a fast byte search)."""
        return any(secret in line for secret in self._encoded)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def redact_obj(self, value: Any) -> Any:
        """``value`` with secrets masked in every string, keys included."""
        if not self._secrets:
            return value
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, Mapping):
            return {self.redact(str(k)): self.redact_obj(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.redact_obj(v) for v in value]
        return value
