"""The built-in strategies, the gates and the look-ahead check."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from strategy_bars import make_bars, random_bars

from harness import Bars
from harness.plugins.strategy.engine import backtest
from harness.plugins.strategy.gates import check_gates, check_signal, cut_points, first_lookahead
from harness.plugins.strategy.metrics import compute_metrics, periods_per_year, sharpe, totals
from harness.plugins.strategy.strategies import buy_and_hold, crossings, momentum, sma, sma_cross


def test_sma_has_nan_warmup_then_window_means() -> None:
    out = sma(np.array([1.0, 2.0, 3.0, 4.0]), 2)
    assert np.isnan(out[0])
    assert out[1:].tolist() == [1.5, 2.5, 3.5]
    assert np.isnan(sma(np.array([1.0]), 3)).all()


def test_crossing_is_a_strict_sign_change() -> None:
    diff = np.array([np.nan, -1.0, 1.0, 0.0, -1.0, 0.0, 2.0, 1.0, -3.0])
    # -1 -> 1 is a cross; 1 -> 0 -> -1 and -1 -> 0 -> 2 touch zero: no cross.
    assert crossings(diff).tolist() == [0, 0, 1, 0, 0, 0, 0, 0, -1]


def test_sma_cross_signals_on_the_crossing_bar() -> None:
    bars = make_bars([5, 4, 3, 2, 3, 4, 5, 4, 3, 2])
    # close - SMA3 (fast=1 is the close): nan nan -1 -1 1/3 1 1 -1/3 -1 -1
    diff = bars.close - sma(bars.close, 3)
    assert np.isnan(diff[:2]).all()
    assert diff[2:].tolist() == pytest.approx([-1, -1, 1 / 3, 1, 1, -1 / 3, -1, -1])
    assert sma_cross(bars, fast=1, slow=3).tolist() == [0, 0, 0, 0, 1, 0, 0, -1, 0, 0]
    # close - SMA3: nan nan -1 -1 1 2 0 -5/3 -2 -4/3: through zero is no cross
    bars = make_bars([5, 4, 3, 2, 4, 6, 5, 3, 1, 0])
    assert sma_cross(bars, fast=1, slow=3).tolist() == [0, 0, 0, 0, 1, 0, 0, 0, 0, 0]


def test_sma_cross_rejects_bad_parameters() -> None:
    bars = make_bars([1, 2, 3])
    with pytest.raises(ValueError, match="smaller"):
        sma_cross(bars, fast=20, slow=20)
    with pytest.raises(ValueError, match="positive integer"):
        sma_cross(bars, fast=0, slow=3)
    with pytest.raises(ValueError, match="positive integer"):
        momentum(bars, lookback=2.5)


def test_momentum_signals_sign_changes_of_close_minus_lagged_close() -> None:
    bars = make_bars([10, 11, 12, 11, 10, 9, 10, 12, 13])
    # close - close[t-2]: nan nan 2 0 -2 -2 0 3 3 -> 2 -> 0 -> -2 no strict cross
    assert momentum(bars, lookback=2).tolist() == [0] * 9
    bars = make_bars([10, 11, 12, 9, 8, 13])
    # close - close[t-1]: nan 1 1 -3 -1 5
    assert momentum(bars, lookback=1).tolist() == [0, 0, 0, -1, 0, 1]


def test_buy_and_hold_buys_once_on_bar_one() -> None:
    assert buy_and_hold(make_bars([1, 2, 3, 4])).tolist() == [0, 1, 0, 0]
    assert buy_and_hold(make_bars([1])).tolist() == [0]


def test_check_signal_validates_shape_and_values() -> None:
    assert check_signal([1, 0, -1], 3).dtype == np.int8
    assert check_signal(np.array([1.0, 0.0]), 2).tolist() == [1, 0]
    with pytest.raises(ValueError, match="shape"):
        check_signal([1, 0], 3)
    with pytest.raises(ValueError, match="at bar 1"):
        check_signal([1, 2, 0], 3)
    with pytest.raises(ValueError, match="at bar 0"):
        check_signal([np.nan, 0.0], 2)


def _metrics(bars: Bars, signal: Any) -> tuple[Any, Any]:
    result = backtest(bars.open, bars.close, signal, cash=1000)
    return result, compute_metrics(result, bars.close, per_year=252)


def test_metrics_of_a_hand_computed_backtest() -> None:
    bars = make_bars([10, 10, 12, 9, 11, 11], [10, 10, 12, 9, 11, 11])
    _result, m = _metrics(bars, [1, 0, 0, -1, 0, 0])
    # long 99 @ 10 (bar 1; 1000 / 10 is a whole number: one unit fewer, as
    # backtesting.py), closed @ 11 (bar 4): +99; short 99 @ 11 open at end.
    assert (m.trades, m.wins, m.losses, m.win_rate) == (1, 1, 0, 1.0)
    assert m.final_equity == pytest.approx(1099.0)
    assert (m.pnl, m.roi) == (pytest.approx(99.0), pytest.approx(0.099))
    assert m.max_drawdown == pytest.approx(1 - 901 / 1198)
    assert m.exposure == pytest.approx(5 / 6)
    assert m.buy_hold_return == pytest.approx(0.1)
    assert m.bars == 6


def test_sharpe_is_annualised_from_bar_returns() -> None:
    equity = np.array([100.0, 101.0, 100.0, 102.0])
    r = np.diff(equity) / equity[:-1]
    expected = r.mean() / r.std(ddof=1) * np.sqrt(252)
    assert sharpe(equity, 252) == pytest.approx(expected)
    assert sharpe(equity, None) == 0.0
    assert sharpe(np.full(5, 100.0), 252) == 0.0
    assert periods_per_year(86_400, "weekdays") == 252
    assert periods_per_year(3_600, "24/7") == 365 * 24
    assert periods_per_year(None) is None


def test_totals_add_up_backtests() -> None:
    bars = random_bars(300, seed=3)
    ms = [_metrics(bars, fn(bars))[1] for fn in (sma_cross, momentum, buy_and_hold)]
    t = totals(ms)
    assert t.initial == 3000
    assert t.current == pytest.approx(sum(m.final_equity for m in ms))
    assert t.trades == sum(m.trades for m in ms)
    assert t.wins + t.losses == t.trades


@pytest.mark.parametrize(
    ("gate", "threshold", "fails"),
    [
        ("min_trades", 1, False),
        ("min_trades", 2, True),
        ("max_drawdown", 0.25, False),
        ("max_drawdown", 0.2, True),
        ("min_roi", 0.09, False),
        ("min_roi", 0.1, True),
        ("min_sharpe", -100.0, False),
        ("min_sharpe", 100.0, True),
    ],
)
def test_threshold_gates(gate: str, threshold: float, fails: bool) -> None:
    bars = make_bars([10, 10, 12, 9, 11, 11], [10, 10, 12, 9, 11, 11])
    result, m = _metrics(bars, [1, 0, 0, -1, 0, 0])
    failures = check_gates("s", "SYM", m, result.equity, {gate: threshold})
    assert bool(failures) is fails
    if fails:
        (f,) = failures
        assert (f.strategy, f.symbol, f.gate, f.threshold) == ("s", "SYM", gate, threshold)
        assert f"strategy 's' on SYM: gate {gate} failed: value" in f.message
        assert f"threshold {threshold:.6g}" in f.message


def test_non_finite_equity_fails() -> None:
    bars = make_bars([10, 10, 12])
    result, m = _metrics(bars, [0, 0, 0])
    equity = result.equity.copy()
    equity[2] = np.inf
    (f,) = check_gates("s", "SYM", m, equity, {})
    assert f.gate == "finite_equity"
    assert "bar 2" in str(f.value)


def peeking(bars: Bars) -> Any:
    """Buys when tomorrow's close is higher: uses data it cannot know."""
    nxt = np.append(bars.close[1:], bars.close[-1])
    return np.sign(nxt - bars.close).astype(np.int8)


def test_look_ahead_check_finds_the_first_bar_that_peeks() -> None:
    bars = random_bars(500, seed=1)
    full = check_signal(peeking(bars), 500)
    found = first_lookahead(peeking, bars, {}, full, cuts=4)
    assert found is not None
    bar, cut = found
    assert cut == cut_points(500, 4)[0] == 100
    assert bar == 99  # the last bar before the first cut


def test_look_ahead_check_passes_honest_strategies() -> None:
    bars = random_bars(700, seed=2)
    for fn, params in [(sma_cross, {"fast": 5, "slow": 30}), (momentum, {}), (buy_and_hold, {})]:
        full = check_signal(fn(bars, **params), 700)
        assert first_lookahead(fn, bars, params, full, cuts=6) is None


def test_cut_points_are_distinct_inside_the_data() -> None:
    assert cut_points(10, 4) == [2, 4, 6, 8]
    assert cut_points(3, 5) == [2]
    assert cut_points(1, 3) == []


def test_cut_points_are_bounded_on_long_data() -> None:
    assert cut_points(1_000_000, 4, 100_000) == [25_000, 50_000, 75_000, 100_000]
    # data no longer than the bound: spread over the whole series, as without one
    assert cut_points(500, 4, 500) == cut_points(500, 4) == [100, 200, 300, 400]


def test_bounded_look_ahead_check_still_catches_a_peeking_strategy() -> None:
    bars = random_bars(20_000, seed=5)
    seen: list[int] = []

    def spy(b: Bars) -> Any:
        seen.append(len(b))
        return peeking(b)

    full = check_signal(peeking(bars), len(bars))
    found = first_lookahead(spy, bars, {}, full, cuts=4, max_bars=1_000)
    assert seen == [250, 500, 750, 1_000]  # never more than max_bars recomputed
    assert found == (249, 250)


def test_bounded_look_ahead_check_passes_honest_strategies() -> None:
    bars = random_bars(5_000, seed=6)
    full = check_signal(sma_cross(bars, fast=5, slow=30), len(bars))
    assert first_lookahead(sma_cross, bars, {"fast": 5, "slow": 30}, full, 3, 900) is None


def test_check_signal_keeps_an_int8_signal_without_a_copy() -> None:
    sig = np.array([0, 1, -1, 0], dtype=np.int8)
    assert check_signal(sig, 4) is sig
    assert check_signal(np.array([True, False]), 2).dtype == np.int8
    with pytest.raises(ValueError, match="returned 2 at bar 1"):
        check_signal(np.array([0, 2], dtype=np.int8), 2)
