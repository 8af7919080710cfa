"""Hand-computed cases for every rule of the engine."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.plugins.strategy.engine import backtest
from harness.plugins.strategy.metrics import max_drawdown


def test_signal_fills_at_next_open_and_marks_to_market_at_close() -> None:
    r = backtest([10, 11, 12, 13], [10.5, 11.5, 12.5, 13.5], [1, 0, 0, 0], cash=100)
    # floor(100 / 11) = 9 units bought at bar 1's open (11), not bar 0's close.
    assert r.position.tolist() == [0, 9, 9, 9]
    assert r.equity.tolist() == [100, 100 + 9 * 0.5, 100 + 9 * 1.5, 100 + 9 * 2.5]
    assert len(r.trades) == 0  # still open at the end: not a trade
    assert r.final_equity == pytest.approx(122.5)  # ... but in the equity
    assert r.open_trade_pnl == pytest.approx(22.5)


def test_signal_on_last_bar_never_fills() -> None:
    r = backtest([10, 11, 12], [10, 11, 12], [0, 0, 1], cash=100)
    assert r.position.tolist() == [0, 0, 0]
    assert r.equity.tolist() == [100, 100, 100]


def test_opposite_signal_closes_and_reverses_at_the_same_price() -> None:
    r = backtest([10, 10, 20, 20], [10, 10, 20, 15], [1, 0, -1, 0], cash=105)
    # long 10 @ 10 (bar 1); at bar 3's open (20) closed for +100, cash 205,
    # then short floor(205 / 20) = 10 @ 20; close 15 -> 205 + 10 * 5.
    assert r.position.tolist() == [0, 10, 10, -10]
    assert r.equity[-1] == pytest.approx(255.0)
    t = r.trades
    assert (t.entry_bar.tolist(), t.exit_bar.tolist()) == ([1], [3])
    assert (t.entry_price.tolist(), t.exit_price.tolist()) == ([10.0], [20.0])
    assert t.pnl.tolist() == [100.0]
    assert t.wins == 1


def test_same_direction_signal_closes_and_reopens() -> None:
    r = backtest([10, 10, 12, 12], [10, 11, 12, 13], [1, 1, 0, 0], cash=105)
    # long 10 @ 10; bar 1's buy fills at bar 2's open 12: close (+20), cash 125,
    # reopen floor(125 / 12) = 10 @ 12.
    assert len(r.trades) == 1
    assert r.trades.pnl.tolist() == [20.0]
    assert r.trades.exit_price.tolist() == [12.0]
    assert r.position.tolist() == [0, 10, 10, 10]
    assert r.equity[-1] == pytest.approx(135.0)


def test_short_trade_profits_when_price_falls() -> None:
    r = backtest([10, 10, 8, 8], [10, 9, 8, 8], [-1, 0, 1, 0], cash=105)
    # short 10 @ 10; closed @ 8 -> +20; long floor(125 / 8) = 15 @ 8.
    assert r.trades.size.tolist() == [-10.0]
    assert r.trades.pnl.tolist() == [20.0]
    assert r.equity.tolist() == [105, 115, 125, 125]
    assert r.position[-1] == 15


def test_cash_for_an_exact_whole_number_of_units_buys_one_fewer() -> None:
    # backtesting.py sizes "all the equity" as 1 - 2**-52 of the cash and floors the
    # exact quotient: 100 / 10 buys 9 units, not 10 (a tie on rounded prices).
    r = backtest([10, 10, 10], [10, 10, 10], [1, 0, 0], cash=100)
    assert r.position.tolist() == [0, 9, 9]
    r = backtest([10, 10, 10], [10, 10, 10], [1, 0, 0], cash=100.01)
    assert r.position.tolist() == [0, 10, 10]


def test_size_is_whole_units_of_cash_over_open_with_commission() -> None:
    r = backtest([9.9, 9.9, 11.0], [9.9, 9.9, 11.0], [1, 0, 0], cash=1000, commission=0.01)
    # floor(1000 / (9.9 * 1.01)) = floor(100.01) = 100 (101 without commission)
    assert r.position.tolist() == [0, 100, 100]
    # entry commission 100 * 9.9 * 0.01 = 9.9 leaves the cash at 990.1
    assert r.equity[1] == pytest.approx(990.1)


def test_commission_on_entry_and_exit_each_on_its_own_price() -> None:
    opens = [9.9, 9.9, 11.0, 11.0]
    r = backtest(opens, opens, [1, -1, 0, 0], cash=1000, commission=0.01)
    t = r.trades
    # entry 100 @ 9.9 (commission 9.9), exit @ 11.0 (commission 11.0)
    assert t.commission.tolist() == pytest.approx([9.9 + 11.0])
    assert t.pnl.tolist() == pytest.approx([110.0 - 9.9 - 11.0])
    cash = 1000 - 9.9 + 110 - 11.0  # 1089.1
    short = math.floor(cash / (11.0 * 1.01))  # 98
    assert r.position[-1] == -short
    assert r.equity[-1] == pytest.approx(cash - short * 11.0 * 0.01)


def test_order_of_zero_units_is_skipped_but_the_trade_is_still_closed() -> None:
    r = backtest([10, 10, 200, 200], [10, 10, 200, 200], [1, -1, 0, 0], cash=105)
    # long 10 @ 10 closed @ 200 (+1900), cash 2005 -> short 10 @ 200 fits.
    assert r.position.tolist() == [0, 10, -10, -10]
    r = backtest([10, 10, 200, 200], [10, 10, 200, 200], [0, 1, 0, 0], cash=100)
    assert r.position.tolist() == [0, 0, 0, 0]  # floor(100 / 200) = 0: skipped
    assert len(r.trades) == 0
    r = backtest([10, 10, 10, 19], [10, 10, 10, 19], [-1, 0, 1, 0], cash=100, commission=0.05)
    # short 9 @ 10 (floor(100 / 10.5)) closed @ 19: cash 100 - 4.5 - 81 - 8.55 = 5.95;
    # floor(5.95 / 19.95) = 0 units: the buy is skipped, the short is still closed.
    assert len(r.trades) == 1
    assert r.position.tolist() == [0, -9, -9, 0]
    assert r.equity[-1] == pytest.approx(5.95)


def test_break_even_is_a_loss() -> None:
    r = backtest([10, 10, 10, 10], [10, 12, 10, 10], [1, -1, 0, 0], cash=100)
    assert r.trades.pnl.tolist() == [0.0]
    assert r.trades.wins == 0
    assert len(r.trades) - r.trades.wins == 1


def test_finalize_closes_the_open_trade_at_the_last_open() -> None:
    opens, closes = [10, 10, 12, 14], [10, 11, 13, 15]
    r = backtest(opens, closes, [1, 0, 0, 0], cash=100, commission=0.01, finalize=True)
    # 9 units @ 10 (floor(100 / 10.1)); closed at the last bar's open, 14.
    assert len(r.trades) == 1
    assert r.trades.exit_bar.tolist() == [3]
    assert r.trades.exit_price.tolist() == [14.0]
    assert r.trades.pnl.tolist() == pytest.approx([9 * 4 - 0.9 - 9 * 14 * 0.01])
    assert r.equity[-1] == pytest.approx(100 + r.trades.pnl[0])
    assert r.position[-1] == 0


def test_fractional_sizing_uses_all_cash() -> None:
    r = backtest([30, 30, 36], [30, 30, 36], [1, 0, 0], cash=100, fractional=True)
    assert r.position[1] == pytest.approx(100 / 30)
    assert r.equity[-1] == pytest.approx(120.0)


def test_out_of_money_liquidates_and_stops() -> None:
    opens = [10, 10, 25, 5, 5]
    r = backtest(opens, opens, [-1, 0, 0, 1, 0], cash=105)
    # short 10 @ 10; at bar 2's close equity = 105 - 10 * 15 < 0: closed there.
    assert r.equity.tolist() == [105, 105, 0, 0, 0]
    assert r.trades.exit_bar.tolist() == [2]
    assert r.trades.pnl.tolist() == [-150.0]
    assert r.position.tolist() == [0, -10, 0, 0, 0]


def test_max_drawdown_is_on_the_mark_to_market_curve() -> None:
    assert max_drawdown(np.array([100.0, 120.0, 90.0, 130.0, 65.0])) == pytest.approx(0.5)
    assert max_drawdown(np.array([100.0, 110.0, 120.0])) == 0.0
    # long 10 @ 10: closes 10, 12, 9, 11 -> equity 105, 125, 95, 115 -> 24 %
    r = backtest([10, 10, 10, 10, 10], [10, 10, 12, 9, 11], [1, 0, 0, 0, 0], cash=105)
    assert max_drawdown(r.equity) == pytest.approx(0.24)


def test_equal_lengths_required() -> None:
    with pytest.raises(ValueError, match="differ"):
        backtest([1, 2], [1, 2, 3], [0, 0, 0])


def test_empty_input() -> None:
    r = backtest([], [], [], cash=50)
    assert r.final_equity == 50
    assert len(r.trades) == 0


def test_the_commission_free_loop_gives_the_same_floats_as_the_general_one() -> None:
    from harness.plugins.strategy.engine import _fills, _fills_plain

    rng = np.random.default_rng(3)
    walk = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, 5_000)))
    directions = rng.choice([-1, 1], 5_000).tolist()
    for prices in (walk.tolist(), walk.round(2).tolist(), walk.round(0).tolist()):
        assert _fills_plain(directions, prices, 10_000.0) == _fills(
            directions, prices, 10_000.0, 0.0, False
        )
