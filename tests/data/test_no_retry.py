"""Bad input fails the data phase at once: no retry, one attempt, one line naming the file.

Issue 3: "bad data, bad config must not burn three retries". Each case runs ``harness run``
in a subprocess on real files; only transient ``OSError`` (EIO, EAGAIN, ETIMEDOUT, stale
NFS handle, connection errors) are retried (``test_resume_retry.py``).
"""

from __future__ import annotations

import errno
import gzip
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.errors import NonRetryableError
from harness.plugins.data.loader import LoadError, is_transient

from .helpers import HARNESS, HEADER, good_rows, harness_run, run_events, run_summary, write_csv


def _ragged(tmp: Path) -> str:
    rows = good_rows()
    rows[3] += ",7"
    write_csv(tmp / "in.csv", rows)
    return "in.csv: row 4: 7 fields, the header has 6"


def _empty(tmp: Path) -> str:
    (tmp / "in.csv").write_bytes(b"")
    return "in.csv: empty file"


def _semicolons(tmp: Path) -> str:
    text = HEADER + "".join(r + "\n" for r in good_rows())
    (tmp / "in.csv").write_text(text.replace(",", ";"), encoding="utf-8")
    return "in.csv: no timestamp column"


def _unknown_mapped_column(tmp: Path) -> str:
    write_csv(tmp / "in.csv", good_rows())
    return "in.csv: columns.close = 'Adj Close' is not a column of the file"


def _corrupt_gzip(tmp: Path) -> str:
    (tmp / "in.csv").write_bytes(b"\x1f\x8b" + b"not really gzip" * 10)
    return "in.csv: cannot read"


def _truncated_gzip(tmp: Path) -> str:
    data = gzip.compress((HEADER + "".join(r + "\n" for r in good_rows(20))).encode())
    (tmp / "in.csv").write_bytes(data[: len(data) // 2])
    return "in.csv: cannot read as csv"


def _wrong_schema_parquet(tmp: Path) -> str:
    import polars as pl

    pl.DataFrame(
        {"timestamp": ["2024-01-01"], "open": ["1"], "high": [2.0], "low": [0.5], "close": [1.0]}
    ).write_parquet(tmp / "in.parquet")
    return "in.parquet: column 'open' (open) is String, expected a number"


def _corrupt_parquet(tmp: Path) -> str:
    import polars as pl

    pl.read_csv((HEADER + "".join(r + "\n" for r in good_rows())).encode()).write_parquet(
        tmp / "good.parquet"
    )
    data = (tmp / "good.parquet").read_bytes()
    (tmp / "in.parquet").write_bytes(data[: len(data) // 2])
    return "in.parquet: not a Parquet file"


CASES: dict[str, tuple[Callable[[Path], str], str]] = {
    "ragged": (_ragged, 'paths = ["in.csv"]'),
    "empty": (_empty, 'paths = ["in.csv"]'),
    "semicolons": (_semicolons, 'paths = ["in.csv"]'),
    "unknown_mapped_column": (
        _unknown_mapped_column,
        'paths = ["in.csv"]\ncolumns = {close = "Adj Close"}',
    ),
    "corrupt_gzip": (_corrupt_gzip, 'paths = ["in.csv"]'),
    "truncated_gzip": (_truncated_gzip, 'paths = ["in.csv"]'),
    "wrong_schema_parquet": (_wrong_schema_parquet, 'paths = ["in.parquet"]'),
    "corrupt_parquet": (_corrupt_parquet, 'paths = ["in.parquet"]'),
    "glob_matching_nothing": (lambda tmp: "*.csv: no file matches", 'paths = ["*.csv"]'),
}


@pytest.mark.skipif(not HARNESS.exists(), reason="harness CLI not installed")
@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_fails_after_one_attempt(tmp_path: Path, case: str) -> None:
    make, paths = CASES[case]
    expected = make(tmp_path)
    toml = f'[phases.data]\n{paths}\ninterval = "1d"\n'
    result = harness_run(tmp_path, toml=toml)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "Traceback" not in out
    assert expected in out
    events = run_events(tmp_path)
    assert [e for e in events if e["type"] == "retry"] == []
    assert [e for e in events if e["type"] == "error" and e["data"].get("operation")] == []
    (phase,) = run_summary(tmp_path)["phases"]
    assert phase["status"] == "failed"
    assert phase["attempts"] == 1
    assert expected in phase["error"]
    assert [h["operation"] for h in phase["history"]] == [None]  # no retried operation
    assert run_summary(tmp_path)["retries"] == []


def test_load_error_is_not_retryable() -> None:
    assert issubclass(LoadError, NonRetryableError)


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (OSError(errno.EIO, "Input/output error"), True),
        (OSError(errno.EAGAIN, "Resource temporarily unavailable"), True),
        (OSError(errno.ETIMEDOUT, "Connection timed out"), True),
        (OSError(errno.ESTALE, "Stale file handle"), True),
        (ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"), True),
        (OSError("Input/output error (os error 5)"), True),  # as polars raises it
        (FileNotFoundError(errno.ENOENT, "No such file or directory"), False),
        (IsADirectoryError(errno.EISDIR, "Is a directory"), False),
        (PermissionError(errno.EACCES, "Permission denied"), False),
        (OSError("No such device (os error 19)"), False),
        (gzip.BadGzipFile("Not a gzipped file (b'xx')"), False),
    ],
)
def test_only_transient_os_errors_are_retried(exc: OSError, transient: bool) -> None:
    assert is_transient(exc) is transient
