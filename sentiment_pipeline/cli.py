"""The main command: materialize the graph over a range in the project's Dagster instance, print one line per
asset as it finishes, and end with a summary of what was written.

    python -m sentiment_pipeline.cli [RANGE] [--select SELECTION] [--days-per-run N] [--history | --no-history]
                                     [--replace-with-empty] [--verbose]

RANGE is `START...END` (trading days, default 2019-01-02...2019-06-28) or a single day. The days run as the job
`backfill`, then the trading weeks they touch as the job `weekly`, then (for a range, or a day that ends its
trading week, as the schedule does; `--history` / `--no-history` decide otherwise) the whole-history assets
(research tables, backtests) as the job `whole_history`. Every run is recorded in the instance ($DAGSTER_HOME),
so the UI shows it with every day's partition status; `--verbose` also prints Dagster's own log (it is always
kept in the instance). Runs of this command whose process died (killed) are marked failed before it starts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import socket
import sys
import time
import warnings
from contextlib import closing
from pathlib import Path

import dagster as dg
import duckdb

DEFAULT_RANGE = "2019-01-02...2019-06-28"
DAYS_PER_RUN = 490  # about two years of trading days: a 2019→2025 backfill in 4 runs peaks at 2.5 GiB
PROGRESS_LOGGER = "progress"


@dg.logger(
    config_schema={"steps": dg.Field([str], is_required=False, default_value=[],
                                     description="step keys in the order to number them (steps that run in "
                                                 "their own processes cannot count)")},
    description="One line per finished step; everything else stays in the instance's event log.")
def progress_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    log = logging.getLogger("sentiment_pipeline.progress")
    log.setLevel(logging.DEBUG)  # step events are DEBUG records; the handler picks what to print
    log.handlers = [_ProgressHandler(init_context.logger_config.get("steps", []))]
    log.propagate = False
    return log


class _ProgressHandler(logging.Handler):
    """Prints each finished step with the assets' own write reports ('N rows over D days'), and warnings."""

    def __init__(self, steps: list[str]) -> None:
        super().__init__()
        self.reports: dict[str, list[str]] = {}
        self.done = 0
        self.numbers = {step: n for n, step in enumerate(steps, 1)}

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", {}) or {}
        event = meta.get("dagster_event")
        step = meta.get("step_key") or ""
        message = str(meta.get("orig_message", record.getMessage()))
        if event is None:
            if record.levelno >= logging.WARNING:
                _print(f"    ! {message}")
            elif record.levelno == logging.INFO and " rows" in message:
                self.reports.setdefault(step, []).append(message)
            return
        kind = event.event_type_value
        if kind == "STEP_SUCCESS":
            self.done += 1
            seconds = event.event_specific_data.duration_ms / 1000
            reports = self.reports.pop(step, []) or [step]
            _print(f"  ✓ {self.numbers.get(step, self.done):>2}  {reports[0]}  ({seconds:.1f} s)")
            for extra in reports[1:]:
                _print(f"        {extra}")
        elif kind == "STEP_FAILURE":
            error = event.event_specific_data.error
            while error is not None and error.cause is not None:  # the innermost cause says what went wrong
                error = error.cause
            _print(f"  ✗ {step} failed: {error.message.strip() if error else ''}")
        elif kind == "STEP_SKIPPED":
            _print(f"  – {step} skipped: an upstream step did not produce its output")


def _print(text: str) -> None:
    print(text, flush=True)


def parse_range(text: str) -> tuple[str, str]:
    start, _, end = text.partition("...")
    return start, end or start


def chunks(keys: list[str], days_per_run: int) -> list[tuple[str, str]]:
    """Split a range into runs of at most `days_per_run` trading days (0: one run): a run's memory grows with
    its range (2.5 GiB for two years of every asset, 6.2 GiB for seven)."""
    if not keys:
        return []
    size = days_per_run if days_per_run > 0 else len(keys)
    return [(keys[i], keys[min(i + size, len(keys)) - 1]) for i in range(0, len(keys), size)]


def weeks_of(day_keys: list[str]) -> list[str]:
    """The trading-week partitions (their Mondays) that hold the given trading days."""
    from sentiment_pipeline.platform.partitions import trading_week_partitions

    mondays = {(dt.date.fromisoformat(k) - dt.timedelta(days=dt.date.fromisoformat(k).weekday())).isoformat()
               for k in day_keys}
    return [k for k in trading_week_partitions.get_partition_keys() if k in mondays]


# Trading days before a range that seed its streaks: longer than any limit-up run (the longest since 2019, a new
# listing's opening run, had 25 boards; otherwise 13).
STREAK_SEED_DAYS = 60
DAYS_PER_WEEK = 5


def lookback_days(defs: dg.Definitions, keys) -> int:
    """Trading days before a range that the given assets read: the largest start offset of their partition
    mappings (a weekly asset's in weeks), and the streaks' seed. Inputs marked NOT_WARMED_UP do not count."""
    from sentiment_pipeline.platform.partitions import NOT_WARMED_UP, trading_week_partitions

    graph = defs.resolve_asset_graph()
    need = STREAK_SEED_DAYS
    for key in keys:
        node = graph.get(key)
        if node.partitions_def is None:
            continue
        asset = defs.get_assets_def(key)
        unwarmed = {parent for name, parent in asset.keys_by_input_name.items()
                    if NOT_WARMED_UP.items() <= (asset.node_def.input_def_named(name).metadata or {}).items()}
        per_partition = DAYS_PER_WEEK if node.partitions_def == trading_week_partitions else 1
        for parent in node.parent_keys - unwarmed:
            mapping = graph.get_partition_mapping(key, parent)
            if isinstance(mapping, dg.TimeWindowPartitionMapping) and mapping.start_offset < 0:
                need = max(need, -mapping.start_offset * per_partition + per_partition - 1)
    return need


def warm_up_keys(all_keys: list[str], start: str, lookback: int, stored: set[str], first_day: dt.date | None
                 ) -> list[str]:
    """The trading days before `start` a new range must run first so that its streaks and windows are seeded: from
    the earliest of the `lookback` days before it that is not stored (and that the source has) to the day before
    `start`; none when they are all stored."""
    before = all_keys[max(0, all_keys.index(start) - lookback): all_keys.index(start)]
    if first_day is not None:
        before = [k for k in before if dt.date.fromisoformat(k) >= first_day]
    missing = [k for k in before if k not in stored]
    return before[before.index(missing[0]):] if missing else []


# Tags of the runs this command starts: the daemon's sensors leave their chain and snapshot to the command, and a
# later command can tell a run whose process died (killed) from one still running.
PID_TAG, HOST_TAG, PROCESS_START_TAG = "sentiment/pid", "sentiment/host", "sentiment/process_start"


def _process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (/proc; None elsewhere): a pid reused by another
    process has another start time."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(pid: int, started: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    now = _process_start(pid)
    return now is None or started is None or now == started


def clear_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark failed the runs this command started on this machine whose process is gone (killed): left STARTED,
    they would hold the queued coordinator's pool until someone marked them failed in the UI. Returns a line
    per run marked."""
    records = instance.get_run_records(filters=dg.RunsFilter(
        statuses=[dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED],
        tags={"sentiment/launched_by": "cli", HOST_TAG: socket.gethostname()}))
    lines = []
    for record in records:
        run = record.dagster_run
        pid = run.tags.get(PID_TAG)
        if pid is None or _alive(int(pid), run.tags.get(PROCESS_START_TAG)):
            continue
        reason = (f"its process (pid {pid} on {run.tags.get(HOST_TAG)}) is gone: killed or crashed before the run "
                  f"ended. Marked failed by the main command (pid {os.getpid()}); every write is transactional, so "
                  "each table holds its state before or after the write it was in. Re-run the range to complete it.")
        instance.report_run_failed(run, message=reason)
        started = dt.datetime.fromtimestamp(record.start_time).strftime("%Y-%m-%d %H:%M:%S") if record.start_time else "?"
        lines.append(f"marked run {run.run_id[:8]} ({run.job_name}, started {started}) failed: its process {pid} "
                     "is gone")
    return lines


def _runs_history(args, keys: list[str]) -> tuple[bool, str]:
    """Whether the whole-history assets run after the days and weeks, and why (as the schedule decides: after a
    week's last trading day; a range is a backfill and runs them)."""
    from sentiment_pipeline.automation import is_last_trading_day_of_week

    if args.history is not None:
        return args.history, "--history" if args.history else "--no-history"
    if len(keys) > 1:
        return True, "a range"
    day = dt.date.fromisoformat(keys[0])
    if is_last_trading_day_of_week(day):
        return True, f"{day} ends its trading week"
    return False, (f"{day} is not its week's last trading day; they read every stored day and run after a week's "
                   "last day (the schedule's weekly chain), or with --history")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sentiment_pipeline.cli", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("range", nargs="?", default=DEFAULT_RANGE, help="START...END or a single trading day")
    parser.add_argument("--select", default="*", help="Dagster asset selection, e.g. 'key:stms/*' (default: all)")
    parser.add_argument("--days-per-run", type=int, default=DAYS_PER_RUN,
                        help=f"split a longer range into runs of this many trading days (default {DAYS_PER_RUN}, "
                             "about two years; 0: one run)")
    parser.add_argument("--history", action=argparse.BooleanOptionalAction, default=None,
                        help="run the whole-history assets (research tables, backtests) after the days and weeks, or "
                             "not (default: for a range, or a day that ends its trading week)")
    parser.add_argument("--replace-with-empty", action="store_true",
                        help="let a source that has no rows for a stored day of a side dataset (pools, flows, …) "
                             "replace them with nothing (default: the stored rows are kept, with a warning)")
    parser.add_argument("--warm-up", action=argparse.BooleanOptionalAction, default=True,
                        help="first run the days before the range that its streaks and rolling windows read, where "
                             "they are not stored and the source has them (default: on)")
    parser.add_argument("--verbose", action="store_true", help="also print Dagster's own log")
    args = parser.parse_args(argv)

    from sentiment_pipeline.definitions import HISTORY_JOB_NAME, WEEKLY_JOB_NAME, whole_history_keys
    from sentiment_pipeline.platform.partitions import trading_day_partitions, trading_week_partitions
    from sentiment_pipeline.platform.resources import DatabaseNameClash, database_path

    started = time.perf_counter()
    try:
        defs = _definitions(rebuild=True)  # the environment decides the source and database
    except DatabaseNameClash as clash:
        _print(str(clash))
        return 2
    left_out = defs.metadata.get("left_out")
    for key, reason in (left_out.value if left_out else {}).items():
        _print(f"skipped {key}: {reason}")
    start, end = parse_range(args.range)
    keys = trading_day_partitions.get_partition_keys()
    if start not in keys or end not in keys:
        bad = start if start not in keys else end
        _print(f"{bad!r} is not a trading-day partition (partitions are the trading days {keys[0]} … {keys[-1]})")
        return 2
    if keys.index(start) > keys.index(end):
        _print(f"the range {start}...{end} ends before it starts")
        return 2
    keys = keys[keys.index(start): keys.index(end) + 1]
    graph = defs.resolve_asset_graph()
    with warnings.catch_warnings():  # the selection syntax's group clause is marked beta
        warnings.simplefilter("ignore", dg.BetaWarning)
        selection = dg.AssetSelection.all() if args.select == "*" else dg.AssetSelection.from_string(args.select)
        selected = sorted(selection.resolve(graph))
    if not selected:  # execute_job would take an empty selection for "everything"
        _print(f"--select {args.select!r} matches no asset of this source's graph")
        return 2
    loggers = {PROGRESS_LOGGER: {}}
    if args.verbose:
        loggers["console"] = {"config": {"log_level": "DEBUG"}}
    db = database_path()
    _print(f"{len(selected)} assets over {len(keys)} trading day(s) {start} → {end}; database {db}")
    history = set(selected) & set(whole_history_keys(list(defs.assets)))
    weekly = [k for k in selected if graph.get(k).partitions_def == trading_week_partitions]
    daily = [k for k in selected if k not in history and k not in weekly]
    run_history, why = _runs_history(args, keys)
    if history and not run_history:
        _print(f"whole-history assets not run ({len(history)}: research tables, backtests): {why}")
        history = set()
    run_config = {"loggers": loggers}
    if args.replace_with_empty:
        run_config["ops"] = {op: {"config": {"replace_with_empty": True}} for op in _raw_daily_ops(defs, daily)}
    # Long one-time work of the source (the synthetic market's first simulation) with progress, before the runs.
    defs.resources["market_source"].prepare(_print)
    from sentiment_pipeline.platform.io_manager import open_database
    from sentiment_pipeline.platform.snapshot import publish
    from sentiment_pipeline.platform.writer_lock import writer_lock

    # The command is the database's writer from its first run to its publish: it holds the lock (a second
    # command waits here) and the file open, so its runs, the publish and the summary share one database.
    with writer_lock(db, f"the main command (pid {os.getpid()})", on_wait=_print), \
            closing(open_database(db)) as held, dg.DagsterInstance.get() as instance:
        for line in clear_dead_runs(instance):
            _print(line)
        warm: list[str] = []
        if daily:
            job = dg.reconstructable(_progress_job)
            warm = _warm_up(args, defs, daily, [*daily, *weekly], start, held)
            if warm:
                _print(f"warm-up {warm[0]} → {warm[-1]}: {len(warm)} earlier trading day(s) not stored seed the "
                       "range's streaks and rolling windows (--no-warm-up skips them)")
            for run_start, run_end in chunks(warm, args.days_per_run) + chunks(keys, args.days_per_run):
                _print(f"run {run_start} → {run_end}")
                if _execute(job, instance, daily, run_config, run_start, run_end):
                    return 1
        # The weekly assets: every trading week the range touches, in one run, after the days.
        weeks = weeks_of(keys)
        if weekly and weeks:
            _print(f"run {WEEKLY_JOB_NAME} {weeks[0]} → {weeks[-1]} ({len(weeks)} week(s))")
            if _execute(dg.reconstructable(_progress_weekly_job), instance, weekly, {"loggers": loggers},
                        weeks[0], weeks[-1]):
                return 1
        # Whole-history assets (research tables, backtests) read every stored day: once, after the ranges.
        if history:
            _print(f"run {HISTORY_JOB_NAME}: {', '.join(k.to_user_string() for k in sorted(history))}")
            # A step is an op: a multi-asset (the research tables) is one step for its keys.
            steps = list(dict.fromkeys(defs.get_assets_def(k).node_def.name for k in sorted(history)))
            history_loggers = {**loggers, PROGRESS_LOGGER: {"config": {"steps": steps}}}
            if _execute(dg.reconstructable(_progress_history_job), instance, sorted(history),
                        {"loggers": history_loggers}):
                return 1
        # Consumers read the snapshot: publish it once, after the last run (platform/snapshot.py).
        _print(publish(db, on_wait=_print, conn=held).describe())
        report = summary(db, start, end, held, defs.resources["market_source"], warm[0] if warm else None)
    _print(f"done in {time.perf_counter() - started:.1f} s")
    print(report, flush=True)
    return 0


def _warm_up(args, defs, daily, reading, start: str, conn) -> list[str]:
    from sentiment_pipeline.market.tables import DailyBars
    from sentiment_pipeline.platform import storage
    from sentiment_pipeline.platform.partitions import trading_day_partitions
    from sentiment_pipeline.platform.tables import asset_key

    if not args.warm_up or asset_key(DailyBars) not in daily:
        return []
    stored = set()
    if storage.table_exists(conn, "core.daily_bars"):
        stored = {str(d) for (d,) in conn.execute("select distinct trade_date from core.daily_bars").fetchall()}
    return warm_up_keys(trading_day_partitions.get_partition_keys(), start, lookback_days(defs, reading), stored,
                        defs.resources["market_source"].first_day())


_BUILT: dict[str, dg.Definitions] = {}


def _definitions(rebuild: bool = False) -> dg.Definitions:
    """The definitions with the progress logger, built once per command: the jobs below and the main command
    share them (building them is ~1 s; the runs' `reconstructable` jobs would build them again)."""
    from sentiment_pipeline.definitions import build_definitions

    if rebuild or "defs" not in _BUILT:
        _BUILT["defs"] = build_definitions(loggers={PROGRESS_LOGGER: progress_logger,
                                                    "console": dg.colored_console_logger})
    return _BUILT["defs"]


# The jobs as `reconstructable` wants them (execute_job needs them importable); in this process they come from
# the definitions above.
def _progress_job() -> dg.JobDefinition:
    from sentiment_pipeline.definitions import JOB_NAME

    return _definitions().resolve_job_def(JOB_NAME)


def _progress_weekly_job() -> dg.JobDefinition:
    from sentiment_pipeline.definitions import WEEKLY_JOB_NAME

    return _definitions().resolve_job_def(WEEKLY_JOB_NAME)


def _progress_history_job() -> dg.JobDefinition:
    from sentiment_pipeline.definitions import HISTORY_JOB_NAME

    return _definitions().resolve_job_def(HISTORY_JOB_NAME)


def _raw_daily_ops(defs: dg.Definitions, keys) -> list[str]:
    """The ops of the selected raw daily datasets that take `replace_with_empty` (market/assets.py)."""
    from sentiment_pipeline.market.assets import RAW_SIDE_DATASETS

    return [defs.get_assets_def(k).node_def.name for k in keys if k in RAW_SIDE_DATASETS]


def _execute(job, instance, selected, run_config, run_start: str | None = None, run_end: str | None = None) -> bool:
    """One run (of the range, for partitioned assets) in the project's instance; True when it failed.
    `execute_job`, not `execute_in_process`: the latter keeps every step's output in memory until the run
    ends."""
    from sentiment_pipeline.automation import LAUNCHED_BY

    tags = {LAUNCHED_BY: "cli", PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}
    started = _process_start(os.getpid())
    if started:
        tags[PROCESS_START_TAG] = started
    if run_start:
        tags |= {"dagster/asset_partition_range_start": run_start, "dagster/asset_partition_range_end": run_end}
    with dg.execute_job(
        job, instance=instance, asset_selection=selected, raise_on_error=False, run_config=run_config, tags=tags,
    ) as result:
        if not result.success:
            _print(f"run {result.run_id} failed; its full log is in the UI (dagster dev → Runs → {result.run_id[:8]})")
        return not result.success


def backtest_summary(conn) -> str:
    """backtest.runs as a small table: what each strategy earned after costs, beside the benchmark."""
    rows = conn.execute(
        "select strategy, start_date, end_date, annual_return, max_drawdown, sharpe, win_rate, trades, "
        "blocked_orders, benchmark_annual_return from backtest.runs order by strategy").fetchall()
    pct = lambda v: "–" if v is None else f"{v:.1%}"  # noqa: E731
    out = [f"{'backtest (after costs)':<28} {'period':<23} {'annual':>8} {'max DD':>8} {'Sharpe':>6} "
           f"{'win':>6} {'trades':>8} {'blocked':>8} {'all-A':>8}"]
    for name, start, end, annual, drawdown, sharpe, win, trades, blocked, bench in rows:
        out.append(f"{name:<28} {f'{start} → {end}':<23} {pct(annual):>8} {pct(drawdown):>8} "
                   f"{'–' if sharpe is None else f'{sharpe:.2f}':>6} {pct(win):>6} {trades:>8,} {blocked:>8,} "
                   f"{pct(bench):>8}")
    return "\n".join(out)


# The membership lists a run reads, and the date column that says as of when.
MEMBERSHIP_DATES = {"raw.index_membership": "effective_date", "raw.concept_membership": "snapshot_date",
                    "raw.industry_history": "start_date"}


def provenance(conn, existing: set[str], market_source, start: str, end: str, warm_from: str | None) -> str:
    """Where the figures come from: the source, the period (and its warm-up), the membership lists' dates."""
    simulated = " (a simulated market: never evidence about the real one)" if market_source.is_simulated() else ""
    warm = f", seeded from {warm_from}" if warm_from else ""
    # the lists in force on the period's last day (a list dated later is not what the period read)
    dates = [f"{table.split('.')[1]} as of {conn.execute(f'select max({column}) from {table} where {column} <= ?', [end]).fetchone()[0]}"
             for table, column in MEMBERSHIP_DATES.items() if table in existing]
    return (f"source: {market_source.source_name()}{simulated} · period: {start} → {end}{warm}"
            + (f" · membership: {', '.join(dates)}" if dates else ""))


def summary(db: str, start: str, end: str, held: duckdb.DuckDBPyConnection | None = None, market_source=None,
            warm_from: str | None = None) -> str:
    """Where the figures come from, the tables written in the range with rows and days, the last day's phase and
    STMS top three, and where to look. `held`: the process's connection to the database (DuckDB refuses a second
    configuration for the file)."""
    from sentiment_pipeline.catalog import TABLES
    from sentiment_pipeline.platform.snapshot import snapshot_path
    from sentiment_pipeline.platform.tables import table_name

    lines = ["", f"{'table':<34} {'rows':>12} {'days':>6}"]
    with (held.cursor() if held is not None else duckdb.connect(db, read_only=True)) as conn:
        existing = {f"{s}.{t}" for s, t in conn.execute(
            "select table_schema, table_name from information_schema.tables").fetchall()}
        if market_source is not None:
            lines.insert(1, provenance(conn, existing, market_source, start, end, warm_from))
        for model in TABLES:
            name = table_name(model)
            if name not in existing:
                continue
            if "trade_date" in model.to_schema().columns:
                rows, days = conn.execute(f"select count(*), count(distinct trade_date) from {name} "
                                          "where trade_date between ? and ?", [start, end]).fetchone()
            else:
                rows, days = conn.execute(f"select count(*), null from {name}").fetchone()
            lines.append(f"{name:<34} {rows:>12,} {'' if days is None else days:>6}")
        if "sentiment.phase_daily" in existing:
            row = conn.execute("select trade_date, phase_name, phase_code, max_height, promotion_rate, "
                               "no_phase_reason from sentiment.phase_daily where trade_date <= ? "
                               "order by trade_date desc limit 1", [end]).fetchone()
            if row:
                day, name, code, height, rate, reason = row
                phase = f"{name} ({code})" if code else f"none ({reason})"
                rate_text = "–" if rate is None else f"{rate:.1%}"
                lines += ["", f"{day}: phase {phase}, height {height}, promotion rate {rate_text}"]
        if "stms.top_list" in existing:
            for kind in ("sw_l1", "concept"):
                top = conn.execute("select trade_date, sector, stms from stms.top_list where sector_kind = ? and "
                                   "trade_date = (select max(trade_date) from stms.top_list where trade_date <= ?) "
                                   "and rank <= 3 order by rank", [kind, end]).fetchall()
                if top:
                    lines.append(f"{top[0][0]}: STMS top 3 {kind}: " + " · ".join(f"{s} {v:.1f}" for _, s, v in top))
        if "backtest.runs" in existing:
            lines += ["", backtest_summary(conn)]
    lines += [
        "",
        f"database: {db}",
        f"snapshot: {snapshot_path(db)}  (read-only views over Parquet files for queries; it never blocks a run)",
        "try:      python -c \"from sentiment_pipeline import connect; print(connect().sql("
        "'select trade_date, phase_name, max_height, promotion_rate from sentiment.phase_daily "
        "order by trade_date desc limit 5'))\"",
        "          (every table and column is described in sql/tables.sql)",
        "the UI:   source .venv/bin/activate && dagster dev   (then http://127.0.0.1:3000)",
    ]
    return "\n".join(lines)


def _exit(code: int) -> None:
    """Exit without the interpreter's teardown: everything is written, closed and flushed by now, and tearing
    down Dagster's modules took 0.8-1.4 s of a one-day command's 3-5."""
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


if __name__ == "__main__":
    _exit(main())
