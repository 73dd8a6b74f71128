"""Daily operations: the schedules and sensors on the UI's Automation page, the freshness policy of the daily
tables and the snapshot-publishing job. (Steps that reach the network retry in market/assets.py.)

The chain of a trading day (Asia/Shanghai):
- 16:00 `daily_close` runs `daily_run` for the day just closed; a weekend or holiday is skipped with its reason;
- when that run succeeds on the week's last trading day, `weekly_after_last_trading_day` runs `weekly` for the
  week, and when that succeeds `history_after_weekly` runs `whole_history` (research tables, backtests);
- 09:00 the next trading day `margin_next_morning` refreshes the previous day's margin balance (published
  after the evening run) and its downstream; after the week's last day, the weekly review again;
- after any of these runs succeeds, `publish_after_runs` runs `publish_snapshot` (platform/snapshot.py);
- 18:00 every day the `trading_day_freshness` sensor records each daily table's asset check `trading_day_fresh`:
  late when the last closed trading day's partition is missing (platform/freshness.py); a weekend or holiday is
  never late. The sensor records a verdict again as soon as it changes (a late day arrives).
"""

# No `from __future__ import annotations`: Dagster reads the op's context and resource annotations at runtime.

import datetime as dt
import json
from zoneinfo import ZoneInfo

import dagster as dg
from dagster_duckdb import DuckDBResource

from sentiment_pipeline.platform import calendar, freshness
from sentiment_pipeline.platform.partitions import TIMEZONE, trading_day_partitions, trading_week_partitions
from sentiment_pipeline.platform.snapshot import publish
from sentiment_pipeline.platform.wiring import DUCKDB_POOL

SHANGHAI = ZoneInfo(TIMEZONE)
CLOSE_RUN_CRON = "0 16 * * *"  # every day: a weekend or holiday is skipped with its reason, visible on the tick
MARGIN_RUN_CRON = "0 9 * * *"
PUBLISH_JOB_NAME = "publish_snapshot"
MARGIN_JOB_NAME = "margin_refresh"
LAUNCHED_BY = "sentiment/launched_by"  # "cli": the CLI publishes the snapshot itself after its last run
MARGIN = dg.AssetKey(["raw", "margin_balance"])
# The weekly review reads the margin balance when it is stored (not a declared input: a source without margin
# still gets its review), so the margin refresh names it here.
MARGIN_READERS = (dg.AssetKey(["review", "weekly"]),)
FRESHNESS_SENSOR_NAME = "trading_day_freshness"
FRESHNESS_CHECKS_NAME = "trading_day_fresh_checks"


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


# Freshness on the exchange calendar (platform/freshness.py). No FreshnessPolicy: Dagster's looks at when an asset
# was last written, not at which partitions exist (a backfill of 2019 made a table "fresh"), and its cron has no
# exchange calendar (a weekday holiday made every daily table late).

class _CheckResultsIOManager(dg.IOManager):
    """Stores nothing: a check's result is its evaluation event. The checks' outputs name this manager so that a
    run of the checks alone never sets up the DuckDB IO manager, which takes the database's writer lock (and would
    wait for a running backfill)."""

    def handle_output(self, context: dg.OutputContext, obj) -> None:
        pass

    def load_input(self, context: dg.InputContext):
        raise NotImplementedError("freshness check results are not inputs")


CHECK_RESULTS_IO_MANAGER = "freshness_check_results"


@dg.io_manager(description="Stores nothing: a freshness check's result is its evaluation event.")
def check_results_io_manager() -> _CheckResultsIOManager:
    return _CheckResultsIOManager()


def trading_day_freshness_checks(keys: list[dg.AssetKey]) -> dg.AssetChecksDefinition:
    """The check `trading_day_fresh` of each daily table, evaluated now: on demand (the asset's Checks tab →
    Execute) and at the end of the UI's and the daemon's runs that write the table. The op of
    `@multi_asset_check`, except that its outputs use their own IO manager (see `_CheckResultsIOManager`)."""
    specs = [dg.AssetCheckSpec(
        freshness.CHECK_NAME, asset=key, blocking=False,
        description="Late when the last closed trading day's partition is missing from this instance: after 18:00 "
                    "Asia/Shanghai on a trading day that day, before it the previous trading day; weekends and "
                    "exchange holidays are never late. Recorded by the trading_day_freshness sensor at 18:00 every "
                    "day and whenever the verdict changes.") for key in keys]
    specs = {spec.get_python_identifier(): spec for spec in specs}
    deps = {key.to_python_identifier(): key for key in keys}  # ordering only: nothing is loaded

    @dg.op(name=FRESHNESS_CHECKS_NAME,
           description="Each daily table holds the partition of the last closed trading day (18:00 Asia/Shanghai).",
           ins={name: dg.In(dg.Nothing, input_manager_key=CHECK_RESULTS_IO_MANAGER) for name in deps},
           out={name: dg.Out(io_manager_key=CHECK_RESULTS_IO_MANAGER, is_required=False) for name in specs})
    def trading_day_fresh_checks(context: dg.OpExecutionContext):
        at = freshness.now()
        for check_key in sorted(context.selected_asset_check_keys, key=lambda k: k.asset_key.to_user_string()):
            yield freshness.evaluate(context.instance, check_key.asset_key, at).check_result()

    return dg.AssetChecksDefinition.create(
        keys_by_input_name=deps, node_def=trading_day_fresh_checks, check_specs_by_output_name=specs,
        can_subset=True, resource_defs={CHECK_RESULTS_IO_MANAGER: check_results_io_manager})


def trading_day_freshness_sensor(keys: list[dg.AssetKey], minimum_interval_seconds: int = 60) -> dg.SensorDefinition:
    """Records `trading_day_fresh` of every daily table without a run: at the first tick after 18:00 every day
    (weekends and holidays too: a passing record) and whenever a table's verdict changes. The cursor holds the
    day of the last 18:00 recorded and each table's verdict."""

    @dg.sensor(name=FRESHNESS_SENSOR_NAME, minimum_interval_seconds=minimum_interval_seconds,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="18:00 Asia/Shanghai every day, and whenever a verdict changes: records each daily "
                           "table's check trading_day_fresh (the last closed trading day's partition is "
                           "materialized).")
    def trading_day_freshness(context: dg.SensorEvaluationContext):
        at = freshness.now()
        verdicts = [freshness.evaluate(context.instance, key, at) for key in keys]
        state = json.loads(context.cursor) if context.cursor else {}
        recorded = state.get("verdicts", {})
        closed = freshness.closed_through(at).isoformat()
        due = state.get("closed_through") != closed  # the first tick after a day's 18:00
        changed = [v for v in verdicts if due or recorded.get(v.asset_key.to_user_string()) != v.signature]
        late = [v for v in verdicts if not v.passed]
        expected = freshness.expected_partition(at)
        names = [v.asset_key.to_user_string() for v in late]
        summary = (f"{len(verdicts) - len(late)} of {len(verdicts)} daily tables hold {expected or 'no partition'}"
                   + (f"; late: {', '.join(names[:3])}{f' and {len(names) - 3} more' if len(names) > 3 else ''}"
                      if late else ""))
        cursor = json.dumps({"closed_through": closed,
                             "verdicts": {v.asset_key.to_user_string(): v.signature for v in verdicts}})
        if not changed:
            return dg.SensorResult(skip_reason=f"no change: {summary}", cursor=cursor)
        return dg.SensorResult(asset_events=[v.evaluation() for v in changed], cursor=cursor,
                               skip_reason=f"recorded {len(changed)} verdict(s): {summary}")

    return trading_day_freshness


def with_trading_day_freshness(defs: dg.Definitions) -> dg.Definitions:
    """The code location: the pipeline's definitions plus the freshness check of each daily table and its
    sensor. The main command builds the pipeline's definitions without them, so its runs (and the steps and
    checks the pipeline's tests count) are unchanged; the sensor records the days such a run adds within a
    minute. In the code location the jobs that write a daily table (daily_run, backfill, margin_refresh) also
    evaluate its check at their end, as Dagster adds a selected asset's checks to a job."""
    keys = sorted(daily_assets(list(defs.assets or [])), key=lambda k: k.to_user_string())
    return dg.Definitions.merge(defs, dg.Definitions(asset_checks=[trading_day_freshness_checks(keys)],
                                                     sensors=[trading_day_freshness_sensor(keys)]))
