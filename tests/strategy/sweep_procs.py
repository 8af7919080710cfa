"""Helpers of the executor tests: a bars plugin, ``harness run`` subprocesses, their processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HARNESS = Path(sys.executable).with_name("harness")

#: a local plugin whose phase publishes random-walk bars as the market data
GEN_PLUGIN = """
import numpy as np
import harness
from harness import MARKET_ARTIFACT, Bars, MarketData

@harness.hookimpl
def phase_schema():
    return {
        "type": "object",
        "properties": {
            "bars": {"type": "integer"},
            "symbols": {"type": "integer"},
            "seed": {"type": "integer"},
            "decimals": {"type": "integer"},
        },
    }

@harness.hookimpl
def phase_run(phase, ctx):
    if phase.plugin != "gen_bars":
        return None
    s = phase.settings
    n, decimals = int(s.get("bars", 2000)), s.get("decimals")
    out = {}
    for k in range(int(s.get("symbols", 1))):
        rng = np.random.default_rng(int(s.get("seed", 1)) + k)
        close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.002, n)))
        open_ = np.empty(n)
        open_[0] = close[0]
        open_[1:] = close[:-1] * np.exp(rng.normal(0.0, 0.0005, n - 1))
        if decimals is not None:
            close, open_ = np.round(close, decimals), np.round(open_, decimals)
        ts = 1_600_000_000 * 10**9 + np.arange(n, dtype=np.int64) * 60 * 10**9
        sym = f"S{k}"
        out[sym] = Bars(sym, "gen", ts, open_, np.maximum(open_, close),
                        np.minimum(open_, close), close, np.full(n, 1000.0))
    ctx.artifacts.put(MARKET_ARTIFACT, MarketData(out, "1m", 60.0))
    return harness.PhaseResult.passed(f"{n} bars x {len(out)}")
"""


def config(
    *,
    bars: int = 2000,
    symbols: int = 1,
    seed: int = 1,
    strategy: str = "",
    sweep: str = "{ fast = [3, 5, 8], slow = [13, 21] }",
    timeout: float | None = None,
    decimals: int | None = None,
) -> str:
    """A config: ``gen_bars`` then a strategy phase sweeping ``sma_cross``."""
    extra = f"decimals = {decimals}\n" if decimals is not None else ""
    limit = f"timeout = {timeout}\n" if timeout is not None else ""
    return (
        textwrap.dedent(
            f"""
        [harness]
        heartbeat_interval = 0.2
        plugins = ["./gen_bars.py"]

        [phases.bars]
        plugin = "gen_bars"
        bars = {bars}
        symbols = {symbols}
        seed = {seed}
        """
        )
        + extra
        + textwrap.dedent(
            """
        [phases.strategy]
        save_curves = false
        lookahead_bars = 200
        """
        )
        + limit
        + strategy
        + textwrap.dedent(
            f"""
        [[phases.strategy.strategies]]
        name = "sma_cross"
        params = {{ fast = 5, slow = 21 }}
        sweep = {sweep}
        """
        )
    )


def prepare(tmp_path: Path, text: str) -> Path:
    """Write the config and the plugin into ``tmp_path``; the run's output folder."""
    (tmp_path / "gen_bars.py").write_text(GEN_PLUGIN)
    (tmp_path / "harness.toml").write_text(text)
    return tmp_path / "out"


def env() -> dict[str, str]:
    return {**os.environ, "HARNESS_DISABLE_PLUGIN_AUTOLOAD": "1"}


def run(
    tmp_path: Path, text: str, timeout: float = 120
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """``harness run`` to the end."""
    out = prepare(tmp_path, text)
    proc = subprocess.run(
        [str(HARNESS), "run", "--output-dir", str(out)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env(),
        timeout=timeout,
        check=False,
    )
    return proc, out


def start(tmp_path: Path, text: str) -> tuple[subprocess.Popen[str], Path]:
    """``harness run`` in the background."""
    out = prepare(tmp_path, text)
    proc = subprocess.Popen(
        [str(HARNESS), "run", "--output-dir", str(out)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env(),
    )
    return proc, out


def stop(proc: subprocess.Popen[str]) -> None:
    """Kill ``proc`` if it still runs; close its pipe."""
    proc.kill()
    proc.wait(10)
    if proc.stdout is not None:
        proc.stdout.close()


def events(out: Path, type_: str | None = None) -> list[dict[str, Any]]:
    path = out / "events.jsonl"
    if not path.exists():
        return []
    found = []
    for line in path.read_text().splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue  # a line being written
        if type_ is None or event["type"] == type_:
            found.append(event)
    return found


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def children(pid: int) -> set[int]:
    """Every descendant process of ``pid`` (Linux ``/proc``)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    todo = [pid]
    while todo:
        p = todo.pop()
        for child, parent in parents.items():
            if parent == p and child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pids: set[int]) -> set[int]:
    """The pids of ``pids`` still running (zombies count as ended)."""
    left = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            left.add(pid)
    return left


def shm_segments() -> set[str]:
    try:
        return {n for n in os.listdir("/dev/shm") if n.startswith("harness-")}
    except OSError:
        return set()
