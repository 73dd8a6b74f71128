"""Every upstream response, kept as received (Parquet) before it is parsed.

Layout under the store root (one file per response):

    <dataset>/date=<YYYY-MM-DD>/<symbol or _all>.parquet          a response for one trade date
    <dataset>/range=<YYYY-MM-DD>_<YYYY-MM-DD>/<symbol>.parquet    a response covering a date range
    <dataset>/asof=<YYYY-MM-DD>/<symbol or _all>.parquet          a "now" snapshot of reference data

Files are written to a temporary name and renamed, so an interrupted run never
leaves a half-written response that a later run would trust.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ALL = "_all"


@dataclass(frozen=True)
class RawKey:
    """Which response: dataset (the akshare function), plus trade date, range or as-of date, and symbol."""

    dataset: str
    trade_date: dt.date | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    as_of: dt.date | None = None
    symbol: str | None = None

    def relative_path(self) -> Path:
        if self.trade_date is not None:
            part = f"date={self.trade_date.isoformat()}"
        elif self.start is not None and self.end is not None:
            part = f"range={self.start.isoformat()}_{self.end.isoformat()}"
        elif self.as_of is not None:
            part = f"asof={self.as_of.isoformat()}"
        else:
            raise ValueError(f"raw key for {self.dataset} needs a trade date, a range or an as-of date")
        return Path(self.dataset) / part / f"{self.symbol or ALL}.parquet"

    def __str__(self) -> str:
        return str(self.relative_path())


def _to_table(frame: pd.DataFrame) -> tuple[pa.Table, list[str]]:
    """Arrow table of the frame; object columns mixing text and numbers (e.g. '-' in a price) are kept as text."""
    stringified = []
    try:
        return pa.Table.from_pandas(frame, preserve_index=False), stringified
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        frame = frame.copy()
        for col in frame.columns:
            try:
                pa.array(frame[col], from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                frame[col] = frame[col].map(lambda v: None if v is None or v != v else str(v))
                stringified.append(str(col))
        return pa.Table.from_pandas(frame, preserve_index=False), stringified


class RawStore:
    """A directory of raw responses, one Parquet file per RawKey."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def path(self, key: RawKey) -> Path:
        return self.root / key.relative_path()

    def has(self, key: RawKey) -> bool:
        return self.path(key).exists()

    def get(self, key: RawKey) -> pd.DataFrame | None:
        path = self.path(key)
        if not path.exists():
            return None
        return pq.read_table(path).to_pandas()

    def put(self, key: RawKey, frame: pd.DataFrame, *, request: dict | None = None) -> Path:
        table, stringified = _to_table(frame)
        meta = {"request": json.dumps(request or {}, ensure_ascii=False, default=str),
                "stringified_columns": json.dumps(stringified, ensure_ascii=False),
                "fetched_at": dt.datetime.now(dt.timezone.utc).isoformat()}
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **{k: v.encode() for k, v in meta.items()}})
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        tmp.write_bytes(buffer.getvalue())
        os.replace(tmp, path)
        return path

    def ranges(self, dataset: str, symbol: str | None = None) -> list[tuple[dt.date, dt.date]]:
        """The stored (start, end) ranges of a dataset for one symbol, newest end first."""
        base = self.root / dataset
        if not base.is_dir():
            return []
        name = f"{symbol or ALL}.parquet"
        found = []
        for part in base.glob("range=*"):
            if (part / name).exists():
                start, end = part.name.removeprefix("range=").split("_")
                found.append((dt.date.fromisoformat(start), dt.date.fromisoformat(end)))
        return sorted(found, key=lambda r: (r[1], r[0]), reverse=True)

    def covering(self, dataset: str, symbol: str | None, start: dt.date, end: dt.date) -> RawKey | None:
        """A stored range response of `symbol` that covers start..end, if any."""
        for s, e in self.ranges(dataset, symbol):
            if s <= start and end <= e:
                return RawKey(dataset, start=s, end=e, symbol=symbol)
        return None

    def latest_as_of(self, dataset: str, symbol: str | None, on_or_before: dt.date) -> RawKey | None:
        base = self.root / dataset
        name = f"{symbol or ALL}.parquet"
        dates = sorted(
            (dt.date.fromisoformat(p.name.removeprefix("asof=")) for p in base.glob("asof=*") if (p / name).exists()),
            reverse=True,
        ) if base.is_dir() else []
        for day in dates:
            if day <= on_or_before:
                return RawKey(dataset, as_of=day, symbol=symbol)
        return None

    def as_of_dates(self, dataset: str, symbol: str | None = None) -> list[dt.date]:
        base = self.root / dataset
        if not base.is_dir():
            return []
        name = f"{symbol or ALL}.parquet"
        return sorted(dt.date.fromisoformat(p.name.removeprefix("asof=")) for p in base.glob("asof=*")
                      if (p / name).exists())
