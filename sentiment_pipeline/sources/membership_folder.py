"""`SENTIMENT_MEMBERSHIP_DIR`: industry, index and concept membership from a folder of CSV files (the layout of
`../shared/data/real/membership/`), completing a source that lacks them (TongDaXin).

- `sw_industry_history.csv` (Shenwan's history: code, in_date, out_date exclusive, industry_code, scheme,
  l1_sw2021, l1_sw2014 …) → raw.industry_history: each row split at 2021-07-30, its SW2014 level-1 name
  before, its SW2021 name from then on; a part without a name (older schemes) or a row's end with no row
  after it is a start without an industry (the stock is unclassified from then on, never guessed).
- `csi_index_snapshots.csv` (index, snapshot_date, valid_until, code) → raw.index_membership: the lists are
  dated by their month end; a June or December list takes effect on the trading day after that month's
  second Friday (CSI's review rule), a list of another month (a change between reviews) on its own date.
- `em_concepts_YYYY-MM-DD.csv` (code, concept) → raw.concept_membership with snapshot_date from the name.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import polars as pl

from sentiment_pipeline.market.membership import SW_TAXONOMY_CHANGE
from sentiment_pipeline.platform import calendar
from sentiment_pipeline.sources.base import (CONCEPT_MEMBERSHIP_SCHEMA, INDEX_MEMBERSHIP_SCHEMA,
                                             INDUSTRY_HISTORY_SCHEMA, conform)

INDUSTRY_FILE = "sw_industry_history.csv"
INDEX_FILE = "csi_index_snapshots.csv"
CONCEPT_FILE = re.compile(r"^em_concepts_(\d{4}-\d{2}-\d{2})\.csv$")
INDEX_CODES = {"csi300": "000300", "csi500": "000905", "csi1000": "000852"}  # no CSI 2000 list exists here
REVIEW_MONTHS = (6, 12)


class MembershipFolderError(ValueError):
    """The membership folder lacks a file or a column the readers need."""


def _read_csv(folder: Path, name: str, columns: list[str]) -> pl.DataFrame:
    path = folder / name
    if not path.exists():
        raise MembershipFolderError(f"membership folder {folder} has no {name} (SENTIMENT_MEMBERSHIP_DIR)")
    df = pl.read_csv(path, infer_schema=False)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise MembershipFolderError(f"{path}: no column(s) {', '.join(missing)} (found {', '.join(df.columns)})")
    return df.select(columns)


def _date(column: str) -> pl.Expr:
    return pl.col(column).str.to_date("%Y-%m-%d", strict=True)


def industry_history(folder: str | Path) -> pl.DataFrame:
    """Shenwan's history as INDUSTRY_HISTORY_SCHEMA rows: (code, start_date, industry_code, industry_name,
    taxonomy), a row's name in force from its start until the code's next start."""
    rows = _read_csv(Path(folder), INDUSTRY_FILE,
                     ["code", "in_date", "out_date", "industry_code", "l1_sw2021", "l1_sw2014"]).with_columns(
        in_date=_date("in_date"), out_date=_date("out_date"))
    _no_overlaps(rows, Path(folder) / INDUSTRY_FILE)
    switch = pl.lit(SW_TAXONOMY_CHANGE)
    before = rows.filter(pl.col("in_date") < switch).select(
        "code", start_date="in_date", industry_code="industry_code", industry_name="l1_sw2014",
        taxonomy=pl.lit("sw2014"))
    after = rows.filter(pl.col("out_date").is_null() | (pl.col("out_date") > switch)).select(
        "code", start_date=pl.max_horizontal("in_date", switch), industry_code="industry_code",
        industry_name="l1_sw2021", taxonomy=pl.lit("sw2021"))
    starts = pl.concat([before, after])
    # A row's end that no other row starts on: unclassified from then on (Shenwan's last row of a delisted stock
    # stays open, so this is rare).
    ends = (rows.filter(pl.col("out_date").is_not_null())
            .join(rows.select("code", out_date="in_date"), on=["code", "out_date"], how="anti")
            .select("code", start_date="out_date", industry_code=pl.lit(None, pl.String),
                    industry_name=pl.lit(None, pl.String),
                    taxonomy=pl.when(pl.col("out_date") < switch).then(pl.lit("sw2014")).otherwise(pl.lit("sw2021"))))
    history = pl.concat([starts, ends]).filter(pl.col("start_date").is_not_null())
    return conform(history.unique(["code", "start_date"], keep="first", maintain_order=True)
                   .sort("code", "start_date"), INDUSTRY_HISTORY_SCHEMA)


def _no_overlaps(rows: pl.DataFrame, path: Path) -> None:
    """One industry per stock and day: a row that ends after the code's next row starts is refused, named."""
    ordered = rows.sort("code", "in_date").with_columns(next_in=pl.col("in_date").shift(-1).over("code"))
    overlaps = ordered.filter(pl.col("next_in").is_not_null()
                              & (pl.col("out_date").is_null() | (pl.col("out_date") > pl.col("next_in"))))
    if overlaps.height:
        listed = "; ".join(f"{c} {i} → {o or 'open'} overlaps the row from {n}"
                           for c, i, o, n in overlaps.select("code", "in_date", "out_date", "next_in").head(5).iter_rows())
        raise MembershipFolderError(
            f"{path}: {overlaps.height} classification row(s) overlap the stock's next row, so a stock would have "
            f"two industries on one day: {listed}. Nothing was read; correct the file.")


def second_friday(year: int, month: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(4 - first.weekday()) % 7 + 7)


def effective_date(list_date: dt.date) -> dt.date:
    """The first trading day a CSI list dated `list_date` applies to: after the review month's second Friday for
    a June or December list, the list's own date (or the next trading day) otherwise."""
    if list_date.month in REVIEW_MONTHS:
        start = second_friday(list_date.year, list_date.month) + dt.timedelta(days=1)
    else:
        start = list_date
    following = [d for d in calendar.trading_days_between(start, start + dt.timedelta(days=14))]
    return following[0] if following else start


def index_membership(folder: str | Path) -> pl.DataFrame:
    """CSI 300 / 500 / 1000 lists as INDEX_MEMBERSHIP_SCHEMA rows, each from its effective date (no weights)."""
    # A code that is not six digits is left out: the real lists hold one, T00018, the transitional code under
    # which 600018 sat in the CSI 300 from 2005 to 2007 (those lists then count 299).
    lists = _read_csv(Path(folder), INDEX_FILE, ["index", "snapshot_date", "code"]).filter(
        pl.col("index").is_in(list(INDEX_CODES)) & pl.col("code").str.contains(r"^\d{6}$"))
    dates = lists.select(list_date=_date("snapshot_date").unique())
    effective = dates.with_columns(effective_date=pl.col("list_date").map_elements(effective_date, pl.Date))
    df = (lists.with_columns(list_date=_date("snapshot_date"))
          .join(effective, on="list_date")
          .select(index_code=pl.col("index").replace_strict(INDEX_CODES), code="code",
                  effective_date="effective_date", weight=pl.lit(None, pl.Float64)))
    return conform(df.sort("index_code", "effective_date", "code"), INDEX_MEMBERSHIP_SCHEMA)


def concept_files(folder: str | Path) -> list[tuple[dt.date, Path]]:
    return sorted((dt.date.fromisoformat(m.group(1)), p) for p in Path(folder).glob("em_concepts_*.csv")
                  if (m := CONCEPT_FILE.match(p.name)))


def concept_membership(folder: str | Path) -> pl.DataFrame:
    """Every em_concepts_<date>.csv as one snapshot dated by its name."""
    files = concept_files(folder)
    if not files:
        raise MembershipFolderError(f"membership folder {folder} has no em_concepts_YYYY-MM-DD.csv")
    parts = [_read_csv(p.parent, p.name, ["code", "concept"]).select(
        concept_name="concept", code="code", snapshot_date=pl.lit(day)) for day, p in files]
    return conform(pl.concat(parts).unique(maintain_order=True), CONCEPT_MEMBERSHIP_SCHEMA)
