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
          weekly: bool = False, key: dg.AssetKey | None = None, description: str | None = None,
          metadata: Mapping | None = None) -> dict:
    return {
        "key": key or tables.asset_key(model), "group_name": group,
        "description": description or tables.schema_of(model).description,
        "metadata": {**table_metadata(model, partitioned, weekly), **(metadata or {})}, "kinds": set(KINDS),
        "owners": [owner], "tags": {"domain": group},
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


def table_out(model: type[pa.DataFrameModel], *, group: str, owner: str, partitioned: bool = True,
              key: dg.AssetKey | None = None, description: str | None = None, metadata: Mapping | None = None,
              is_required: bool = True) -> dg.AssetOut:
    """One output of a multi-asset, specified like `table_asset`. `key`, `description`, `metadata`: for an asset
    that owns a slice of the table rather than the table (slices_asset)."""
    spec = _spec(model, group=group, owner=owner, partitioned=partitioned, key=key, description=description,
                 metadata=metadata)
    return dg.AssetOut(**spec, is_required=is_required)


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


SLICE = "slice"  # the metadata of an asset owning a slice of a shared table: its rows, as a SQL condition


def slices_asset(name: str, keys: Mapping[type[pa.DataFrameModel], dg.AssetKey], *, rows: str, group: str,
                 owner: str, descriptions: Mapping[type[pa.DataFrameModel], str], **kwargs):
    """@dg.multi_asset for a step that owns a slice (`rows`, a SQL condition such as "strategy = 'x'") of tables
    it shares with other steps: one asset per table (`keys`: model → asset key), each with the table's name,
    column schema, row key and blocking schema check as table_out gives them, plus the slice; the DuckDB pool.
    Unpartitioned: it reads every stored day. Subsettable (a selection may name one of its assets), but
    validated_slices writes every table's rows whatever the selection: they are one computation."""
    return dg.multi_asset(
        name=name, can_subset=True, pool=DUCKDB_POOL, backfill_policy=dg.BackfillPolicy.single_run(),
        outs={key.to_python_identifier(): table_out(model, group=group, owner=owner, partitioned=False, key=key,
                                                    description=descriptions[model], metadata={SLICE: rows},
                                                    is_required=False)
              for model, key in keys.items()},
        check_specs=[dg.AssetCheckSpec(
            SCHEMA_CHECK, asset=key, blocking=True,
            description=f"pandera validation of its rows of {tables.table_name(model)} before the write, with "
                        f"those of {', '.join(tables.table_name(m) for m in keys if m is not model)}: a failure in "
                        "any writes none of them") for model, key in keys.items()], **kwargs)


def validated_slices(context: dg.AssetExecutionContext, slices: TableSlices,
                     keys: Mapping[type[pa.DataFrameModel], dg.AssetKey], *,
                     metadata: Mapping[type[pa.DataFrameModel], Mapping] | None = None) -> Iterator:
    """Validate every table's rows; yield each table's schema check, then the outputs of the selected assets
    (each with `metadata[model]` and its row count): the first carries every table's rows, which the IO manager
    replaces in one transaction, the others None. On a failure nothing is written: the step fails naming the
    table, column and rows."""
    label = f"{slices.column}={','.join(slices.values)}"
    # The model orders the columns: a new table is created in that order.
    slices = TableSlices({model: frame.select(list(tables.schema_of(model).columns))
                          for model, frame in slices.frames.items()}, slices.column, slices.values)
    reports = {model: validate(frame, model, tables.table_name(model), label) for model, frame in slices.frames.items()}
    selected_checks = context.selected_asset_check_keys
    for model, report in reports.items():
        if dg.AssetCheckKey(keys[model], SCHEMA_CHECK) not in selected_checks:
            continue
        check_meta = {"rows": report.rows, "failures": report.failures.height}
        if not report.passed:
            check_meta["failure_cases"] = dg.MetadataValue.md(md_table(report.failures.head(20)))
        yield dg.AssetCheckResult(asset_key=keys[model], check_name=SCHEMA_CHECK, passed=report.passed,
                                  metadata=check_meta, severity=dg.AssetCheckSeverity.ERROR)
    failed = [r for r in reports.values() if not r.passed]
    if failed:
        message = "\n".join(r.message() for r in failed)
        context.log.error(message)
        raise dg.Failure(description=message, metadata={"failures": sum(r.failures.height for r in failed)},
                         allow_retries=False)
    context.log.info(f"{label}: " + ", ".join(f"{r.table} {r.rows:,} rows" for r in reports.values()))
    selected = [m for m in slices.frames if keys[m] in context.selected_asset_keys]
    unselected = [tables.table_name(m) for m in slices.frames if m not in selected]
    if unselected:
        context.log.info(f"{label}: its rows of {', '.join(unselected)} are replaced too (one transaction); their "
                         "assets were not selected, so this run records no materialization of them")
    for i, model in enumerate(selected):
        yield dg.Output(slices if i == 0 else None, output_name=keys[model].to_python_identifier(),
                        metadata={"dagster/row_count": reports[model].rows, **(metadata or {}).get(model, {})})
