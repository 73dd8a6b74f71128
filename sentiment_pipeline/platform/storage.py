"""Small DuckDB reads and writes the assets need beyond the IO manager (seeds, later-day refreshes)."""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from sentiment_pipeline.platform import changes


def table_exists(conn: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = table.split(".")
    return bool(conn.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, name]
    ).fetchone()[0])


def query(conn: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pl.DataFrame:
    return pl.from_arrow(conn.execute(sql, params).to_arrow_table())


def read_after(conn, table: str, day: dt.date, columns: list[str] | None = None) -> pl.DataFrame:
    """Stored rows with trade_date > day (empty when the table does not exist yet)."""
    if not table_exists(conn, table):
        return pl.DataFrame()
    cols = ", ".join(columns) if columns else "*"
    return query(conn, f"select {cols} from {table} where trade_date > ? order by trade_date", [day])


def read_from(conn, table: str, day: dt.date, columns: list[str]) -> pl.DataFrame:
    """Stored rows with trade_date >= day."""
    return query(conn, f"select {', '.join(columns)} from {table} where trade_date >= ? order by trade_date", [day])


def stored_days_after(conn, table: str, day: dt.date, limit: int | None = None) -> list[dt.date]:
    if not table_exists(conn, table):
        return []
    bound = f" order by trade_date limit {int(limit)}" if limit else ""
    return [r[0] for r in conn.execute(f"select distinct trade_date from {table} where trade_date > ?{bound}",
                                       [day]).fetchall()]


def count_changed(old: pl.DataFrame, new: pl.DataFrame) -> int:
    """Rows of `new` not present identically in `old` (nulls compare equal)."""
    return new.join(old, on=new.columns, how="anti", nulls_equal=True).height


def replace_days(conn, table: str, frame: pl.DataFrame) -> None:
    """Delete the frame's trade dates from `table` and insert the frame, in one transaction (journalled for the
    snapshot)."""
    days = frame.select(pl.col("trade_date").unique()).to_arrow()  # noqa: F841 (read by duckdb)
    data = frame.to_arrow()  # noqa: F841
    conn.execute("begin transaction")
    try:
        conn.execute(f"delete from {table} where trade_date in (select trade_date from days)")
        conn.execute(f"insert into {table} by name select * from data")
        changes.record(conn, table, first_day=frame["trade_date"].min(), last_day=frame["trade_date"].max())
        conn.execute("commit")
    except Exception:
        conn.execute("rollback")
        raise
