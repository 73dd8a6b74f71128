"""The read-only snapshot consumers query, so that a reader never blocks the writer.

After a run that changed the database, `publish` copies it whole into a new file with DuckDB's
`COPY FROM DATABASE` and renames that file over `<db dir>/<db name>_snapshot.duckdb`. The rename is atomic: a
reader that opened the old snapshot keeps reading it (its open file survives the rename), a new connection
opens the new one, and nobody ever sees a half-written file. The copy holds the writer lock (it must read the
live file while no run writes it), so a publish waits for a running writer and the next run waits for it.

Consumers:  `from sentiment_pipeline import connect; con = connect()`  (read-only; the tables and columns are
those of sql/tables.sql). Publish by hand:  `python -m sentiment_pipeline.platform.snapshot [DB] [--force]`.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

from sentiment_pipeline.platform.writer_lock import writer_lock


def snapshot_path(database: str | None = None) -> Path:
    """`SENTIMENT_SNAPSHOT_PATH`, else `<db dir>/<db name>_snapshot.duckdb` (DuckDB names the catalog after the
    file: `market_snapshot`, never a schema's name)."""
    if database is None and os.environ.get("SENTIMENT_SNAPSHOT_PATH"):
        return Path(os.environ["SENTIMENT_SNAPSHOT_PATH"])
    from sentiment_pipeline.platform.resources import database_path

    db = Path(database or database_path())
    return db.with_name(f"{db.stem}_snapshot.duckdb")


def _state_path(snapshot: Path) -> Path:
    return snapshot.with_name(snapshot.name + ".json")


def _signature(database: str) -> dict:
    """What identifies a state of the live file: its size and modification time (DuckDB checkpoints into the
    file when the last connection closes, so a finished run changes them)."""
    stat = os.stat(database)
    wal = Path(f"{database}.wal")
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "wal_mtime_ns": wal.stat().st_mtime_ns if wal.exists() else None}


@dataclass
class Published:
    snapshot: str
    published: bool  # False: the database had not changed since the last snapshot
    seconds: float
    database_bytes: int
    snapshot_bytes: int
    tables: int
    waited_for_writer: float

    def describe(self) -> str:
        if not self.published:
            return f"snapshot {self.snapshot} is current (the database has not changed since it was published)"
        return (f"published {self.snapshot}: {self.tables} tables, {self.snapshot_bytes / 1e6:,.1f} MB from a "
                f"{self.database_bytes / 1e6:,.1f} MB database in {self.seconds:.1f} s")


def publish(database: str | None = None, *, force: bool = False, method: str | None = None,
            on_wait: Callable[[str], None] | None = None) -> Published:
    """Copy the database into a new snapshot file and rename it over the old one, unless nothing changed.
    `method` (else SENTIMENT_SNAPSHOT_METHOD): `copy_database`, DuckDB's COPY FROM DATABASE (the default: a
    compact file written through DuckDB), or `file`, a checkpoint then a plain copy of the file (about 30 times
    faster on a 1 GB database; benchmarks/snapshot_publish.py)."""
    from sentiment_pipeline.platform.resources import database_path

    database = database or database_path()
    target = snapshot_path(database)
    state_file = _state_path(target)
    with writer_lock(database, "publishing the snapshot", on_wait=on_wait) as lock:
        if not os.path.exists(database):
            raise FileNotFoundError(f"no database at {database}: nothing to publish")
        signature = _signature(database)
        previous = json.loads(state_file.read_text()) if state_file.exists() else {}
        if not force and target.exists() and previous.get("source") == signature:
            return Published(str(target), False, 0.0, signature["size"], target.stat().st_size,
                             previous.get("tables", 0), lock.waited)
        started = time.perf_counter()
        for stale in target.parent.glob(f".{target.name}.*.partial"):  # left by a killed publish (lock held)
            stale.unlink(missing_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        method = method or os.environ.get("SENTIMENT_SNAPSHOT_METHOD", "copy_database")
        try:
            if method == "copy_database":
                with duckdb.connect() as conn:
                    conn.execute(f"attach '{database}' as live (read_only)")
                    conn.execute(f"attach '{partial}' as snapshot_copy")
                    conn.execute("copy from database live to snapshot_copy")
                    conn.execute("detach snapshot_copy")
            elif method == "file":
                # The writer lock is held: after a checkpoint the file alone is the whole database (no WAL).
                with duckdb.connect(database) as conn:
                    conn.execute("checkpoint")
                shutil.copyfile(database, partial)
            else:
                raise ValueError(f"SENTIMENT_SNAPSHOT_METHOD={method!r} is not 'copy_database' or 'file'")
            with duckdb.connect(str(partial), read_only=True) as conn:
                tables = conn.execute("select count(*) from duckdb_tables() where not internal").fetchone()[0]
            with open(partial, "rb") as f:  # on disk before the rename makes it visible
                os.fsync(f.fileno())
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        seconds = time.perf_counter() - started
        # Read again after the copy (the lock is held: only the `file` method's checkpoint can have changed it).
        state_file.write_text(json.dumps({"source": _signature(database), "tables": tables, "seconds": round(seconds, 3),
                                          "published_at": time.strftime("%Y-%m-%d %H:%M:%S")}))
        return Published(str(target), True, seconds, signature["size"], target.stat().st_size, tables, lock.waited)


def connect(path: str | os.PathLike | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published snapshot (default: the one beside the configured database).
    It never blocks a run, and it keeps its view until closed; connect again to see the next publish."""
    target = Path(path) if path else snapshot_path()
    if not target.exists():
        raise FileNotFoundError(
            f"no snapshot at {target}: it is published after each run that changes the database "
            "(python -m sentiment_pipeline.cli), or by hand: python -m sentiment_pipeline.platform.snapshot")
    return duckdb.connect(str(target), read_only=True)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    databases = [a for a in args if not a.startswith("--")]
    result = publish(databases[0] if databases else None, force="--force" in args,
                     on_wait=lambda text: print(text, flush=True))
    print(result.describe())
    print(json.dumps(asdict(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
