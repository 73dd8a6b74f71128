"""One definition per table: its pandera model (`Config.name`, `Config.description`, `Config.unique` as the
row key, a `description` on every field). The Dagster column schema, the asset key and the `sql/` contract
are derived here, so none of them is written twice."""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg
import pandera.polars as pa
import polars as pl

DUCKDB_TYPES = {
    pl.Date: "DATE", pl.String: "VARCHAR", pl.Boolean: "BOOLEAN", pl.Float64: "DOUBLE", pl.Int64: "BIGINT",
    pl.Int32: "INTEGER",
}

CONTRACT_HEADER = """\
-- The DuckDB tables the pipeline writes: the contract for consumers.
-- Generated from the table models (sentiment_pipeline/*/tables.py) by `python -m sentiment_pipeline.catalog`;
-- a test fails when this file and the models drift apart, and another checks it against the written tables.
-- Database file: $SENTIMENT_DUCKDB_PATH (default data/market.duckdb). Every partitioned table is
-- written per trading day through its `trade_date` column (a re-run replaces its days).
-- Rates are fractions (0.25 = 25%). Prices in CNY.
"""


def source_field():
    """The `source` column of every research, review and backtest table: which market the figures describe."""
    return pa.Field(description="market source the figures come from: synthetic (a simulated market: never "
                                "evidence about the real one), tdx, akshare or baostock")


def period_fields():
    """`period_start`, `period_end` of a table summarising the stored history."""
    return (pa.Field(description="first trading day the figures read"),
            pa.Field(description="last trading day the figures read"))


def schema_of(model: type[pa.DataFrameModel]) -> pa.DataFrameSchema:
    return model.to_schema()


def table_name(model: type[pa.DataFrameModel]) -> str:
    """`schema.table`, e.g. 'core.daily_bars'."""
    return schema_of(model).name


def asset_key(model: type[pa.DataFrameModel]) -> dg.AssetKey:
    return dg.AssetKey(table_name(model).split("."))


def row_key(model: type[pa.DataFrameModel]) -> list[str]:
    return list(schema_of(model).unique or [])


def empty_frame(model: type[pa.DataFrameModel]) -> pl.DataFrame:
    """No rows, the table's columns and types: what an asset writes for a range without data."""
    return pl.DataFrame(schema={name: column.dtype.type for name, column in schema_of(model).columns.items()})


def duckdb_type(column: pa.Column) -> str:
    return DUCKDB_TYPES[column.dtype.type.base_type()]


def allowed_values(column: pa.Column) -> list | None:
    for check in column.checks:
        if check.name == "isin":
            return list(check.statistics["allowed_values"])
    return None


def column_doc(column: pa.Column) -> str:
    """The column's description, with its allowed values when a check lists them."""
    values = allowed_values(column)
    if values is None:
        return column.description
    return f"{column.description} [one of {', '.join(repr(v) for v in values)}]"


def column_schema(model: type[pa.DataFrameModel]) -> dg.TableSchema:
    """What the UI shows as the asset's columns: type, description, nullability, key."""
    schema = schema_of(model)
    key = row_key(model)
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=name, type=duckdb_type(col), description=column_doc(col),
                constraints=dg.TableColumnConstraints(nullable=col.nullable, unique=[name] == key),
            )
            for name, col in schema.columns.items()
        ],
        constraints=dg.TableConstraints(other=[f"row key: ({', '.join(key)})"]),
    )


def ddl(model: type[pa.DataFrameModel]) -> str:
    """The table's CREATE TABLE statement, commented, as it appears in sql/tables.sql."""
    schema = schema_of(model)
    columns = list(schema.columns.items())
    width = max(len(n) for n, _ in columns)
    type_width = max(len(duckdb_type(c)) for _, c in columns) + 1
    lines = []
    for i, (name, col) in enumerate(columns):
        sep = "," if i < len(columns) - 1 else ""
        null = "" if col.nullable else " NOT NULL:"
        lines.append(f"    {name:<{width}} {(duckdb_type(col) + sep):<{type_width}} --{null} {column_doc(col)}")
    head = [f"-- {line}" for line in _wrap(f"{schema.description} Row key: ({', '.join(row_key(model))}).")]
    return "\n".join([*head, f"CREATE TABLE {schema.name} (", *lines, ");"])


def contract(models: Iterable[type[pa.DataFrameModel]]) -> str:
    return CONTRACT_HEADER + "".join(f"\n{ddl(m)}\n" for m in models)


def _wrap(text: str, width: int = 110) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return [*lines, line] if line else lines
