"""Validation that names table, column, partition and rows."""

from __future__ import annotations

from dataclasses import dataclass

import pandera.polars as pa
import polars as pl
from pandera.errors import SchemaErrors


@dataclass
class ValidationReport:
    table: str
    partitions: str
    rows: int
    failures: pl.DataFrame  # one row per failure: column, check, failure_case, row index, trade_date, code

    @property
    def passed(self) -> bool:
        return self.failures.height == 0

    def message(self, limit: int = 10) -> str:
        head = f"{self.table} failed validation for partition(s) {self.partitions}: {self.failures.height} failure(s)"
        lines = [
            f"  column={r['column']!s} check={r['check']!s} value={str(r['failure_case'])[:160]}"
            + (f" row: trade_date={r.get('trade_date')} code={r.get('code')}" if r.get("trade_date") is not None else "")
            for r in self.failures.head(limit).iter_rows(named=True)
        ]
        more = [f"  … and {self.failures.height - limit} more"] if self.failures.height > limit else []
        return "\n".join([head, *lines, *more])


def validate(df: pl.DataFrame, model: type[pa.DataFrameModel], table: str, partitions: str) -> ValidationReport:
    """Validate lazily (all failures at once); failures carry the offending rows' keys."""
    try:
        model.validate(df, lazy=True)
        return ValidationReport(table, partitions, df.height, pl.DataFrame())
    except SchemaErrors as err:
        cases = err.failure_cases.with_columns(pl.col("failure_case").cast(pl.String))
        keys = [k for k in ("trade_date", "code") if k in df.columns]
        if keys and "index" in cases.columns:
            rows = df.select(keys).with_row_index("index").with_columns(pl.col("index").cast(pl.Int64))
            cases = cases.with_columns(pl.col("index").cast(pl.Int64)).join(rows, on="index", how="left")
        cols = [c for c in ("column", "check", "failure_case", "index", *keys) if c in cases.columns]
        return ValidationReport(table, partitions, df.height, cases.select(cols))
