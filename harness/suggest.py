""" "Did you mean" suggestions for mistyped names (difflib, as pytest and argparse do)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["did_you_mean"]


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'timeout'?)`` for the closest of ``choices`` to ``word``, or ``""``."""
    names = [c for c in choices if c != word]
    close = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
