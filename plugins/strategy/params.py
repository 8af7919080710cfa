"""Parameter rules of the built-in strategies, shared by the strategies and ``configure``.

Pure Python (no numpy), so that ``configure`` can check a configuration at
start-up without loading the numeric stack. Each rule raises :class:`ParamError`,
a :class:`ValueError` that names the parameter, what it expects and what it got,
so that ``configure`` can turn it into a ``config.error`` on the right key.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BUILTIN_RULES", "ParamError", "ParamRules", "positive_int"]


class ParamError(ValueError):
    """A parameter value a strategy cannot use.

    :param param: the parameter's name.
    :param expected: what it must be (``"a positive integer"``).
    :param given: the value given.
    """

    def __init__(self, param: str, expected: str, given: object) -> None:
        self.param = param
        self.expected = expected
        self.given = given
        super().__init__(f"{param} must be {expected}, got {given!r}")


def positive_int(name: str, value: Any) -> int:
    """``value`` as an ``int`` if it is an integer >= 1 (not a bool); :class:`ParamError` else."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ParamError(name, "a positive integer", value)
    return int(value)


ValueCheck = Callable[[str, Any], object]
Relation = Callable[[Mapping[str, Any], Collection[str]], None]


@dataclass(frozen=True, slots=True)
class ParamRules:
    """The rules of one strategy's parameters.

    :param values: per parameter, a check of its value alone (raises :class:`ParamError`).
    :param relation: a check of a whole parameter set, defaults included, given the
        names set explicitly (so that the error can blame one of those).
    """

    values: Mapping[str, ValueCheck] = field(default_factory=dict)
    relation: Relation | None = None

    def check_value(self, name: str, value: Any) -> None:
        """Check one value on its own (a ``params`` entry, one value of a sweep)."""
        check = self.values.get(name)
        if check is not None:
            check(name, value)

    def check(self, params: Mapping[str, Any], explicit: Collection[str] = ()) -> None:
        """Check a complete parameter set: every value, then the relation between them."""
        for name, value in params.items():
            self.check_value(name, value)
        if self.relation is not None:
            self.relation(params, explicit)


def _fast_below_slow(params: Mapping[str, Any], explicit: Collection[str]) -> None:
    fast, slow = params["fast"], params["slow"]
    if fast >= slow:
        if "fast" in explicit or "slow" not in explicit:
            raise ParamError("fast", f"an integer smaller than slow ({slow})", fast)
        raise ParamError("slow", f"an integer larger than fast ({fast})", slow)


BUILTIN_RULES: dict[str, ParamRules] = {
    "sma_cross": ParamRules({"fast": positive_int, "slow": positive_int}, _fast_below_slow),
    "momentum": ParamRules({"lookback": positive_int}),
    "buy_and_hold": ParamRules(),
}
