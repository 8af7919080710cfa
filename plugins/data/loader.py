"""Read OHLCV files (CSV, ``.csv.gz``, Parquet) into :class:`Frame` objects of numpy arrays.

Reading library: polars, chosen by measurement (``benchmarks/bench_data.py``, 1,000,000
rows, on a shared 2-core machine). A typed polars CSV read with the timestamp parsed is
about as fast as ``pandas.read_csv(parse_dates=...)`` (pandas 3 parses ISO dates in C);
polars reads Parquet faster than pandas, lets the phase read only the needed columns with
explicit types in blocks, and is a dependency already (pandas, plus pyarrow for Parquet,
would add two large ones).

Three paths, fastest first; each falls back to the next at the first surprise:

1. CSV fast path (:func:`_read_csv_blocks`): groups of blocks of about 1 MiB of whole
   lines, parsed by polars in parallel with explicit dtypes (no inference), the timestamp
   parsed with one detected ``strptime`` format (``cache=False``), copied straight into
   numpy arrays allocated once, the copying of one group overlapping the parsing of the
   next. Peak memory is about the arrays plus two groups of blocks: never the whole file
   (polars given a path maps it whole, and RSS counts those pages: that alone would be
   the file's size on top of the data) nor a whole polars frame next to its numpy copy.
2. Careful CSV path: polars ``scan_csv`` of the whole file, numbers as ``Float64``, text
   stripped; used with ``symbol_column``, quotes, empty cells or values that do not parse.
3. Diagnostics: the ``csv`` module (ragged rows) or a read as text (cells that do not
   parse), to name the exact row.

Parquet is read one column at a time (:func:`_read_parquet_columns`) for the same reason.
"""

from __future__ import annotations

import csv
import errno
import gzip
import io
import itertools
import re
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO

from harness import NonRetryableError
from harness.plugins.data.settings import ALIASES, CANONICAL, SYMBOL_ALIASES, DataSettings

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import polars as pl

__all__ = ["Frame", "LoadError", "is_transient", "read_file"]

_ROW = "__row"
_TS = "__timestamp"
_SYM = "__symbol"
_ISO_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:(?P<sep>[T ])\d{2}:\d{2}(?P<sec>:\d{2})?(?P<frac>\.\d+)?)?"
    r"(?P<tz>Z|[+-]\d{2}:?\d{2})?$"
)
_INT_RE = re.compile(r"^-?\d+$")
_FLOAT_RE = re.compile(r"^-?\d+\.\d*$")
_NS_PER = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
#: The CSV fast path parses blocks of this many bytes, this many at once (in parallel),
#: while the previous group is copied out; measured (``benchmarks/bench_data.py``) best of
#: 0.5-2 MiB x 4-8 for time, CPU and peak memory (two groups are in flight: more raises
#: the peak, smaller blocks cost more per block, fewer at once leave cores idle).
BLOCK_BYTES = 1 << 20
BLOCKS_AT_ONCE = 4


class LoadError(NonRetryableError):
    """A file cannot be read as bars; the message is one line naming the file (and row).

    Bad data is not retried: reading the same bytes again gives the same answer.
    """


#: ``errno`` values of read failures that may go away by themselves (a flaky disk or
#: network file system, a busy or unreachable server): the only ones worth a retry.
TRANSIENT_ERRNOS = frozenset(
    getattr(errno, name)
    for name in (
        "EIO",
        "EAGAIN",
        "EWOULDBLOCK",
        "EINTR",
        "EBUSY",
        "ETIMEDOUT",
        "ESTALE",
        "ENOLCK",
        "ECONNRESET",
        "ECONNABORTED",
        "ECONNREFUSED",
        "ENOTCONN",
        "ENETDOWN",
        "ENETUNREACH",
        "ENETRESET",
        "EHOSTDOWN",
        "EHOSTUNREACH",
        "EREMOTEIO",
        "ECOMM",
        "EPIPE",
    )
    if hasattr(errno, name)
)
_OS_ERROR_RE = re.compile(r"\(os error (\d+)\)")


def os_errno(exc: OSError) -> int | None:
    """The error number of ``exc``; polars' ``OSError`` has none set, only a message
    ending in ``(os error 5)``."""
    if exc.errno is not None:
        return exc.errno
    match = _OS_ERROR_RE.search(str(exc))
    return int(match.group(1)) if match else None


def is_transient(exc: OSError) -> bool:
    """Whether reading again may succeed (EIO, EAGAIN, ETIMEDOUT, stale NFS handle,
    connection errors...); missing files, folders, permissions, corrupt gzip do not."""
    return os_errno(exc) in TRANSIENT_ERRNOS


def os_reason(exc: OSError) -> str:
    """``Input/output error`` (the C library's text), or the first line of the message."""
    if exc.strerror:
        return exc.strerror
    return _OS_ERROR_RE.sub("", _first_line(exc)).strip().rstrip(":").strip() or type(exc).__name__


@dataclass(slots=True)
class Frame:
    """The bars of one symbol as read from one file, before any check.

    :param rows: 1-based data row numbers in the file (the header is not counted), or
        ``None`` when they are simply ``position + 1`` (no copy of 8 bytes a row then).
    :param timestamp: ns since the epoch, UTC; meaningless where ``ts_ok`` is False.
    :param values: canonical column -> float64 array (all NaN for an absent column).
    :param missing: canonical columns absent from the file.
    :param parse_errors: canonical column -> positions whose cell did not parse.
    """

    file: str
    symbol: str
    rows: npt.NDArray[np.int64] | None
    timestamp: npt.NDArray[np.int64]
    ts_ok: npt.NDArray[np.bool_]
    values: dict[str, npt.NDArray[np.float64]]
    missing: tuple[str, ...] = ()
    parse_errors: dict[str, npt.NDArray[np.int64]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.timestamp)

    def row(self, position: int) -> int:
        """The 1-based data row number in the file of the row at ``position``."""
        return position + 1 if self.rows is None else int(self.rows[position])


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

    :raises LoadError: the file is missing, empty, ragged, corrupt, of the wrong schema, the
        column mapping names a column it does not have, or polars cannot read it; also an
        ``OSError`` that retrying cannot fix (permission, not a gzip file...).
    :raises OSError: a transient failure to read (:func:`is_transient`): the caller may retry.
    """
    import polars as pl

    if not path.is_file():
        raise LoadError(f"{display}: no such file")
    kind = file_format(path, settings)
    try:
        if kind == "parquet":
            return _read_parquet(path, display, settings)
        return _read_csv(path, display, settings)
    except (pl.exceptions.NoDataError, pl.exceptions.ShapeError) as exc:
        raise LoadError(f"{display}: empty or unreadable file ({_first_line(exc)})") from None
    except pl.exceptions.PolarsError as exc:
        raise LoadError(f"{display}: cannot read as {kind}: {_first_line(exc)}") from None
    except pl.exceptions.PanicException as exc:  # a BaseException: polars' Rust code panicked
        raise LoadError(f"{display}: cannot read as {kind}: {_first_line(exc)}") from None
    except OSError as exc:
        if is_transient(exc):
            raise
        raise LoadError(f"{display}: cannot read: {os_reason(exc)}") from None
    except (EOFError, zlib.error, csv.Error, UnicodeError) as exc:  # truncated/corrupt gzip...
        raise LoadError(f"{display}: cannot read as {kind}: {_first_line(exc)}") from None


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
                    f" (it has: {_names(header)})"
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
            f" it has: {_names(header)}; {_delimiter_hint(header, settings)})"
        )
    if settings.symbol_column is not None and settings.symbol_column not in header:
        raise LoadError(
            f"{display}: symbol_column {settings.symbol_column!r} is not a column of the file"
            f" (it has: {_names(header)})"
        )
    return mapping, tuple(missing)


def _names(header: list[str], limit: int = 200) -> str:
    """The file's column names for a message: one line, printable, at most ``limit`` chars."""
    text = ", ".join(header)
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _delimiter_hint(header: list[str], settings: DataSettings) -> str:
    """What to set when no timestamp column was found: a delimiter that looks likelier."""
    if len(header) == 1:
        for sep in (";", "\t", "|", ","):
            if sep != settings.delimiter and sep in header[0]:
                return f"set delimiter = {sep!r}?"
    return "set columns.timestamp"


def with_symbol_column(
    header: list[str], mapping: Mapping[str, str], settings: DataSettings
) -> DataSettings:
    """``settings`` with ``symbol_column`` set to the file's ``symbol`` or ``ticker``
    column (case-insensitive) when none is configured and detection is on."""
    if settings.symbol_column is not None or not settings.detect_symbol:
        return settings
    taken = set(mapping.values())
    for alias in SYMBOL_ALIASES:
        for name in header:
            if name.strip().lower() == alias and name not in taken:
                return replace(settings, symbol_column=name)
    return settings


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


def _text_ts_expr(
    col: str, sample: str | None, settings: DataSettings, *, fast: bool = False
) -> pl.Expr:
    """Expression parsing text timestamps ``col`` to Int64 ns UTC (null when bad).

    ``strptime`` runs with ``cache=False``: bar timestamps are unique, so polars' cache of
    parsed values costs about three times the parse itself. ``fast`` (the fast CSV path):
    no stripping of spaces, and a value that does not parse raises (strict parsing is
    faster; the caller then takes the careful path, which strips and nulls bad values).
    """
    import polars as pl

    strict = fast
    src = pl.col(col) if fast else pl.col(col).str.strip_chars()
    unit = settings.timestamp_unit
    if sample is not None and unit != "iso" and settings.timestamp_format is None:
        if _INT_RE.match(sample) or unit in _NS_PER:
            if _FLOAT_RE.match(sample) and not _INT_RE.match(sample):
                mult = _NS_PER[_epoch_unit(float(sample), settings)]
                return (src.cast(pl.Float64, strict=strict) * mult).round(0).cast(pl.Int64)
            mult = _NS_PER[_epoch_unit(float(sample), settings)]
            return src.cast(pl.Int64, strict=strict) * mult
        if _FLOAT_RE.match(sample):
            mult = _NS_PER[_epoch_unit(float(sample), settings)]
            return (src.cast(pl.Float64, strict=strict) * mult).round(0).cast(pl.Int64)
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
            parsed = src.str.strptime(pl.Datetime("ns"), fmt, strict=strict, cache=False)
            return parsed.dt.epoch("ns")
    elif fmt is not None:
        aware = "%z" in fmt or "%#z" in fmt or "%:z" in fmt
    else:
        parsed = src.str.to_datetime(time_unit="ns", time_zone="UTC", strict=strict, cache=False)
        return parsed.dt.epoch("ns")
    if aware:
        parsed = src.str.strptime(pl.Datetime("ns", "UTC"), fmt, strict=strict, cache=False)
    else:
        naive = src.str.strptime(pl.Datetime("ns"), fmt, strict=strict, cache=False)
        parsed = _localise(naive, settings)
    return parsed.dt.epoch("ns")


# --------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------


def _open_text(path: Path) -> TextIO:
    with path.open("rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace", newline="")
    return path.open("r", encoding="utf-8", errors="replace", newline="")


def _first_fields(path: Path, delimiter: str) -> list[str]:
    """The fields of the file's first line, as written (polars renames duplicates)."""
    with _open_text(path) as handle:
        return next(csv.reader(handle, delimiter=delimiter), [])


def _has_header(first: list[str], settings: DataSettings) -> bool:
    """Whether the first CSV line is a header (``header = "auto"``: unless all numbers)."""
    if settings.header != "auto":
        return bool(settings.header)
    for field_ in first:
        try:
            float(field_.strip())
        except ValueError:
            return True
    return False


def _ragged_row(path: Path, delimiter: str, has_header: bool = True) -> tuple[int, int, int] | None:
    """First data row whose field count differs from the first line's: (row, expected, got)."""
    with _open_text(path) as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            return None
        for row_no, fields in enumerate(reader, start=1 if has_header else 2):
            if fields and len(fields) != len(header):
                return row_no, len(header), len(fields)
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _read_csv(path: Path, display: str, settings: DataSettings) -> list[Frame]:
    import polars as pl

    sep = settings.delimiter
    # header and a sample from the first KiB only: polars given the path would map (or
    # decompress) the whole file even for a few rows, which costs the file's size in memory
    start: Path | bytes = _head(path)
    try:
        header = pl.read_csv(start, n_rows=0, separator=sep, infer_schema=False).columns
    except pl.exceptions.NoDataError:
        raise LoadError(f"{display}: empty file (no header)") from None
    except pl.exceptions.ComputeError as exc:
        raise LoadError(f"{display}: not a CSV file ({_first_line(exc)})") from None
    first = _first_fields(path, sep)
    has_header = _has_header(first, settings)
    if not has_header:  # exchange dumps (Binance klines...): positions name the columns
        header = [f"column_{i}" for i in range(1, len(first) + 1)]
        positional = {c: header[i] for i, c in enumerate(CANONICAL) if i < len(header)}
        settings = replace(settings, columns={**positional, **settings.columns})
    mapping, missing = resolve_columns(header, settings, display)
    if has_header:
        settings = with_symbol_column(header, mapping, settings)
    ts_col = mapping["timestamp"]
    try:
        head = pl.read_csv(  # all columns, named by us: polars' headerless names vary
            start,
            n_rows=100,
            separator=sep,
            infer_schema=False,
            has_header=has_header,
            new_columns=None if has_header else header,
        ).select(ts_col)
    except pl.exceptions.PolarsError:  # a ragged head: the full read names the row
        head = pl.DataFrame({ts_col: []}, schema={ts_col: pl.String})
    sample = next((str(v).strip() for v in head[ts_col] if v is not None and v.strip()), None)

    numeric = [c for c in CANONICAL[1:] if c in mapping]
    if settings.symbol_column is None:
        fast = _read_csv_blocks(path, header, mapping, numeric, sample, settings, has_header)
        if fast is not None:
            timestamp, values = fast
            return [_from_arrays(display, symbol_from_path(path), timestamp, values, missing)]

    def build(overrides: Mapping[str, Any]) -> pl.LazyFrame:
        lazy = pl.scan_csv(
            path,
            separator=sep,
            infer_schema=False,
            has_header=has_header,
            new_columns=None if has_header else header,
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
    except pl.exceptions.PolarsError:
        frame, ragged = None, 1
    if ragged:
        bad = _ragged_row(path, sep, has_header)
        if bad is not None:
            row, want, got = bad
            what = "the header has" if has_header else "the first row has"
            raise LoadError(f"{display}: row {row}: {got} fields, {what} {want}")
    if frame is None:
        frame, parse_errors = _read_csv_as_text(build, mapping, numeric)
    return _split(frame, display, path, settings, missing, parse_errors)


def _head(path: Path, size: int = 64 << 10) -> Path | bytes:
    """The file's first whole lines (about ``size`` bytes, decompressed), or the path when
    the first line is longer."""
    stream, _ = _open_binary(path)
    with stream:
        data = stream.read(size)
        if len(data) < size:
            return data
    cut = data.rfind(b"\n")
    return data[: cut + 1] if cut > 0 else path


def _open_binary(path: Path) -> tuple[BinaryIO, int]:
    """The file, decompressed if gzip, and an upper guess of its (decompressed) size."""
    size = path.stat().st_size
    with path.open("rb") as probe:
        magic = probe.read(2)
        if magic == b"\x1f\x8b" and size >= 4:
            probe.seek(-4, io.SEEK_END)  # ISIZE: the size modulo 2**32 of the last member
            isize = int.from_bytes(probe.read(4), "little")
            return gzip.open(path, "rb"), max(isize, size * 4)  # type: ignore[return-value]
    return path.open("rb"), size


def _line_blocks(stream: BinaryIO, size: int) -> Iterator[bytes]:
    """Blocks of about ``size`` bytes of whole lines (the last one may lack its newline).

    Reads into one reused buffer and copies each block out once (joining the
    previous remainder to each read would copy every byte twice).
    """
    buf = bytearray(2 * size)
    filled = 0
    while True:
        if filled + size > len(buf):  # a line longer than a block: make room
            buf.extend(bytes(filled + size - len(buf)))
        with memoryview(buf) as view:
            got = stream.readinto(view[filled : filled + size])  # type: ignore[attr-defined]
            if not got:
                if filled:
                    yield bytes(view[:filled])
                return
            filled += got
            cut = buf.rfind(b"\n", 0, filled) + 1
            if not cut:
                continue
            yield bytes(view[:cut])
            rest = filled - cut
            view[:rest] = view[cut:filled]
            filled = rest


def _read_csv_blocks(
    path: Path,
    header: list[str],
    mapping: Mapping[str, str],
    numeric: list[str],
    sample: str | None,
    settings: DataSettings,
    has_header: bool = True,
) -> tuple[npt.NDArray[np.int64], dict[str, npt.NDArray[np.float64]]] | None:
    """Fast path: parse the file in blocks of whole lines straight into numpy arrays.

    Blocks of :data:`BLOCK_BYTES` are parsed :data:`BLOCKS_AT_ONCE` at a time, by polars
    in parallel (``collect_all``; typed columns, only the needed ones, the timestamp parsed
    by one format), and copied into arrays allocated once for the whole file (sized from the
    file size: pages never written cost no memory, and the arrays are shrunk in place at the
    end). The work of this thread (reading the next group of blocks, copying the previous
    group's columns) overlaps polars' parsing, which runs in a helper thread (polars
    releases the GIL). Neither the whole file nor a whole polars frame is ever held, so the
    peak is about the arrays plus two groups of blocks. Returns ``None`` (the caller takes
    the careful path) at the first surprise: a quote character, an empty cell, a value that
    does not parse, a ragged row, duplicated header names.
    """
    from concurrent.futures import Future, ThreadPoolExecutor

    import numpy as np
    import polars as pl

    if len(set(header)) != len(header):
        return None
    wanted = [mapping["timestamp"], *(mapping[c] for c in numeric)]
    schema = {name: pl.Float64 if name in wanted[1:] else pl.String for name in header}
    exprs = [
        _text_ts_expr(mapping["timestamp"], sample, settings, fast=True).alias(_TS),
        *(pl.col(mapping[c]).alias(c) for c in numeric),
    ]
    stream, size = _open_binary(path)
    timestamp = np.empty(0, dtype=np.int64)
    values = {c: np.empty(0, dtype=np.float64) for c in numeric}
    n = 0

    def parse(group: list[bytes]) -> list[pl.DataFrame] | None:
        lazy = [
            pl.scan_csv(
                block, has_header=False, schema=schema, separator=settings.delimiter
            ).select(exprs)
            for block in group
        ]
        try:
            return pl.collect_all(lazy)
        except pl.exceptions.PolarsError:
            return None

    def store(group: list[bytes], frames: list[pl.DataFrame]) -> bool:
        nonlocal timestamp, values, n
        for block, df in zip(group, frames, strict=True):
            if any(column.null_count() for column in df.get_columns()):
                return False
            k = df.height
            if n + k > len(timestamp):
                per_row = len(block) / max(k, 1)
                cap = max(n + k, int(size / per_row * 1.25) + 1024, len(timestamp) * 3 // 2)
                timestamp = _grow(timestamp, cap)
                values = {c: _grow(v, cap) for c, v in values.items()}
            timestamp[n : n + k] = df[_TS].to_numpy()
            for c in numeric:
                values[c][n : n + k] = df[c].to_numpy()
            n += k
        return True

    with stream, ThreadPoolExecutor(1, thread_name_prefix="harness-csv") as pool:
        if has_header:
            stream.readline()  # the header, already read
        blocks = _line_blocks(stream, BLOCK_BYTES)
        pending: tuple[list[bytes], Future[list[pl.DataFrame] | None]] | None = None
        while True:
            group = list(itertools.islice(blocks, BLOCKS_AT_ONCE))
            if any(b'"' in block for block in group):
                return None  # quoted fields: the careful path
            parsing = pool.submit(parse, group) if group else None
            if pending is not None:  # store the previous group while this one parses
                frames = pending[1].result()
                if frames is None or not store(pending[0], frames):
                    return None
                del frames
            if parsing is None:
                break
            pending = (group, parsing)
    timestamp = _grow(timestamp, n)
    return timestamp, {c: _grow(v, n) for c, v in values.items()}


def _grow(array: npt.NDArray[Any], size: int) -> npt.NDArray[Any]:
    """``array`` resized in place to ``size`` (``realloc``: no second copy when it can)."""
    import numpy as np

    if array.size == 0:
        return np.empty(size, dtype=array.dtype)
    if len(array) != size:
        array.resize(size, refcheck=False)
    return array


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
    settings = with_symbol_column(list(schema), mapping, settings)
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
    if settings.symbol_column is None:
        return [_read_parquet_columns(path, display, ts_expr, mapping, numeric, missing)]
    exprs = [
        ts_expr.alias("timestamp"),
        *(pl.col(mapping[c]).cast(pl.Float64).alias(c) for c in numeric),
    ]
    if settings.symbol_column is not None:  # rows of a symbol are not contiguous
        exprs.append(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(_ROW))
        exprs.append(pl.col(settings.symbol_column).cast(pl.String).alias(_SYM))
    frame = pl.scan_parquet(path).select(exprs).collect()
    return _split(frame, display, path, settings, missing, {})


def _read_parquet_columns(
    path: Path,
    display: str,
    ts_expr: pl.Expr,
    mapping: Mapping[str, str],
    numeric: list[str],
    missing: tuple[str, ...],
) -> Frame:
    """Read one column at a time into numpy, so that at most one column is held twice.

    A whole-frame read holds every column in polars' chunks (one per row group) while the
    contiguous numpy copies are made: twice the data. Reading column by column lets the
    allocator reuse one column's chunks for the next and costs no time (measured).
    """
    import numpy as np
    import polars as pl

    lazy = pl.scan_parquet(path)
    ts = lazy.select(ts_expr.alias("timestamp")).collect().to_series()
    ts_ok = ts.is_not_null().to_numpy()
    errors: dict[str, npt.NDArray[np.int64]] = {}
    if not ts_ok.all():
        errors["timestamp"] = np.flatnonzero(~ts_ok).astype(np.int64)
        ts = ts.fill_null(0)
    timestamp = _own(ts).astype(np.int64, copy=False)
    del ts
    n = len(timestamp)
    values: dict[str, npt.NDArray[np.float64]] = {}
    for canon in CANONICAL[1:]:
        if canon in numeric:
            column = lazy.select(pl.col(mapping[canon]).cast(pl.Float64)).collect().to_series()
            values[canon] = _own(column).astype(np.float64, copy=False)
            del column
        else:
            values[canon] = np.full(n, np.nan)
    return Frame(
        file=display,
        symbol=symbol_from_path(path),
        rows=None,
        timestamp=timestamp,
        ts_ok=ts_ok,
        values=values,
        missing=missing,
        parse_errors=errors,
    )


def _own(series: pl.Series) -> npt.NDArray[Any]:
    """A contiguous numpy array of ``series`` (nulls of floats as NaN), owned by numpy when
    the series has several chunks (copied chunk by chunk, the chunks are then freed)."""
    import numpy as np

    if series.n_chunks() == 1:
        return series.to_numpy()
    return np.concatenate([chunk.to_numpy() for chunk in series.get_chunks()])


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


def _from_arrays(
    display: str,
    symbol: str,
    timestamp: npt.NDArray[np.int64],
    values: dict[str, npt.NDArray[np.float64]],
    missing: tuple[str, ...],
) -> Frame:
    """A frame of arrays read by the fast path (every timestamp parsed, rows in file order)."""
    import numpy as np

    n = len(timestamp)
    full = {c: values[c] if c in values else np.full(n, np.nan) for c in CANONICAL[1:]}
    return Frame(
        file=display,
        symbol=symbol,
        rows=None,
        timestamp=timestamp,
        ts_ok=np.ones(n, dtype=bool),
        values=full,
        missing=missing,
    )


def _to_frame(
    frame: pl.DataFrame,
    display: str,
    symbol: str,
    missing: tuple[str, ...],
    parse_errors: dict[str, npt.NDArray[np.int64]],
) -> Frame:
    """Move ``frame``'s columns into numpy arrays, one column at a time (``frame`` is
    emptied): each is made contiguous by polars, then handed over without a copy, so the
    peak is the data plus one column, not twice the data."""
    import numpy as np

    n = frame.height
    ts = frame.drop_in_place("timestamp")
    ts_ok = ts.is_not_null().to_numpy()
    errors = dict(parse_errors)
    if not ts_ok.all():
        errors["timestamp"] = np.flatnonzero(~ts_ok).astype(np.int64)
        ts = ts.fill_null(0)
    timestamp = _to_numpy(ts).astype(np.int64, copy=False)
    del ts
    values: dict[str, npt.NDArray[np.float64]] = {}
    for canon in CANONICAL[1:]:
        if canon in frame.columns:
            values[canon] = _to_numpy(frame.drop_in_place(canon)).astype(np.float64, copy=False)
        else:
            values[canon] = np.full(n, np.nan)
    rows = None
    if _ROW in frame.columns:
        rows = _to_numpy(frame.drop_in_place(_ROW)).astype(np.int64, copy=False)
    return Frame(
        file=display,
        symbol=symbol,
        rows=rows,
        timestamp=timestamp,
        ts_ok=ts_ok,
        values=values,
        missing=missing,
        parse_errors=errors,
    )


def _to_numpy(series: pl.Series) -> npt.NDArray[Any]:
    """One contiguous numpy array of ``series`` (zero-copy once rechunked, without nulls)."""
    if series.n_chunks() > 1:
        series = series.rechunk()
    return series.to_numpy()
