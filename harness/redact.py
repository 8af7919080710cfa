"""Keeping secrets inside the process: the one redaction boundary.

Everything that leaves a run (events, ``summary.json``, ``state.json``,
``config.toml``, console and stderr lines, JUnit and GitHub files, every file a
plugin writes through :meth:`harness.Session.write_file`) passes through one
:class:`Redactor`. It masks:

* every registered secret value (``ctx.add_secret``, credentials the built-ins
  read, values of secret-named environment variables and config keys) and the
  forms it takes when printed by other code: JSON-escaped, URL-encoded
  (``quote``, ``quote_plus``) and base64 (standard and URL-safe; alone, and for
  secrets of 8 characters or more also at any alignment inside a longer base64
  text, as in an HTTP ``Authorization: Basic`` header);
* credentials inside any URL: the password of ``user:password@host`` and the
  values of query parameters with secret-looking names (``?token=``,
  ``&api_key=``, ``&signature=``).

One rule says which *names* hold secrets (:func:`is_secret_name`): environment
variables, config keys, command ``env`` keys and URL query parameters alike.

What cannot be masked: a secret that other code transforms in a way not listed
above (hashed, encrypted, split, reversed, hex-encoded, or re-encoded by a
child process), and values shorter than four characters.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = ["MASK", "Redactor", "is_secret_name", "mask_document", "secret_values"]

MASK = "***"

#: secrets shorter than this are not registered (they would mask ordinary words)
MIN_SECRET = 4
#: values that are never secrets, whatever their variable is called
_NOT_SECRET_VALUES = frozenset({"true", "false", "yes", "no", "none", "null", "on", "off"})

_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
_SECRET_WORDS = frozenset(
    {
        "secret",
        "secrets",
        "token",
        "tokens",
        "password",
        "passwd",
        "passphrase",
        "pass",
        "credential",
        "credentials",
        "apikey",
        "signature",
        "sig",
        "auth",
        "bearer",
        "cookie",
    }
)
#: a name ending like this names *where* a secret is, not the secret
_POINTER_SUFFIXES = ("env", "header", "pattern", "path", "file", "url", "name", "id")


def is_secret_name(name: str) -> bool:
    """Whether a variable, key or query parameter called ``name`` holds a secret.

    The one rule for every name harness looks at. Words are split at ``_``,
    ``-``, ``.`` and camelCase: a name is secret when a word is ``secret``,
    ``token``, ``password``, ``pass``, ``credential``, ``apikey``,
    ``signature``, ``auth``... or when its last word is ``key`` (``API_KEY``,
    ``EXCHANGE_KEY``, ``private_key``); names that end in a pointer word
    (``key_env``, ``auth_header``, ``token_path``, ``secret_name``) are not.
    """
    words = [w.lower() for w in _WORDS.findall(name)]
    if not words or words[-1] in _POINTER_SUFFIXES:
        return False
    return words[-1] == "key" or any(w in _SECRET_WORDS for w in words)


def _base64_cores(raw: bytes) -> set[str]:
    """Substrings that appear in any base64 text containing ``raw``, at each alignment."""
    out: set[str] = set()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        out.add(encode(raw).decode())
        for offset in range(3):
            text = encode(b"\0" * offset + raw).decode()
            full = (len(raw) + offset) // 3  # groups made of our bytes (and the prefix)
            core = text[(4 if offset else 0) : 4 * full]
            if len(core) >= 6:
                out.add(core)
    return out


def _forms(secret: str) -> set[str]:
    """``secret`` and the forms other code prints it in."""
    forms = {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
    }
    forms |= _base64_cores(secret.encode())
    return {f for f in forms if len(f) >= MIN_SECRET}


_URL_USERINFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/@\s:\"']*:)[^/@\s\"']+(?=@)")
_URL_PARAM = re.compile(r"(?P<head>[?&;](?P<name>[^=&#\s\"']+)=)(?P<value>[^&#\s\"']+)")


_URL_USERINFO_B = re.compile(_URL_USERINFO.pattern.encode())
_URL_PARAM_B = re.compile(rb"[?&;]([^=&#\s\"']+)=[^&#\s\"']+")


def _mask_urls(text: str) -> str:
    if "://" in text:
        text = _URL_USERINFO.sub(lambda m: m["head"] + MASK, text)
    if "=" in text:
        text = _URL_PARAM.sub(
            lambda m: m["head"] + MASK if is_secret_name(m["name"]) else m[0], text
        )
    return text


class Redactor:
    """Replaces every known secret (and its encodings, and URL credentials) with ``***``.

    Thread-safe; registering is rare, masking is frequent. :meth:`found_in`
    is the cheap test on the hot path (a rendered event line).
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: frozenset[str] = frozenset()
        self._pattern: re.Pattern[str] | None = None
        self._needles: tuple[bytes, ...] = ()
        for secret in secrets:
            self.add(secret)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Redactor:
        """A redactor knowing the values of every secret-named environment variable."""
        return cls(
            value
            for name, value in environ.items()
            if is_secret_name(name) and value.strip().lower() not in _NOT_SECRET_VALUES
        )

    def add(self, value: str) -> None:
        """Never let ``value`` (or a printed form of it) leave the process."""
        candidates = {value, value.strip()}
        with self._lock:
            new = {v for v in candidates if len(v) >= MIN_SECRET} - self._secrets
            if not new:
                return
            self._secrets = self._secrets | new
            forms = set().union(*(_forms(s) for s in self._secrets))
            ordered = sorted(forms, key=len, reverse=True)  # a longer form is masked whole
            self._pattern = re.compile("|".join(map(re.escape, ordered)))
            # as the forms appear inside a JSON line (orjson escapes only " \\ and controls);
            # a form holding a shorter one needs no search of its own
            rendered = {json.dumps(f, ensure_ascii=False)[1:-1].encode() for f in forms}
            self._needles = tuple(
                n for n in rendered if not any(o != n and o in n for o in rendered)
            )

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def found_in(self, line: bytes) -> bool:
        """Whether a rendered line may hold something to mask (a fast byte search)."""
        if any(needle in line for needle in self._needles):
            return True
        if b"://" in line and _URL_USERINFO_B.search(line):
            return True
        if b"=" in line and (b"?" in line or b"&" in line or b";" in line):
            return any(
                is_secret_name(m[1].decode("utf-8", "replace")) for m in _URL_PARAM_B.finditer(line)
            )
        return False

    def redact(self, text: str) -> str:
        """``text`` with secrets, their encodings and URL credentials masked."""
        pattern = self._pattern
        if pattern is not None:
            text = pattern.sub(MASK, text)
        return _mask_urls(text)

    def redact_obj(self, value: Any) -> Any:
        """``value`` with every string masked, mapping keys included (lists for tuples)."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, Mapping):
            return {self.redact(str(k)): self.redact_obj(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.redact_obj(v) for v in value]
        return value


def mask_document(value: Any, redactor: Redactor) -> Any:
    """A configuration document fit to save (``config.toml``).

    String values of secret-named keys become ``***``, every other string goes
    through ``redactor``; ``None`` values are dropped (TOML has no null).
    """
    if isinstance(value, dict):
        return {
            k: MASK if is_secret_name(k) and isinstance(v, str) else mask_document(v, redactor)
            for k, v in value.items()
            if v is not None
        }
    if isinstance(value, list):
        return [mask_document(v, redactor) for v in value if v is not None]
    if isinstance(value, str):
        return redactor.redact(value)
    return value


def secret_values(document: Any) -> Iterator[str]:
    """The string values of secret-named keys anywhere in a configuration document."""
    if isinstance(document, dict):
        for key, value in document.items():
            if isinstance(value, str) and is_secret_name(str(key)):
                yield value
            else:
                yield from secret_values(value)
    elif isinstance(document, list):
        for value in document:
            yield from secret_values(value)
