"""Extract the data plugin's shipped sample from the ``bokeh-sampledata`` package.

Run once (the output is committed): ``python scripts/extract_sample.py``. It needs
``pip install bokeh-sampledata`` (not a dependency of harness). It writes
``plugins/data/sample/<SYMBOL>.csv``: daily unadjusted OHLCV of AAPL, GOOG, IBM and MSFT,
2010-03-01 to 2013-03-01 (the last three years of the series), columns
``date,open,high,low,close,volume``. Source and licence: ``plugins/data/sample/SOURCE.md``.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import sys
from pathlib import Path

SYMBOLS = ("AAPL", "GOOG", "IBM", "MSFT")
FIRST = "2010-03-01"
OUT = Path(__file__).resolve().parent.parent / "plugins" / "data" / "sample"


def main() -> int:
    try:
        import bokeh_sampledata
    except ImportError:
        sys.stderr.write("needs: pip install bokeh-sampledata\n")
        return 1
    source = Path(bokeh_sampledata.__file__).parent / "_data" / "stocks.csv.gz"
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    rows: dict[str, list[list[str]]] = {s: [] for s in SYMBOLS}
    with gzip.open(source, "rt", encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        if header[:7] != ["Ticker", "Date", "Open", "High", "Low", "Close", "Volume"]:
            sys.stderr.write(f"unexpected header in {source}: {header}\n")
            return 1
        for ticker, date, op, hi, lo, cl, vol, *_rest in reader:
            if ticker in rows and date >= FIRST:
                rows[ticker].append([date, op, hi, lo, cl, vol])
    OUT.mkdir(parents=True, exist_ok=True)
    for symbol, data in rows.items():
        data.sort(key=lambda r: r[0])
        with (OUT / f"{symbol}.csv").open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(["date", "open", "high", "low", "close", "volume"])
            writer.writerows(data)
        sys.stdout.write(f"{symbol}: {len(data)} rows {data[0][0]}..{data[-1][0]}\n")
    sys.stdout.write(f"source {source.name} sha256 {digest}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
