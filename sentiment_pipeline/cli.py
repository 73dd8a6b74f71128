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
The runs belong to the code location's jobs (workspace.yaml), so the UI's job pages, the Overview timeline and
the jobs list show them beside the runs it launched itself.

A wrong input or a missing service is answered in a line or two that say what was tried and what to do;
`--verbose` adds the traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import socket
import sys
import time
import traceback
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


class CommandError(Exception):
    """A wrong input or a missing service: the message says what was tried and what to do (a line or two)."""


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse prints its whole usage block, then exits
        raise CommandError(f"{self.prog}: {message} (--help lists the options)")


def _parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(prog="python -m sentiment_pipeline.cli", description=__doc__,
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
    parser.add_argument("--verbose", action="store_true",
                        help="also print Dagster's own log, and the traceback of an error")
    return parser


def main(argv: list[str] | None = None) -> int:
    """The command: 0 when every run succeeded, 1 when a run or the command failed, 2 for a wrong input or a
    missing service (one or two lines that say what was tried and what to do; --verbose adds the traceback)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    verbose = "--verbose" in argv
    try:
        return _main(_parser().parse_args(argv))
    except Exception as error:  # noqa: BLE001 - the last resort: one line, the traceback behind --verbose
        return answer(error, verbose)


def answer(error: Exception, verbose: bool) -> int:
    """Print what went wrong in a line or two (the traceback too with --verbose); 2 for a wrong input or a
    missing service (a CommandError), 1 for anything else."""
    if isinstance(error, CommandError):
        cause = error.__cause__ or error.__context__
        if verbose and cause is not None:
            traceback.print_exception(cause)
        _print(str(error))
        return 2
    if verbose:
        traceback.print_exception(error)
    _print(describe_error(error))
    return 1


def describe_error(error: BaseException) -> str:
    """One or two lines for an error nobody turned into a CommandError: what failed, and where to look."""
    message = _first_lines(str(error)) or type(error).__name__
    if isinstance(error, OSError) and error.filename:
        message = f"{error.strerror or message}: {error.filename}"
    if type(error).__name__ == "DagsterPostgresException" or _is_postgres_error(error):
        problem = postgres_problem()
        if problem:
            return problem
    return (f"error: {message} ({type(error).__name__})\n"
            "       run the command again with --verbose for the traceback")


def _first_lines(text: str, lines: int = 2, width: int = 400) -> str:
    kept = [line.strip() for line in text.strip().splitlines() if line.strip()][:lines]
    return " ".join(kept)[:width]


def _is_postgres_error(error: BaseException) -> bool:
    while error is not None:
        if type(error).__module__.startswith(("psycopg2", "dagster_postgres")):
            return True
        error = error.__cause__ or error.__context__
    return False


def parse_trading_range(text: str, keys: list[str]) -> tuple[str, str]:
    """START...END (or one day) as two trading-day partition keys; a CommandError that says which part is wrong
    and what would be right."""
    start, end = parse_range(text)
    if ".." in text and "..." not in text:
        raise CommandError(f"{text!r} is not a trading-day partition: a range is START...END, with three dots "
                           f"(e.g. {DEFAULT_RANGE})")
    for day in (start, end):
        if day not in keys:
            raise CommandError(f"{day!r} is not a trading-day partition: {_why_not_a_trading_day(day, keys)} "
                               f"(partitions are the trading days {keys[0]} … {keys[-1]})")
    if keys.index(start) > keys.index(end):
        raise CommandError(f"the range {start}...{end} ends before it starts: write START...END, earliest first")
    return start, end


def _why_not_a_trading_day(day: str, keys: list[str]) -> str:
    try:
        date = dt.date.fromisoformat(day)
    except ValueError:
        return "not a date; write days as YYYY-MM-DD"
    if day < keys[0] or day > keys[-1]:
        return "outside the calendar"
    before = [k for k in keys if k < day][-1]
    after = next(k for k in keys if k > day)
    kind = "a weekend" if date.weekday() >= 5 else "an exchange holiday"
    return f"{date:%A}, {kind}; the trading days around it are {before} and {after}"


def parse_selection(text: str, graph) -> list[dg.AssetKey]:
    """The asset keys a --select string names; a CommandError for a string Dagster cannot parse, one that names
    an asset the graph lacks, or one that names nothing."""
    from dagster._core.definitions.asset_selection import DagsterInvalidAssetSelectionError

    examples = ("  examples: 'group:sentiment', 'key:stms/*', 'key:raw/daily_quotes+', 'not group:backtest' "
                "(Dagster's selection syntax; `dg list defs` lists the assets and groups)")
    with warnings.catch_warnings():  # the selection syntax's group clause is marked beta
        warnings.simplefilter("ignore", dg.BetaWarning)
        try:
            selection = dg.AssetSelection.all() if text == "*" else dg.AssetSelection.from_string(text)
        except DagsterInvalidAssetSelectionError as error:
            raise CommandError(f"--select {text!r} is not a valid asset selection: {_syntax_error(text)}\n"
                               f"{examples}") from error
        try:
            selected = sorted(selection.resolve(graph))
        except dg.DagsterInvalidSubsetError as error:  # a key the graph does not have
            raise CommandError(f"--select {text!r} names an asset this source's graph does not have: "
                               f"{_first_lines(str(error), 1).split(' were selected')[0]}\n{examples}") from error
    if not selected:  # execute_job would take an empty selection for "everything"
        raise CommandError(f"--select {text!r} matches no asset of this source's graph (`dg list defs` lists the "
                           "assets and groups; a source without a dataset leaves its assets out, listed above)")
    return selected


def _syntax_error(text: str) -> str:
    """Where the selection grammar stops understanding the string (its own message, without the token list)."""
    try:
        from dagster._core.definitions.antlr_asset_selection.antlr_asset_selection import AntlrAssetSelectionParser

        AntlrAssetSelectionParser(text)
    except Exception as syntax:  # noqa: BLE001 - the parser raises a bare Exception
        return _first_lines(str(syntax), 1).split(" expecting ")[0]
    return "Dagster cannot parse it"


# The folders a source reads, by the variable that names them (platform/resources.py).
SOURCE_FOLDERS = {
    "SENTIMENT_TDX_DIR": "the vipdoc folder of a TongDaXin install (it holds sh/lday, sz/lday)",
    "SENTIMENT_THS_DIR": "the folder of 同花顺 limit-up pool files",
    "SENTIMENT_BAOSTOCK_DIR": "the folder of baostock parquet files",
    "SENTIMENT_MEMBERSHIP_DIR": "the folder of membership files",
}


# The sources' other settings (platform/resources.py): the type each must parse as, or the values it may take.
SOURCE_SETTINGS = {
    "SENTIMENT_SYNTHETIC_SEED": (int, ()),
    "SENTIMENT_AKSHARE_MODE": (str, ("live", "replay")),
    "SENTIMENT_BAOSTOCK_MODE": (str, ("live", "replay")),
    "SENTIMENT_EASTMONEY_RATE": (float, ()),
    "SENTIMENT_OTHER_RATE": (float, ()),
    "SENTIMENT_HTTP_TIMEOUT": (float, ()),
}


def check_source_settings() -> None:
    """The source's settings, read before anything is built: its name and its folders. A CommandError for the
    first one that is wrong."""
    from sentiment_pipeline.platform.resources import SOURCES, source_name

    name = source_name()
    if name not in SOURCES:
        raise CommandError(f"SENTIMENT_SOURCE={name!r} is not a source: use one of {', '.join(SOURCES)} "
                           "(unset, it is synthetic)")
    for variable, (kind, allowed) in SOURCE_SETTINGS.items():
        value = os.environ.get(variable)
        if not value:
            continue
        try:
            parsed = kind(value)
            ok = parsed > 0 if kind is float else (value in allowed if allowed else True)
        except ValueError:
            ok = False
        if not ok:
            wanted = f"one of {', '.join(allowed)}" if allowed else {int: "a whole number",
                                                                     float: "a positive number"}[kind]
            raise CommandError(f"{variable}={value!r} is not {wanted}: set it so, or unset it for the default")
    if name == "tdx" and not os.environ.get("SENTIMENT_TDX_DIR"):
        raise CommandError("SENTIMENT_SOURCE=tdx needs SENTIMENT_TDX_DIR: set it to "
                           f"{SOURCE_FOLDERS['SENTIMENT_TDX_DIR']}")
    for variable, what in SOURCE_FOLDERS.items():
        value = os.environ.get(variable)
        if not value:
            continue
        folder = Path(value)
        if not folder.is_dir():
            state = "is a file, not a folder" if folder.exists() else "does not exist"
            raise CommandError(f"{variable}={value} {state} (resolved: {folder.resolve()}): set it to {what}")
        if variable == "SENTIMENT_TDX_DIR" and name == "tdx" and not any(
                (folder / market / "lday").is_dir() for market in ("sh", "sz", "bj")):
            inner = next((c for c in (folder / "vipdoc", folder / "new_tdx" / "vipdoc") if c.is_dir()), None)
            hint = f"; did you mean {inner}?" if inner else ""
            raise CommandError(f"SENTIMENT_TDX_DIR={value} has no sh/lday, sz/lday or bj/lday folder: set it to "
                               f"{what}{hint}")


def check_instance_home() -> None:
    """DAGSTER_HOME names a folder (the instance the runs are recorded in), and its PostgreSQL, if it has one,
    takes the connection; a CommandError otherwise."""
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        raise CommandError("DAGSTER_HOME is not set: the command records its runs in a Dagster instance. "
                           "`source .venv/bin/activate` sets it\n"
                           "  (to .dagster_home/), or export DAGSTER_HOME=<a folder holding a dagster.yaml>")
    if not Path(home).is_dir():
        raise CommandError(f"DAGSTER_HOME={home} is not a folder: create it with a dagster.yaml (`source "
                           ".venv/bin/activate` makes .dagster_home/), or point DAGSTER_HOME at one")
    # An instance on PostgreSQL (the production profile): connect once now, before Dagster's retries.
    problem = postgres_problem(home)
    if problem:
        raise CommandError(problem)


def _build(rebuild: bool = True) -> dg.Definitions:
    from sentiment_pipeline.platform.resources import DatabaseNameClash

    try:
        return _definitions(rebuild=rebuild)  # the environment decides the source and database
    except DatabaseNameClash as clash:
        raise CommandError(str(clash)) from clash
    except ValueError as error:  # a setting the source refuses (platform/resources.py, sources/)
        raise CommandError(f"the source's settings are refused: {_first_lines(str(error))}") from error
    except OSError as error:  # the database's folder cannot be made
        from sentiment_pipeline.platform.resources import database_path

        raise CommandError(f"SENTIMENT_DUCKDB_PATH={database_path()}: {error.strerror or error}: "
                           f"{error.filename or ''} (set it to a file in a folder you may write)") from error


def _open_database(db: str):
    """The database, held open for the whole command; a CommandError when another process holds its lock."""
    from sentiment_pipeline.platform.io_manager import open_database

    try:
        return open_database(db)
    except duckdb.IOException as error:
        if "lock" not in str(error):
            raise
        holder = str(error).split("Conflicting lock is held in ")[-1].split(". See also")[0]
        raise CommandError(
            f"the database {db} is open for writing in another process ({holder}): close it there (a notebook or "
            "DuckDB shell; readers should use\n  the snapshot, sentiment_pipeline.connect()), or wait for it, "
            "then run the command again") from error


def _main(args: argparse.Namespace) -> int:
    from sentiment_pipeline.definitions import HISTORY_JOB_NAME, WEEKLY_JOB_NAME, whole_history_keys
    from sentiment_pipeline.platform.partitions import trading_day_partitions, trading_week_partitions
    from sentiment_pipeline.platform.resources import database_path

    started = time.perf_counter()
    if args.days_per_run < 0:
        raise CommandError(f"--days-per-run {args.days_per_run}: give a number of trading days per run, or 0 for "
                           "one run")
    keys = trading_day_partitions.get_partition_keys()
    start, end = parse_trading_range(args.range, keys)  # before the definitions: a typo costs nothing
    check_source_settings()
    defs = _build()
    left_out = defs.metadata.get("left_out")
    for key, reason in (left_out.value if left_out else {}).items():
        _print(f"skipped {key}: {reason}")
    keys = keys[keys.index(start): keys.index(end) + 1]
    graph = defs.resolve_asset_graph()
    selected = parse_selection(args.select, graph)
    check_instance_home()
    loggers = {PROGRESS_LOGGER: {}}
    if args.verbose:
        loggers["console"] = {"config": {"log_level": "DEBUG"}}
    db = database_path()
    history = set(selected) & set(whole_history_keys(list(defs.assets)))
    weekly = [k for k in selected if graph.get(k).partitions_def == trading_week_partitions]
    daily = [k for k in selected if k not in history and k not in weekly]
    if daily or weekly:
        _print(f"{len(selected)} assets over {len(keys)} trading day(s) {start} → {end}; database {db}")
    else:  # the research tables and backtests read every stored day, whatever the range
        _print(f"{len(selected)} whole-history assets over every stored day; database {db}")
    run_history, why = _runs_history(args, keys)
    if history and not run_history:
        _print(f"whole-history assets not run ({len(history)}: research tables, backtests): {why}")
        history = set()
    run_config = {"loggers": loggers}
    if args.replace_with_empty:
        run_config["ops"] = {op: {"config": {"replace_with_empty": True}} for op in _raw_daily_ops(defs, daily)}
    # Long one-time work of the source (the synthetic market's first simulation) with progress, before the runs.
    defs.resources["market_source"].prepare(_print)
    from sentiment_pipeline.platform.snapshot import publish
    from sentiment_pipeline.platform.writer_lock import writer_lock

    # The command is the database's writer from its first run to its publish: it holds the lock (a second
    # command waits here) and the file open, so its runs, the publish and the summary share one database.
    with writer_lock(db, f"the main command (pid {os.getpid()})", on_wait=_print), \
            closing(_open_database(db)) as held, _open_instance() as instance:
        for line in clear_dead_runs(instance):
            _print(line)
        warm: list[str] = []
        if daily:
            warm = _warm_up(args, defs, daily, [*daily, *weekly], start, held)
            if warm:
                _print(f"warm-up {warm[0]} → {warm[-1]}: {len(warm)} earlier trading day(s) not stored seed the "
                       "range's streaks and rolling windows (--no-warm-up skips them)")
            for run_start, run_end in chunks(warm, args.days_per_run) + chunks(keys, args.days_per_run):
                _print(f"run {run_start} → {run_end}")
                if _execute(_progress_job, instance, daily, run_config, run_start, run_end):
                    return 1
        # The weekly assets: every trading week the range touches, in one run, after the days.
        weeks = weeks_of(keys)
        if weekly and weeks:
            _print(f"run {WEEKLY_JOB_NAME} {weeks[0]} → {weeks[-1]} ({len(weeks)} week(s))")
            if _execute(_progress_weekly_job, instance, weekly, {"loggers": loggers}, weeks[0], weeks[-1]):
                return 1
        # Whole-history assets (research tables, backtests) read every stored day: once, after the ranges.
        if history:
            _print(f"run {HISTORY_JOB_NAME}: {', '.join(k.to_user_string() for k in sorted(history))}")
            # A step is an op: a multi-asset (the research tables) is one step for its keys.
            steps = list(dict.fromkeys(defs.get_assets_def(k).node_def.name for k in sorted(history)))
            history_loggers = {**loggers, PROGRESS_LOGGER: {"config": {"steps": steps}}}
            if _execute(_progress_history_job, instance, sorted(history), {"loggers": history_loggers}):
                return 1
        # Consumers read the snapshot: publish it once, after the last run (platform/snapshot.py).
        _print(publish(db, on_wait=_print, conn=held).describe())
        if not daily and not weekly:  # the period the whole-history assets read: every stored day
            start, end = _stored_span(held, start, end)
        report = summary(db, start, end, held, defs.resources["market_source"], warm[0] if warm else None)
    _print(f"done in {time.perf_counter() - started:.1f} s")
    print(report, flush=True)
    return 0


# --- The instance's PostgreSQL (the production profile, deploy/production/dagster.yaml) -------------------------

def postgres_settings(home: str | None = None) -> dict | None:
    """The PostgreSQL connection the instance in `home` (default $DAGSTER_HOME) is configured with, read from its
    dagster.yaml (`{env: NAME}` values from the environment): host, port, user, password, db, and `source` (the
    variables and the file they came from). None when its storage is not PostgreSQL."""
    import yaml

    home = home or os.environ.get("DAGSTER_HOME")
    path = Path(home or ".") / "dagster.yaml"
    try:
        config = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return None

    def find(node):
        if isinstance(node, dict):
            for key in ("postgres_db", "postgres_url"):
                if key in node:
                    return key, node[key]
            for child in node.values():
                if (found := find(child)) is not None:
                    return found
        return None

    found = find(config)
    if found is None:
        return None
    variables: list[str] = []

    def value(raw, default=None):
        if isinstance(raw, dict) and "env" in raw:
            variables.append(raw["env"])
            return os.environ.get(raw["env"], default)
        return default if raw is None else raw

    kind, raw = found
    if kind == "postgres_url":
        from urllib.parse import unquote, urlparse

        url = urlparse(str(value(raw, "")))
        settings = {"host": url.hostname or "", "port": url.port or 5432, "user": unquote(url.username or ""),
                    "password": unquote(url.password or ""), "db": url.path.lstrip("/")}
    else:
        settings = {"host": value(raw.get("hostname"), ""), "port": value(raw.get("port"), 5432),
                    "user": value(raw.get("username"), ""), "password": value(raw.get("password"), ""),
                    "db": value(raw.get("db_name"), "")}
    settings["source"] = (f"{', '.join(variables)} through {path.resolve()}" if variables
                          else f"written in {path.resolve()}")
    return settings


def postgres_problem(home: str | None = None, timeout: float = 5) -> str | None:
    """Two lines when the instance's PostgreSQL does not take its connection: which server, user and database
    were tried (and from which settings), why it failed, and what to do. None when it connects, or when the
    instance does not use PostgreSQL."""
    settings = postgres_settings(home)
    if settings is None:
        return None
    host, port, user, db = settings["host"], settings["port"], settings["user"], settings["db"]
    tried = f"tried {user or '?'}@{host or '?'}:{port}/{db or '?'} ({settings['source']})"
    empty = [name for name, v in (("host", host), ("user", user), ("database", db)) if not v]
    if empty:
        return (f"PostgreSQL settings incomplete: no {', '.join(empty)}; {tried}\n"
                "  set DAGSTER_PG_HOST, DAGSTER_PG_USER and DAGSTER_PG_DB (README: Running it as a team service)")
    try:
        port = int(port)
    except (TypeError, ValueError):
        return (f"PostgreSQL port {port!r} is not a number; {tried}\n"
                "  set DAGSTER_PG_PORT to the server's port (default 5432), or unset it")
    import psycopg2

    try:
        psycopg2.connect(host=host, port=port, user=user, password=settings["password"], dbname=db,
                         connect_timeout=int(timeout)).close()
        return None
    except psycopg2.Error as error:
        text = str(error)
    local = host in ("127.0.0.1", "localhost", "::1") or host.startswith("/")
    setup = "bash scripts/postgres_setup.sh creates the role and the database on this machine's server"
    if "Connection refused" in text or "No such file or directory" in text:
        reason = "nothing listens there (connection refused)"
        todo = (f"start the server ({_start_postgres_hint()}) or set DAGSTER_PG_HOST/DAGSTER_PG_PORT to one that "
                f"runs; the first time, {setup}") if local else \
            "start the server there, or set DAGSTER_PG_HOST/DAGSTER_PG_PORT to one that runs"
    elif "could not translate host name" in text:
        reason = "no such host name"
        todo = "set DAGSTER_PG_HOST to the server's name or address"
    elif "timeout expired" in text:
        reason = f"no answer within {timeout:.0f} s (a firewall, or the wrong host or port)"
        todo = "check DAGSTER_PG_HOST and DAGSTER_PG_PORT, and that the server accepts connections from here"
    elif "password authentication failed" in text or "no password supplied" in text:
        reason = f"the server refused the password of role {user!r}"
        todo = f"set DAGSTER_PG_PASSWORD to that role's password (or set one: {setup})"
    elif f'database "{db}" does not exist' in text:
        reason = f"database {db!r} does not exist"
        todo = f"create it: {setup} (or, as the postgres user: createdb --owner {user} {db})"
    elif f'role "{user}" does not exist' in text:
        reason = f"role {user!r} does not exist"
        todo = f"create it: {setup}"
    else:
        reason = _first_lines(text, 1)
        todo = "check the DAGSTER_PG_* settings against the server"
    return f"PostgreSQL refused the instance's connection: {reason}; {tried}\n  {todo}"


def _start_postgres_hint() -> str:
    import glob

    versions = sorted((p.split("/")[4] for p in glob.glob("/usr/lib/postgresql/*/bin/postgres")), key=int)
    if versions and Path("/usr/bin/pg_ctlcluster").exists():
        return f"as root: pg_ctlcluster {versions[-1]} main start, or service postgresql start"
    return "e.g. service postgresql start, or systemctl start postgresql"


def prepare_service(argv: list[str]) -> int:
    """serve.sh's checks before it starts anything: the webserver's address is free, the instance's PostgreSQL
    takes the connection (a wrong setting fails here, in two lines), then the "duckdb" pool's limit is created
    (Dagster 1.13.27 creates it in the first queue pass that sees the pool, and that pass still launches every
    queued run as if the pool had no limit: two runs submitted together on a new instance both launched).
    argv: HOST PORT [--verbose]. 0 when the service may start."""
    import errno

    from sentiment_pipeline.platform.wiring import DUCKDB_POOL

    verbose = "--verbose" in argv
    host, port = argv[0], argv[1]
    try:
        try:
            number = int(port)
        except ValueError:
            raise CommandError(f"PORT={port!r} is not a port number: set PORT to the webserver's port "
                               "(default 3000)") from None
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, number))
            except OSError as error:
                if error.errno == errno.EADDRINUSE:
                    raise CommandError(f"{host}:{number} is already in use (another dagster dev or serve.sh?): "
                                       "stop it, or set PORT to a free port") from error
                raise CommandError(f"the webserver cannot listen on {host}:{number} ({error.strerror}): set HOST "
                                   "to an address of this machine (default 127.0.0.1)") from error
        problem = postgres_problem()
        if problem:
            raise CommandError(problem)
        with _open_instance() as instance:
            instance.event_log_storage.initialize_concurrency_limit_to_default(DUCKDB_POOL)
            slots = instance.event_log_storage.get_concurrency_info(DUCKDB_POOL).slot_count
            _print(f"pool {DUCKDB_POOL!r}: {slots} slot")
        return 0
    except Exception as error:  # noqa: BLE001 - serve.sh prints this answer and stops
        return answer(error, verbose)


def _open_instance() -> dg.DagsterInstance:
    """The instance DAGSTER_HOME names; a CommandError that names the database when its PostgreSQL storage does
    not answer (the production profile)."""
    try:
        return dg.DagsterInstance.get()
    except Exception as error:
        if _is_postgres_error(error):
            problem = postgres_problem()
            if problem:
                raise CommandError(problem) from error
        raise


def _stored_span(conn, start: str, end: str) -> tuple[str, str]:
    """The first and last day of core.daily_bars (the given range when it is not stored)."""
    from sentiment_pipeline.platform import storage

    if not storage.table_exists(conn, "core.daily_bars"):
        return start, end
    first, last = conn.execute("select min(trade_date), max(trade_date) from core.daily_bars").fetchone()
    return (str(first), str(last)) if first else (start, end)


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


def command_loggers() -> dict[str, dg.LoggerDefinition]:
    """The loggers every job has (definitions.py): this command's progress lines, and Dagster's console log for
    --verbose. A run uses only the loggers its run config names; without any, Dagster's default."""
    return {PROGRESS_LOGGER: progress_logger, "console": dg.colored_console_logger}


def _definitions(rebuild: bool = False) -> dg.Definitions:
    """The definitions, built once per command: the jobs below and the main command share them (building them
    is ~1 s; the runs' `reconstructable` jobs would build them again). They are the code location's (the same
    function builds both), so a run of this command is a run of the code location's job."""
    from sentiment_pipeline.definitions import build_definitions

    if rebuild or "defs" not in _BUILT:
        _BUILT["defs"] = build_definitions()
    return _BUILT["defs"]


# The code location as workspace.yaml declares it: the UI, the daemon and serve.sh load it from there.
WORKSPACE_YAML = Path(__file__).resolve().parents[1] / "workspace.yaml"
DEFINITIONS_MODULE = "sentiment_pipeline.definitions"


def code_location_origin():
    """The origin of the code location that holds the jobs, as the webserver and the daemon build it from
    workspace.yaml (the entry that loads sentiment_pipeline.definitions); without such an entry, the origin
    `dagster dev -m sentiment_pipeline.definitions` would have."""
    from dagster._core.workspace.load import location_origin_from_module_name, location_origins_from_yaml_paths

    if WORKSPACE_YAML.is_file():
        for origin in location_origins_from_yaml_paths([str(WORKSPACE_YAML)]):
            target = getattr(origin, "loadable_target_origin", None)
            if target is not None and target.module_name == DEFINITIONS_MODULE:
                return origin
    return location_origin_from_module_name(DEFINITIONS_MODULE, attribute=None, working_directory=None)


def job_origin(job_name: str):
    """The remote origin of one of the code location's jobs. The UI keys its job pages and the jobs list on a
    run's job name plus the tag `.dagster/repository` (`repository@location`, written from this origin), and
    the Overview timeline on the run's repository origin; a run without it shows on the Runs page only."""
    from dagster._core.remote_origin import RemoteRepositoryOrigin

    repository = _definitions().get_repository_def().name  # "__repository__" for a Definitions object
    return RemoteRepositoryOrigin(code_location_origin(), repository).get_job_origin(job_name)


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


# A tag the UI's run list shows (it hides Dagster's own dagster/asset_partition_range_* tags behind "View all
# tags"): the range of the run, as the command takes it.
RANGE_TAG = "sentiment/range"


def _execute(job_fn, instance, selected, run_config, run_start: str | None = None, run_end: str | None = None
             ) -> bool:
    """One run (of the range, for partitioned assets) in the project's instance; True when it failed.
    What `execute_job` does (a reconstructable job, executed in this process; not `execute_in_process`, which
    keeps every step's output in memory until the run ends), but the run is created with the code location's
    job origin, so the UI places it under the job (`job_origin`)."""
    from dagster._core.execution.api import execute_run

    from sentiment_pipeline.automation import LAUNCHED_BY

    tags = {LAUNCHED_BY: "cli", PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}
    started = _process_start(os.getpid())
    if started:
        tags[PROCESS_START_TAG] = started
    if run_start:
        tags |= {"dagster/asset_partition_range_start": run_start, "dagster/asset_partition_range_end": run_end,
                 RANGE_TAG: run_start if run_start == run_end else f"{run_start}...{run_end}"}
    job = dg.reconstructable(job_fn)
    load_data = job.repository.get_definition().repository_load_data  # as execute_job: None without cacheables
    job = job.with_repository_load_data(load_data)
    job_def = job.get_definition()
    run = instance.create_run_for_job(
        job_def=job_def, run_config=run_config, tags={**job_def.run_tags, **tags},
        asset_selection=frozenset(selected), job_code_origin=job.get_python_origin(),
        remote_job_origin=job_origin(job_def.name), repository_load_data=load_data)
    result = execute_run(job, run, instance, raise_on_error=False)
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
