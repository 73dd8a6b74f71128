"""Daily operations through the real definitions: the schedules over a holiday, a weekend and a normal day with
Dagster's schedule testing API, the run-status sensors that chain the week, the freshness check on the exchange
calendar (its rule and sensor: test_freshness.py), and retries only for the network."""

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg
import polars as pl
import pytest

from sentiment_pipeline import automation, definitions
from sentiment_pipeline.definitions import DAILY_JOB_NAME, HISTORY_JOB_NAME, JOB_NAME, WEEKLY_JOB_NAME, build_definitions
from sentiment_pipeline.platform import freshness
from sentiment_pipeline.platform.partitions import trading_day_partitions
from sentiment_pipeline.platform.resources import source_from_env
from sentiment_pipeline.sources.fetch import FetchFailed, UpstreamSchemaChanged

SHANGHAI = ZoneInfo("Asia/Shanghai")
pytestmark = [pytest.mark.filterwarnings("ignore:.*will return a (Schedule|Sensor)Definition without resolving"),
              pytest.mark.filterwarnings("ignore::dagster.BetaWarning")]


@pytest.fixture(scope="module")
def defs(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SENTIMENT_DUCKDB_PATH", str(tmp_path_factory.mktemp("automation") / "market.duckdb"))
        mp.setenv("SENTIMENT_SOURCE", "synthetic")
        return definitions.defs()  # the code location: what the UI's Automation page shows


def tick(defs, name: str, day: dt.date, hour: int):
    schedule = defs.get_schedule_def(name)
    context = dg.build_schedule_context(scheduled_execution_time=dt.datetime.combine(day, dt.time(hour), SHANGHAI),
                                        repository_def=defs.get_repository_def())
    return schedule.evaluate_tick(context)


def test_the_automation_page_lists_the_schedules_and_sensors_running_by_default(defs):
    schedules = {s.name: s for s in defs.schedules}
    assert set(schedules) == {"daily_close", "margin_next_morning"}
    assert schedules["daily_close"].cron_schedule == "0 16 * * *"
    assert schedules["daily_close"].execution_timezone == "Asia/Shanghai"
    assert schedules["daily_close"].job_name == DAILY_JOB_NAME
    assert schedules["margin_next_morning"].cron_schedule == "0 9 * * *"
    assert {s.name for s in defs.sensors} == {"weekly_after_last_trading_day", "history_after_weekly",
                                             "publish_after_runs", "trading_day_freshness"}
    for definition in [*defs.schedules, *defs.sensors]:
        assert definition.default_status.value == "RUNNING", definition.name
    assert {j.name for j in defs.jobs} == {DAILY_JOB_NAME, JOB_NAME, WEEKLY_JOB_NAME, HISTORY_JOB_NAME,
                                         automation.PUBLISH_JOB_NAME, automation.MARGIN_JOB_NAME}


@pytest.mark.parametrize("day, reason", [
    (dt.date(2024, 10, 1), "2024-10-01 is an exchange holiday: no trading"),  # National Day, a Tuesday
    (dt.date(2024, 10, 5), "2024-10-05 is a Saturday: no trading"),
    (dt.date(2024, 10, 13), "2024-10-13 is a Sunday: no trading"),
    (dt.date(2024, 2, 12), "2024-02-12 is an exchange holiday: no trading"),  # Spring Festival, a Monday
])
def test_the_close_run_skips_weekends_and_holidays_with_the_reason(defs, day, reason):
    result = tick(defs, "daily_close", day, 16)
    assert not result.run_requests and result.skip_message == reason


def test_the_close_run_requests_the_day_just_closed_which_exists_as_a_partition(defs):
    at = dt.datetime(2024, 10, 8, 16, tzinfo=SHANGHAI)  # the first trading day after National Day
    result = tick(defs, "daily_close", at.date(), 16)
    [request] = result.run_requests
    assert request.partition_key == "2024-10-08" and request.run_key == "daily_run:2024-10-08"
    existing = trading_day_partitions.get_partition_keys(current_time=at)
    assert existing[-1] == "2024-10-08"  # today's partition exists at 16:00; no later (future) one is asked for
    # A day past the trading calendar cannot be a partition: skipped with what to do.
    late = tick(defs, "daily_close", dt.date(2099, 1, 5), 16)
    assert not late.run_requests and "past the trading calendar's last day" in late.skip_message


@pytest.mark.parametrize("day, expected", [
    (dt.date(2024, 10, 8), "2024-09-30"),  # after the National Day week: the last day before it
    (dt.date(2024, 10, 14), "2024-10-11"),  # a Monday: Friday's margin
    (dt.date(2024, 10, 9), "2024-10-08"),
])
def test_the_margin_refresh_takes_the_previous_trading_day_next_morning(defs, day, expected):
    [request] = tick(defs, "margin_next_morning", day, 9).run_requests
    assert request.partition_key == expected
    job = defs.resolve_job_def(automation.MARGIN_JOB_NAME)
    assert {k.to_user_string() for k in job.asset_layer.asset_graph.get_all_asset_keys()} >= {"raw/margin_balance"}


def test_the_margin_refresh_skips_a_holiday_morning(defs):
    result = tick(defs, "margin_next_morning", dt.date(2024, 10, 2), 9)
    assert not result.run_requests
    assert result.skip_message == ("2024-10-02 is an exchange holiday: no trading; "
                                   "the margin refresh runs on the next trading morning")


def sensor_result(defs, name: str, job: str, tags: dict[str, str]):
    sensor = defs.get_sensor_def(name)
    run = dg.DagsterRun(job_name=job, run_id="0123456789ab-run", tags=tags)
    context = dg.build_run_status_sensor_context(
        sensor_name=name, dagster_event=dg.DagsterEvent(event_type_value="PIPELINE_SUCCESS", job_name=job),
        dagster_instance=dg.DagsterInstance.ephemeral(), dagster_run=run, repository_def=defs.get_repository_def())
    return sensor(context)


@pytest.mark.parametrize("day, week", [
    ("2024-09-30", "2024-09-30"),  # a Monday, the week's only trading day before National Day
    ("2024-10-11", "2024-10-07"),  # a Friday
    ("2024-02-08", "2024-02-05"),  # a Thursday before the Spring Festival
])
def test_the_weekly_run_follows_the_close_run_of_the_weeks_last_trading_day(defs, day, week):
    request = sensor_result(defs, "weekly_after_last_trading_day", DAILY_JOB_NAME, {"dagster/partition": day})
    assert isinstance(request, dg.RunRequest) and request.partition_key == week and request.asset_selection is None


def test_no_weekly_run_mid_week_and_only_the_review_after_a_margin_refresh(defs):
    mid = sensor_result(defs, "weekly_after_last_trading_day", DAILY_JOB_NAME, {"dagster/partition": "2024-10-10"})
    assert isinstance(mid, dg.SkipReason) and mid.skip_message == "2024-10-10 is not its week's last trading day"
    margin = sensor_result(defs, "weekly_after_last_trading_day", automation.MARGIN_JOB_NAME,
                           {"dagster/partition": "2024-10-11"})
    assert margin.partition_key == "2024-10-07" and margin.asset_selection == [dg.AssetKey(["review", "weekly"])]


def test_history_and_publish_follow_scheduled_runs_but_leave_cli_runs_to_the_cli(defs):
    history = sensor_result(defs, "history_after_weekly", WEEKLY_JOB_NAME, {})
    assert isinstance(history, dg.RunRequest)
    publish = sensor_result(defs, "publish_after_runs", DAILY_JOB_NAME, {automation.LAUNCHED_BY: "schedule"})
    assert isinstance(publish, dg.RunRequest)
    for name in ("history_after_weekly", "publish_after_runs"):
        assert isinstance(sensor_result(defs, name, WEEKLY_JOB_NAME, {automation.LAUNCHED_BY: "cli"}), dg.SkipReason)


def test_every_daily_table_has_the_trading_day_freshness_check_and_no_table_a_freshness_policy(defs):
    """Dagster's cron FreshnessPolicy is gone: it judged when a table was last written (a backfill of 2019 made it
    fresh) on a cron without the exchange calendar (a weekday holiday made it late). Each daily table has the check
    trading_day_fresh instead; weekly tables have neither."""
    specs = {s.key: s for s in defs.resolve_all_asset_specs()}
    daily = [k for k, s in specs.items() if s.partitions_def == trading_day_partitions]
    assert len(daily) >= 20 and dg.AssetKey(["sentiment", "phase_daily"]) in daily
    checks = defs.resolve_asset_graph().asset_check_keys
    for key in daily:
        assert specs[key].freshness_policy is None
        assert dg.AssetCheckKey(key, freshness.CHECK_NAME) in checks
    weekly = dg.AssetKey(["review", "weekly"])
    assert specs[weekly].freshness_policy is None and dg.AssetCheckKey(weekly, freshness.CHECK_NAME) not in checks


class _FlakySource:
    """Wraps the synthetic source: the first `failures` calls of daily_quotes fail as the network would."""

    def __init__(self, inner, error: Exception, failures: int):
        self.inner, self.error, self.failures, self.calls = inner, error, failures, 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def daily_quotes(self, start, end):
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return self.inner.daily_quotes(start, end)


def _run_raw_quotes(pipeline_env, monkeypatch, error, failures):
    monkeypatch.setenv("SENTIMENT_STEP_RETRIES", "2")
    monkeypatch.setenv("SENTIMENT_STEP_RETRY_DELAY", "0.01")
    flaky = _FlakySource(source_from_env(), error, failures)
    monkeypatch.setattr("sentiment_pipeline.definitions.source_from_env", lambda: flaky)
    job = build_definitions().resolve_job_def(DAILY_JOB_NAME)
    result = job.execute_in_process(partition_key="2019-03-04", raise_on_error=False,
                                    asset_selection=[dg.AssetKey(["raw", "daily_quotes"])])
    return result, flaky


def test_a_network_failure_is_retried_with_backoff_and_then_succeeds(pipeline_env, monkeypatch):
    result, flaky = _run_raw_quotes(pipeline_env, monkeypatch, FetchFailed("stock_zh_a_hist", "key", 3,
                                                                           ConnectionError("reset")), 2)
    assert result.success and flaky.calls == 3
    retries = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert len(retries) == 2
    assert [e.event_specific_data.seconds_to_wait for e in retries] == [0.01, 0.02]  # exponential


def test_a_network_failure_that_outlasts_the_retries_fails_the_step(pipeline_env, monkeypatch):
    result, flaky = _run_raw_quotes(pipeline_env, monkeypatch, ConnectionError("connection refused"), 10)
    assert not result.success and flaky.calls == 3  # the first try and two retries


def test_an_upstream_schema_change_is_not_retried(pipeline_env, monkeypatch):
    error = UpstreamSchemaChanged("stock_zh_a_spot_em", ["代码", "最新价"], ["代码"])
    result, flaky = _run_raw_quotes(pipeline_env, monkeypatch, error, 10)
    assert not result.success and flaky.calls == 1
    assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]


def test_a_validation_failure_is_not_retried_even_under_a_retry_policy(pipeline_env, monkeypatch):
    class Negative(_FlakySource):
        def daily_quotes(self, start, end):
            self.calls += 1
            return self.inner.daily_quotes(start, end).with_columns(close=-pl.col("close"))

    bad = Negative(source_from_env(), None, 0)
    monkeypatch.setattr("sentiment_pipeline.definitions.source_from_env", lambda: bad)
    defs = build_definitions()
    retrying = dg.define_asset_job("retrying", selection=[dg.AssetKey(["raw", "daily_quotes"])],
                                   op_retry_policy=dg.RetryPolicy(max_retries=3))
    job = dg.Definitions(assets=list(defs.assets), resources=defs.resources, jobs=[retrying]).resolve_job_def("retrying")
    result = job.execute_in_process(partition_key="2019-03-04", raise_on_error=False)
    assert not result.success and bad.calls == 1
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "raw.daily_quotes failed validation for partition(s) 2019-03-04" in failure.event_specific_data.error.message
