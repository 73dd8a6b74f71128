"""The DuckDB IO manager of the pipeline: dagster-duckdb-polars for reads; its own write.

It also writes `TableSlices`: an asset's rows in tables several assets share (the backtest tables).

The write differs from dagster-duckdb-polars in four ways:
- delete of the run's slice and insert are one transaction, so a failed or killed write leaves the old rows;
- an empty frame still creates its table (an empty partition — no northbound data after 2024-08-16, no pool
  from a source without one — stays readable downstream instead of a missing table);
- a new table gets the column descriptions of its definition as DuckDB comments (`duckdb_columns().comment`);
- the write records what it replaced in the change journal (platform/changes.py), in its transaction, so the
  snapshot publish exports only that;
- it adds no output metadata: output metadata is copied onto every day's event of a range run, so the range's
  row count and query would show on each day. The assets report each day's own figures instead.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb
import polars as pl
from pydantic import PrivateAttr
from dagster import InputContext, OutputContext, TimeWindow
from dagster._core.storage.db_io_manager import DbIOManager, DbTypeHandler, TableSlice
from dagster_duckdb.io_manager import DuckDbClient, _get_cleanup_statement
from dagster_duckdb_polars import DuckDBPolarsIOManager, DuckDBPolarsTypeHandler

from sentiment_pipeline.platform import changes, tables
from sentiment_pipeline.platform.writer_lock import WriterLock


# dagster-duckdb's connection configuration: DuckDB refuses a second configuration for a file open in a process.
DUCKDB_CONFIG = {"custom_user_agent": "dagster"}
# DuckDB's buffer pool (default: 80% of RAM) keeps what a command reads and writes for as long as the database is
# open: the backtests' reads of every stored day put the backfill at 3.7 GiB (2.8 GiB with this). Its queries here
# are scans and small aggregates; inputs and outputs live in Polars. SENTIMENT_DUCKDB_MEMORY overrides it.
DUCKDB_MEMORY = "256MB"


def open_database(database: str) -> duckdb.DuckDBPyConnection:
    """A read-write connection as the runs open it. While one is open, every connection of the process to the
    file shares its database: opened once, its cache kept warm, and no checkpoint when the last one closes (0.5 s
    after a day's ~25 small writes, each rewriting a table's last row group): the WAL is checkpointed when it
    passes DuckDB's threshold (16 MB, every few days) instead, and the next process to open the file replays it."""
    conn = duckdb.connect(database, read_only=False, config=dict(DUCKDB_CONFIG))
    conn.execute("pragma disable_checkpoint_on_shutdown")
    conn.execute(f"set memory_limit = '{os.environ.get('SENTIMENT_DUCKDB_MEMORY', DUCKDB_MEMORY)}'")
    return conn


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class TransactionalPolarsTypeHandler(DuckDBPolarsTypeHandler):
    def handle_output(self, context: OutputContext, table_slice: TableSlice, obj: pl.DataFrame, connection):
        schema = (context.definition_metadata or {}).get("dagster/column_schema")
        table = f"{table_slice.schema}.{table_slice.table}"
        with _transaction(connection):
            _replace(connection, table, obj.to_arrow(), getattr(schema, "schema", schema),
                     _get_cleanup_statement(table_slice), [])
            changes.record(connection, table, **_replaced_days(table_slice))


def _replaced_days(table_slice: TableSlice) -> dict:
    """The span of days the cleanup statement deleted: the partitions' time window [start, end), or the whole
    table when unpartitioned."""
    windows = [d.partitions for d in table_slice.partition_dimensions or [] if isinstance(d.partitions, TimeWindow)]
    if not windows:
        return {}
    return {"first_day": windows[0].start.date(), "last_day": (windows[0].end - dt.timedelta(days=1)).date()}


@contextmanager
def _transaction(connection):
    connection.execute("begin transaction")
    try:
        yield
        connection.execute("commit")
    except BaseException:
        connection.execute("rollback")
        raise


def _replace(connection, table: str, data, schema, delete: str, params: list) -> None:
    """Within the caller's transaction: create the table (with its column comments) or add the columns the
    model gained, delete the slice, insert `data` (an Arrow table) by name."""
    schema_name, name = table.split(".")
    connection.execute(f"create schema if not exists {schema_name}")
    exists = connection.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema_name, name]).fetchone()[0]
    if not exists:
        connection.execute(f"create table {table} as select * from data limit 0")
        if schema is not None:
            _comment_columns(table, schema, connection)
    else:
        _add_new_columns(table, data, connection, schema)
        connection.execute(delete, params)
    if data.num_rows:
        connection.execute(f"insert into {table} by name select * from data")


@dataclass(frozen=True)
class TableSlices:
    """One asset's rows in tables it shares with other assets: each table's rows where `column` is one of
    `values` (a strategy's rows in the backtest tables, and those of its reference portfolios). Written like a
    partition: delete that slice, insert, in one transaction over all the tables."""

    frames: Mapping[type, pl.DataFrame]  # table model → rows
    column: str
    values: tuple[str, ...]


def replace_tables(connection, frames: Mapping[type, pl.DataFrame]) -> None:
    """Replace whole tables (model → its rows) in one transaction: an asset whose tables must change together
    (the research tables) writes them here instead of one commit per output."""
    with _transaction(connection):
        for model, frame in frames.items():
            table = tables.table_name(model)
            _replace(connection, table, frame.to_arrow(), tables.column_schema(model), f"delete from {table}", [])
            changes.record(connection, table)


class TableSlicesTypeHandler(DbTypeHandler[TableSlices]):
    @property
    def supported_types(self):
        return [TableSlices]

    def handle_output(self, context: OutputContext, table_slice: TableSlice, obj: TableSlices, connection):
        with _transaction(connection):
            for model, frame in obj.frames.items():
                table = tables.table_name(model)
                _replace(connection, table, frame.to_arrow(), tables.column_schema(model),
                         f"delete from {table} where {obj.column} in ({', '.join('?' * len(obj.values))})",
                         list(obj.values))
                changes.record(connection, table, slices=obj.values)

    def load_input(self, context, table_slice: TableSlice, connection) -> TableSlices:
        raise NotImplementedError("table slices are read with SQL (sql/tables.sql), not as asset inputs")


def _add_new_columns(table: str, data, connection, schema=None) -> None:
    """A model that gained columns: add them to the stored table (older rows read null), in the write's
    transaction. Columns are never dropped or retyped here."""
    stored = {row[0] for row in connection.execute(f"describe {table}").fetchall()}
    described = {c.name: c.description for c in schema.columns} if schema is not None else {}
    for name, type_, *_ in connection.execute("describe select * from data").fetchall():  # `data`: the arrow table
        if name not in stored:
            connection.execute(f'alter table {table} add column "{name}" {type_}')
            if described.get(name):
                connection.execute(f"comment on column {table}.{name} is {_quote(described[name])}")


def _comment_columns(table: str, schema, connection) -> None:
    for column in schema.columns:
        if column.description:
            connection.execute(f"comment on column {table}.{column.name} is {_quote(column.description)}")


# AssetIn metadata of an input several steps of a run read whole (core.daily_bars for six backtests).
SHARED_READ = "shared_read"


def _shared_whole_read(context: InputContext) -> bool:
    """An input marked SHARED_READ, in a run without partitions (the whole-history job)."""
    if not (context.definition_metadata or {}).get(SHARED_READ):
        return False
    tags = context.step_context.dagster_run.tags
    return not any(tag in tags for tag in ("dagster/partition", "dagster/asset_partition_range_start"))


class SilentDbIOManager(DbIOManager):
    """DbIOManager.handle_output without its own delete (done in the handler's transaction) and metadata.
    `on_use` runs before the first read or write (it opens the run's keepalive connection).

    In a run without partitions (the whole-history job) steps read whole tables, some the same ones (six backtests
    read every stored day of core.daily_bars): an input marked SHARED_READ is read once and handed to every step
    that asks for those columns or fewer, the same frame when the columns are the same (the backtest engine
    reuses its dense panel for it). Inputs one step reads are not kept. A write of a table drops its entry."""

    def __init__(self, *, on_use, **kwargs) -> None:
        super().__init__(**kwargs)
        self._on_use = on_use
        self._loaded: dict[tuple[str, str], tuple[str, list[str] | None, pl.DataFrame]] = {}

    def load_input(self, context: InputContext):
        self._on_use()
        if not _shared_whole_read(context):
            return super().load_input(context)
        table_slice = self._get_table_slice(context, context.upstream_output)
        key, dims, wanted = (table_slice.schema, table_slice.table), repr(table_slice.partition_dimensions), \
            (list(table_slice.columns) if table_slice.columns else None)
        cached = self._loaded.get(key)
        if cached is not None and cached[0] == dims:
            _, columns, frame = cached
            if wanted == columns or (wanted is None and columns is None):
                return frame
            if columns is None or (wanted is not None and set(wanted) <= set(columns)):
                return frame.select(wanted)
        frame = super().load_input(context)
        self._loaded[key] = (dims, wanted, frame)
        return frame

    def forget(self, tables: list[str] | None = None) -> None:
        """Drop the cached reads of `tables` (`schema.table`), or all."""
        for key in list(self._loaded):
            if tables is None or ".".join(key) in tables:
                del self._loaded[key]

    def handle_output(self, context: OutputContext, obj: object) -> None:
        if obj is None:
            return
        self._on_use()
        self._check_supported_type(type(obj))
        table_slice = self._get_table_slice(context, context)
        written = ([tables.table_name(m) for m in obj.frames] if isinstance(obj, TableSlices)
                   else [f"{table_slice.schema}.{table_slice.table}"])
        self.forget(written)
        with self._db_client.connect(context, table_slice) as conn:
            self._resolve_handler(type(obj)).handle_output(context, table_slice, obj, conn)


class SentimentDuckDBIOManager(DuckDBPolarsIOManager):
    """Holds one connection to the database for the whole run: every load and write (and the `duckdb` resource)
    opens its own connection, and with none left open DuckDB closes the database and checkpoints each time
    (~25 ms apiece on a 1 GB file, ~40 times a run). Open, they share the database in this process."""

    _keepalive: duckdb.DuckDBPyConnection | None = PrivateAttr(default=None)
    _writer_lock: WriterLock | None = PrivateAttr(default=None)
    _io_managers: list = PrivateAttr(default_factory=list)

    def setup_for_execution(self, context) -> None:
        # The run (or, in a multiprocess run, the step) is the file's only writer until teardown: a second
        # run waits here, before it opens anything (platform/writer_lock.py).
        run = getattr(context, "run", None)
        self._writer_lock = WriterLock(self.database, f"run {run.run_id} ({run.job_name})" if run else "a run")
        log = getattr(context, "log", None)
        self._writer_lock.acquire(on_wait=log.warning if log else None)
        if self._writer_lock.waited and log:
            log.info(f"got the writer lock on {self.database} after {self._writer_lock.waited:.1f} s")

    def _open_keepalive(self) -> None:
        # Opened at the first read or write, not at setup: a run that never touches a table (the snapshot
        # publish) must not hold the file open. The same config as dagster-duckdb's own connections: DuckDB
        # refuses a second config for one file.
        if self._keepalive is None:
            if self.connection_config:
                raise ValueError("the pipeline's DuckDB connections use dagster-duckdb's configuration only")
            self._keepalive = open_database(self.database)

    def teardown_after_execution(self, context) -> None:
        for io_manager in self._io_managers:  # the run's cached reads
            io_manager.forget()
        self._io_managers.clear()
        if self._keepalive is not None:
            self._keepalive.close()
            self._keepalive = None
        if self._writer_lock is not None:
            self._writer_lock.release()
            self._writer_lock = None

    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        return [TransactionalPolarsTypeHandler(), TableSlicesTypeHandler()]

    def create_io_manager(self, context) -> DbIOManager:
        io_manager = SilentDbIOManager(
            on_use=self._open_keepalive, db_client=DuckDbClient(), database=self.database, schema=self.schema_,
            type_handlers=self.type_handlers(), default_load_type=self.default_load_type(),
            io_manager_name="DuckDBIOManager",
        )
        self._io_managers.append(io_manager)
        return io_manager
