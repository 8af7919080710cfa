"""A config fuzzer (issue 11, items 7 and 10): every generated document exits 0 or 4.

Never 1 or 3 (a bad value that got past start-up), never a traceback, never a
hang (each run is given 10 s). Documents are a valid base with some keys set to
good or hostile values: NaN/inf, huge and tiny numbers, integers past 64 bits,
TOML dates and times, NUL bytes, deep nesting, wrong types, unknown keys.
Examples are few (CI stays lean) and derandomized (a failure reproduces).
"""

from __future__ import annotations

import datetime as dt
import math
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import tomli_w
from fault_io import HARNESS, PY, base_env, validate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

KEYS: dict[tuple[str, ...], st.SearchStrategy[Any]] = {
    ("harness", "heartbeat_interval"): st.floats(0.05, 60),
    ("harness", "runs_dir"): st.sampled_from(["runs", "out/runs", "./r"]),
    ("harness", "on_failure"): st.sampled_from(["stop", "continue"]),
    ("harness", "dry_run"): st.booleans(),
    ("plugins", "jsonl", "flush_interval"): st.floats(0.01, 5),
    ("plugins", "jsonl", "buffer_bytes"): st.integers(0, 1 << 20),
    ("phases", "a", "timeout"): st.floats(30, 600),
    ("phases", "a", "tail_lines"): st.integers(0, 100),
    ("phases", "a", "kill_grace"): st.floats(0, 5),
    ("phases", "a", "description"): st.text(max_size=20),
    ("phases", "a", "env"): st.dictionaries(
        st.from_regex(r"[A-Z][A-Z0-9_]{0,8}", fullmatch=True), st.text(max_size=10), max_size=2
    ),
    ("phases", "a", "unknown_key"): st.integers(),
    ("harness", "nope"): st.booleans(),
}


def _deep(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


HOSTILE = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, 1e300, -1e300, 5e-324, 0.0, -1.0]),
    st.sampled_from([2**63, -(2**63) - 1, 10**30, 0, -1]),
    st.sampled_from([dt.date(1979, 5, 27), dt.time(7, 32), dt.datetime(1979, 5, 27, 7, 32)]),
    st.text(max_size=8).map(lambda s: s + "\x00"),
    st.integers(30, 100).map(_deep),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(min_size=1, max_size=4), st.integers(), max_size=2),
    st.booleans(),
    st.text(max_size=8),
)


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {"phases": {"a": {"plugin": "command", "run": [PY, "-c", "pass"]}}}
    chosen = draw(st.lists(st.sampled_from(sorted(KEYS)), min_size=1, max_size=3, unique=True))
    for path in chosen:
        value = draw(st.one_of(KEYS[path], HOSTILE))
        table = doc
        for part in path[:-1]:
            table = table.setdefault(part, {})
        table[path[-1]] = value
    return doc


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(documents())
def test_every_document_exits_0_or_4(doc: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "harness.toml").write_text(tomli_w.dumps(doc), "utf-8")
        proc = subprocess.run(
            [*HARNESS, "run", "-q"],
            cwd=folder,
            env=base_env(),
            capture_output=True,
            text=True,
            timeout=10,  # a hang fails the example
            check=False,
        )
        output = proc.stdout + proc.stderr
        assert proc.returncode in (0, 4), output
        assert "Traceback" not in output
        if proc.returncode == 4:
            assert "harness.toml" in proc.stderr, output  # names the file
            assert len(proc.stderr.strip().splitlines()) == 1, output
        else:
            runs = [p for p in folder.rglob("events.jsonl")]
            assert len(runs) == 1
            assert validate(runs[0].parent) == []
