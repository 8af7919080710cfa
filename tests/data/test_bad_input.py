"""Bad input: one line naming the file (and row), never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.plugins.data.loader import LoadError

from .helpers import HEADER, good_rows, load, write_csv


def _error(paths: list[Path], **settings: object) -> str:
    with pytest.raises(LoadError) as info:
        load(paths, **settings)
    message = str(info.value)
    assert "\n" not in message
    assert "Traceback" not in message
    return message


def test_missing_file(tmp_path: Path) -> None:
    assert _error([tmp_path / "nope.csv"]).endswith("nope.csv: no such file")


def test_glob_matching_nothing(tmp_path: Path) -> None:
    assert "no file matches" in _error([tmp_path / "*.parquet"])


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "e.csv").write_bytes(b"")
    assert "e.csv: empty file" in _error([tmp_path / "e.csv"])


def test_ragged_rows_name_the_row(tmp_path: Path) -> None:
    rows = good_rows()
    rows[3] = rows[3] + ",7"
    assert "r.csv: row 4: 7 fields, the header has 6" in _error(
        [write_csv(tmp_path / "r.csv", rows)]
    )
    rows = good_rows()
    rows[5] = "2024-01-06,1,2"
    assert "s.csv: row 6: 3 fields, the header has 6" in _error(
        [write_csv(tmp_path / "s.csv", rows)]
    )


def test_unknown_mapped_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "x.csv", good_rows())
    message = _error([path], columns={"close": "Adj Close"})
    assert "x.csv: columns.close = 'Adj Close' is not a column of the file" in message


def test_no_timestamp_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "x.csv", ["1,2,3"], header="a,b,c\n")
    assert "x.csv: no timestamp column" in _error([path])


def test_parquet_with_wrong_schema(tmp_path: Path) -> None:
    import polars as pl

    pl.DataFrame(
        {
            "timestamp": ["2024-01-01"],
            "open": ["1"],
            "high": [2.0],
            "low": [0.5],
            "close": [1.0],
            "volume": [1.0],
        }
    ).write_parquet(tmp_path / "w.parquet")
    message = _error([tmp_path / "w.parquet"])
    assert "w.parquet: column 'open' (open) is String, expected a number" in message


def test_not_a_parquet_file(tmp_path: Path) -> None:
    (tmp_path / "n.parquet").write_text(HEADER)
    assert "n.parquet: not a Parquet file" in _error([tmp_path / "n.parquet"])


def test_same_symbol_twice(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = write_csv(tmp_path / "a" / "X.csv", good_rows())
    b = write_csv(tmp_path / "b" / "X.csv", good_rows())
    assert "symbol 'X' was already read from" in _error([a, b])


def test_semicolons_without_delimiter_suggest_one(tmp_path: Path) -> None:
    text = HEADER + "".join(r + "\n" for r in good_rows())
    (tmp_path / "s.csv").write_text(text.replace(",", ";"))
    message = _error([tmp_path / "s.csv"])
    assert "s.csv: no timestamp column" in message
    assert "set delimiter = ';'?" in message
    assert list(load([tmp_path / "s.csv"], delimiter=";").bars) == ["s"]


def test_binary_garbage_is_one_short_line(tmp_path: Path) -> None:
    (tmp_path / "b.csv").write_bytes(bytes(range(256)) * 40)
    message = _error([tmp_path / "b.csv"])
    assert message.startswith(str(tmp_path / "b.csv") + ": ")
    assert len(message) < 600
    assert message.isprintable()


def test_corrupt_gzip(tmp_path: Path) -> None:
    (tmp_path / "g.csv.gz").write_bytes(b"\x1f\x8b" + b"junk" * 50)
    assert "g.csv.gz: cannot read" in _error([tmp_path / "g.csv.gz"])
