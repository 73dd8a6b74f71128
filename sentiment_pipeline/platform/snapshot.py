"""The read-only snapshot consumers query, so that a reader never blocks the writer, published at a cost that
follows what the runs wrote, not the database's size.

The snapshot is immutable Parquet files plus a small DuckDB catalog of views over them:

    data/market_snapshot.duckdb            the catalog: one view per table (same schema.table names and column
                                           comments as the live database), and `_snapshot.manifest`
    data/market_snapshot_files/v000042/…   the files, one per table and month (`trade_date`, else `week_start`),
                                           per backtest strategy (`strategy`), or one for the whole table

A publish reads the change journal (platform/changes.py: every write records the days, slices or whole table it
replaced, in its own transaction) since the last publish, exports only the months, strategies or small tables
that changed into a new version folder, writes a new catalog whose views list the current files, fsyncs, and
renames it over the old one. The rename is atomic: a new connection sees the new version, one already open keeps
the version it opened, and no one ever sees half of a publish. Files a publish replaces are deleted once they
have been retired for `SENTIMENT_SNAPSHOT_RETAIN_HOURS` (24): a connection keeps a consistent view for at least
that long after a newer publish. A table whose row count disagrees with the snapshot's (written outside the
journal: an older version of the pipeline, a hand-made change) is exported whole, and `--full` exports everything.

The publish holds the writer lock (it reads the live file while no run writes it), so it waits for a running
writer and the next run waits for it; a one-day publish takes a fraction of a second.

Consumers:  `from sentiment_pipeline import connect; con = connect()`  (read-only; the tables and columns are
those of sql/tables.sql). Publish by hand:  `python -m sentiment_pipeline.platform.snapshot [DB] [--full]`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from sentiment_pipeline.platform import changes
from sentiment_pipeline.platform.writer_lock import writer_lock

MANIFEST_SCHEMA = "_snapshot"
INTERNAL_SCHEMAS = {changes.SCHEMA, MANIFEST_SCHEMA}
PART = "_part"  # the partition column of a COPY: a month 'YYYY-MM' or a strategy
ALL = None  # every part of a table changed
DEFAULT_RETAIN_HOURS = 24.0


def snapshot_path(database: str | None = None) -> Path:
    """`SENTIMENT_SNAPSHOT_PATH`, else `<db dir>/<db name>_snapshot.duckdb` (DuckDB names the catalog after the
    file: `market_snapshot`, never a schema's name)."""
    if database is None and os.environ.get("SENTIMENT_SNAPSHOT_PATH"):
        return Path(os.environ["SENTIMENT_SNAPSHOT_PATH"])
    from sentiment_pipeline.platform.resources import database_path

    db = Path(database or database_path())
    return db.with_name(f"{db.stem}_snapshot.duckdb")


def files_dir(catalog: Path) -> Path:
    return catalog.with_name(f"{catalog.stem}_files")


def layout(columns: Iterable[str]) -> tuple[str, str | None]:
    """How a table's snapshot is split: per strategy (the backtest tables, written a strategy at a time), per month
    of its partition column, or whole."""
    columns = list(columns)
    if "strategy" in columns:
        return "slice", "strategy"
    for column in ("trade_date", "week_start"):
        if column in columns:
            return "month", column
    return "whole", None


def _month(day: dt.date) -> str:
    return f"{day:%Y-%m}"


def _months_between(first: dt.date, last: dt.date) -> set[str]:
    months, day = set(), first.replace(day=1)
    while day <= last:
        months.add(_month(day))
        day = (day + dt.timedelta(days=32)).replace(day=1)
    return months


@dataclass
class Published:
    snapshot: str
    published: bool  # False: nothing had changed since the last publish
    seconds: float
    version: int
    tables: int  # tables in the snapshot
    tables_exported: list[str] = field(default_factory=list)
    files_written: int = 0
    bytes_written: int = 0
    rows_written: int = 0
    files_deleted: int = 0  # retired files past their retention
    waited_for_writer: float = 0.0
    notes: list[str] = field(default_factory=list)  # tables exported whole, and why

    def describe(self) -> str:
        if not self.published:
            return f"snapshot {self.snapshot} is current (version {self.version}: nothing written since)"
        return (f"published {self.snapshot} (version {self.version}): {len(self.tables_exported)} of {self.tables} "
                f"tables changed, {self.files_written:,} file(s), {self.rows_written:,} rows, "
                f"{self.bytes_written / 1e6:,.1f} MB in {self.seconds:.2f} s")


def _open(catalog: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the catalog as the file is now. Not `duckdb.connect(path)`: DuckDB hands a
    process the database instance it already has open for a path, which is the version before the last rename
    while any connection to it lives."""
    conn = duckdb.connect()
    conn.execute(f"attach {_quote(str(catalog))} as {_identifier(catalog.stem)} (read_only)")
    conn.execute(f"use {_identifier(catalog.stem)}")
    return conn


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def read_manifest(catalog: Path) -> dict:
    """The published manifest: version, journal sequence, and per table its layout, columns and files."""
    if not catalog.exists():
        return {}
    try:
        with _open(catalog) as conn:
            found = conn.execute("select count(*) from duckdb_tables() where database_name = current_database() "
                                 "and schema_name = ? and table_name = 'manifest'", [MANIFEST_SCHEMA]).fetchone()[0]
            if not found:
                return {}  # a snapshot of the design before this one (a whole copy): replaced by a full publish
            return json.loads(conn.execute(f"select manifest from {MANIFEST_SCHEMA}.manifest").fetchone()[0])
    except duckdb.Error:
        return {}


def _live_tables(conn) -> dict[str, dict]:
    """schema.table → columns [(name, type, comment)] and row count, for the pipeline's tables."""
    out: dict[str, dict] = {}
    for schema, table, column, type_, comment in conn.execute(
            "select schema_name, table_name, column_name, data_type, comment from duckdb_columns() "
            "where database_name = current_database() and not internal order by schema_name, table_name, "
            "column_index").fetchall():
        if schema in INTERNAL_SCHEMAS or schema == "main":
            continue
        out.setdefault(f"{schema}.{table}", {"columns": []})["columns"].append([column, type_, comment])
    if out:  # one query for every count (a round trip each cost more than the counts)
        counts = conn.execute(" union all ".join(f"select '{name}', count(*) from {name}" for name in out)).fetchall()
        for name, rows in counts:
            out[name]["rows"] = rows
    return out


def _changed_parts(entries: list[tuple], kind: str) -> set[str] | None:
    """The parts of a table the journal entries touched; ALL when one of them covers the table whatever its
    layout (a whole-table write, or days of a table split by strategy)."""
    parts: set[str] = set()
    for _, _, first, last, slices in entries:
        if kind == "month" and first is not None:
            parts |= _months_between(first, last)
        elif kind == "slice" and slices is not None:
            parts |= set(slices)
        else:
            return ALL
    return parts


# Snappy: a quarter faster to write than zstd for ~15% more bytes; the snapshot is written after every run.
PARQUET = "format parquet, compression snappy"
# Up to this many parts change: one plain COPY per part (half the time of a partitioned COPY of one part).
FEW_PARTS = 3


def _export(conn, table: str, kind: str, column: str | None, parts: set[str] | None, target: Path) -> dict[str, list[str]]:
    """Write the table's `parts` (ALL: every part) under `target`; returns part → files. A part without rows
    now is absent from the answer."""
    target.mkdir(parents=True, exist_ok=True)
    if kind == "whole":
        path = target / "data.parquet"
        conn.execute(f"copy (select * from {table}) to '{path}' ({PARQUET})")
        return {"": [str(path)]}
    if kind == "month":
        part_expr = f"strftime({column}, '%Y-%m')"

        def bounds(months) -> str:
            # The span's bounds prune by zonemap.
            first = dt.date.fromisoformat(min(months) + "-01")
            last = (dt.date.fromisoformat(max(months) + "-01") + dt.timedelta(days=32)).replace(day=1)
            return f"{column} >= date '{first}' and {column} < date '{last}'"
    else:
        part_expr = column

        def bounds(values) -> str:
            return f"{column} in ({', '.join(_quote(v) for v in sorted(values))})"
    if parts is not ALL and len(parts) <= FEW_PARTS:
        written: dict[str, list[str]] = {}
        for part in sorted(parts):
            folder = target / f"{PART}={urllib.parse.quote(part, safe='')}"
            folder.mkdir()
            path = folder / "data_0.parquet"
            copied = conn.execute(f"copy (select * from {table} where {bounds([part])}) to '{path}' "
                                  f"({PARQUET})").fetchone()[0]  # COPY answers the rows it wrote
            if copied:
                written[part] = [str(path)]
            else:
                path.unlink(missing_ok=True)
        return written
    where = "" if parts is ALL else f"where {bounds(parts)} and {part_expr} in ({', '.join(_quote(p) for p in sorted(parts))})"
    conn.execute(f"copy (select *, {part_expr} as {PART} from {table} {where}) to '{target}' "
                 f"({PARQUET}, partition_by ({PART}), overwrite_or_ignore)")
    written = {}
    for folder in sorted(target.glob(f"{PART}=*")):
        value = urllib.parse.unquote(folder.name.split("=", 1)[1])
        written[value] = sorted(str(f) for f in folder.glob("*.parquet"))
    return written


def _export_all(conn, catalog: str, jobs: list[tuple]) -> dict[str, dict[str, list[str]]]:
    """_export for each (table, layout, column, parts, target), two at a time on cursors of the connection (in
    the live database `catalog`): a day's exports are ~25 small COPYs, each waiting on its files more than on
    the CPU."""
    def one(job):
        cursor = conn.cursor()
        try:
            cursor.execute(f"use {_identifier(catalog)}")
            return job[0], _export(cursor, *job)
        finally:
            cursor.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, jobs))


def _rows(conn, parts: dict[str, list[str]]) -> dict[str, int]:
    """Rows per part, from the Parquet footers."""
    files = [f for listed in parts.values() for f in listed]
    if not files:
        return {}
    rows = dict(conn.execute("select file_name, num_rows from parquet_file_metadata(?)", [files]).fetchall())
    return {part: sum(rows[f] for f in listed) for part, listed in parts.items()}


def _view_sql(table: str, columns: list, files: list[str]) -> str:
    if files:
        listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
        return f"create view {table} as select * from read_parquet([{listed}], hive_partitioning = false)"
    typed = ", ".join(f'cast(null as {type_}) as "{name}"' for name, type_, _ in columns)
    return f"create view {table} as select {typed} where false"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _write_catalog(path: Path, manifest: dict) -> None:
    """The views, their column comments and the manifest, as one script (a statement per call cost ~0.2 s)."""
    script = ["begin transaction"]
    script += [f"create schema if not exists {schema}"
               for schema in sorted({name.split(".")[0] for name in manifest["tables"]})]
    for table, entry in sorted(manifest["tables"].items()):
        files = [f for part in sorted(entry["parts"]) for f in entry["parts"][part]]
        script.append(_view_sql(table, entry["columns"], files))
        script += [f'comment on column {table}."{name}" is {_quote(comment)}'
                   for name, _, comment in entry["columns"] if comment]
    script += [f"create schema {MANIFEST_SCHEMA}",
               f"create table {MANIFEST_SCHEMA}.manifest as select {_quote(json.dumps(manifest))}::varchar as manifest",
               "commit"]
    with duckdb.connect(str(path)) as conn:
        conn.execute(";\n".join(script))


def _fsync(paths: Iterable[Path]) -> None:
    for path in paths:
        with open(path, "rb") as f:
            os.fsync(f.fileno())


def _retain_hours() -> float:
    return float(os.environ.get("SENTIMENT_SNAPSHOT_RETAIN_HOURS", DEFAULT_RETAIN_HOURS))


def _collect_garbage(folder: Path, manifest: dict, now: float) -> int:
    """Delete retired files past their retention, and the folders they leave empty."""
    keep, deleted = [], 0
    horizon = now - _retain_hours() * 3600
    for path, retired_at in manifest.get("retired", []):
        if retired_at <= horizon:
            Path(path).unlink(missing_ok=True)
            deleted += 1
        else:
            keep.append([path, retired_at])
    manifest["retired"] = keep
    if deleted and folder.exists():
        for sub in sorted((p for p in folder.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
            if not any(sub.iterdir()):
                sub.rmdir()
    return deleted


@contextmanager
def _live(database: str, held: duckdb.DuckDBPyConnection | None) -> Iterator[tuple]:
    """A connection reading the live database, and the database's name in it: a cursor of the process's own
    connection, else a new in-memory one with the file attached read-only."""
    if held is not None:
        cursor = held.cursor()
        try:
            yield cursor, cursor.execute("select current_database()").fetchone()[0]
        finally:
            cursor.close()
        return
    with duckdb.connect() as conn:
        conn.execute(f"attach {_quote(str(database))} as live (read_only)")
        conn.execute("use live")
        yield conn, "live"


def publish(database: str | None = None, *, full: bool = False, on_wait: Callable[[str], None] | None = None,
            force: bool = False, conn: duckdb.DuckDBPyConnection | None = None) -> Published:
    """Export what changed since the last publish and swap in a new catalog (see the module's docstring).
    `full` re-exports every table; `force` publishes a new version even when nothing changed. `conn`: a
    connection this process holds to the database (the main command's), read through instead of attaching the
    file, which DuckDB refuses while the process has it open."""
    from sentiment_pipeline.platform.resources import database_path

    database = database or database_path()
    # Absolute: the views name their files, and a consumer may connect from any directory.
    catalog = snapshot_path(database).absolute()
    folder = files_dir(catalog)
    with writer_lock(database, "publishing the snapshot", on_wait=on_wait) as lock:
        if not os.path.exists(database):
            raise FileNotFoundError(f"no database at {database}: nothing to publish")
        started = time.perf_counter()
        previous = read_manifest(catalog)
        version = previous.get("version", 0) + 1
        # Leftovers of a killed publish: its catalog never replaced this one, so nothing reads them.
        for stale in catalog.parent.glob(f".{catalog.name}.*.partial"):
            stale.unlink(missing_ok=True)
        if folder.exists():
            for old in folder.glob("v*"):
                if old.name[1:].isdigit() and int(old.name[1:]) >= version:
                    shutil.rmtree(old, ignore_errors=True)
        with _live(database, conn) as (conn, live_name):
            live = _live_tables(conn)
            seq = changes.last_seq(conn)
            journal = changes.changes_since(conn, previous.get("seq", 0)) if previous else []
            if previous and seq < previous.get("seq", 0):  # a new database under the old name
                previous = {**previous, "tables": {}}
            tables: dict[str, dict] = {}
            todo: dict[str, set[str] | None] = {}
            notes: list[str] = []
            for table, entry in live.items():
                kind, column = layout(c[0] for c in entry["columns"])
                old = previous.get("tables", {}).get(table)
                columns = [c[:2] for c in entry["columns"]]
                if full or old is None or [c[:2] for c in old["columns"]] != columns or old["layout"] != kind:
                    todo[table] = ALL
                    if old is not None and not full:
                        notes.append(f"{table}: its columns changed; exported whole")
                    tables[table] = {"layout": kind, "column": column, "columns": entry["columns"], "parts": {},
                                     "part_rows": {}}
                    continue
                tables[table] = {**old, "columns": entry["columns"], "parts": dict(old["parts"]),
                                 "part_rows": dict(old["part_rows"])}
                parts = _changed_parts([c for c in journal if c[1] == table], kind)
                if parts is ALL or parts:
                    todo[table] = parts
            written_files: list[Path] = []
            written_rows = 0
            exported: list[str] = []
            target_root = folder / f"v{version:06d}"
            exports = _export_all(conn, live_name, [(table, tables[table]["layout"], tables[table]["column"], parts,
                                          target_root / table) for table, parts in sorted(todo.items())])
            for table, parts in sorted(todo.items()):
                entry = tables[table]
                new = exports[table]
                affected = set(entry["parts"]) if parts is ALL else parts
                for part in affected:
                    entry["parts"].pop(part, None)
                    entry["part_rows"].pop(part, None)
                if entry["layout"] == "whole":
                    entry["parts"] = {}
                    entry["part_rows"] = {}
                for part, files in new.items():
                    entry["parts"][part] = files
                    written_files.extend(Path(f) for f in files)
                new_rows = _rows(conn, new)
                entry["part_rows"].update(new_rows)
                written_rows += sum(new_rows.values())
                exported.append(table)
            # A table whose rows differ from the snapshot's was written outside the journal: export it whole.
            for table, entry in tables.items():
                if sum(entry["part_rows"].values()) != live[table]["rows"]:
                    notes.append(f"{table}: {live[table]['rows']:,} rows live, "
                                 f"{sum(entry['part_rows'].values()):,} in the snapshot; exported whole")
                    new = _export(conn, table, entry["layout"], entry["column"], ALL, target_root / f"{table}.whole")
                    entry["parts"] = new
                    written_files.extend(Path(f) for files in new.values() for f in files)
                    entry["part_rows"] = _rows(conn, new)
                    written_rows += sum(entry["part_rows"].values())
                    if table not in exported:
                        exported.append(table)
        if previous and not exported and not force and set(tables) == set(previous.get("tables", {})):
            return Published(str(catalog), False, time.perf_counter() - started, previous["version"], len(tables),
                             waited_for_writer=lock.waited)
        now = time.time()
        current = {f for entry in tables.values() for files in entry["parts"].values() for f in files}
        before = {f for entry in previous.get("tables", {}).values() for files in entry["parts"].values() for f in files}
        retired = [*previous.get("retired", []), *([f, now] for f in sorted(before - current))]
        manifest = {"version": version, "seq": seq, "database": str(Path(database).resolve()),
                    "published_at": dt.datetime.now().isoformat(timespec="seconds"), "tables": tables,
                    "retired": retired}
        deleted = _collect_garbage(folder, manifest, now)
        partial = catalog.with_name(f".{catalog.name}.{os.getpid()}.partial")
        try:
            _write_catalog(partial, manifest)
            # On disk before the rename makes them visible.
            _fsync([*written_files, partial])
            os.replace(partial, catalog)
        finally:
            partial.unlink(missing_ok=True)
        return Published(str(catalog), True, time.perf_counter() - started, version, len(tables), exported,
                         len(written_files), sum(p.stat().st_size for p in written_files), written_rows,
                         deleted, lock.waited, notes)


def connect(path: str | os.PathLike | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published snapshot (default: the one beside the configured database).
    It never blocks a run and keeps its version while open (for at least SENTIMENT_SNAPSHOT_RETAIN_HOURS after
    a newer publish); connect again to see the next publish."""
    target = Path(path) if path else snapshot_path()
    if not target.exists():
        raise FileNotFoundError(
            f"no snapshot at {target}: it is published after each run that changes the database "
            "(python -m sentiment_pipeline.cli), or by hand: python -m sentiment_pipeline.platform.snapshot")
    return _open(target)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    databases = [a for a in args if not a.startswith("--")]
    result = publish(databases[0] if databases else None, full="--full" in args, force="--force" in args,
                     on_wait=lambda text: print(text, flush=True))
    print(result.describe())
    for note in result.notes:
        print(f"  {note}")
    print(json.dumps(asdict(result)))
    return 0


if __name__ == "__main__":
    from sentiment_pipeline.platform.commands import run_main

    raise SystemExit(run_main(main))
