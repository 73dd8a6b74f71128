"""Freshness on the exchange calendar (platform/freshness.py, automation.py): which partition every daily table must
hold at a time T, at each boundary; the check `trading_day_fresh` through the code location's sensor and its own
op, on a Dagster instance with the project's storage, fresh and stale; weekends and holidays are never late."""

import datetime as dt
import json
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from sentiment_pipeline import automation, definitions
from sentiment_pipeline.platform import calendar, freshness
from sentiment_pipeline.platform.partitions import trading_day_partitions

SHANGHAI = ZoneInfo("Asia/Shanghai")
PHASE = dg.AssetKey(["sentiment", "phase_daily"])
QUOTES = dg.AssetKey(["raw", "daily_quotes"])
pytestmark = [pytest.mark.filterwarnings("ignore::dagster.BetaWarning"),
              pytest.mark.filterwarnings("ignore::dagster.PreviewWarning"),
              pytest.mark.filterwarnings("ignore:.*will return a SensorDefinition without resolving")]


def at(day: str, time: str = "18:00") -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time.fromisoformat(time), SHANGHAI)


# -- the rule ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("when, expected", [
    (at("2024-10-11", "17:59"), "2024-10-10"),  # a Friday, before the deadline: the previous trading day
    (at("2024-10-11", "18:00"), "2024-10-11"),  # at the deadline: that day
    (at("2024-10-11", "23:59"), "2024-10-11"),
    (at("2024-10-12", "00:00"), "2024-10-11"),  # Saturday, any hour: Friday
    (at("2024-10-12", "18:00"), "2024-10-11"),
    (at("2024-10-13", "23:59"), "2024-10-11"),  # Sunday
    (at("2024-10-14", "17:59"), "2024-10-11"),  # Monday before 18:00: still Friday
    (at("2024-10-14", "18:00"), "2024-10-14"),
    (at("2024-10-01", "09:00"), "2024-09-30"),  # National Day, a Tuesday: the Monday before it, all week
    (at("2024-10-01", "18:00"), "2024-09-30"),
    (at("2024-10-07", "23:59"), "2024-09-30"),  # the holiday's last day, a Monday
    (at("2024-10-08", "09:00"), "2024-09-30"),  # the day after the holiday, before 18:00
    (at("2024-10-08", "17:59"), "2024-09-30"),
    (at("2024-10-08", "18:00"), "2024-10-08"),
    (at("2024-02-08", "18:00"), "2024-02-08"),  # the last day before the Spring Festival (Thursday)
    (at("2024-02-09", "18:00"), "2024-02-08"),  # Spring Festival: a Friday off
    (at("2024-02-12", "18:00"), "2024-02-08"),  # a Monday off
    (at("2024-02-18", "12:00"), "2024-02-08"),  # a Sunday (a make-up workday elsewhere, not at the exchange)
    (at("2024-02-19", "17:59"), "2024-02-08"),  # reopening day, before the deadline
    (at("2024-02-19", "18:00"), "2024-02-19"),
    (at("2019-02-11", "17:59"), "2019-02-01"),  # 2019's Spring Festival week (no partition in it)
    (at("2019-01-02", "18:00"), "2019-01-02"),  # the first partition
    (dt.datetime(2024, 10, 8, 9, 59, tzinfo=dt.timezone.utc), "2024-09-30"),  # 17:59 in Shanghai
    (dt.datetime(2024, 10, 8, 10, 0, tzinfo=dt.timezone.utc), "2024-10-08"),  # 18:00 in Shanghai
])
def test_the_expected_partition_is_the_last_trading_day_past_its_18_00_deadline(when, expected):
    assert freshness.expected_partition(when) == dt.date.fromisoformat(expected)
    assert expected in trading_day_partitions.get_partition_keys()


def test_before_the_first_partitions_deadline_nothing_is_expected():
    assert freshness.expected_partition(at("2019-01-02", "17:59")) is None
    assert freshness.expected_partition(at("2018-12-31", "20:00")) is None


def test_a_day_without_trading_never_moves_the_expected_partition():
    """Every day from the first partition to the calendar's end: the expected partition is a trading day not after
    it; on a weekend or holiday it is the same at 00:00, 18:00 and 23:59 (no deadline falls on such a day), and it
    moves only at 18:00 of a trading day."""
    open_days = set(calendar.trading_days())
    day, moves = calendar.FIRST_PARTITION, 0
    while day <= calendar.calendar_end():
        times = [freshness.expected_partition(at(day.isoformat(), t)) for t in ("00:00", "17:59", "18:00", "23:59")]
        assert all(e is None or (e in open_days and e <= day) for e in times), day
        if day in open_days:
            assert times[2] == times[3] == day and times[0] == times[1] != day, day
            moves += 1
        else:
            assert len(set(times)) == 1 and times[0] < day, day
        day += dt.timedelta(days=1)
    assert moves == len(calendar.trading_days_between(calendar.FIRST_PARTITION, calendar.calendar_end()))


# -- the check on a real instance ------------------------------------------------------------------------------

@pytest.fixture
def location(instance_home, monkeypatch):
    """The code location as `dagster dev` loads it, a Dagster instance with the project's dagster.yaml, and a
    clock the test sets."""
    clock = {"now": at("2019-07-01", "12:00")}
    monkeypatch.setattr(freshness, "now", lambda: clock["now"])
    with dg.DagsterInstance.get() as instance:
        yield definitions.defs(), instance, clock


def materialize_quotes(defs, instance, first: str, last: str):
    """raw/daily_quotes over a range through the code location's `backfill` job (one run), as the UI runs it."""
    result = defs.resolve_job_def(definitions.JOB_NAME).execute_in_process(
        instance=instance, asset_selection=[QUOTES],
        tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last})
    assert result.success
    return result


def record(instance, key: dg.AssetKey, *days: str):
    for day in days:
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key, partition=day))


def tick(defs, instance, cursor: str | None = None):
    """One tick of the sensor as the daemon runs it: evaluate, then store the evaluations it reports."""
    sensor = defs.get_sensor_def(automation.FRESHNESS_SENSOR_NAME)
    data = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs))
    for event in data.asset_events:
        instance.report_runless_asset_event(event)
    return data, {e.asset_key: e for e in data.asset_events}


def latest(instance, key: dg.AssetKey):
    """The check's latest evaluation as the UI reads it (the asset's Checks tab)."""
    [record] = instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(key, freshness.CHECK_NAME), limit=1)
    evaluation = record.event.dagster_event.event_specific_data
    return evaluation.passed, {k: v.value for k, v in evaluation.metadata.items()}, evaluation.description


def test_a_fresh_instance_passes_and_a_stale_one_fails_naming_both_partitions(location):
    defs, instance, clock = location
    run = materialize_quotes(defs, instance, "2019-06-26", "2019-06-28")
    record(instance, PHASE, "2019-06-27", "2019-06-28")
    # The UI's run evaluated the check at its end, after the write.
    [in_run] = [e.event_specific_data for e in run.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
                and e.event_specific_data.asset_check_key.name == freshness.CHECK_NAME]
    assert in_run.passed and in_run.metadata["expected_partition"].value == "2019-06-28"

    for clock["now"] in (at("2019-06-28", "18:00"), at("2019-06-29", "23:00"), at("2019-07-01", "17:59")):
        data, events = tick(defs, instance)
        assert events[PHASE].passed and events[QUOTES].passed, clock["now"]
        assert events[PHASE].metadata["expected_partition"].value == "2019-06-28"
    assert not events[dg.AssetKey(["stms", "scores"])].passed  # never materialized here
    assert data.skip_message.startswith("recorded 22 verdict(s): 2 of 22 daily tables hold 2019-06-28; late: ")

    clock["now"] = at("2019-07-01", "18:00")  # Monday's deadline: Monday's partition is missing
    _, events = tick(defs, instance)
    assert not events[PHASE].passed and events[PHASE].severity == dg.AssetCheckSeverity.ERROR
    clock["now"] = at("2024-10-08", "18:00")
    tick(defs, instance)
    passed, metadata, description = latest(instance, PHASE)
    assert not passed
    assert metadata["expected_partition"] == "2024-10-08" and metadata["newest_partition"] == "2019-06-28"
    assert metadata["expected_partition_status"] == "missing"
    assert metadata["trading_days_behind"] == len(calendar.trading_days_between(dt.date(2019, 7, 1),
                                                                                 dt.date(2024, 10, 8)))
    assert metadata["deadline"] == at("2024-10-08").timestamp()
    assert description.startswith("2024-10-08 is missing: it was due by 2024-10-08 18:00 Asia/Shanghai")
    assert "the newest materialized is 2019-06-28" in description


@pytest.mark.parametrize("holiday_week, last_day, reopening, last_note", [
    (("2024-10-01", "2024-10-07"), "2024-09-30", "2024-10-08", "2024-10-07 is an exchange holiday"),  # National Day
    (("2024-02-09", "2024-02-18"), "2024-02-08", "2024-02-19", "2024-02-18 is a Sunday"),  # Spring Festival
])
def test_holidays_and_weekends_are_never_late(location, holiday_week, last_day, reopening, last_note):
    defs, instance, clock = location
    record(instance, PHASE, last_day)
    first, end = (dt.date.fromisoformat(d) for d in holiday_week)
    cursor, day = None, first
    while day <= end:
        for time in ("00:00", "12:00", "18:00", "23:59"):
            clock["now"] = at(day.isoformat(), time)
            data, _ = tick(defs, instance, cursor)
            cursor = data.cursor
            passed, metadata, description = latest(instance, PHASE)
            assert passed and metadata["expected_partition"] == last_day, (day, time)
        day += dt.timedelta(days=1)
    assert description.endswith(f"deadline; {last_note}.")
    clock["now"] = at(reopening, "17:59")
    tick(defs, instance, cursor)
    assert latest(instance, PHASE)[0]
    clock["now"] = at(reopening, "18:00")  # the first deadline after the holiday
    tick(defs, instance, cursor)
    assert not latest(instance, PHASE)[0]


def test_the_sensor_records_every_18_00_and_every_change_and_nothing_else(location):
    defs, instance, clock = location
    record(instance, PHASE, "2019-06-27")
    clock["now"] = at("2019-06-28", "18:01")
    first, events = tick(defs, instance)
    assert len(events) == 22 and not events[PHASE].passed  # the first tick records every table
    assert json.loads(first.cursor)["closed_through"] == "2019-06-28"
    again, events = tick(defs, instance, first.cursor)
    assert not events and again.skip_message.startswith("no change: 0 of 22 daily tables hold 2019-06-28; late: ")
    record(instance, PHASE, "2019-06-28")  # the late day arrives (a re-run, or the main command)
    clock["now"] = at("2019-06-28", "19:30")
    arrived, events = tick(defs, instance, again.cursor)
    assert set(events) == {PHASE} and events[PHASE].passed
    assert arrived.skip_message.startswith("recorded 1 verdict(s): 1 of 22 daily tables hold 2019-06-28")
    clock["now"] = at("2019-06-29", "18:00")  # Saturday's 18:00: a record of every table, nothing new expected
    saturday, events = tick(defs, instance, arrived.cursor)
    assert len(events) == 22 and events[PHASE].passed
    assert "2019-06-29 is a Saturday" in events[PHASE].description
    clock["now"] = at("2019-06-29", "18:05")
    assert not tick(defs, instance, saturday.cursor)[1]


def test_on_demand_the_check_runs_alone_without_the_duckdb_writer(location):
    """The asset's Checks tab → Execute: a run of the check alone. It never sets up the DuckDB IO manager (that
    takes the writer lock, and would wait for a running backfill)."""
    defs, instance, clock = location
    record(instance, PHASE, "2019-06-27", "2019-06-28")
    clock["now"] = at("2019-07-01", "18:00")
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection=set(), asset_check_selection={dg.AssetCheckKey(PHASE, freshness.CHECK_NAME)})
    result = job.execute_in_process(instance=instance)
    inits = [e.message for e in result.all_events if e.event_type_value == "RESOURCE_INIT_STARTED"]
    assert inits == ["Starting initialization of resources [freshness_check_results]."]
    [evaluation] = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert not evaluation.passed and evaluation.metadata["expected_partition"].value == "2019-07-01"
    assert evaluation.metadata["newest_partition"].value == "2019-06-28"
    assert latest(instance, PHASE)[0] is False


def test_past_the_trading_calendar_the_check_warns_instead_of_guessing(location):
    defs, instance, clock = location
    last = calendar.calendar_end()
    record(instance, PHASE, last.isoformat())
    clock["now"] = at((last + dt.timedelta(days=1)).isoformat(), "18:00")
    verdict = freshness.evaluate(instance, PHASE, clock["now"])
    assert not verdict.passed and verdict.severity == dg.AssetCheckSeverity.WARN
    assert f"past the trading calendar's last day {last}" in verdict.description


# -- what the code location carries ----------------------------------------------------------------------------

def test_every_daily_table_has_the_check_and_no_asset_a_freshness_policy(pipeline_env):
    defs = definitions.defs()
    specs = {s.key: s for s in defs.resolve_all_asset_specs()}
    daily = {k for k, s in specs.items() if s.partitions_def == trading_day_partitions}
    graph = defs.resolve_asset_graph()
    checked = {c.asset_key for c in graph.asset_check_keys if c.name == freshness.CHECK_NAME}
    assert checked == daily and PHASE in daily and len(daily) == 22
    assert all(not graph.get_check_spec(dg.AssetCheckKey(k, freshness.CHECK_NAME)).blocking for k in daily)
    assert all(s.freshness_policy is None for s in specs.values())
    sensor = defs.get_sensor_def(automation.FRESHNESS_SENSOR_NAME)
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING and sensor.minimum_interval_seconds == 60
    # The UI's and the daemon's runs that write a daily table re-evaluate its check at their end.
    for job in (definitions.DAILY_JOB_NAME, definitions.JOB_NAME, automation.MARGIN_JOB_NAME):
        keys = defs.resolve_job_def(job).asset_layer.asset_graph.asset_check_keys
        assert dg.AssetCheckKey(dg.AssetKey(["raw", "margin_balance"]), freshness.CHECK_NAME) in keys, job
    # The main command's definitions leave it out (a historical range would record today's lateness).
    assert not {c for c in definitions.build_definitions().resolve_asset_graph().asset_check_keys
                if c.name == freshness.CHECK_NAME}
