"""Read OHLCV files (CSV, ``.csv.gz``, Parquet) into :class:`Frame` objects of numpy arrays.

Reading library: polars. Measured on 1,000,000 rows (``benchmarks/bench_data.py``): a lazy
``scan_csv`` with the ISO timestamp parsed by one detected ``strptime`` format, collected
with the streaming engine, is as fast as a bare ``pandas.read_csv`` that does not parse the
timestamps at all, and about twice as fast as ``pandas.read_csv(parse_dates=...)``; its
Parquet reader is several times faster again. pandas is not a runtime dependency.

The fast path assumes good data; when polars refuses a file, or a column has gaps, a slow
diagnostic pass (the ``csv`` module, or a read as text) finds the exact row to name.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.plugins.data.settings import ALIASES, CANONICAL, DataSettings

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import polars as pl

__all__ = ["Frame", "LoadError", "read_file"]

_ROW = "__row"
_SYM = "__symbol"
_ISO_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:(?P<sep>[T ])\d{2}:\d{2}(?P<sec>:\d{2})?(?P<frac>\.\d+)?)?"
    r"(?P<tz>Z|[+-]\d{2}:?\d{2})?$"
)
_INT_RE = re.compile(r"^-?\d+$")
_FLOAT_RE = re.compile(r"^-?\d+\.\d*$")
_NS_PER = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}


class LoadError(Exception):
    """A file cannot be read as bars; the message is one line naming the file (and row)."""


@dataclass(slots=True)
class Frame:
    """The bars of one symbol as read from one file, before any check.

    :param rows: 1-based data row numbers in the file (the header is not counted).
    :param timestamp: ns since the epoch, UTC; meaningless where ``ts_ok`` is False.
    :param values: canonical column -> float64 array (all NaN for an absent column).
    :param missing: canonical columns absent from the file.
    :param parse_errors: canonical column -> positions whose cell did not parse.
    """

    file: str
    symbol: str
    rows: npt.NDArray[np.int64]
    timestamp: npt.NDArray[np.int64]
    ts_ok: npt.NDArray[np.bool_]
    values: dict[str, npt.NDArray[np.float64]]
    missing: tuple[str, ...] = ()
    parse_errors: dict[str, npt.NDArray[np.int64]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.timestamp)


def symbol_from_path(path: Path) -> str:
    """``data/AAPL.csv.gz`` -> ``AAPL``."""
    name = path.name
    for suffix in (".csv.gz", ".csv", ".parquet", ".pq", ".gz"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def file_format(path: Path, settings: DataSettings) -> str:
    if settings.format != "auto":
        return settings.format
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    return "csv"


def read_file(path: Path, display: str, settings: DataSettings) -> list[Frame]:
    """Read one file into one :class:`Frame` per symbol.

    :raises LoadError: the file is missing, empty, ragged, of the wrong schema, or the
        column mapping names a column it does not have.
    :raises OSError: any other failure to read (transient: the caller may retry).
    """
    import polars as pl

    if not path.is_file():
        raise LoadError(f"{display}: no such file")
    try:
        if file_format(path, settings) == "parquet":
            return _read_parquet(path, display, settings)
        return _read_csv(path, display, settings)
    except (pl.exceptions.NoDataError, pl.exceptions.ShapeError) as exc:
        raise LoadError(f"{display}: empty or unreadable file ({_first_line(exc)})") from None


# --------------------------------------------------------------------------------------
# column mapping and timestamps
# --------------------------------------------------------------------------------------


def resolve_columns(
    header: list[str], settings: DataSettings, display: str
) -> tuple[dict[str, str], tuple[str, ...]]:
    """Map canonical names to the file's columns; return the mapping and the absent ones."""
    lower = {name.strip().lower(): name for name in header}
    mapping: dict[str, str] = {}
    missing: list[str] = []
    for canon in CANONICAL:
        given = settings.columns.get(canon)
        if given is not None:
            if given not in header:
                raise LoadError(
                    f"{display}: columns.{canon} = {given!r} is not a column of the file"
                    f" (it has: {', '.join(header)})"
                )
            mapping[canon] = given
            continue
        found = next((lower[a] for a in ALIASES[canon] if a in lower), None)
        if found is None:
            missing.append(canon)
        else:
            mapping[canon] = found
    if "timestamp" not in mapping:
        raise LoadError(
            f"{display}: no timestamp column (looked for {', '.join(ALIASES['timestamp'])};"
            f" it has: {', '.join(header)}; set columns.timestamp)"
        )
    if settings.symbol_column is not None and settings.symbol_column not in header:
        raise LoadError(
            f"{display}: symbol_column {settings.symbol_column!r} is not a column of the file"
            f" (it has: {', '.join(header)})"
        )
    return mapping, tuple(missing)


def _epoch_unit(sample: float, settings: DataSettings) -> str:
    if settings.timestamp_unit in _NS_PER:
        return settings.timestamp_unit
    magnitude = abs(sample)
    if magnitude < 1e11:
        return "s"
    if magnitude < 1e14:
        return "ms"
    if magnitude < 1e17:
        return "us"
    return "ns"


def _localise(expr: pl.Expr, settings: DataSettings) -> pl.Expr:
    """Naive datetimes are in ``settings.timezone``; return them in UTC."""
    if settings.timezone == "UTC":
        return expr
    return expr.dt.replace_time_zone(
        settings.timezone, ambiguous="earliest", non_existent="null"
    ).dt.convert_time_zone("UTC")


def _text_ts_expr(col: str, sample: str | None, settings: DataSettings) -> pl.Expr:
    """Expression parsing text timestamps ``col`` to Int64 ns UTC (null when bad)."""
    import polars as pl

    src = pl.col(col)
    unit = settings.timestamp_unit
    if sample is not None and unit != "iso" and settings.timestamp_format is None:
        if _INT_RE.match(sample) or unit in _NS_PER:
            if _FLOAT_RE.match(sample) and not _INT_RE.match(sample):
                mult = _NS_PER[_epoch_unit(float(sample), settings)]
                return (src.cast(pl.Float64, strict=False) * mult).round(0).cast(pl.Int64)
            mult = _NS_PER[_epoch_unit(float(sample), settings)]
            return src.cast(pl.Int64, strict=False) * mult
        if _FLOAT_RE.match(sample):
            mult = _NS_PER[_epoch_unit(float(sample), settings)]
            return (src.cast(pl.Float64, strict=False) * mult).round(0).cast(pl.Int64)
    fmt = settings.timestamp_format
    match = _ISO_RE.match(sample) if sample is not None and fmt is None else None
    if match is not None:
        fmt = "%Y-%m-%d"
        if match.group("sep"):
            fmt += match.group("sep") + "%H:%M"
            fmt += ":%S" if match.group("sec") else ""
            fmt += "%.f" if match.group("frac") else ""
        tz = match.group("tz")
        fmt += "" if tz is None else ("Z" if tz == "Z" else "%#z")
        aware = tz is not None and tz != "Z"
        if tz == "Z":
            parsed = src.str.strptime(pl.Datetime("ns"), fmt, strict=False)
            return parsed.dt.epoch("ns")
    elif fmt is not None:
        aware = "%z" in fmt or "%#z" in fmt or "%:z" in fmt
    else:
        return src.str.to_datetime(time_unit="ns", time_zone="UTC", strict=False).dt.epoch("ns")
    if aware:
        parsed = src.str.strptime(pl.Datetime("ns", "UTC"), fmt, strict=False)
    else:
        parsed = _localise(src.str.strptime(pl.Datetime("ns"), fmt, strict=False), settings)
    return parsed.dt.epoch("ns")


# --------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------


def _open_text(path: Path) -> io.TextIOBase:
    with path.open("rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace", newline="")  # type: ignore[return-value]
    return path.open("r", encoding="utf-8", errors="replace", newline="")


def _ragged_row(path: Path, delimiter: str) -> tuple[int, int, int] | None:
    """First data row whose field count differs from the header's: (row, expected, got)."""
    with _open_text(path) as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            return None
        for row_no, fields in enumerate(reader, start=1):
            if fields and len(fields) != len(header):
                return row_no, len(header), len(fields)
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _read_csv(path: Path, display: str, settings: DataSettings) -> list[Frame]:
    import polars as pl

    sep = settings.delimiter
    try:
        header = pl.read_csv(path, n_rows=0, separator=sep, infer_schema=False).columns
    except pl.exceptions.NoDataError:
        raise LoadError(f"{display}: empty file (no header)") from None
    except pl.exceptions.ComputeError as exc:
        raise LoadError(f"{display}: not a CSV file ({_first_line(exc)})") from None
    mapping, missing = resolve_columns(header, settings, display)
    ts_col = mapping["timestamp"]
    head = pl.read_csv(path, n_rows=100, separator=sep, infer_schema=False, columns=[ts_col])
    sample = next((str(v).strip() for v in head[ts_col] if v is not None and v.strip()), None)

    numeric = [c for c in CANONICAL[1:] if c in mapping]

    def build(overrides: Mapping[str, Any]) -> pl.LazyFrame:
        lazy = pl.scan_csv(
            path,
            separator=sep,
            infer_schema=False,
            schema_overrides=overrides,
        )
        exprs: list[pl.Expr] = [_text_ts_expr(ts_col, sample, settings).alias("timestamp")]
        if settings.symbol_column is not None:  # rows of a symbol are not contiguous
            lazy = lazy.with_row_index(_ROW, offset=1)
            exprs.append(pl.col(_ROW).cast(pl.Int64))
        exprs += [pl.col(mapping[c]).alias(c) for c in numeric]
        if settings.symbol_column is not None:
            exprs.append(pl.col(settings.symbol_column).alias(_SYM))
        return lazy.select(exprs)

    parse_errors: dict[str, npt.NDArray[np.int64]] = {}
    try:
        frame = build({mapping[c]: pl.Float64 for c in numeric}).collect(engine="streaming")
        ragged = frame.select(pl.col(c).null_count() for c in numeric).sum_horizontal().item()
    except pl.exceptions.ComputeError:
        frame, ragged = None, 1
    if ragged:
        bad = _ragged_row(path, sep)
        if bad is not None:
            row, want, got = bad
            raise LoadError(f"{display}: row {row}: {got} fields, the header has {want}")
    if frame is None:
        frame, parse_errors = _read_csv_as_text(build, mapping, numeric)
    return _split(frame, display, path, settings, missing, parse_errors)


def _read_csv_as_text(
    build: Any, mapping: Mapping[str, str], numeric: list[str]
) -> tuple[pl.DataFrame, dict[str, npt.NDArray[np.int64]]]:
    """Slow path: read numbers as text, cast leniently and note the cells that fail."""
    import numpy as np
    import polars as pl

    text = build({}).collect()
    parse_errors: dict[str, npt.NDArray[np.int64]] = {}
    casts = []
    for col in numeric:
        raw = text[col].str.strip_chars()
        num = raw.cast(pl.Float64, strict=False)
        bad = (num.is_null() & raw.is_not_null() & (raw != "")).to_numpy()
        if bad.any():
            parse_errors[col] = np.flatnonzero(bad).astype(np.int64)
        casts.append(num.alias(col))
    return text.with_columns(casts), parse_errors


# --------------------------------------------------------------------------------------
# Parquet
# --------------------------------------------------------------------------------------


def _read_parquet(path: Path, display: str, settings: DataSettings) -> list[Frame]:
    import polars as pl

    try:
        schema = pl.read_parquet_schema(path)
    except pl.exceptions.ComputeError as exc:
        raise LoadError(f"{display}: not a Parquet file ({_first_line(exc)})") from None
    mapping, missing = resolve_columns(list(schema), settings, display)
    numeric = [c for c in CANONICAL[1:] if c in mapping]
    for canon in numeric:
        dtype = schema[mapping[canon]]
        if not dtype.is_numeric():
            raise LoadError(
                f"{display}: column {mapping[canon]!r} ({canon}) is {dtype}, expected a number"
            )
    ts_col = mapping["timestamp"]
    ts_type = schema[ts_col]
    src = pl.col(ts_col)
    if isinstance(ts_type, pl.Datetime):
        ts_expr = (src if ts_type.time_zone else _localise(src, settings)).dt.epoch("ns")
    elif isinstance(ts_type, pl.Date):
        ts_expr = _localise(src.cast(pl.Datetime("ns")), settings).dt.epoch("ns")
    elif ts_type.is_integer() or ts_type.is_float():
        first = pl.read_parquet(path, columns=[ts_col], n_rows=100)[ts_col].drop_nulls()
        unit = _epoch_unit(float(first[0]) if len(first) else 0.0, settings)
        ts_expr = (src.cast(pl.Float64) * _NS_PER[unit]).round(0).cast(pl.Int64)
        if ts_type.is_integer():
            ts_expr = src.cast(pl.Int64) * _NS_PER[unit]
    elif ts_type == pl.String:
        first = pl.read_parquet(path, columns=[ts_col], n_rows=100)[ts_col].drop_nulls()
        ts_expr = _text_ts_expr(ts_col, str(first[0]).strip() if len(first) else None, settings)
    else:
        raise LoadError(
            f"{display}: column {ts_col!r} (timestamp) is {ts_type}, expected a datetime,"
            " a date, epoch numbers or text"
        )
    exprs = [
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(_ROW),
        ts_expr.alias("timestamp"),
        *(pl.col(mapping[c]).cast(pl.Float64).alias(c) for c in numeric),
    ]
    if settings.symbol_column is not None:
        exprs.append(pl.col(settings.symbol_column).cast(pl.String).alias(_SYM))
    frame = pl.scan_parquet(path).select(exprs).collect()
    return _split(frame, display, path, settings, missing, {})


# --------------------------------------------------------------------------------------
# to numpy
# --------------------------------------------------------------------------------------


def _split(
    frame: pl.DataFrame,
    display: str,
    path: Path,
    settings: DataSettings,
    missing: tuple[str, ...],
    parse_errors: dict[str, npt.NDArray[np.int64]],
) -> list[Frame]:
    import numpy as np

    if settings.symbol_column is None:
        return [_to_frame(frame, display, symbol_from_path(path), missing, parse_errors)]
    frames = []
    sym = frame[_SYM]
    if sym.null_count():
        first = int(frame[_ROW][int(sym.is_null().arg_true()[0])])
        raise LoadError(f"{display}: row {first}: empty {settings.symbol_column!r}")
    for symbol in sym.unique(maintain_order=True).to_list():
        mask = (sym == symbol).to_numpy()
        positions = np.flatnonzero(mask)
        remap = np.full(len(mask), -1, dtype=np.int64)
        remap[positions] = np.arange(len(positions))
        sub_errors = {}
        for col, pos in parse_errors.items():
            mine = remap[pos]
            mine = mine[mine >= 0]
            if len(mine):
                sub_errors[col] = mine
        frames.append(_to_frame(frame.filter(mask), display, str(symbol), missing, sub_errors))
    return frames


def _to_frame(
    frame: pl.DataFrame,
    display: str,
    symbol: str,
    missing: tuple[str, ...],
    parse_errors: dict[str, npt.NDArray[np.int64]],
) -> Frame:
    import numpy as np

    ts = frame["timestamp"]
    ts_ok = ts.is_not_null().to_numpy()
    errors = dict(parse_errors)
    if not ts_ok.all():
        errors["timestamp"] = np.flatnonzero(~ts_ok).astype(np.int64)
    n = frame.height
    values: dict[str, npt.NDArray[np.float64]] = {}
    for canon in CANONICAL[1:]:
        if canon in frame.columns:
            values[canon] = np.ascontiguousarray(frame[canon].to_numpy(), dtype=np.float64)
        else:
            values[canon] = np.full(n, np.nan)
    if _ROW in frame.columns:
        rows = frame[_ROW].to_numpy().astype(np.int64, copy=False)
    else:
        rows = np.arange(1, n + 1, dtype=np.int64)
    return Frame(
        file=display,
        symbol=symbol,
        rows=rows,
        timestamp=ts.fill_null(0).to_numpy().astype(np.int64, copy=False),
        ts_ok=ts_ok,
        values=values,
        missing=missing,
        parse_errors=errors,
    )
