"""The small, named error types of harness.

Two families live here:

* errors the harness raises for a user's mistake (:class:`UsageError`,
  :class:`ConfigError`, :class:`PluginError`); the CLI turns them into a one-line
  message and exit code 4, never a traceback;
* errors a phase or operation raises to steer the error policy
  (:class:`RetryableError`, :class:`NonRetryableError`, :class:`PhaseFailed`).
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = [
    "ConfigError",
    "HarnessError",
    "NonRetryableError",
    "PhaseFailed",
    "PluginError",
    "RetryableError",
    "UsageError",
]


class HarnessError(Exception):
    """Base class of every error harness defines."""


class UsageError(HarnessError):
    """The command line or the environment asks for something impossible (exit 4)."""

    def masked(self, redact: Callable[[str], str]) -> UsageError:
        """The same error with ``redact`` applied to its text (``self`` if nothing changes)."""
        text = str(self)
        if redact(text) == text:
            return self
        return UsageError(redact(text))


class ConfigError(UsageError):
    """A configuration document is invalid.

    Every field is optional because some errors have no key (a TOML syntax error
    has a line and column instead); ``str()`` joins what is known into one line:
    ``harness.toml: phases.data.timeout: expected number > 0, got "soon"``.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        key: str | None = None,
        expected: str | None = None,
        given: object = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.message = message
        self.path = path
        self.key = key
        self.expected = expected
        self.given = given
        self.line = line
        self.column = column
        super().__init__(str(self))

    def masked(self, redact: Callable[[str], str]) -> UsageError:
        if redact(str(self)) == str(self):
            return self
        return ConfigError(
            redact(self.message),
            path=self.path,
            key=self.key,
            expected=self.expected,
            given=redact(str(self.given)) if self.given is not None else None,
            line=self.line,
            column=self.column,
        )

    def __str__(self) -> str:
        where = self.path or "<config>"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        parts = [where]
        if self.key:
            parts.append(self.key)
        parts.append(self.message)
        return ": ".join(parts)


class PluginError(UsageError):
    """A plugin could not be loaded, registered or validated (exit 4)."""

    def __init__(self, plugin: str, message: str) -> None:
        self.plugin = plugin
        # one line, whatever pluggy or packaging said (their messages span several lines)
        self.message = "; ".join(line.strip() for line in message.splitlines() if line.strip())
        super().__init__(f"plugin {plugin!r}: {self.message}")

    def masked(self, redact: Callable[[str], str]) -> UsageError:
        if redact(str(self)) == str(self):
            return self
        return PluginError(self.plugin, redact(self.message))


class RetryableError(HarnessError):
    """A transient failure; the error policy may retry the phase or operation.

    :param retry_after: seconds the failing party asked us to wait (for example an
        HTTP ``Retry-After`` header). The policy honours it, capped by its
        ``max_delay`` and the remaining budget.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class NonRetryableError(HarnessError):
    """A failure that retrying cannot fix (rejected credentials, bad data, bad config).

    The retry policy gives up on it at once, whatever ``retry_on`` says.
    """


class PhaseFailed(NonRetryableError):
    """The phase checked something and it did not hold.

    Raise it from ``phase_run`` with a message that names what failed (file,
    row, check; strategy, gate, value, threshold). The phase ends ``failed``
    with that message and no traceback, and is not retried.
    """
