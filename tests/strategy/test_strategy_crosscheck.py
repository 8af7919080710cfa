"""The engine and the built-in strategies against backtesting.py and pandas.

backtesting.py runs with ``exclusive_orders=True, trade_on_close=False`` and the
strategies written the way its documentation writes them (``self.I`` indicators,
``crossover``, ``self.buy()`` / ``self.sell()`` of the default size), on seeded random
data, on the shipped real (cent-rounded) sample, and on tick-rounded prices where the two
moving averages are often equal in real arithmetic (ties: the last bit of each float
decides the cross, so :func:`sma` must give pandas' floats bit for bit; that is tested
directly too, including on 1,000,000 bars rounded to 4 decimals).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategy_bars import DAY_NS, START_NS, random_bars

from harness import Bars
from harness.plugins.strategy.engine import BacktestResult, backtest
from harness.plugins.strategy.indicators import sma
from harness.plugins.strategy.strategies import buy_and_hold, momentum, sma_cross

pd = pytest.importorskip("pandas")
backtesting = pytest.importorskip("backtesting")
lib = pytest.importorskip("backtesting.lib")


def _sma(values: Any, n: int) -> Any:
    return pd.Series(values).rolling(n).mean().to_numpy()


def _mom(values: Any, n: int) -> Any:
    s = pd.Series(values)
    return (s - s.shift(n)).to_numpy()


class SmaCross(backtesting.Strategy):  # type: ignore[misc]
    fast = 10
    slow = 20

    def init(self) -> None:
        self.f = self.I(_sma, self.data.Close, self.fast)
        self.s = self.I(_sma, self.data.Close, self.slow)

    def next(self) -> None:
        if lib.crossover(self.f, self.s):
            self.buy()
        elif lib.crossover(self.s, self.f):
            self.sell()


class Momentum(backtesting.Strategy):  # type: ignore[misc]
    lookback = 20

    def init(self) -> None:
        self.m = self.I(_mom, self.data.Close, self.lookback)

    def next(self) -> None:
        if lib.crossover(self.m, 0):
            self.buy()
        elif lib.crossover(0, self.m):
            self.sell()


class BuyAndHold(backtesting.Strategy):  # type: ignore[misc]
    def init(self) -> None:
        pass

    def next(self) -> None:
        if not self.position:
            self.buy()


def _frame(bars: Bars) -> Any:
    return pd.DataFrame(
        {
            "Open": bars.open,
            "High": bars.high,
            "Low": bars.low,
            "Close": bars.close,
            "Volume": bars.volume,
        },
        index=pd.to_datetime(bars.timestamp, unit="ns"),
    )


def _reference(bars: Bars, strategy: type, params: dict[str, Any], **kwargs: Any) -> Any:
    bt = backtesting.Backtest(
        _frame(bars), strategy, exclusive_orders=True, trade_on_close=False, **kwargs
    )
    with warnings.catch_warnings():
        # expected: the open trade at the end when finalize_trades=False
        warnings.filterwarnings("ignore", message="Some trades remain open", category=UserWarning)
        # pandas deprecations triggered inside backtesting.py's statistics (pandas 3)
        warnings.filterwarnings("ignore", module=r"backtesting\.")
        return bt.run(**params)


CASES: list[tuple[str, Callable[..., Any], type, dict[str, Any]]] = [
    ("sma_cross", sma_cross, SmaCross, {"fast": 10, "slow": 20}),
    ("sma_cross", sma_cross, SmaCross, {"fast": 5, "slow": 50}),
    ("momentum", momentum, Momentum, {"lookback": 20}),
    ("momentum", momentum, Momentum, {"lookback": 3}),
    ("buy_and_hold", buy_and_hold, BuyAndHold, {}),
]


def _ours(bars: Bars, fn: Callable[..., Any], params: dict[str, Any], **kw: Any) -> BacktestResult:
    return backtest(bars.open, bars.close, fn(bars, **params), **kw)


def _assert_same(ours: BacktestResult, stats: Any) -> None:
    trades = stats._trades
    assert len(ours.trades) == stats["# Trades"]
    assert ours.trades.wins == int((trades["PnL"] > 0).sum())
    assert len(ours.trades) - ours.trades.wins == int((trades["PnL"] <= 0).sum())
    assert ours.final_equity == pytest.approx(stats["Equity Final [$]"], rel=1e-6)
    ref_equity = stats._equity_curve["Equity"].to_numpy()
    np.testing.assert_allclose(ours.equity, ref_equity, rtol=1e-9)
    np.testing.assert_array_equal(ours.trades.entry_bar, trades["EntryBar"].to_numpy())
    np.testing.assert_array_equal(ours.trades.exit_bar, trades["ExitBar"].to_numpy())
    np.testing.assert_allclose(ours.trades.size, trades["Size"].to_numpy())
    np.testing.assert_allclose(ours.trades.pnl, trades["PnL"].to_numpy(), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("commission", [0.0, 0.002])
@pytest.mark.parametrize(("name", "fn", "ref", "params"), CASES)
def test_same_as_backtesting_py(
    name: str, fn: Callable[..., Any], ref: type, params: dict[str, Any], commission: float
) -> None:
    bars = random_bars(1500, seed=11)
    ours = _ours(bars, fn, params, cash=10_000, commission=commission)
    stats = _reference(bars, ref, params, cash=10_000, commission=commission)
    if name != "buy_and_hold":
        assert len(ours.trades) > 20
    _assert_same(ours, stats)


@pytest.mark.parametrize(("name", "fn", "ref", "params"), CASES)
def test_same_as_backtesting_py_with_finalize(
    name: str, fn: Callable[..., Any], ref: type, params: dict[str, Any]
) -> None:
    bars = random_bars(1200, seed=5)
    # backtesting.py fills a last-bar order at that bar's open when it finalizes;
    # we never fill a signal on the last bar: compare on data ending without one.
    n = len(bars)
    while fn(bars, **params)[n - 1] != 0:
        n -= 1
        bars = random_bars(n, seed=5)
    ours = _ours(bars, fn, params, cash=10_000, commission=0.001, finalize=True)
    stats = _reference(bars, ref, params, cash=10_000, commission=0.001, finalize_trades=True)
    _assert_same(ours, stats)


def test_seeds_and_volatility_agree() -> None:
    for seed in range(4):
        bars = random_bars(800, seed=100 + seed, vol=0.03)
        for _, fn, ref, params in CASES:
            ours = _ours(bars, fn, params, cash=5_000, commission=0.001)
            _assert_same(ours, _reference(bars, ref, params, cash=5_000, commission=0.001))


SAMPLE = Path(__file__).resolve().parents[2] / "plugins" / "data" / "sample"


@pytest.mark.parametrize("symbol", ["AAPL", "GOOG", "IBM", "MSFT"])
def test_same_as_backtesting_py_on_the_shipped_sample(symbol: str) -> None:
    df = pd.read_csv(SAMPLE / f"{symbol}.csv")
    ts = pd.to_datetime(df["date"]).to_numpy().astype("datetime64[ns]").astype(np.int64)
    cols = [df[c].to_numpy(dtype=np.float64) for c in ("open", "high", "low", "close", "volume")]
    bars = Bars(symbol, "sample", ts, *cols)
    for _, fn, ref, params in CASES:
        ours = _ours(bars, fn, params, cash=10_000, commission=0.001)
        _assert_same(ours, _reference(bars, ref, params, cash=10_000, commission=0.001))


# --------------------------------------------------------------------------------------
# ties: rounded prices, where moving averages are often exactly equal
# --------------------------------------------------------------------------------------


def tick_bars(n: int, seed: int, tick: float = 0.01) -> Bars:
    """Prices on a tick grid moving -1, 0 or +1 tick a bar: sums of windows are whole
    ticks, so SMA(fast) == SMA(slow) in real arithmetic on many bars."""
    rng = np.random.default_rng(seed)
    close_ticks = 10_000 + np.cumsum(rng.integers(-1, 2, n))
    open_ticks = np.concatenate(([close_ticks[0]], close_ticks[:-1] + rng.integers(-1, 2, n - 1)))
    close, open_ = close_ticks * tick, open_ticks * tick
    ts = START_NS + np.arange(n, dtype=np.int64) * DAY_NS
    high, low = np.maximum(open_, close) + tick, np.minimum(open_, close) - tick
    return Bars("TICK", "test", ts, open_, high, low, close, np.full(n, 1000.0))


def _real_ties(bars: Bars, fast: int, slow: int, tick: float = 0.01) -> int:
    """Bars where SMA(fast) == SMA(slow) exactly, counted in whole ticks (no floats)."""
    ticks = np.rint(bars.close / tick).astype(np.int64)
    csum = np.concatenate(([0], np.cumsum(ticks)))
    i = np.arange(slow, len(ticks) + 1)
    return int(np.sum((csum[i] - csum[i - fast]) * slow == (csum[i] - csum[i - slow]) * fast))


def _bits_equal(ours: Any, theirs: Any) -> None:
    """Same floats bit for bit (NaN where pandas has NaN)."""
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.dtype == theirs.dtype == np.float64
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    ok = ~np.isnan(theirs)
    diff = np.flatnonzero(ours[ok].view(np.int64) != theirs[ok].view(np.int64))
    assert len(diff) == 0, f"{len(diff)} values differ, first at {np.flatnonzero(ok)[diff[0]]}"


TIE_CASES = [
    ("sma_cross", sma_cross, SmaCross, {"fast": 10, "slow": 20}),
    ("sma_cross", sma_cross, SmaCross, {"fast": 3, "slow": 12}),
    ("sma_cross", sma_cross, SmaCross, {"fast": 5, "slow": 50}),
    ("momentum", momentum, Momentum, {"lookback": 5}),
]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize(("name", "fn", "ref", "params"), TIE_CASES)
def test_same_as_backtesting_py_on_tick_rounded_prices_with_ties(
    name: str, fn: Callable[..., Any], ref: type, params: dict[str, Any], seed: int
) -> None:
    bars = tick_bars(1500, seed=seed)
    if name == "sma_cross":
        assert _real_ties(bars, params["fast"], params["slow"]) > 0
    for commission in (0.0, 0.001):
        ours = _ours(bars, fn, params, cash=10_000, commission=commission)
        _assert_same(ours, _reference(bars, ref, params, cash=10_000, commission=commission))


@pytest.mark.parametrize("window", [1, 2, 3, 5, 10, 20, 50, 200])
def test_sma_is_pandas_rolling_mean_bit_for_bit(window: int) -> None:
    rng = np.random.default_rng(window)
    cases = [
        tick_bars(3000, seed=window).close,  # ties
        np.round(100 * np.exp(np.cumsum(rng.normal(0, 0.01, 20_000))), 4),  # across binades
        100 * np.exp(np.cumsum(rng.normal(0, 0.01, 5_000))),  # unrounded
        np.concatenate([rng.normal(100, 30, 500).round(4), np.full(60, 100.1234)]),
        np.concatenate([rng.normal(0.1, 1, 300), np.full(60, 0.1), rng.normal(0, 1, 50)]),
        -np.abs(rng.normal(0, 1, 500)).round(1),  # all negative
        np.where(rng.random(500) < 0.3, 0.0, np.abs(rng.normal(0, 1e-3, 500)).round(4)),
    ]
    special = rng.normal(0, 1, 800).round(1)
    special[[5, 300, 301, 600]] = np.nan
    special[[100, 500]] = [np.inf, -np.inf]
    special[200:260] = -0.0
    cases.append(special)
    for values in cases:
        _bits_equal(sma(values, window), _sma(values, window))


def test_sma_edges() -> None:
    assert sma(np.array([1.0, 2.0]), 3).tolist() == [pytest.approx(np.nan, nan_ok=True)] * 2
    assert len(sma(np.array([]), 3)) == 0
    values = np.array([1.0, np.inf, 3.0])
    out = sma(values, 1)
    _bits_equal(out, _sma(values, 1))
    assert values[1] == np.inf  # the input is not changed
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="positive integer"):
            sma(values, bad)  # type: ignore[arg-type]


_PRICES = st.integers(-300, 300).map(lambda k: k / 100)
_SPECIAL = st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0, 0.1, 0.3])


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(st.one_of(_PRICES, _PRICES, _PRICES, _SPECIAL), max_size=120),
    window=st.integers(1, 25),
)
def test_sma_is_pandas_rolling_mean_on_any_rounded_values(values: list[float], window: int) -> None:
    array = np.array(values, dtype=np.float64)
    _bits_equal(sma(array, window), _sma(array, window))


def test_sma_cross_decides_ties_as_pandas_and_crossover_on_1m_rounded_bars() -> None:
    """1,000,000 minute bars rounded to 4 decimals (the case of issue 14: ties that
    ``np.convolve`` rounded differently): the averages are pandas' bit for bit, and the
    signals are backtesting.py's ``crossover`` on them. The full backtest against
    backtesting.py on these bars is in ``benchmarks/bench_strategy.py`` (it takes
    backtesting.py seconds)."""
    rng = np.random.default_rng(42)
    close = np.round(100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.001, 1_000_000))), 4)
    fast, slow = _sma(close, 10), _sma(close, 20)
    assert int(np.sum(fast == slow)) > 0  # there are ties
    _bits_equal(sma(close, 10), fast)
    _bits_equal(sma(close, 20), slow)
    expected = np.zeros(len(close), dtype=np.int8)
    expected[1:][(fast[:-1] < slow[:-1]) & (fast[1:] > slow[1:])] = 1
    expected[1:][(slow[:-1] < fast[:-1]) & (slow[1:] > fast[1:])] = -1
    ts = START_NS + np.arange(len(close), dtype=np.int64) * 60 * 10**9
    bars = Bars("R", "test", ts, close, close, close, close, np.ones(len(close)))
    np.testing.assert_array_equal(sma_cross(bars, fast=10, slow=20), expected)
