"""What the schema cannot say about an exchange entry, and a base URL safe to show.

:func:`exchange_problems` is used twice: by the plugin's ``configure`` hook, which
turns the first problem into a start-up :class:`~harness.ConfigError` (exit 4),
and by the run-time ``config`` check (a safety net when the phase is run
directly); :func:`ca_bundle_problem` checks a resolved ``ca_bundle`` file the
same two ways. :func:`safe_url` masks the user, password, query and fragment of a
URL: those may hold credentials, so no message and no summary shows them.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from harness.plugins.api.settings import Exchange
from harness.plugins.api.tls import CaBundleError, ca_bundle_context

__all__ = ["Problem", "ca_bundle_problem", "ccxt_ids", "exchange_problems", "safe_url"]

MASK = "***"


@dataclass(frozen=True, slots=True)
class Problem:
    """One wrong setting of an exchange entry.

    :param key: the entry's key at fault (``base_url``).
    :param expected: what it should be, for ``config.error``.
    :param given: what it is, already safe to show (no credential in it).
    :param text: one sentence for the run-time ``config`` check.
    """

    key: str
    expected: str
    given: str
    text: str


def safe_url(url: str) -> str:
    """``url`` with its user/password, query and fragment replaced by ``***``.

    ``https://u:p@host/v1?k=1#f`` -> ``https://***@host/v1?***#***``. Splits the way
    :func:`urllib.parse.urlsplit` does (authority up to the first ``/?#``, user
    info up to its last ``@``) but never raises, so that even a malformed URL
    is masked.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority, tail = rest[:end], rest[end:]
    if "@" in authority:
        authority = f"{MASK}@{authority.rpartition('@')[2]}"
    before_fragment, hash_mark, _ = tail.partition("#")
    path, question_mark, _ = before_fragment.partition("?")
    out = f"{scheme}{sep}{authority}{path}"
    out += f"?{MASK}" if question_mark else ""
    out += f"#{MASK}" if hash_mark else ""
    return out


def _quoted(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _is_loopback(host: str) -> bool:
    if host.rstrip(".").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url_problems(url: str) -> list[Problem]:
    shown = _quoted(safe_url(url))
    out = []
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        parts, host = None, ""
    if parts is None or parts.scheme not in ("http", "https") or not host:
        out.append(
            Problem(
                "base_url",
                "an http(s)://host[:port][/path] URL",
                shown,
                "base_url must be http(s)://host[:port][/path]",
            )
        )
    if parts is None:
        return out
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        out.append(
            Problem(
                "base_url",
                "a base_url without user or password (credentials go in key_env/secret_env)",
                shown,
                "base_url must not hold a user or password (use key_env/secret_env)",
            )
        )
    if "?" in url or "#" in url:
        out.append(
            Problem(
                "base_url",
                "a base_url without query or fragment",
                shown,
                "base_url must not hold a query or fragment",
            )
        )
    if parts.scheme == "http" and host and not _is_loopback(host):
        out.append(
            Problem(
                "base_url",
                "https:// (plain http:// only for a loopback host)",
                shown,
                "plain http:// is allowed for loopback hosts only; use https://",
            )
        )
    return out


def _regex_problem(key: str, pattern: str | None) -> Problem | None:
    if pattern is None:
        return None
    try:
        re.compile(pattern)
    except re.error as exc:
        reason = " ".join(str(exc).split())
        return Problem(
            key,
            "a valid regular expression",
            f"{_quoted(pattern)} ({reason})",
            f"{key} is not a valid regex ({reason})",
        )
    return None


def ccxt_ids() -> list[str] | None:
    """The exchange ids of the installed ccxt, without importing it; ``None`` if absent.

    ``import ccxt`` loads every exchange (hundreds of ms, ~80 MiB): the ids are the
    modules of the package (``ccxt/binance.py``...), one per entry of ``ccxt.exchanges``.
    """
    import importlib.util

    try:
        spec = importlib.util.find_spec("ccxt")
    except (ImportError, ValueError):  # ValueError: sys.modules["ccxt"] is None
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    ids: set[str] = set()
    for location in spec.submodule_search_locations:
        ids.update(p.stem for p in Path(location).glob("*.py") if not p.stem.startswith("_"))
    return sorted(ids)


def _ccxt_problems(ex: Exchange) -> list[Problem]:
    """A ccxt entry: the extra installed, a known id, usable ``urls``."""
    out: list[Problem] = []
    if ex.base_url:
        out.append(
            Problem(
                "base_url",
                "either base_url (generic HTTP checks) or exchange (ccxt), not both",
                _quoted(safe_url(ex.base_url)),
                "base_url and exchange are both set (use urls to redirect a ccxt exchange)",
            )
        )
    known = ccxt_ids()
    if known is None:
        out.append(
            Problem(
                "exchange",
                "the ccxt extra installed: pip install 'harness[ccxt]'",
                f"{_quoted(ex.exchange or '')} (ccxt is not installed)",
                "exchange needs the ccxt extra: pip install 'harness[ccxt]'",
            )
        )
        return out
    if ex.exchange not in known:
        import difflib

        near = difflib.get_close_matches(ex.exchange or "", known, n=3)
        hint = f" (did you mean {', '.join(near)}?)" if near else ""
        out.append(
            Problem(
                "exchange",
                f"a ccxt exchange id ({len(known)} known: binance, kraken, bybit, ...)",
                _quoted(ex.exchange or "") + hint,
                f"unknown ccxt exchange {ex.exchange!r}{hint}",
            )
        )
    for name, url in ex.urls.items():
        for problem in _url_problems(url):
            out.append(
                Problem(
                    f"urls.{name}",
                    problem.expected.replace("base_url", "a URL"),
                    problem.given,
                    problem.text.replace("base_url", f"urls.{name}"),
                )
            )
    return out


def _generic_problems(ex: Exchange) -> list[Problem]:
    """A generic entry: a base URL, and none of the ccxt-only keys."""
    if not ex.base_url:
        return [
            Problem(
                "base_url",
                "base_url (or exchange, a ccxt exchange id)",
                "neither",
                "base_url is required unless exchange names a ccxt exchange",
            )
        ]
    out = _url_problems(ex.base_url)
    ccxt_only = {"sandbox": ex.sandbox, "urls": ex.urls, "options": ex.options}
    ccxt_only |= {"symbols": ex.symbols, "rate_limiter": not ex.rate_limiter}
    for key, value in ccxt_only.items():
        if value:
            out.append(
                Problem(
                    key,
                    f"{key} only alongside exchange (a ccxt exchange id)",
                    f"{key} without exchange",
                    f"{key} is a ccxt setting: it needs exchange",
                )
            )
    return out


def exchange_problems(ex: Exchange) -> list[Problem]:
    """Every problem of ``ex`` the schema cannot catch, in key order; empty if none.

    A ccxt entry's id is checked against the installed ccxt's modules, without
    importing it (a dry run never pays for ``import ccxt``).
    """
    out = _ccxt_problems(ex) if ex.uses_ccxt else _generic_problems(ex)
    for key in ("key_pattern", "secret_pattern"):
        problem = _regex_problem(key, getattr(ex, key))
        if problem is not None:
            out.append(problem)
    for kind in ("key", "secret"):
        pattern, env = getattr(ex, f"{kind}_pattern"), getattr(ex, f"{kind}_env")
        if pattern is not None and env is None:
            out.append(
                Problem(
                    f"{kind}_pattern",
                    f"{kind}_env set alongside {kind}_pattern",
                    f"{kind}_pattern without {kind}_env",
                    f"{kind}_pattern is set but {kind}_env is not",
                )
            )
    if (
        not ex.uses_ccxt
        and ex.auth_path is not None
        and ex.key_env is None
        and ex.secret_env is None
    ):
        out.append(
            Problem(
                "auth_path",
                "key_env or secret_env set alongside auth_path",
                f"auth_path {_quoted(ex.auth_path)} with neither",
                "auth_path is set but neither key_env nor secret_env",
            )
        )
    if ex.key_env and ex.secret_env and ex.key_header.lower() == ex.secret_header.lower():
        out.append(
            Problem(
                "secret_header",
                "a header other than key_header",
                _quoted(ex.secret_header),
                "key_header and secret_header are the same header",
            )
        )
    return out


def ca_bundle_problem(ex: Exchange, path: Path | None) -> Problem | None:
    """The problem with ``ex.ca_bundle`` resolved to ``path`` (missing, no PEM CA...), if any."""
    if ex.ca_bundle is None or path is None:
        return None
    try:
        ca_bundle_context(path)
    except CaBundleError as exc:
        reason = " ".join(str(exc).split())
        return Problem(
            "ca_bundle",
            "a PEM file of CA certificates (relative to the config file)",
            f"{_quoted(ex.ca_bundle)} ({reason})",
            f"ca_bundle unusable: {reason}",
        )
    return None
