"""What every table asset shares: its spec from the table model, the blocking schema check, validation before
the write, and each day's own metadata.

Metadata goes where it belongs: a day's figures on that day's materialization (`add_asset_metadata` per
partition), the range's totals on the run (the schema check's evaluation, one per run, and the run's log),
never the range's totals copied onto every day.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable, Iterator, Mapping

import dagster as dg
import pandera.polars as pa
import polars as pl

from sentiment_pipeline.platform import tables
from sentiment_pipeline.platform.io_manager import TableSlices
from sentiment_pipeline.platform.markdown import md_table
from sentiment_pipeline.platform.partitions import trading_day_partitions, trading_week_partitions
from sentiment_pipeline.platform.validation import validate

# Single-run backfill policies are what the pipeline relies on (docs/dagster.md); the beta notice is noise.
warnings.filterwarnings("ignore", category=dg.BetaWarning, message=".*backfill_policy.*")

SCHEMA_CHECK = "schema_valid"
DAY_COLUMN, WEEK_COLUMN = "trade_date", "week_start"  # what a daily / weekly partition's rows are keyed by
DUCKDB_POOL = "duckdb"
KINDS = {"duckdb", "polars"}

DayMetadata = Callable[[pl.DataFrame], Mapping[dt.date, Mapping[str, object]]]


def table_metadata(model: type[pa.DataFrameModel], partitioned: bool, weekly: bool = False) -> dict:
    meta = {"dagster/column_schema": dg.MetadataValue.table_schema(tables.column_schema(model)),
            "dagster/table_name": tables.table_name(model),
            "row_key": ", ".join(tables.row_key(model))}
    if partitioned:
        meta["partition_expr"] = WEEK_COLUMN if weekly else DAY_COLUMN
    return meta


def schema_check(model: type[pa.DataFrameModel]) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        SCHEMA_CHECK, asset=tables.asset_key(model), blocking=True,
        description=f"pandera validation of {tables.table_name(model)} before the write: a failure writes nothing "
                    "for the run's partitions and stops everything downstream")


def _spec(model: type[pa.DataFrameModel], *, group: str, owner: str, partitioned: bool,
          weekly: bool = False) -> dict:
    return {
        "key": tables.asset_key(model), "group_name": group, "description": tables.schema_of(model).description,
        "metadata": table_metadata(model, partitioned, weekly), "kinds": set(KINDS), "owners": [owner],
        "tags": {"domain": group},
    }


def table_asset(model: type[pa.DataFrameModel], *, group: str, owner: str, partitioned: bool = True,
                weekly: bool = False, check_specs: list[dg.AssetCheckSpec] = (), **kwargs):
    """@dg.asset for the table `model` defines: key, description, column schema, kinds, owner, the schema
    check, the DuckDB pool, daily (or `weekly`) partitions and the single-run backfill policy (unpartitioned
    assets get the policy too, so that `--partition-range` runs can select the whole graph)."""
    partitions = trading_week_partitions if weekly else trading_day_partitions
    return dg.asset(
        **_spec(model, group=group, owner=owner, partitioned=partitioned, weekly=weekly),
        check_specs=[schema_check(model), *check_specs], pool=DUCKDB_POOL,
        backfill_policy=dg.BackfillPolicy.single_run(),
        **({"partitions_def": partitions} if partitioned else {}), **kwargs)


def table_out(model: type[pa.DataFrameModel], *, group: str, owner: str, partitioned: bool = True) -> dg.AssetOut:
    """One output of a multi-asset, specified like `table_asset`."""
    spec = _spec(model, group=group, owner=owner, partitioned=partitioned)
    return dg.AssetOut(**spec)


def output_name(model: type[pa.DataFrameModel]) -> str:
    return tables.asset_key(model).to_python_identifier()


def is_partitioned(context: dg.AssetExecutionContext) -> bool:
    # A `--partition-range` run also gives unpartitioned assets a key range: ask the definition.
    return context.assets_def.partitions_def is not None


def range_label(context: dg.AssetExecutionContext) -> str:
    if not is_partitioned(context):
        return "(unpartitioned)"
    r = context.partition_key_range
    return r.start if r.start == r.end else f"{r.start}...{r.end}"


def partition_column(context: dg.AssetExecutionContext) -> str:
    return WEEK_COLUMN if context.assets_def.partitions_def == trading_week_partitions else DAY_COLUMN


def range_totals(df: pl.DataFrame, column: str = DAY_COLUMN) -> dict:
    """The run's totals: rows, days (or weeks) and the first and last."""
    if column not in df.columns or df.is_empty():
        return {"rows": df.height}
    days = df[column]
    unit = "weeks" if column == WEEK_COLUMN else "days"
    return {"rows": df.height, unit: days.n_unique(), "first_day": str(days.min()), "last_day": str(days.max())}


def validated(context: dg.AssetExecutionContext, df: pl.DataFrame, model: type[pa.DataFrameModel], *,
              day_metadata: DayMetadata | None = None, run_metadata: Mapping | None = None,
              multi_output: bool = False, stored: pl.DataFrame | None = None) -> Iterator:
    """Yield the schema check, then either the output (with each day's metadata) or a failure naming table,
    column, partition and rows. `run_metadata` (the run's own figures) goes on the check with the totals.
    `stored` (an unpartitioned table's stored rows): when the frame holds the same rows, nothing is written
    (and nothing published) and the materialization carries an unchanged data version."""
    table = tables.table_name(model)
    key = tables.asset_key(model)
    # The model orders the columns: a new table is created in that order.
    df = df.select([c for c in tables.schema_of(model).columns if c in df.columns],
                   *[c for c in df.columns if c not in tables.schema_of(model).columns])
    report = validate(df, model, table, range_label(context))
    column = partition_column(context) if is_partitioned(context) else DAY_COLUMN
    totals = range_totals(df, column)
    check_meta = {**totals, "failures": report.failures.height, **(run_metadata or {})}
    if not report.passed:
        check_meta["failure_cases"] = dg.MetadataValue.md(md_table(report.failures.head(20)))
    yield dg.AssetCheckResult(asset_key=key, check_name=SCHEMA_CHECK, passed=report.passed, metadata=check_meta,
                              severity=dg.AssetCheckSeverity.ERROR)
    if not report.passed:
        context.log.error(report.message())
        raise dg.Failure(description=report.message(), metadata={"failures": report.failures.height},
                        allow_retries=False)  # the same input fails the same way
    context.log.info(f"{table}: {_describe(totals)}" if is_partitioned(context)
                     else f"{table}: {totals['rows']:,} rows (whole table)")
    name = output_name(model) if multi_output else "result"
    if is_partitioned(context):
        _add_day_metadata(context, key, df, day_metadata, column)
        yield dg.Output(df, output_name=name)
        return
    unchanged = stored is not None and same_rows(df, stored)
    with warnings.catch_warnings():  # data versions are beta; what they say here is plain: the rows did not change
        warnings.simplefilter("ignore", dg.BetaWarning)
        output = dg.Output(None if unchanged else df, output_name=name, data_version=dg.DataVersion(content_hash(df)),
                           metadata={"dagster/row_count": df.height, "written": not unchanged})
    yield output


def same_rows(a: pl.DataFrame, b: pl.DataFrame) -> bool:
    """The same columns and the same rows, in any order."""
    if set(a.columns) != set(b.columns) or a.height != b.height:
        return False
    b = b.select(a.columns)
    try:
        return a.sort(a.columns, nulls_last=True).equals(b.cast(a.schema).sort(a.columns, nulls_last=True))
    except pl.exceptions.PolarsError:
        return False


def content_hash(df: pl.DataFrame) -> str:
    """A fingerprint of the rows, whatever their order (Polars' row hash: stable within a Polars version)."""
    return f"{df.height}-{df.hash_rows(seed=7).sum() if df.height else 0:x}"


def _describe(totals: Mapping) -> str:
    text = f"{totals['rows']:,} rows"
    if totals.get("days"):
        text += f" over {totals['days']} day(s), {totals['first_day']} → {totals['last_day']}"
    if totals.get("weeks"):
        text += f" over {totals['weeks']} week(s), {totals['first_day']} → {totals['last_day']}"
    return text


def _add_day_metadata(context: dg.AssetExecutionContext, key: dg.AssetKey, df: pl.DataFrame,
                      day_metadata: DayMetadata | None, column: str = DAY_COLUMN) -> None:
    counts = dict(df.group_by(column).len().iter_rows()) if df.height else {}
    extra = day_metadata(df) if day_metadata and df.height else {}
    per_partition = {}
    for partition in context.partition_keys:
        day = dt.date.fromisoformat(partition)
        per_partition[partition] = {"dagster/row_count": counts.get(day, 0), **extra.get(day, {})}
    add_partitions_metadata(context, key, per_partition)


def add_partitions_metadata(context: dg.AssetExecutionContext, key: dg.AssetKey,
                            per_partition: Mapping[str, Mapping]) -> None:
    """Each partition's own metadata, in one step. `context.add_asset_metadata(..., partition_key=...)` copies
    the whole accumulator on every call (1.2 s for 1,700 days of one asset); this merges once. Falls back to
    the public call if Dagster's internals move."""
    try:
        from dagster._core.execution.context.metadata_logging import AssetMetadataHandle, OutputMetadataAccumulator

        step = context.op_execution_context._step_execution_context  # noqa: SLF001
        current = dict(step._metadata_accumulator.per_output_metadata)  # noqa: SLF001
        for partition, metadata in per_partition.items():
            handle = AssetMetadataHandle(asset_key=key, partition_key=partition)
            current[handle] = {**current.get(handle, {}), **metadata}
        merged = OutputMetadataAccumulator(per_output_metadata=current)
    except (ImportError, AttributeError, TypeError):
        for partition, metadata in per_partition.items():
            context.add_asset_metadata(metadata, asset_key=key, partition_key=partition)
        return
    step._metadata_accumulator = merged  # noqa: SLF001


def slices_asset(key: dg.AssetKey, models: list[type[pa.DataFrameModel]], *, column: str, group: str, owner: str,
                 description: str, **kwargs):
    """@dg.asset for an asset that owns a slice (`column` = its name) of tables it shares with others: kinds,
    owner, the tables it writes, the blocking schema check over all of them, the DuckDB pool. Unpartitioned:
    it reads every stored day."""
    return dg.asset(
        key=key, group_name=group, description=description, kinds=set(KINDS), owners=[owner],
        tags={"domain": group}, pool=DUCKDB_POOL, backfill_policy=dg.BackfillPolicy.single_run(),
        metadata={"writes": ", ".join(tables.table_name(m) for m in models), "row_key": column},
        check_specs=[dg.AssetCheckSpec(
            SCHEMA_CHECK, asset=key, blocking=True,
            description=f"pandera validation of its rows of {', '.join(tables.table_name(m) for m in models)} "
                        "before the write: a failure writes none of them")], **kwargs)


def validated_slices(context: dg.AssetExecutionContext, slices: TableSlices, *,
                     metadata: Mapping | None = None) -> Iterator:
    """Validate every table's rows; yield the check, then the output with `metadata`, or fail naming the
    table, column and rows (nothing is written)."""
    label = f"{slices.column}={','.join(slices.values)}"
    # The model orders the columns: a new table is created in that order.
    slices = TableSlices({model: frame.select(list(tables.schema_of(model).columns))
                          for model, frame in slices.frames.items()}, slices.column, slices.values)
    reports = [validate(frame, model, tables.table_name(model), label) for model, frame in slices.frames.items()]
    failed = [r for r in reports if not r.passed]
    rows = {r.table: r.rows for r in reports}
    check_meta = {"rows": dg.MetadataValue.json(rows), "failures": sum(r.failures.height for r in reports)}
    yield dg.AssetCheckResult(asset_key=context.asset_key, check_name=SCHEMA_CHECK, passed=not failed,
                              metadata=check_meta, severity=dg.AssetCheckSeverity.ERROR)
    if failed:
        message = "\n".join(r.message() for r in failed)
        context.log.error(message)
        raise dg.Failure(description=message, metadata={"failures": check_meta["failures"]}, allow_retries=False)
    context.log.info(f"{label}: " + ", ".join(f"{t} {n:,} rows" for t, n in rows.items()))
    yield dg.Output(slices, metadata={**{f"rows {t}": n for t, n in rows.items()}, **(metadata or {})})
