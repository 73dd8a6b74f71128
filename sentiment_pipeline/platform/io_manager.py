"""The DuckDB IO manager of the pipeline: dagster-duckdb-polars for reads; its own write.

The write differs from dagster-duckdb-polars in four ways:
- delete of the run's slice and insert are one transaction, so a failed or killed write leaves the old rows;
- an empty frame still creates its table (an empty partition — no northbound data after 2024-08-16, no pool
  from a source without one — stays readable downstream instead of a missing table);
- a new table gets the column descriptions of its definition as DuckDB comments (`duckdb_columns().comment`);
- it adds no output metadata: output metadata is copied onto every day's event of a range run, so the range's
  row count and query would show on each day. The assets report each day's own figures instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import polars as pl
from pydantic import PrivateAttr
from dagster import OutputContext
from dagster._core.storage.db_io_manager import DbIOManager, DbTypeHandler, TableSlice
from dagster_duckdb.io_manager import DuckDbClient, _get_cleanup_statement
from dagster_duckdb_polars import DuckDBPolarsIOManager, DuckDBPolarsTypeHandler


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class TransactionalPolarsTypeHandler(DuckDBPolarsTypeHandler):
    def handle_output(self, context: OutputContext, table_slice: TableSlice, obj: pl.DataFrame, connection):
        table = f"{table_slice.schema}.{table_slice.table}"
        data = obj.to_arrow()  # noqa: F841 (read by duckdb)
        connection.execute("begin transaction")
        try:
            connection.execute(f"create schema if not exists {table_slice.schema}")
            exists = connection.execute(
                "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                [table_slice.schema, table_slice.table]).fetchone()[0]
            if not exists:
                connection.execute(f"create table {table} as select * from data limit 0")
                _comment(context, table, connection)
            else:
                connection.execute(_get_cleanup_statement(table_slice))
            if obj.height:
                connection.execute(f"insert into {table} by name select * from data")
            connection.execute("commit")
        except BaseException:
            connection.execute("rollback")
            raise


def _comment(context: OutputContext, table: str, connection) -> None:
    schema = (context.definition_metadata or {}).get("dagster/column_schema")
    if schema is None:
        return
    schema = getattr(schema, "schema", schema)
    for column in schema.columns:
        if column.description:
            connection.execute(f"comment on column {table}.{column.name} is {_quote(column.description)}")


class SilentDbIOManager(DbIOManager):
    """DbIOManager.handle_output without its own delete (done in the handler's transaction) and metadata."""

    def handle_output(self, context: OutputContext, obj: object) -> None:
        if obj is None:
            return
        self._check_supported_type(type(obj))
        table_slice = self._get_table_slice(context, context)
        with self._db_client.connect(context, table_slice) as conn:
            self._resolve_handler(type(obj)).handle_output(context, table_slice, obj, conn)


class SentimentDuckDBIOManager(DuckDBPolarsIOManager):
    """Holds one connection to the database for the whole run: every load and write (and the `duckdb` resource)
    opens its own connection, and with none left open DuckDB closes the database and checkpoints each time
    (~25 ms apiece on a 1 GB file, ~40 times a run). Open, they share the database in this process."""

    _keepalive: duckdb.DuckDBPyConnection | None = PrivateAttr(default=None)

    def setup_for_execution(self, context) -> None:
        # The same config as dagster-duckdb's own connections: DuckDB refuses a second config for one file.
        self._keepalive = duckdb.connect(self.database, read_only=False,
                                         config={"custom_user_agent": "dagster", **self.connection_config})

    def teardown_after_execution(self, context) -> None:
        if self._keepalive is not None:
            self._keepalive.close()
            self._keepalive = None

    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        return [TransactionalPolarsTypeHandler()]

    def create_io_manager(self, context) -> DbIOManager:
        return SilentDbIOManager(
            db_client=DuckDbClient(), database=self.database, schema=self.schema_,
            type_handlers=self.type_handlers(), default_load_type=self.default_load_type(),
            io_manager_name="DuckDBIOManager",
        )
