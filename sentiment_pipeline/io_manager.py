"""The DuckDB IO manager of the pipeline: dagster-duckdb-polars, except that an empty frame still creates its
table (with the frame's columns and types), so that an empty partition — no northbound data after 2024-08-16,
no pool from a source without one — is readable downstream instead of a missing table."""

from collections.abc import Sequence

import polars as pl
from dagster import OutputContext
from dagster._core.storage.db_io_manager import DbTypeHandler, TableSlice
from dagster_duckdb_polars import DuckDBPolarsIOManager, DuckDBPolarsTypeHandler


class EmptyTableAwarePolarsTypeHandler(DuckDBPolarsTypeHandler):
    def handle_output(self, context: OutputContext, table_slice: TableSlice, obj: pl.DataFrame, connection):
        if obj.is_empty() and obj.width:
            empty = obj.to_arrow()  # noqa: F841 (read by duckdb)
            connection.execute(f"create schema if not exists {table_slice.schema}")
            connection.execute(f"create table if not exists {table_slice.schema}.{table_slice.table} "
                               "as select * from empty")
        super().handle_output(context, table_slice, obj, connection)


class SentimentDuckDBIOManager(DuckDBPolarsIOManager):
    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        return [EmptyTableAwarePolarsTypeHandler()]
