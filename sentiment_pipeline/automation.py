"""Daily operations: the schedules and sensors on the UI's Automation page, the freshness policy of the daily
tables and the snapshot-publishing job. (Steps that reach the network retry in market/assets.py.)

The chain of a trading day (Asia/Shanghai):
- 16:00 `daily_close` runs `daily_run` for the day just closed; a weekend or holiday is skipped with its reason;
- when that run succeeds on the week's last trading day, `weekly_after_last_trading_day` runs `weekly` for the
  week, and when that succeeds `history_after_weekly` runs `whole_history` (research tables, backtests);
- 09:00 the next trading day `margin_next_morning` refreshes the previous day's margin balance (published
  after the evening run) and its downstream; after the week's last day, the weekly review again;
- after any of these runs succeeds, `publish_after_runs` runs `publish_snapshot` (platform/snapshot.py);
- 18:00 every weekday the freshness policy expects the daily tables to have been written since 16:00.
"""

# No `from __future__ import annotations`: Dagster reads the op's context and resource annotations at runtime.

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg
from dagster_duckdb import DuckDBResource

from sentiment_pipeline.platform import calendar
from sentiment_pipeline.platform.partitions import TIMEZONE, trading_day_partitions, trading_week_partitions
from sentiment_pipeline.platform.snapshot import publish
from sentiment_pipeline.platform.wiring import DUCKDB_POOL

SHANGHAI = ZoneInfo(TIMEZONE)
CLOSE_RUN_CRON = "0 16 * * *"  # every day: a weekend or holiday is skipped with its reason, visible on the tick
MARGIN_RUN_CRON = "0 9 * * *"
FRESHNESS_DEADLINE_CRON = "0 18 * * 1-5"
PUBLISH_JOB_NAME = "publish_snapshot"
MARGIN_JOB_NAME = "margin_refresh"
LAUNCHED_BY = "sentiment/launched_by"  # "cli": the CLI publishes the snapshot itself after its last run
MARGIN = dg.AssetKey(["raw", "margin_balance"])
# The weekly review reads the margin balance when it is stored (not a declared input: a source without margin
# still gets its review), so the margin refresh names it here.
MARGIN_READERS = (dg.AssetKey(["review", "weekly"]),)

# Daily tables: the day's partition is expected by 18:00 (the 16:00 run plus two hours). A cron has no exchange
# calendar: on a weekday holiday the tables show as late until the next trading day's run.
DAILY_FRESHNESS = dg.FreshnessPolicy.cron(deadline_cron=FRESHNESS_DEADLINE_CRON, lower_bound_delta=dt.timedelta(hours=2),
                                          timezone=TIMEZONE)


def why_no_run(day: dt.date) -> str | None:
    """Why `day` has no daily run (a weekend, an exchange holiday, past the calendar), or None."""
    if day.weekday() >= 5:
        return f"{day} is a {day:%A}: no trading"
    if day > calendar.calendar_end():
        return (f"{day} is past the trading calendar's last day {calendar.calendar_end()} "
                "(update akshare, whose bundled calendar.json it is)")
    if day not in set(calendar.trading_days()):
        return f"{day} is an exchange holiday: no trading"
    return None


def previous_trading_day(day: dt.date) -> dt.date:
    return max(d for d in calendar.trading_days() if d < day)


def is_last_trading_day_of_week(day: dt.date) -> bool:
    return calendar.last_trading_day_of_week(day) == day


def week_of(day: dt.date) -> str:
    return (day - dt.timedelta(days=day.weekday())).isoformat()


def _local_day(context: dg.ScheduleEvaluationContext) -> dt.date:
    return context.scheduled_execution_time.astimezone(SHANGHAI).date()


@dg.schedule(cron_schedule=CLOSE_RUN_CRON, execution_timezone=TIMEZONE, job_name="daily_run",
             default_status=dg.DefaultScheduleStatus.RUNNING,
             description="16:00 Asia/Shanghai: the daily assets for the day just closed; weekends and exchange "
                         "holidays are skipped with the reason.")
def daily_close(context: dg.ScheduleEvaluationContext):
    day = _local_day(context)
    reason = why_no_run(day)
    if reason:
        return dg.SkipReason(reason)
    return dg.RunRequest(run_key=f"daily_run:{day}", partition_key=day.isoformat(),
                         tags={LAUNCHED_BY: "schedule"})


@dg.schedule(cron_schedule=MARGIN_RUN_CRON, execution_timezone=TIMEZONE, job_name=MARGIN_JOB_NAME,
             default_status=dg.DefaultScheduleStatus.RUNNING,
             description="09:00 Asia/Shanghai on trading days: the previous trading day's margin balance, which "
                         "upstream publishes after the 16:00 run, and what reads it.")
def margin_next_morning(context: dg.ScheduleEvaluationContext):
    day = _local_day(context)
    reason = why_no_run(day)
    if reason:
        return dg.SkipReason(f"{reason}; the margin refresh runs on the next trading morning")
    previous = previous_trading_day(day)
    return dg.RunRequest(run_key=f"{MARGIN_JOB_NAME}:{previous}", partition_key=previous.isoformat(),
                         tags={LAUNCHED_BY: "schedule"})


def _run_day(run: dg.DagsterRun) -> dt.date | None:
    key = run.tags.get("dagster/partition")
    return dt.date.fromisoformat(key) if key else None


def build_automation(jobs: dict[str, object], weekly_keys: list[dg.AssetKey]) -> tuple[list, list]:
    """The schedules and sensors over the named jobs (definitions.py builds the jobs from the source's
    assets). Returns (schedules, sensors)."""

    @dg.run_status_sensor(
        run_status=dg.DagsterRunStatus.SUCCESS, name="weekly_after_last_trading_day",
        monitored_jobs=[jobs[name] for name in ("daily_run", MARGIN_JOB_NAME) if name in jobs],
        request_job=jobs["weekly"],
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="After the daily run of a week's last trading day: the weekly assets of that week. After "
                    "the margin refresh of that day: the weekly review again.")
    def weekly_after_last_trading_day(context: dg.RunStatusSensorContext):
        run = context.dagster_run
        day = _run_day(run)
        if day is None:
            return dg.SkipReason(f"run {run.run_id[:8]} has no single-day partition")
        if not is_last_trading_day_of_week(day):
            return dg.SkipReason(f"{day} is not its week's last trading day")
        week = week_of(day)
        if run.job_name == MARGIN_JOB_NAME:
            readers = [k for k in MARGIN_READERS if k in weekly_keys]
            if not readers:
                return dg.SkipReason("no weekly asset of this source reads the margin balance")
            return dg.RunRequest(run_key=f"weekly:{week}:{run.run_id}", partition_key=week,
                                 asset_selection=readers, tags={LAUNCHED_BY: "sensor"})
        return dg.RunRequest(run_key=f"weekly:{week}:{run.run_id}", partition_key=week,
                             tags={LAUNCHED_BY: "sensor"})

    @dg.run_status_sensor(
        run_status=dg.DagsterRunStatus.SUCCESS, name="history_after_weekly",
        monitored_jobs=[jobs["weekly"]], request_job=jobs["whole_history"],
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="After a weekly run: the whole-history assets (research tables, backtests), which read every "
                    "stored day and need not run after every day.")
    def history_after_weekly(context: dg.RunStatusSensorContext):
        run = context.dagster_run
        if run.tags.get(LAUNCHED_BY) == "cli":
            return dg.SkipReason("the CLI runs the whole-history assets itself")
        return dg.RunRequest(run_key=f"whole_history:{run.run_id}", tags={LAUNCHED_BY: "sensor"})

    writers = [jobs[name] for name in ("daily_run", "backfill", MARGIN_JOB_NAME, "weekly", "whole_history")
               if name in jobs]

    @dg.run_status_sensor(
        run_status=dg.DagsterRunStatus.SUCCESS, name="publish_after_runs", monitored_jobs=writers,
        request_job=jobs[PUBLISH_JOB_NAME], default_status=dg.DefaultSensorStatus.RUNNING,
        description="After a run that wrote the database: publish the read-only snapshot consumers query.")
    def publish_after_runs(context: dg.RunStatusSensorContext):
        run = context.dagster_run
        if run.tags.get(LAUNCHED_BY) == "cli":
            return dg.SkipReason("the CLI publishes the snapshot itself after its last run")
        return dg.RunRequest(run_key=f"publish:{run.run_id}", tags={LAUNCHED_BY: "sensor"})

    schedules = [daily_close, margin_next_morning] if MARGIN_JOB_NAME in jobs else [daily_close]
    return schedules, [weekly_after_last_trading_day, history_after_weekly, publish_after_runs]


@dg.op(pool=DUCKDB_POOL, out=dg.Out(dg.Nothing),
       description="Export what the runs since the last publish wrote (months, strategies, small tables) as Parquet "
                   "and swap in a new snapshot catalog (skipped when nothing was written).")
def publish_database_snapshot(context: dg.OpExecutionContext, duckdb: DuckDBResource):
    result = publish(duckdb.database, on_wait=context.log.warning)
    context.log.info(result.describe())
    for note in result.notes:
        context.log.warning(note)
    # A Nothing output: no IO manager (the DuckDB one would take the writer lock this op needs).
    yield dg.Output(None, metadata={
        "snapshot": dg.MetadataValue.path(result.snapshot), "published": result.published,
        "version": result.version, "seconds": round(result.seconds, 2), "tables": result.tables,
        "tables_exported": len(result.tables_exported), "files_written": result.files_written,
        "rows_written": result.rows_written, "mb_written": round(result.bytes_written / 1e6, 2),
        "retired_files_deleted": result.files_deleted, "waited_for_writer_s": round(result.waited_for_writer, 1)})


@dg.job(name=PUBLISH_JOB_NAME, description="Publish the read-only snapshot beside the database "
                                            "(`from sentiment_pipeline import connect`).")
def publish_snapshot_job():
    publish_database_snapshot()


def daily_assets(assets: list) -> list[dg.AssetKey]:
    return [k for a in assets if a.partitions_def == trading_day_partitions for k in a.keys]


def weekly_assets(assets: list) -> list[dg.AssetKey]:
    return [k for a in assets if a.partitions_def == trading_week_partitions for k in a.keys]
