"""The change journal: every write of a table records, in the same transaction, which part of it changed, so that
publishing the snapshot costs what the runs wrote, not the database's size (platform/snapshot.py).

One row per write in `_pipeline.changes`: the table, and either the span of days it replaced (`first_day`,
`last_day`: a partition range, or the days a later-day refresh rewrote), the slices it replaced (`slices`: the
strategies of the backtest tables), or neither (the whole table). Rows are never updated; the publisher
remembers the last sequence number it has seen.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

SCHEMA = "_pipeline"
TABLE = f"{SCHEMA}.changes"


def ensure_journal(conn) -> None:
    if journal_exists(conn):  # a catalog lookup; the DDL below costs more than the write it journals
        return
    conn.execute(f"create schema if not exists {SCHEMA}")
    conn.execute(f"create sequence if not exists {SCHEMA}.change_seq")
    conn.execute(f"""create table if not exists {TABLE} (
        seq bigint default nextval('{SCHEMA}.change_seq'), table_name varchar, first_day date, last_day date,
        slices varchar[], written_at timestamp default current_timestamp)""")


def record(conn, table: str, *, first_day: dt.date | None = None, last_day: dt.date | None = None,
           slices: Sequence[str] | None = None) -> None:
    """Within the caller's write transaction: `table` changed over first_day..last_day, in `slices`, or whole."""
    ensure_journal(conn)
    conn.execute(f"insert into {TABLE} (table_name, first_day, last_day, slices) values (?, ?, ?, ?)",
                 [table, first_day, last_day, list(slices) if slices is not None else None])


def journal_exists(conn) -> bool:
    return bool(conn.execute("select count(*) from duckdb_tables() where database_name = current_database() and "
                             "schema_name = ? and table_name = 'changes'", [SCHEMA]).fetchone()[0])


def changes_since(conn, seq: int) -> list[tuple]:
    """(seq, table_name, first_day, last_day, slices) of the writes after `seq`, oldest first."""
    if not journal_exists(conn):
        return []
    return conn.execute(f"select seq, table_name, first_day, last_day, slices from {TABLE} where seq > ? "
                        "order by seq", [seq]).fetchall()


def last_seq(conn) -> int:
    if not journal_exists(conn):
        return 0
    return conn.execute(f"select coalesce(max(seq), 0) from {TABLE}").fetchone()[0]
