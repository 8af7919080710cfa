"""``harness run`` in a subprocess for the ccxt and orders tests, secrets scanned afterwards.

Shared by ``tests/api/test_ccxt_*.py`` and ``tests/orders/``. Every run gets the
fakes' keys and secrets in its environment; every byte of its stdout, stderr and
of every file under ``tmp_path`` (run directory included) is searched for them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import tomli_w
from ccxt_fakes import BINANCE_KEY, BINANCE_SECRET, KRAKEN_KEY, KRAKEN_SECRET, LEAKS
from test_api_run import Run

ENV = {
    "BN_KEY": BINANCE_KEY,
    "BN_SECRET": BINANCE_SECRET,
    "KR_KEY": KRAKEN_KEY,
    "KR_SECRET": KRAKEN_SECRET,
}
#: ccxt options that keep binance's load_markets on the spot endpoints the fake serves
BINANCE_OPTIONS = {
    "fetchMarkets": {"types": ["spot"]},
    "fetchCurrencies": False,
    "fetchMargins": False,
}


def binance_entry(fake: Any, **overrides: Any) -> dict[str, Any]:
    """A ccxt binance ``[[phases.api.exchanges]]`` entry pointed at ``fake``."""
    entry: dict[str, Any] = {
        "name": "binance",
        "exchange": "binance",
        "urls": fake.api_urls(),
        "options": BINANCE_OPTIONS,
        "key_env": "BN_KEY",
        "secret_env": "BN_SECRET",
        "symbols": ["BTC/USDT"],
    }
    entry.update(overrides)
    return entry


def kraken_entry(fake: Any, **overrides: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": "kraken",
        "exchange": "kraken",
        "urls": fake.api_urls(),
        "key_env": "KR_KEY",
        "secret_env": "KR_SECRET",
        "symbols": ["BTC/USD"],
        "max_skew_ms": 2000.0,  # Kraken's Time has whole seconds
        "rate_limiter": False,  # ccxt spaces Kraken calls 3 s apart
    }
    entry.update(overrides)
    return entry


def api_phase(*entries: dict[str, Any], **settings: Any) -> dict[str, Any]:
    return {"requests": 2, "request_timeout": 5.0, **settings, "exchanges": list(entries)}


def scan(tmp_path: Path, *texts: str) -> None:
    """No fragment of a key or secret in ``texts`` or any file under ``tmp_path``."""
    blobs = [("stdout/stderr", t.encode()) for t in texts]
    blobs += [(str(p), p.read_bytes()) for p in tmp_path.rglob("*") if p.is_file()]
    for where, blob in blobs:
        for leak in LEAKS:
            assert leak.encode() not in blob, f"secret fragment {leak[:6]}... leaked in {where}"


def run_harness(
    tmp_path: Path,
    phases: dict[str, Any],
    *args: str,
    env: dict[str, str] | None = None,
    python: list[str] | None = None,
) -> Run:
    """Write ``harness.toml`` with ``phases``, run ``harness run``, scan, load the run."""
    config = {
        "harness": {"runs_dir": "runs"},
        "plugins": {"retry": {"max_retries": 3, "base_delay": 0.01, "max_delay": 5.0}},
        "phases": phases,
    }
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "harness.toml").write_text(tomli_w.dumps(config), "utf-8")
    full_env = {k: v for k, v in os.environ.items() if k not in ENV}
    full_env |= {"HARNESS_NO_SLEEP": "1", "HARNESS_DISABLE_PLUGIN_AUTOLOAD": "1", "NO_COLOR": "1"}
    full_env |= ENV if env is None else env
    run_dir = tmp_path / "out"
    proc = subprocess.run(
        [
            *(python or [sys.executable, "-m", "harness"]),
            "run",
            "--output-dir",
            str(run_dir),
            *args,
        ],
        cwd=tmp_path,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    scan(tmp_path, proc.stdout, proc.stderr)
    events: list[dict[str, Any]] = []
    summary: dict[str, Any] = {}
    if (run_dir / "events.jsonl").is_file():
        lines = (run_dir / "events.jsonl").read_text("utf-8").splitlines()
        events = [json.loads(line) for line in lines]
    if (run_dir / "summary.json").is_file():
        summary = json.loads((run_dir / "summary.json").read_text("utf-8"))
    return Run(proc.returncode, proc.stdout, proc.stderr, run_dir, events, summary)
