"""The code location: assembles the domains' assets, the resources, the job and the executor. Environment
variables choose the source and the database (platform/resources.py)."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from sentiment_pipeline import automation
from sentiment_pipeline.catalog import ASSETS, TABLES
from sentiment_pipeline.platform import changes, snapshot
from sentiment_pipeline.platform.io_manager import SentimentDuckDBIOManager
from sentiment_pipeline.platform.partitions import trading_week_partitions
from sentiment_pipeline.platform.resources import check_database_name, database_path, source_from_env
from sentiment_pipeline.platform.tables import table_name
from sentiment_pipeline.sources.base import MarketSource

JOB_NAME = "backfill"  # the daily assets over a range (the CLI's runs, UI backfills)
DAILY_JOB_NAME = "daily_run"  # the same assets for the day just closed (the 16:00 schedule)
HISTORY_JOB_NAME = "whole_history"
WEEKLY_JOB_NAME = "weekly"
log = logging.getLogger("sentiment_pipeline")


def feedable(assets: list, source: MarketSource) -> tuple[list, dict[str, str]]:
    """The assets the source can feed, and for each one left out, why: a raw dataset the source lacks, or an
    input that comes from one."""
    children: dict[dg.AssetKey, set[dg.AssetKey]] = {}
    for asset in assets:
        for key, deps in asset.asset_deps.items():
            for dep in deps:
                children.setdefault(dep, set()).add(key)
    siblings = {key: set(asset.keys) for asset in assets for key in asset.keys}  # a multi-asset goes whole
    left_out: dict[str, str] = {}
    for dataset in source.missing_datasets():
        reason = f"source {source.source_name()!r} does not provide {dataset}"
        todo = [dg.AssetKey(["raw", dataset])]
        while todo:
            key = todo.pop()
            if key.to_user_string() not in left_out:
                left_out[key.to_user_string()] = reason
                todo.extend(children.get(key, ()))
                todo.extend(siblings.get(key, ()))
    kept = [a for a in assets if not {k.to_user_string() for k in a.keys} & left_out.keys()]
    return kept, dict(sorted(left_out.items()))


def whole_history_keys(assets: list) -> list[dg.AssetKey]:
    """Unpartitioned assets fed by partitioned ones (research tables, backtests): they read every stored day,
    whatever a run's range, so they run once after the daily and weekly ranges."""
    partitioned = {k for a in assets if a.partitions_def is not None for k in a.keys}
    return [k for a in assets if a.partitions_def is None for k in a.keys
            if any(dep in partitioned for dep in a.asset_deps[k])]


def schemas() -> set[str]:
    """Every schema the live database and the snapshot hold."""
    return {table_name(m).split(".")[0] for m in TABLES} | snapshot.INTERNAL_SCHEMAS | {changes.SCHEMA}


def build_definitions(loggers: dict | None = None) -> dg.Definitions:
    from sentiment_pipeline.cli import command_loggers

    db = database_path()
    check_database_name(db, schemas())
    check_database_name(str(snapshot.snapshot_path()), schemas(), "the snapshot (SENTIMENT_SNAPSHOT_PATH)")
    Path(db).parent.mkdir(parents=True, exist_ok=True)
    source = source_from_env()
    assets, left_out = feedable(ASSETS, source)
    for key, reason in left_out.items():
        log.info(f"{key} left out: {reason}")
    description = "Every asset the configured source can feed; a partition range runs as one run."
    if left_out:
        description += " Left out: " + "; ".join(f"{k} ({r})" for k, r in left_out.items()) + "."
    # A job runs one partitions definition: the weekly assets have theirs, and the whole-history assets (they
    # read the weekly tables too) run after both.
    weekly_keys = [k for a in assets if a.partitions_def == trading_week_partitions for k in a.keys]
    history_keys = whole_history_keys(assets)
    job = dg.define_asset_job(
        JOB_NAME, description=description,
        selection=dg.AssetSelection.all() - dg.AssetSelection.assets(*weekly_keys, *history_keys))
    daily = dg.define_asset_job(
        DAILY_JOB_NAME, description="The daily assets for one trading day: the 16:00 schedule's run.",
        selection=dg.AssetSelection.all() - dg.AssetSelection.assets(*weekly_keys, *history_keys))
    weekly = dg.define_asset_job(
        WEEKLY_JOB_NAME, selection=dg.AssetSelection.assets(*weekly_keys),
        description="The weekly assets (trading weeks keyed by their Monday); a range of weeks is one run.")
    # One process, steps in order: they read the same whole tables, which the IO manager reads once per run
    # (a process per step paid ~3 s of start-up and its own reads, ~50 s over the nine backtests of the time).
    history = dg.define_asset_job(
        HISTORY_JOB_NAME, selection=dg.AssetSelection.assets(*history_keys),
        description="The whole-history assets (research tables, backtests), in one process; each table they read "
                    "is read once per run.")
    jobs = {j.name: j for j in (daily, job, weekly, history, automation.publish_snapshot_job)}
    if automation.MARGIN in {k for a in assets for k in a.keys}:
        jobs[automation.MARGIN_JOB_NAME] = dg.define_asset_job(
            automation.MARGIN_JOB_NAME,
            selection=(dg.AssetSelection.assets(automation.MARGIN).downstream()
                       & dg.AssetSelection.assets(*automation.daily_assets(assets))),
            description="The margin balance of a day (published the next morning) and the daily tables it feeds.")
    schedules, sensors = automation.build_automation(jobs, weekly_keys)
    with warnings.catch_warnings():  # code references are beta; the UI's link to each asset's source
        warnings.simplefilter("ignore", dg.BetaWarning)
        assets = dg.with_source_code_references(assets)
    defs = dg.Definitions(
        assets=assets,
        jobs=list(jobs.values()), schedules=schedules, sensors=sensors,
        resources={
            "market_source": source,
            "io_manager": SentimentDuckDBIOManager(database=db),
            "duckdb": DuckDBResource(database=db),
        },
        # Steps share one DuckDB writer anyway; in-process avoids a process start per step.
        executor=dg.in_process_executor,
        # Every job has the main command's loggers, so its runs are runs of these jobs (cli.py) and the UI can
        # re-execute them with their run config; a run uses only the loggers its config names.
        loggers=command_loggers() if loggers is None else loggers,
        metadata={"left_out": dg.MetadataValue.json(left_out)} if left_out else {},
    )
    # Raw assets also carry the kind of the source that fed them.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return defs.map_resolved_asset_specs(
            func=lambda spec: spec.merge_attributes(kinds={source.source_name()}),
            selection=dg.AssetSelection.groups("raw"))


@dg.definitions
def defs() -> dg.Definitions:
    """The code location (dagster dev, `dagster asset materialize -m sentiment_pipeline.definitions`), built when
    Dagster loads it, not when the module is imported: the pipeline plus each daily table's freshness check on the
    exchange calendar and its sensor (automation.py)."""
    return automation.with_trading_day_freshness(build_definitions())
