"""TLS trust: a private CA bundle as an SSL context, and certificate failures told apart.

Verification is never turned off. By default httpx verifies against certifi's
bundle (or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when set); an exchange's
``ca_bundle`` replaces that trust store for its requests with the PEM CA
certificates of one file (a testnet's or a corporate proxy's private CA). A
certificate that does not verify is not a transient error: :func:`cert_failure`
finds it in an httpx error so that it is not retried. ``ssl`` is imported inside
the functions: this module is loaded at start-up by the ``configure`` hook.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ssl

__all__ = ["CaBundleError", "ca_bundle_context", "cert_failure"]

_VERIFY_FAILED = "CERTIFICATE_VERIFY_FAILED"


class CaBundleError(Exception):
    """``ca_bundle`` cannot be used; the message says why on one line (no traceback)."""


def ca_bundle_context(path: Path) -> ssl.SSLContext:
    """A client context that verifies certificates and host names against ``path`` only.

    ``ssl.create_default_context``: ``CERT_REQUIRED`` and ``check_hostname`` on,
    the same as httpx's default context but trusting the CAs of ``path``
    instead of certifi's. Raises :class:`CaBundleError` if the file is missing,
    unreadable or holds no PEM certificate.
    """
    import ssl

    if not path.exists():
        raise CaBundleError(f"no such file: {path}")
    if not path.is_file():
        raise CaBundleError(f"not a file: {path}")
    try:
        context = ssl.create_default_context(cafile=str(path))
    except ssl.SSLError as exc:
        reason = exc.reason or "unreadable"
        raise CaBundleError(f"no PEM CA certificate in {path} ({reason})") from None
    except OSError as exc:
        raise CaBundleError(f"cannot read {path} ({exc.strerror or type(exc).__name__})") from None
    if not context.get_ca_certs():
        raise CaBundleError(f"no PEM CA certificate in {path}")
    return context


def cert_failure(exc: BaseException) -> str | None:
    """Why the server's certificate was rejected, if that is what ``exc`` comes from.

    Follows the ``__cause__`` / ``__context__`` chain (httpx wraps httpcore,
    which wraps the :class:`ssl.SSLCertVerificationError`); falls back on the
    OpenSSL reason ``CERTIFICATE_VERIFY_FAILED`` in a message. ``None`` when the
    error is something else (refused, reset, timed out...).
    """
    import ssl

    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not e for e in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    for error in chain:
        if isinstance(error, ssl.SSLCertVerificationError):
            text = error.verify_message or error.reason or "certificate verify failed"
            return " ".join(str(text).split()).rstrip(".")
    if any(_VERIFY_FAILED in str(error) for error in chain):
        return "certificate verify failed"
    return None
