"""Validation that names table, column, partition and rows.

The table model (pandera) is the one definition of a valid table, and pandera writes the failure report. Run in
full on every write it is costly: on a 2.4M-row frame its row-key check (`DataFrame.is_duplicated` over the key)
takes most of a second and every column check collects the frame three times; on a one-day frame its ~100 small
queries cost ~5-30 ms per table. So `validate` first puts the model's own questions to Polars directly: the key is
unique (a hash of the key has as many distinct values as there are rows), and, in one query, the columns and
their types, no null or NaN in a non-nullable column, and every column and dataframe check of the model (pandera's
own check functions, nulls treated as pandera treats them). When all hold, pandera would pass the frame and
nothing else runs. Otherwise pandera validates the frame as before and names the failures; when the key was found
unique, without its key check (which would pass: same failures, no `is_duplicated`). Models or settings the quick
check does not reproduce (coercion, defaults, regex columns, another validation depth, ...) go straight to pandera.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData
from pandera.api.polars.utils import get_validation_depth
from pandera.backends.polars.container import DataFrameSchemaBackend
from pandera.config import ValidationDepth, get_config_context
from pandera.constants import CHECK_OUTPUT_KEY
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
    schema = model.to_schema()
    passed, key_unique = _quick_check(df, schema)
    if passed:
        return ValidationReport(table, partitions, df.height, pl.DataFrame())
    try:
        # The key is known unique: pandera's key check would pass, so it is left out (same failures, cheaper).
        (_without_key_check(model) if key_unique else schema).validate(df, lazy=True)
        return ValidationReport(table, partitions, df.height, pl.DataFrame())
    except SchemaErrors as err:
        cases = err.failure_cases.with_columns(pl.col("failure_case").cast(pl.String))
        keys = [k for k in ("trade_date", "code") if k in df.columns]
        if keys and "index" in cases.columns:
            rows = df.select(keys).with_row_index("index").with_columns(pl.col("index").cast(pl.Int64))
            cases = cases.with_columns(pl.col("index").cast(pl.Int64)).join(rows, on="index", how="left")
        cols = [c for c in ("column", "check", "failure_case", "index", *keys) if c in cases.columns]
        return ValidationReport(table, partitions, df.height, cases.select(cols))


@functools.cache
def _without_key_check(model: type[pa.DataFrameModel]) -> pa.DataFrameSchema:
    """The model's schema without its row-key uniqueness check (for frames whose key is known unique)."""
    schema = copy.deepcopy(model.to_schema())
    schema.unique = None
    return schema


# Key column types whose values `is_duplicated` takes as equal always hash alike: nulls (whatever lies under them),
# NaN and NaN, -0.0 and 0.0. (Distinct values may collide: that only sends the frame to pandera.)
_HASHABLE_KEY = (pl.String, pl.Date, pl.Datetime, pl.Boolean, pl.Float32, pl.Float64, pl.Int8, pl.Int16, pl.Int32,
                 pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64)


def _quick_check(df: pl.DataFrame, schema: pa.DataFrameSchema) -> tuple[bool, bool]:
    """(passed, key_unique). passed is True only where pandera would pass the frame; key_unique only where
    the row key has no duplicate. False means unknown: pandera decides and names the failures."""
    try:
        if not _covered(df, schema):
            return False, False
        key_unique = _key_unique(df, schema)
        return key_unique and _checks_pass(df, schema), key_unique
    except Exception:  # a check that cannot run here: pandera runs it and reports what happens
        return False, False


def _covered(df: pl.DataFrame, schema: pa.DataFrameSchema) -> bool:
    """The frame, the settings and the model use only what the quick check reproduces of pandera's polars
    backend: a DataFrame validated for schema and data, plain typed columns, checks without groupby or warnings."""
    if not isinstance(df, pl.DataFrame) or not get_config_context().validation_enabled:
        return False
    if get_validation_depth(df) != ValidationDepth.SCHEMA_AND_DATA:
        return False
    if type(schema.get_backend(df)) is not DataFrameSchemaBackend:  # e.g. the narwhals backend
        return False
    if (schema.dtype is not None or schema.coerce or schema.add_missing_columns or schema.ordered
            or schema.strict not in (True, False) or getattr(schema, "drop_invalid_rows", False)
            or getattr(schema, "parsers", None)):
        return False
    for name, column in schema.columns.items():
        if (column.name != name or column.regex or column.coerce or column.default is not None
                or not column.required or column.unique or column.dtype is None
                or getattr(column, "drop_invalid_rows", False) or getattr(column, "parsers", None)):
            return False
    checks = [c for column in schema.columns.values() for c in column.checks] + list(schema.checks)
    if any(c.groupby is not None or c.raise_warning for c in checks):
        return False
    return True


def _checks_pass(df: pl.DataFrame, schema: pa.DataFrameSchema) -> bool:
    """Columns, types, nullability, column checks and dataframe checks, as pandera runs them, in one query."""
    present = df.schema
    if any(name not in present for name in schema.columns):
        return False  # column_in_dataframe
    if schema.strict and any(name not in schema.columns for name in present):
        return False  # column_in_schema
    lf = df.lazy()
    not_null = []
    for name, column in schema.columns.items():
        if not column.dtype.check(present[name], PolarsData(lf.select(name), name)):
            return False  # dtype
        if not column.nullable:  # pandera: null and NaN both fail not_nullable
            expr = pl.col(name).is_not_null()
            if present[name] in (pl.Float32, pl.Float64):
                expr = expr & pl.col(name).is_not_nan()
            not_null.append(expr.all().alias(f"not_nullable:{name}"))
    parts = [lf.select(not_null)] if not_null else []
    checks = [(name, c) for name, column in schema.columns.items() for c in column.checks]
    checks += [("*", c) for c in schema.checks]
    for i, (key, check) in enumerate(checks):
        output = _check_output(lf, key, check)
        if isinstance(output, bool):
            if not output:
                return False
            continue
        passes = pl.col(CHECK_OUTPUT_KEY)  # as pandera's postprocess_lazyframe_output
        passes = passes | passes.is_null() if check.ignore_na else passes.fill_null(False)
        parts.append(output.select(passes.all().alias(f"check{i}")))
    if not parts:
        return True
    return all(pl.concat(parts, how="horizontal").collect().row(0))


def _check_output(lf: pl.LazyFrame, key: str, check: pa.Check) -> pl.LazyFrame | bool:
    """The check's boolean output, from pandera's own check function and backend (as `Check.__call__`)."""
    builtin = getattr(check._check_fn, "__name__", None)
    if builtin is not None and check.is_builtin_check(builtin):
        check._check_fn = check.get_builtin_check_fn(builtin)
    backend = check.get_backend(lf)(check)
    return backend.apply(PolarsData(backend.preprocess(lf, key), key))


def _key_unique(df: pl.DataFrame, schema: pa.DataFrameSchema) -> bool:
    """No two rows share the row key. Equal keys hash alike, so as many distinct hashes as rows proves the key
    unique; fewer (a duplicate, or a 64-bit collision) leaves it to pandera."""
    if not schema.unique:
        return True
    subsets = [schema.unique] if all(isinstance(k, str) for k in schema.unique) else schema.unique
    for subset in subsets:
        if not subset or any(k not in df.schema or not isinstance(df.schema[k], _HASHABLE_KEY) for k in subset):
            return False
        if df.select(pl.struct(subset).hash()).to_series().n_unique() != df.height:
            return False
    return True
