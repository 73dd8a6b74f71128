"""The instance's event log: Dagster's SQLite storage (same files, same layout), writing a batch of asset events
in one transaction per database.

Why: a range run records a materialization per asset and day (27,184 for a 2019→2025 backfill). The stock
SQLite storage opens engines and commits twice per event (~10 ms each), which made bookkeeping, not the
transforms, set the backfill time. Measured choices are in the README ("Instance and bookkeeping").

What it changes, nothing else:
- `store_event_batch`: the asset events of one batch (one output's daily materializations, or a run's planned
  events) go into the run's database in one transaction and into the cross-run index in another, with their
  tags; the asset table is updated once per asset key and event type with the batch's last event (the same
  reduction dagster-postgres makes). Every other event takes the normal `store_event` path.
- a planned check evaluation is one row per check and run, not one per day (see
  `_store_asset_check_evaluation_planned`): the project's checks are evaluated once per run.
- one planned event per asset and run carries the run's partition subset (as with
  DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS=1), instead of one per day. Consequence: the days of a
  failed or unfinished range run show as missing, not failed, in the UI; materialized days are exact.
- connections stay open (`_SqliteEngines`, `PooledSqliteRunStorage`): the stock storages create an engine per
  call and close its connection after it; closing the last connection to a WAL database checkpoints it and
  deletes the WAL, so with the commit's fsync every event paid two syncs per database (7-44 ms an event here,
  1-5 ms now). Each process keeps one connection per database (runs.db, index.db, its last few run shards)
  with synchronous=NORMAL, WAL's safe setting: a commit survives the crash of any process; an OS crash or
  power loss can lose the last commits, never corrupt a file. New shards are made WAL before `_initdb`'s DDL.
  Other processes read and write the same files as before; the UI's live log also watches the shard's WAL
  (`watch`), which is where commits land until a checkpoint.

Tied to dagster 1.13.27 (it overrides private methods); the tests run real materializations through it.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from dagster import _check as check
from dagster._core.events import DagsterEventType
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable, SqlEventLogStorageTable
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SqliteEventLogStorage,
    SqliteEventLogStorageWatchdog,
)
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, _event_logs_directory
from dagster._core.storage.sqlalchemy_compat import db_select
from dagster_shared.serdes import serialize_value
from sqlalchemy import create_engine, make_url
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool

# Dagster hands a storage batches only when this is set (read at call time, in every process that stores
# events: the CLI, a run worker, the webserver, the daemon). This storage is what makes batches worth it.
BATCH_SIZE = "1000"

_BATCHED = {
    DagsterEventType.ASSET_MATERIALIZATION,
    DagsterEventType.ASSET_OBSERVATION,
    DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
}


# Run shards whose connection a process keeps open besides index.db: the current run's, plus a few the
# webserver or the daemon read in turn. Each open connection holds three file descriptors and its page cache.
MAX_OPEN_SHARDS = 4

# Engines this process must never close: inherited through fork (SQLite forbids using a connection across fork),
# or open on a file another process deleted or replaced (closing the last connection checkpoints the old file,
# then deletes the WAL and shm by name: the new file's). Kept referenced so garbage collection leaves them.
_NEVER_CLOSE: list = []


def _stat(path: str):
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


def _file_id(path: str):
    st = _stat(path)
    return st and (st.st_dev, st.st_ino)


class _SqliteEngines:
    """One engine per database file and process, holding one open connection; at most `max_engines`, the least
    recently used run shards closed first. Before each use, the file the engine's connections opened is
    compared with the file at the path: deleted or replaced (`dagster instance wipe` in another process), the
    engine is dropped unclosed and a new one opens the file now there."""

    def __init__(self, max_engines: int):
        self._max = max_engines
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._engines: OrderedDict[str, tuple[Engine, set, str]] = OrderedDict()

    def get(self, key: str, conn_string: str, path: str) -> Engine:
        with self._lock:
            if self._pid != os.getpid():
                _NEVER_CLOSE.append(self._engines)
                self._engines, self._pid = OrderedDict(), os.getpid()
            entry = self._engines.get(key)
            if entry is not None:
                if not entry[1] or entry[1] == {_file_id(path)}:
                    self._engines.move_to_end(key)
                    return entry[0]
                _NEVER_CLOSE.append(self._engines.pop(key))
            opened: set = set()
            engine = _engine(conn_string, path, opened)
            self._engines[key] = (engine, opened, path)
            evictable = [k for k in self._engines if k not in (key, INDEX_SHARD_NAME)]  # index.db stays open
            while len(self._engines) > self._max and evictable:
                self._close(self._engines.pop(evictable.pop(0)))
            return engine

    def dispose(self) -> None:
        with self._lock:
            entries, self._engines = list(self._engines.values()), OrderedDict()
            if self._pid != os.getpid():
                _NEVER_CLOSE.append(entries)
                self._pid = os.getpid()
                return
        for entry in entries:
            self._close(entry)

    @staticmethod
    def _close(entry) -> None:
        engine, opened, path = entry
        if opened and opened != {_file_id(path)}:
            _NEVER_CLOSE.append(entry)
        else:
            engine.dispose()


def _engine(conn_string: str, path: str, opened: set) -> Engine:
    # pool_size 1 keeps one connection open; overflow serves the rare nested use (_initdb, several threads)
    # and closes on return.
    engine = create_engine(conn_string, poolclass=QueuePool, pool_size=1, max_overflow=-1,
                           connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})

    @sa_event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, record):
        st = _stat(path)
        opened.add(st and (st.st_dev, st.st_ino))
        cursor = dbapi_conn.cursor()
        # Commits skip the WAL fsync (the checkpoint still syncs): with WAL, safe against corruption.
        cursor.execute("PRAGMA synchronous=NORMAL")
        if st and st.st_size == 0:
            # A new shard: Dagster's _initdb switches it to WAL after its ~20 DDL statements, each then synced
            # through a rollback journal (0.3 s a run here); WAL first makes the same file without the syncs.
            cursor.execute("PRAGMA journal_mode=WAL")
        # An open connection never deletes the WAL: let a checkpoint truncate it after a large batch.
        cursor.execute("PRAGMA journal_size_limit=4194304")
        cursor.close()

    return engine


class BatchingSqliteEventLogStorage(SqliteEventLogStorage):
    def __init__(self, base_dir: str, inst_data=None):
        os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", BATCH_SIZE)
        self._engines = _SqliteEngines(MAX_OPEN_SHARDS + 1)
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(inst_data=inst_data, **config_value)

    @property
    def supports_partition_subset_in_asset_materialization_planned_events(self) -> bool:
        return True

    # The sharded storage re-reads this from index.db on every query; it only changes on a reindex.
    def has_secondary_index(self, name: str) -> bool:
        cache = self.__dict__.setdefault("_secondary_index_cache", {})
        if name not in cache:
            cache[name] = super().has_secondary_index(name)
        return cache[name]

    def enable_secondary_index(self, name: str) -> None:
        super().enable_secondary_index(name)
        self.__dict__.setdefault("_secondary_index_cache", {}).pop(name, None)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        """Dagster's `_connect` (the same lock, first-use `_initdb` and one transaction), on the process's
        open connection to the shard instead of a new engine."""
        with self._db_lock:
            check.str_param(shard, "shard")
            path = self.path_for_shard(shard)
            engine = self._engines.get(shard, self.conn_string_for_shard(shard), path)
            if shard in self._initialized_dbs and not os.path.exists(path):
                self._initialized_dbs.discard(shard)  # wiped by another process: a new, empty shard
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn:
                with conn.begin():
                    yield conn

    # Stock: a new engine per call, and Dagster asks before every asset event's tags. Tables only appear (on a
    # migration), so a found table is remembered; a missing one is asked again.
    def has_table(self, table_name: str) -> bool:
        found = self.__dict__.setdefault("_found_tables", set())
        if table_name not in found and super().has_table(table_name):
            found.add(table_name)
        return table_name in found

    def watch(self, run_id, cursor, callback) -> None:
        """Dagster's watch, also woken by the shard's WAL: commits on an open connection write only the WAL
        until a checkpoint, where the stock storage's closing connection checkpointed into the shard."""
        if not self._obs:
            from watchdog.observers import Observer

            self._obs = Observer()
            self._obs.start()
        watchdog = _ShardAndWalWatchdog(self, run_id, callback, cursor)
        self._watchers[run_id][callback] = (watchdog, self._obs.schedule(watchdog, self._base_dir, recursive=True))

    def dispose(self) -> None:
        super().dispose()
        self._engines.dispose()

    def wipe(self) -> None:
        self._engines.dispose()  # before the shard files are unlinked
        super().wipe()
        self.__dict__.pop("_found_tables", None)

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        batched, rest = [], []
        for event in events:
            dagster_event = event.dagster_event
            if (event.is_dagster_event and dagster_event is not None and dagster_event.event_type in _BATCHED
                    and dagster_event.asset_key is not None and event.run_id == events[0].run_id):
                batched.append(event)
            else:
                rest.append(event)
        if batched:
            rows = [self._event_to_row(e) for e in batched]
            # A failure here commits nothing: Dagster then stores the batch event by event.
            with self.run_connection(batched[0].run_id) as conn:
                conn.execute(SqlEventLogStorageTable.insert(), rows)
            # From here the run's database has the events: never hand the batch back to Dagster (it would store
            # them twice); if the one-transaction mirror fails, mirror them one by one as store_event does.
            try:
                self._mirror_in_index(batched, rows)
            except Exception:
                for event, row in zip(batched, rows):
                    self._mirror_in_index([event], [row])
        planned = [e for e in rest if e.is_dagster_event and e.run_id == events[0].run_id
                   and e.dagster_event_type == DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED]
        if planned:
            self._store_planned_checks(planned)
        for event in rest:
            if event not in planned:
                self.store_event(event)

    def _store_planned_checks(self, planned: Sequence[EventLogEntry]) -> None:
        """A run's planned check evaluations (~25 at its start) as store_event stores each, in one transaction per
        database instead of three commits each."""
        rows = [self._event_to_row(e) for e in planned]
        with self.run_connection(planned[0].run_id) as conn:
            conn.execute(SqlEventLogStorageTable.insert(), rows)
        with self.index_transaction() as conn:
            table = SqlEventLogStorageTable
            conn.execute(table.insert(), rows)
            newest = conn.execute(db_select([table.c.id]).order_by(table.c.id.desc()).limit(len(rows)))
            event_ids = sorted(row[0] for row in newest)
            conn.execute(AssetCheckExecutionsTable.insert(), [
                self._planned_check_row(event, event_id) for event, event_id in zip(planned, event_ids)])

    def _planned_check_row(self, event: EventLogEntry, event_id: int) -> dict:
        planned = event.dagster_event.event_specific_data
        return dict(asset_key=planned.asset_key.to_string(), check_name=planned.check_name, partition=None,
                    run_id=event.run_id, execution_status=AssetCheckExecutionRecordStatus.PLANNED.value,
                    evaluation_event=serialize_value(event), evaluation_event_timestamp=self._event_insert_timestamp(event),
                    evaluation_event_storage_id=event_id)

    def _mirror_in_index(self, batched: Sequence[EventLogEntry], rows: list[dict]) -> None:
        """The cross-run index part of store_event for a batch: rows, tags, and the asset table once per asset
        key and event type with the batch's last event."""
        with self.index_transaction() as conn:
            table = SqlEventLogStorageTable
            conn.execute(table.insert(), rows)
            # The open transaction holds SQLite's write lock, so the batch's ids are the newest len(rows) ids
            # (RETURNING gives the same and cost 10-20% of a backfill's time here).
            newest = conn.execute(db_select([table.c.id]).order_by(table.c.id.desc()).limit(len(rows)))
            event_ids = sorted(row[0] for row in newest)
            if len(event_ids) != len(rows):
                raise RuntimeError("Cannot store asset event tags for null event id.")
            self._store_asset_event_tags(conn, batched, event_ids)
            last = {}
            for event, event_id in zip(batched, event_ids):
                last[(event.dagster_event.asset_key, event.dagster_event.event_type)] = (event, event_id)
            for event, event_id in sorted(last.values(), key=lambda pair: pair[1]):
                self._store_asset_event(conn, event, event_id)

    def _store_asset_check_evaluation_planned(self, event, event_id):
        """One planned row per check and run. Dagster writes one per day of the run's range, each holding the
        whole serialized event (the range's partition subset: ~15 KB), although this project's checks are
        evaluated once per run without a partition (wiring.validated): the day rows were never resolved (the UI listed them as
        skipped, one per day and run) and made most of the instance's size."""
        with self.index_connection() as conn:
            conn.execute(AssetCheckExecutionsTable.insert().values(**self._planned_check_row(event, event_id)))


class _ShardAndWalWatchdog(SqliteEventLogStorageWatchdog):
    def __init__(self, event_log_storage, run_id, callback, cursor):
        super().__init__(event_log_storage, run_id, callback, cursor)
        self._patterns = [self._log_path, f"{self._log_path}-wal"]

    def on_modified(self, event) -> None:
        self._process_log()


class PooledSqliteRunStorage(SqliteRunStorage):
    """Dagster's SQLite run storage (runs.db) on the process's open connection: a run reads and writes it a few
    dozen times (each status event, tags, the concurrency checks)."""

    def __init__(self, conn_string: str, inst_data=None):
        super().__init__(conn_string, inst_data=inst_data)
        self._engines = _SqliteEngines(1)
        self._path = make_url(conn_string).database

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        engine = self._engines.get("runs", self._conn_string, self._path)
        with engine.connect() as conn:
            with conn.begin():
                yield conn

    def dispose(self) -> None:
        super().dispose()
        self._engines.dispose()


class BatchingSqliteStorage(DagsterSqliteStorage):
    """`storage: sqlite:` with the batching event log: the same folders under base_dir (history/, schedules/)."""

    def __init__(self, base_dir: str, inst_data=None):
        super().__init__(base_dir, inst_data=inst_data)
        self._event_log_storage = BatchingSqliteEventLogStorage(_event_logs_directory(base_dir))
        self._run_storage = PooledSqliteRunStorage(self._run_storage._conn_string)

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls.from_local(inst_data=inst_data, **config_value)
