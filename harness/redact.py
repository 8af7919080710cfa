"""Keeping secrets inside the process: every string that leaves goes through here."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from typing import Any

import orjson

__all__ = ["MASK", "SECRET_ENV", "SECRET_KEY", "Redactor", "mask_document"]

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


#: config keys whose string values are secrets (``*_env`` etc. only name where one is)
SECRET_KEY = re.compile(r"(?i)(secret|token|passw|api[_-]?key|private[_-]?key|credential)")
#: environment variables whose values are secrets, whatever prints them
SECRET_ENV = re.compile(r"(?i)(secret|token|passw|api_?key|private_?key|credential|(^|_)key$)")
# a password in a URL's userinfo, or a secret-looking query parameter's value
_URL_SECRETS = re.compile(
    r"(://[^/@\s]*:)[^/@\s]+(?=@)"
    r"|([?&][^=&#\s]*(?:key|token|secret|sig|pass)[^=&#\s]*=)[^&#\s]+",
    re.IGNORECASE,
)


def mask_document(value: Any, redact: Callable[[str], str]) -> Any:
    """A configuration document fit to save: secret-looking keys' values, passwords and
    tokens inside URLs, and every string ``redact`` knows, masked; ``None`` values dropped
    (TOML has no null)."""
    if isinstance(value, dict):
        return {
            k: MASK
            if SECRET_KEY.search(k)
            and not k.endswith(("_env", "_header", "_pattern"))
            and isinstance(v, str)
            else mask_document(v, redact)
            for k, v in value.items()
            if v is not None
        }
    if isinstance(value, list):
        return [mask_document(v, redact) for v in value if v is not None]
    if isinstance(value, str):
        return _URL_SECRETS.sub(lambda m: (m[1] or m[2]) + MASK, redact(value))
    return value
