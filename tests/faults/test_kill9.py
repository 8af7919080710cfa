"""``kill -9`` at random instants: every file validates, ``--resume`` completes.

Seeded, so a failure is reproducible: each trial starts ``harness run`` (three
short phases, heartbeats every 50 ms), kills its process group with SIGKILL
after a random delay (start-up included), and checks what is left: no process,
every line whole and valid, and a ``--resume`` that completes the run.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fault_helpers import assert_group_gone, check_files, kill_group, run, start

pytestmark = pytest.mark.faults

SEED = 11
TRIALS = 24

PHASES = """
[phases.one]
plugin = "hang"
[phases.two]
plugin = "hang"
[phases.three]
plugin = "hang"
"""


def project(cwd: Path) -> Path:
    from fault_helpers import HANG_PLUGIN

    cwd.mkdir(parents=True)
    (cwd / "hang.py").write_text(HANG_PLUGIN, "utf-8")
    text = '[harness]\nplugins = ["./hang.py"]\nheartbeat_interval = 0.05\n' + PHASES
    (cwd / "harness.toml").write_text(text, "utf-8")
    return cwd


def trial(cwd: Path, delay: float) -> str:
    """One kill; returns what it hit: ``start-up``, ``finished`` or ``resumed``."""
    proc = start(project(cwd), "--output-dir", "out", HANG_PHASE_S="0.3")
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        kill_group(proc.pid)
    proc.communicate()
    assert_group_gone(proc.pid)
    out = cwd / "out"
    events = out / "events.jsonl"
    if not (out / "state.json").exists():  # killed before the run began: nothing recorded
        assert not events.exists() or events.stat().st_size == 0, delay
        return "start-up"
    if events.exists() and events.stat().st_size:
        check_files(out, summary=(out / "summary.json").exists())
    if proc.returncode == 0:
        return "finished"
    assert proc.returncode == -signal.SIGKILL
    resumed = run(cwd, "--resume", "--output-dir", "out", HANG_PHASE_S="0")
    assert resumed.code == 0, f"delay {delay:.3f}: {resumed.stderr}"
    check_files(out)
    return "resumed"


def test_kill9_at_random_instants(tmp_path: Path) -> None:
    t0 = time.monotonic()
    assert trial(tmp_path / "whole", 120) == "finished"
    whole = time.monotonic() - t0
    rng = random.Random(SEED)
    delays = [rng.uniform(0.3, whole) for _ in range(TRIALS)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        hits = list(pool.map(trial, [tmp_path / f"t{i}" for i in range(TRIALS)], delays))
    assert hits.count("resumed") >= TRIALS // 4, list(zip(delays, hits, strict=True))
