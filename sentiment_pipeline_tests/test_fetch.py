"""The polite fetcher (sources/fetch.py) and the raw-response store (sources/raw_store.py), offline.

A FakeClock replaces time: nothing sleeps for real and every wait is asserted exactly. Upstream responses are
what akshare's own code makes of recorded upstream answers (akshare_recordings.recorded_frame); nothing touches
the network.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import random
import socket

import pandas as pd
import pyarrow.parquet as pq
import pytest
import requests
from pandas.testing import assert_frame_equal

from sentiment_pipeline.sources.akshare_schema import UPSTREAM_COLUMNS
from sentiment_pipeline.sources.fetch import (
    DEFAULT_HOST_RATES,
    FUNCTION_HOSTS,
    Clock,
    Fetcher,
    FetchFailed,
    HostThrottle,
    RawResponseMissing,
    RetryPolicy,
    UpstreamSchemaChanged,
    is_retryable,
)
from sentiment_pipeline.sources.raw_store import RawKey, RawStore
from sentiment_pipeline_tests.akshare_fakes import FakeAkshare, recorded_frame

EM = "push2.eastmoney.com"  # host of stock_zh_a_spot_em, 0.5 calls/s by default
EM_HIS = "push2his.eastmoney.com"  # host of stock_zh_a_hist
SSE = "query.sse.com.cn"
T0 = 1000.0  # the fake clock's start (monotonic time is not 0 in real life either)
DAY = dt.date(2024, 1, 2)
SPOT_KEY = RawKey("stock_zh_a_spot_em", trade_date=DAY)
LENGTH_MISMATCH = "Length mismatch: Expected axis has 30 elements, new values have 29 elements"


class FakeClock(Clock):
    """Monotonic time that moves only when slept on (or advanced by the test); every sleep is recorded."""

    def __init__(self, start: float = T0):
        self.now = start
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, f"negative sleep {seconds}"
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        """Time passing outside any sleep (work done between calls)."""
        self.now += seconds


def spot_frame() -> pd.DataFrame:
    return recorded_frame("stock_zh_a_spot_em", [
        {"代码": "000001", "名称": "平安银行", "最新价": 10.52, "涨跌幅": 1.25, "成交量": 1234567.0, "总市值": 2.04e11},
        {"代码": "600000", "名称": "浦发银行", "最新价": 7.1, "涨跌幅": -0.42},  # the other columns are NaN
        {"代码": "830799", "名称": "艾融软件", "最新价": None, "涨跌幅": None},  # suspended: no price at all
    ])


def hist_frame(symbol: str) -> pd.DataFrame:
    return recorded_frame("stock_zh_a_hist", [
        {"日期": "2024-01-02", "股票代码": symbol, "开盘": 10.0, "收盘": 10.5, "成交量": 1000},
        {"日期": dt.date(2024, 1, 3), "股票代码": symbol, "开盘": 10.5, "收盘": 10.2, "成交量": 800},
    ], symbol=symbol)


def never_called():
    pytest.fail("the network was called although the response should come from the store")


class Script:
    """A callable answering from a list (exceptions are raised), counting its calls."""

    def __init__(self, *responses):
        self.responses = list(responses)
        self.calls = 0

    def __call__(self):
        self.calls += 1
        if not self.responses:
            pytest.fail(f"called a {self.calls}th time; nothing more is scripted")
        response = self.responses.pop(0)
        if isinstance(response, BaseException):
            raise response
        return response


def stored_files(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path) -> RawStore:
    return RawStore(tmp_path / "raw")


@pytest.fixture
def make_fetcher(store, clock):
    def make(**kwargs) -> Fetcher:
        kwargs.setdefault("clock", clock)
        kwargs.setdefault("rng", random.Random(0))
        kwargs.setdefault("expected_columns", UPSTREAM_COLUMNS)
        return Fetcher(kwargs.pop("store", store), **kwargs)

    return make


# --------------------------------------------------------------------------------------------------- throttle


def test_default_rates_give_every_eastmoney_host_one_call_per_two_seconds():
    assert set(DEFAULT_HOST_RATES) == set(FUNCTION_HOSTS.values())
    assert {h: r for h, r in DEFAULT_HOST_RATES.items() if r != 1.0} == {
        h: 0.5 for h in DEFAULT_HOST_RATES if h.endswith(".eastmoney.com")}
    assert FUNCTION_HOSTS["stock_zh_a_spot_em"] == EM and DEFAULT_HOST_RATES[EM] == 0.5
    # every pinned upstream function has a host, so none falls back to the unthrottled "unknown" host
    assert {k.partition(":")[0] for k in UPSTREAM_COLUMNS} <= set(FUNCTION_HOSTS)


def test_throttle_spaces_three_immediate_calls_to_one_host_by_two_seconds(clock):
    throttle = HostThrottle({EM: 0.5}, clock)
    assert [throttle.wait(EM) for _ in range(3)] == [0.0, 2.0, 2.0]
    assert clock.sleeps == [2.0, 2.0]
    assert clock.now == T0 + 4.0


def test_fetcher_throttles_immediate_fetches_with_the_default_eastmoney_rate(make_fetcher, clock, store):
    fetcher = make_fetcher()  # no rates given: DEFAULT_HOST_RATES
    for i in range(3):
        key = RawKey("stock_zh_a_spot_em", trade_date=DAY + dt.timedelta(days=i))
        fetcher.fetch(key, "stock_zh_a_spot_em", Script(spot_frame()))
    assert clock.sleeps == [2.0, 2.0]
    assert fetcher.stats.throttled_seconds == 4.0
    assert fetcher.stats.network_calls == 3 and fetcher.stats.retries == 0


def test_throttle_keeps_hosts_independent(clock):
    throttle = HostThrottle({EM: 0.5, SSE: 1.0}, clock)
    assert throttle.wait(EM) == 0.0
    assert throttle.wait(SSE) == 0.0  # EM's pending interval does not delay SSE
    assert clock.sleeps == []
    assert throttle.wait(SSE) == 1.0  # SSE waits only for its own interval
    assert throttle.wait(EM) == 1.0  # EM's 2 s interval already had 1 s elapse during SSE's sleep
    assert clock.sleeps == [1.0, 1.0]


def test_fetcher_does_not_delay_a_function_on_another_host(make_fetcher, clock):
    fetcher = make_fetcher()
    assert FUNCTION_HOSTS["stock_zh_a_hist"] == EM_HIS != EM
    fetcher.fetch(SPOT_KEY, "stock_zh_a_spot_em", Script(spot_frame()))
    fetcher.fetch(RawKey("stock_zh_a_hist", start=DAY, end=DAY, symbol="000001"), "stock_zh_a_hist",
                  Script(hist_frame("000001")))
    assert clock.sleeps == []
    fetcher.fetch(RawKey("stock_zh_a_hist", start=DAY, end=DAY, symbol="000002"), "stock_zh_a_hist",
                  Script(hist_frame("000002")))
    assert clock.sleeps == [2.0]


def test_throttle_does_not_sleep_again_for_time_that_already_passed(clock):
    throttle = HostThrottle({EM: 0.5}, clock)
    assert throttle.wait(EM) == 0.0
    clock.advance(1.5)
    assert throttle.wait(EM) == 0.5  # 2 s interval, 1.5 s already gone
    clock.advance(5.0)
    assert throttle.wait(EM) == 0.0  # more than the interval passed: no sleep at all
    assert throttle.wait(EM) == 2.0  # the interval counts from that (late) call, not from the schedule
    assert clock.sleeps == [0.5, 2.0]


def test_throttle_uses_default_rate_for_unknown_host(clock):
    throttle = HostThrottle({EM: 0.5}, clock, default_rate=4.0)
    assert [throttle.wait("example.org") for _ in range(3)] == [0.0, 0.25, 0.25]


# --------------------------------------------------------------------------------------------------- retries


def test_connection_errors_are_retried_with_full_jitter_backoff(make_fetcher, clock, store):
    fake = FakeAkshare({"stock_zh_a_spot_em": [ConnectionError("reset"), ConnectionError("reset"), spot_frame()]})
    fetcher = make_fetcher(retry=RetryPolicy(max_attempts=6, base_delay=2.0, max_delay=120.0),
                           rng=random.Random(0))

    frame = fetcher.fetch(SPOT_KEY, "stock_zh_a_spot_em", fake.stock_zh_a_spot_em)

    assert_frame_equal(frame, spot_frame())
    assert len(fake.calls) == 3
    assert fetcher.stats.network_calls == 3 and fetcher.stats.retries == 2
    rng = random.Random(0)
    d1 = rng.uniform(0, 2.0)  # retry 1: uniform in [0, base]
    d2 = rng.uniform(0, 4.0)  # retry 2: uniform in [0, 2·base]
    assert 0 <= d1 <= 2.0 and 0 <= d2 <= 4.0
    # With seed 0: d1 ≈ 1.69 < 2 (the throttle then waits for the rest of EM's 2 s interval),
    # d2 ≈ 3.03 > 2 (the backoff outlasts the interval, so no throttle wait before attempt 3).
    assert d1 < 2.0 < d2
    # attempt 1 at T0 (no wait) · backoff d1 · throttle 2-d1 · attempt 2 at T0+2 · backoff d2 · attempt 3
    assert clock.sleeps[0] == d1 and clock.sleeps[2] == d2
    assert clock.sleeps == pytest.approx([d1, 2.0 - d1, d2], abs=1e-9)
    assert fetcher.stats.backoff_seconds == pytest.approx(d1 + d2, abs=1e-12)
    assert fetcher.stats.throttled_seconds == pytest.approx(2.0 - d1, abs=1e-9)
    assert_frame_equal(store.get(SPOT_KEY), spot_frame())


def test_retry_delay_is_full_jitter_capped_at_max_delay():
    policy = RetryPolicy(max_attempts=10, base_delay=2.0, max_delay=5.0)
    reference = random.Random(7)
    rng = random.Random(7)
    for n, bound in [(1, 2.0), (2, 4.0), (3, 5.0), (10, 5.0)]:
        delay = policy.delay(n, rng)
        assert delay == reference.uniform(0, bound)
        assert 0 <= delay <= bound
    # over many draws the whole [0, bound] range is used, not just its top
    draws = [policy.delay(2, random.Random(seed)) for seed in range(200)]
    assert max(draws) <= 4.0 and min(draws) < 0.5 and max(draws) > 3.5


def test_remote_disconnected_is_retried(make_fetcher):
    call = Script(http.client.RemoteDisconnected("Remote end closed connection without response"), spot_frame())
    fetcher = make_fetcher()
    assert_frame_equal(fetcher.fetch(SPOT_KEY, "stock_zh_a_spot_em", call), spot_frame())
    assert call.calls == 2 and fetcher.stats.retries == 1


def test_max_retries_exceeded_message_is_retried_whatever_its_type(make_fetcher):
    error = RuntimeError("HTTPSConnectionPool(host='push2.eastmoney.com', port=443): Max retries exceeded "
                         "with url: /api/qt/clist/get (Caused by ProxyError('Unable to connect to proxy'))")
    call = Script(error, spot_frame())
    fetcher = make_fetcher()
    assert_frame_equal(fetcher.fetch(SPOT_KEY, "stock_zh_a_spot_em", call), spot_frame())
    assert call.calls == 2 and fetcher.stats.retries == 1


def _http_error(status: int) -> requests.HTTPError:
    response = requests.Response()
    response.status_code = status
    return requests.HTTPError(f"{status} Error", response=response)


@pytest.mark.parametrize("exc, retryable", [
    (ConnectionError("reset"), True),
    (ConnectionResetError(104, "Connection reset by peer"), True),
    (TimeoutError(), True),
    (socket.timeout("timed out"), True),
    (http.client.RemoteDisconnected("Remote end closed connection without response"), True),
    (requests.ConnectionError("Connection aborted."), True),
    (requests.Timeout("Read timed out. (read timeout=15)"), True),
    (_http_error(429), True),
    (_http_error(403), True),
    (_http_error(502), True),
    (_http_error(404), False),
    (OSError("[Errno -3] Temporary failure in name resolution"), True),
    (FileNotFoundError("no such file"), False),
    (PermissionError("denied"), False),
    (RuntimeError("Max retries exceeded with url"), True),
    (KeyError("diff"), False),
    (ValueError("could not convert string to float: '-'"), False),
    (TypeError("'NoneType' object is not subscriptable"), False),
], ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v))
def test_is_retryable_classifies_network_errors_and_bans(exc, retryable):
    assert is_retryable(exc) is retryable


# Regression: '403'/'429' used to match as bare substrings of any error message.
def test_error_mentioning_a_stock_code_with_403_is_not_retried(make_fetcher, store):
    error = KeyError("600403")
    call = Script(error, spot_frame())
    fetcher = make_fetcher(retry=RetryPolicy(max_attempts=3, base_delay=1.0))
    with pytest.raises(KeyError) as raised:
        fetcher.fetch(SPOT_KEY, "stock_zh_a_spot_em", call)
    assert raised.value is error
    assert call.calls == 1 and fetcher.stats.retries == 0


# --------------------------------------------------------------------------------------------------- giving up


def test_gives_up_after_max_attempts_with_fetch_failed(make_fetcher, clock, store):
    errors = [ConnectionError(f"reset by peer #{i}") for i in range(1, 5)]
    call = Script(*errors)
    fetcher = make_fetcher(retry=RetryPolicy(max_attempts=4, base_delay=1.0), rng=random.Random(3))

    with pytest.raises(FetchFailed) as raised:
        fetcher.fetch(SPOT_KEY, "stock_zh_a_spot_em", call)

    assert str(raised.value) == (
        "akshare.stock_zh_a_spot_em for stock_zh_a_spot_em/date=2024-01-02/_all.parquet failed after "
        "4 attempt(s): ConnectionError: reset by peer #4")
    assert raised.value.__context__ is errors[-1] and raised.value.__cause__ is None  # the message, not akshare's
    assert call.calls == 4
    assert fetcher.stats.network_calls == 4 and fetcher.stats.retries == 3  # no backoff after the last attempt
    rng = random.Random(3)
    assert fetcher.stats.backoff_seconds == pytest.approx(sum(rng.uniform(0, 2.0 ** (n - 1)) for n in (1, 2, 3)),
                                                          abs=1e-12)
    assert not store.has(SPOT_KEY)
    assert not store.root.exists() or stored_files(store.root) == []


# --------------------------------------------------------------------------------------------------- non-retryable


@pytest.mark.parametrize("error", [
    KeyError("diff"),
    ValueError("could not convert string to float: '-'"),
    TypeError("unsupported operand type(s) for +: 'int' and 'str'"),
], ids=["KeyError", "ValueError", "TypeError"])
def test_non_retryable_errors_propagate_after_one_call(make_fetcher, clock, store, error):
    call = Script(error, spot_frame())
    fetcher = make_fetcher()
    with pytest.raises(type(error)) as raised:
        fetcher.fetch(SPOT_KEY, "stock_zh_a_spot_em", call)
    assert raised.value is error
    assert call.calls == 1
    assert fetcher.stats.network_calls == 1 and fetcher.stats.retries == 0
    assert clock.sleeps == []
    assert not store.has(SPOT_KEY)


def test_non_dataframe_answer_is_an_error(make_fetcher, store):
    from sentiment_pipeline.sources.fetch import UpstreamError

    fetcher = make_fetcher()
    with pytest.raises(UpstreamError, match=r"^akshare\.stock_zh_a_spot_em for .* returned NoneType, not a DataFrame$"):
        fetcher.fetch(SPOT_KEY, "stock_zh_a_spot_em", Script(None))
    assert not store.has(SPOT_KEY)


# --------------------------------------------------------------------------------------------------- schema changes


def test_length_mismatch_is_an_upstream_schema_change(make_fetcher, store):
    error = ValueError(LENGTH_MISMATCH)
    call = Script(error, recorded_frame("stock_zt_pool_em", [], date=f"{DAY:%Y%m%d}"))
    fetcher = make_fetcher()
    key = RawKey("stock_zt_pool_em", trade_date=DAY)

    with pytest.raises(UpstreamSchemaChanged) as raised:
        fetcher.fetch(key, "stock_zt_pool_em", call)

    expected = UPSTREAM_COLUMNS["stock_zt_pool_em"]
    message = str(raised.value)
    assert message.startswith(f"upstream schema changed in akshare.stock_zt_pool_em: expected columns {list(expected)}")
    assert LENGTH_MISMATCH in message
    assert raised.value.expected == expected and raised.value.received is None
    assert raised.value.__context__ is error and raised.value.__cause__ is None
    assert call.calls == 1 and fetcher.stats.retries == 0
    assert not store.has(key)


def test_length_mismatch_names_the_argument_dependent_schema(make_fetcher):
    fetcher = make_fetcher()
    key = RawKey("stock_individual_fund_flow_rank", trade_date=DAY)
    with pytest.raises(UpstreamSchemaChanged) as raised:
        fetcher.fetch(key, "stock_individual_fund_flow_rank", Script(ValueError(LENGTH_MISMATCH)),
                      schema="stock_individual_fund_flow_rank:今日")
    assert raised.value.expected == UPSTREAM_COLUMNS["stock_individual_fund_flow_rank:今日"]
    assert "今日主力净流入-净额" in str(raised.value)


def _with_extra_column(frame):
    frame = frame.copy()
    frame["f999"] = 1.0
    return frame


def _without_column(frame):
    return frame.drop(columns=["涨速"])


# The committed fetch.py (40e5f78) checked columns on store hits only, so a changed schema was stored first and
# detected on the next run; the fix runs the same check on a fresh response before it is stored.
@pytest.mark.parametrize("change, missing, extra", [
    (_with_extra_column, [], ["f999"]),
    (_without_column, ["涨速"], []),
], ids=["extra-column", "missing-column"])
def test_fresh_response_with_changed_columns_is_rejected_and_not_stored(make_fetcher, store, change, missing, extra):
    fetcher = make_fetcher()
    call = Script(change(spot_frame()))
    with pytest.raises(UpstreamSchemaChanged) as raised:
        fetcher.fetch(SPOT_KEY, "stock_zh_a_spot_em", call)
    assert f"missing {missing}, unexpected {extra}" in str(raised.value)
    assert raised.value.expected == UPSTREAM_COLUMNS["stock_zh_a_spot_em"]
    assert call.calls == 1 and fetcher.stats.retries == 0
    assert not store.has(SPOT_KEY)
    assert not store.root.exists() or stored_files(store.root) == []


@pytest.mark.parametrize("change, missing, extra", [
    (_with_extra_column, [], ["f999"]),
    (_without_column, ["涨速"], []),
], ids=["extra-column", "missing-column"])
def test_stored_response_with_changed_columns_is_rejected(make_fetcher, store, change, missing, extra):
    received = change(spot_frame())
    store.put(SPOT_KEY, received)
    fetcher = make_fetcher()
    with pytest.raises(UpstreamSchemaChanged) as raised:
        fetcher.fetch(SPOT_KEY, "stock_zh_a_spot_em", never_called)
    expected = UPSTREAM_COLUMNS["stock_zh_a_spot_em"]
    assert str(raised.value) == (
        f"upstream schema changed in akshare.stock_zh_a_spot_em: expected columns {list(expected)}, "
        f"received {list(received.columns)}: missing {missing}, unexpected {extra}. "
        "Pin or upgrade akshare and update sources/akshare_schema.py.")
    assert raised.value.expected == expected and raised.value.received == list(received.columns)
    assert fetcher.stats.network_calls == 0


def test_reordered_columns_count_as_a_schema_change(make_fetcher, store):
    frame = spot_frame()
    store.put(SPOT_KEY, frame[list(reversed(frame.columns))])
    with pytest.raises(UpstreamSchemaChanged, match=r"missing \[\], unexpected \[\]"):
        make_fetcher().fetch(SPOT_KEY, "stock_zh_a_spot_em", never_called)


def test_accept_can_reject_a_fresh_response_before_it_is_stored(make_fetcher, store):
    class WrongDay(Exception):
        pass

    def reject(frame):
        raise WrongDay(len(frame))

    fetcher = make_fetcher()
    call = Script(spot_frame())
    with pytest.raises(WrongDay):
        fetcher.fetch(SPOT_KEY, "stock_zh_a_spot_em", call, accept=reject)
    assert call.calls == 1 and fetcher.stats.retries == 0
    assert not store.has(SPOT_KEY)
    seen = []
    fetcher.fetch(SPOT_KEY, "stock_zh_a_spot_em", Script(spot_frame()), accept=seen.append)
    assert len(seen) == 1 and store.has(SPOT_KEY)
    fetcher.fetch(SPOT_KEY, "stock_zh_a_spot_em", never_called, accept=reject)  # not applied to a store hit
    assert fetcher.stats.store_hits == 1


# --------------------------------------------------------------------------------------------------- store hits


def test_second_fetch_of_a_key_is_a_store_hit_without_a_call(make_fetcher, clock, store):
    fetcher = make_fetcher()
    first = fetcher.fetch(SPOT_KEY, "stock_zh_a_spot_em", Script(spot_frame()))
    second = fetcher.fetch(SPOT_KEY, "stock_zh_a_spot_em", never_called)
    assert_frame_equal(second, first)
    assert_frame_equal(second, spot_frame())
    assert fetcher.stats.store_hits == 1 and fetcher.stats.network_calls == 1
    assert clock.sleeps == []  # a hit does not wait for the host's rate limit
    # a new fetcher (a later run) on the same directory hits too
    later = make_fetcher(store=RawStore(store.root))
    assert_frame_equal(later.fetch(SPOT_KEY, "stock_zh_a_spot_em", never_called), spot_frame())
    assert later.stats.store_hits == 1 and later.stats.network_calls == 0
    assert later.stats.as_metadata() == {"raw_store_hits": 1, "network_calls": 0, "retries": 0,
                                         "throttled_seconds": 0.0, "backoff_seconds": 0.0, "null_answers": 0}


def test_put_records_the_request_in_the_parquet_metadata(make_fetcher, store):
    make_fetcher().fetch(SPOT_KEY, "stock_zh_a_spot_em", Script(spot_frame()))
    meta = pq.read_schema(store.path(SPOT_KEY)).metadata
    assert json.loads(meta[b"request"]) == {"function": "stock_zh_a_spot_em",
                                            "key": "stock_zh_a_spot_em/date=2024-01-02/_all.parquet"}
    assert json.loads(meta[b"stringified_columns"]) == []
    assert dt.datetime.fromisoformat(meta[b"fetched_at"].decode()).tzinfo is not None


# --------------------------------------------------------------------------------------------------- replay


def test_replay_miss_raises_raw_response_missing(make_fetcher, store):
    fetcher = make_fetcher(replay=True)
    with pytest.raises(RawResponseMissing) as raised:
        fetcher.fetch(SPOT_KEY, "stock_zh_a_spot_em", never_called)
    assert str(raised.value) == (
        f"replay mode: no stored response stock_zh_a_spot_em/date=2024-01-02/_all.parquet under {store.root} "
        "(run once in live mode to fetch it)")
    assert fetcher.stats.network_calls == 0
    assert not store.has(SPOT_KEY)


def test_replay_hit_returns_the_stored_response_without_calling(make_fetcher, store):
    store.put(SPOT_KEY, spot_frame())
    fetcher = make_fetcher(replay=True)
    assert_frame_equal(fetcher.fetch(SPOT_KEY, "stock_zh_a_spot_em", never_called), spot_frame())
    assert fetcher.stats.store_hits == 1 and fetcher.stats.network_calls == 0


# --------------------------------------------------------------------------------------------------- empty answers


def test_empty_answer_is_returned_but_not_stored_when_store_empty_is_false(make_fetcher, store):
    key = RawKey("stock_zt_pool_em", trade_date=DAY)
    call = Script(pd.DataFrame(), pd.DataFrame())
    fetcher = make_fetcher()
    frame = fetcher.fetch(key, "stock_zt_pool_em", call, store_empty=False)
    assert frame.empty and list(frame.columns) == []
    assert not store.has(key)
    fetcher.fetch(key, "stock_zt_pool_em", call, store_empty=False)  # asked again: not a hit
    assert call.calls == 2 and fetcher.stats.store_hits == 0


def test_non_empty_answer_is_stored_even_when_store_empty_is_false(make_fetcher, store):
    key = RawKey("stock_zt_pool_em", trade_date=DAY)
    frame = recorded_frame("stock_zt_pool_em", [{"代码": "600519", "名称": "贵州茅台", "连板数": 1}],
                           date=f"{DAY:%Y%m%d}")
    make_fetcher().fetch(key, "stock_zt_pool_em", Script(frame), store_empty=False)
    assert_frame_equal(store.get(key), frame)


def test_empty_answer_is_stored_when_store_empty_is_true_and_then_hit(make_fetcher, store):
    key = RawKey("stock_zt_pool_em", trade_date=DAY)
    fetcher = make_fetcher()
    frame = fetcher.fetch(key, "stock_zt_pool_em", Script(pd.DataFrame()), store_empty=True)
    assert frame.empty
    assert store.has(key)
    again = fetcher.fetch(key, "stock_zt_pool_em", never_called)
    assert again.shape == (0, 0)
    assert fetcher.stats.store_hits == 1 and fetcher.stats.network_calls == 1


# --------------------------------------------------------------------------------------------------- round trip


def test_akshare_spot_frame_round_trips_exactly(store):
    frame = spot_frame()
    assert str(frame["代码"].dtype) == "str" and frame["序号"].dtype == "int64"
    store.put(SPOT_KEY, frame)
    back = store.get(SPOT_KEY)
    assert_frame_equal(back, frame, check_dtype=True, check_exact=True)
    assert back["名称"].tolist() == ["平安银行", "浦发银行", "艾融软件"]


def test_dates_round_trip_as_datetime_date(store):
    key = RawKey("stock_zh_a_hist", start=DAY, end=dt.date(2024, 1, 3), symbol="000001")
    frame = hist_frame("000001")
    store.put(key, frame)
    back = store.get(key)
    assert_frame_equal(back, frame, check_dtype=True, check_exact=True)
    assert back["日期"].dtype == object
    assert [type(v) for v in back["日期"]] == [dt.date, dt.date]  # not Timestamp, not datetime
    assert back["日期"].tolist() == [dt.date(2024, 1, 2), dt.date(2024, 1, 3)]


def test_missing_date_comes_back_as_none_not_nat(store):
    # What round-trips is the value, not the flavour of missing: akshare's .dt.date yields NaT, Arrow stores
    # a null, and to_pandas gives None for a null in a date column.
    frame = recorded_frame("stock_info_sh_delist", [
        {"公司代码": "600001", "公司简称": "邯郸钢铁", "上市日期": dt.date(1998, 1, 22), "暂停上市日期": None},
        {"公司代码": "600002", "公司简称": "齐鲁石化", "上市日期": dt.date(1998, 4, 8),
         "暂停上市日期": dt.date(2006, 4, 24)},
    ])
    assert frame.loc[0, "暂停上市日期"] is pd.NaT
    key = RawKey("stock_info_sh_delist", as_of=DAY, symbol="全部")
    store.put(key, frame)
    back = store.get(key)
    assert back.loc[0, "暂停上市日期"] is None
    assert back.loc[1, "暂停上市日期"] == dt.date(2006, 4, 24) and type(back.loc[1, "暂停上市日期"]) is dt.date
    assert json.loads(pq.read_schema(store.path(key)).metadata[b"stringified_columns"]) == []
    assert_frame_equal(back.drop(columns=["暂停上市日期"]), frame.drop(columns=["暂停上市日期"]), check_exact=True)


def test_numeric_column_mixing_floats_and_dash_is_stored_as_text(make_fetcher, store):
    frame = recorded_frame("stock_individual_fund_flow_rank:今日", [
        {"代码": "000001", "名称": "平安银行", "最新价": 10.52, "今日涨跌幅": 1.25, "今日主力净流入-净额": 1.5e6},
        {"代码": "000002", "名称": "万科A", "最新价": "-", "今日涨跌幅": 0.0, "今日主力净流入-净额": "-"},
    ])
    assert frame["最新价"].dtype == object and frame["最新价"].tolist() == [10.52, "-"]
    key = RawKey("stock_individual_fund_flow_rank", trade_date=DAY)
    fetcher = make_fetcher()
    returned = fetcher.fetch(key, "stock_individual_fund_flow_rank", Script(frame),
                             schema="stock_individual_fund_flow_rank:今日")
    assert_frame_equal(returned, frame)  # the caller gets the response itself

    meta = pq.read_schema(store.path(key)).metadata
    assert json.loads(meta[b"stringified_columns"]) == ["最新价", "今日主力净流入-净额"]
    back = store.get(key)
    assert back["最新价"].tolist() == ["10.52", "-"]
    assert back["今日主力净流入-净额"].tolist() == ["1500000.0", "-"]
    assert str(back["最新价"].dtype) == "str"
    untouched = [c for c in frame.columns if c not in ("最新价", "今日主力净流入-净额")]
    assert_frame_equal(back[untouched], frame[untouched], check_exact=True)
    # the stored, stringified response still passes the column check on a hit
    hit = fetcher.fetch(key, "stock_individual_fund_flow_rank", never_called,
                        schema="stock_individual_fund_flow_rank:今日")
    assert list(hit.columns) == list(UPSTREAM_COLUMNS["stock_individual_fund_flow_rank:今日"])


def test_mixed_column_keeps_missing_values_missing(store):
    frame = pd.DataFrame({"x": pd.Series([1.5, "-", None, float("nan")], dtype=object), "y": [1, 2, 3, 4]})
    key = RawKey("mixed", trade_date=DAY)
    store.put(key, frame)
    back = store.get(key)
    assert back["x"].tolist()[:2] == ["1.5", "-"]
    assert back["x"].isna().tolist() == [False, False, True, True]
    assert back["y"].tolist() == [1, 2, 3, 4]
    assert json.loads(pq.read_schema(store.path(key)).metadata[b"stringified_columns"]) == ["x"]


def test_a_non_default_index_is_not_kept(store):
    # put() writes preserve_index=False: the rows keep their order, the index labels are dropped
    frame = recorded_frame("stock_hot_rank_detail_em", [
        {"时间": "2024-01-03", "排名": 5},
        {"时间": "2024-01-02", "排名": 9},
    ], symbol="SZ000665")  # akshare sorts by 时间 in place
    assert frame.index.tolist() == [1, 0]
    key = RawKey("stock_hot_rank_detail_em", as_of=DAY, symbol="SZ000665")
    store.put(key, frame)
    assert_frame_equal(store.get(key), frame.reset_index(drop=True), check_exact=True)


# --------------------------------------------------------------------------------------------------- resume


SYMBOLS = ["000001", "000002", "600000", "600519", "300750"]
START, END = dt.date(2024, 1, 1), dt.date(2024, 3, 29)


def _hist_key(symbol: str) -> RawKey:
    return RawKey("stock_zh_a_hist", start=START, end=END, symbol=symbol)


def _backfill(fetcher: Fetcher, fake: FakeAkshare) -> None:
    for symbol in SYMBOLS:
        fetcher.fetch(_hist_key(symbol), "stock_zh_a_hist",
                      lambda s=symbol: fake.stock_zh_a_hist(symbol=s, start_date=f"{START:%Y%m%d}",
                                                            end_date=f"{END:%Y%m%d}"))


@pytest.mark.parametrize("interruption", [KeyboardInterrupt(), KeyError("klines")], ids=["KeyboardInterrupt", "KeyError"])
def test_backfill_resumes_after_interruption_calling_only_the_missing_symbols(tmp_path, clock, interruption):
    root = tmp_path / "raw"
    first = FakeAkshare({FakeAkshare.key("stock_zh_a_hist", symbol=s): (interruption if s == SYMBOLS[2] else hist_frame(s))
                         for s in SYMBOLS})
    with pytest.raises(type(interruption)):
        _backfill(Fetcher(RawStore(root), clock=clock, rng=random.Random(0), expected_columns=UPSTREAM_COLUMNS), first)
    assert [kw["symbol"] for kw in first.calls_to("stock_zh_a_hist")] == SYMBOLS[:3]
    assert stored_files(root) == [f"stock_zh_a_hist/range=2024-01-01_2024-03-29/{s}.parquet" for s in sorted(SYMBOLS[:2])]

    second = FakeAkshare({FakeAkshare.key("stock_zh_a_hist", symbol=s): hist_frame(s) for s in SYMBOLS})
    fetcher = Fetcher(RawStore(root), clock=FakeClock(), rng=random.Random(0), expected_columns=UPSTREAM_COLUMNS)
    _backfill(fetcher, second)
    assert [kw["symbol"] for kw in second.calls_to("stock_zh_a_hist")] == SYMBOLS[2:]
    assert fetcher.stats.store_hits == 2 and fetcher.stats.network_calls == 3
    store = RawStore(root)
    for s in SYMBOLS:
        assert_frame_equal(store.get(_hist_key(s)), hist_frame(s))


def test_covering_finds_a_wider_stored_range(store):
    ds = "stock_zh_a_hist"
    wide = RawKey(ds, start=dt.date(2024, 1, 1), end=dt.date(2024, 6, 28), symbol="000001")
    older = RawKey(ds, start=dt.date(2023, 1, 1), end=dt.date(2024, 3, 29), symbol="000001")
    other = RawKey(ds, start=dt.date(2020, 1, 1), end=dt.date(2025, 1, 1), symbol="600000")
    for key in (wide, older, other):
        store.put(key, hist_frame(key.symbol))

    assert store.ranges(ds, "000001") == [(wide.start, wide.end), (older.start, older.end)]  # newest end first
    assert store.covering(ds, "000001", dt.date(2024, 2, 1), dt.date(2024, 3, 29)) == wide  # both cover: newest
    assert store.covering(ds, "000001", dt.date(2024, 1, 1), dt.date(2024, 6, 28)) == wide  # exact bounds
    assert store.covering(ds, "000001", dt.date(2023, 6, 1), dt.date(2023, 12, 29)) == older
    assert store.covering(ds, "000001", dt.date(2023, 6, 1), dt.date(2024, 6, 28)) is None  # no single range
    assert store.covering(ds, "000001", dt.date(2024, 5, 1), dt.date(2024, 7, 31)) is None  # runs past the end
    assert store.covering(ds, "000002", dt.date(2024, 2, 1), dt.date(2024, 3, 29)) is None  # other symbol
    assert store.covering("stock_individual_fund_flow", "000001", dt.date(2024, 2, 1), dt.date(2024, 3, 1)) is None
    assert store.ranges("nothing") == []


def test_latest_as_of_picks_the_newest_snapshot_on_or_before_a_day(store):
    ds = "stock_info_sh_name_code"
    for day in (dt.date(2024, 1, 5), dt.date(2024, 1, 20), dt.date(2024, 1, 10)):
        store.put(RawKey(ds, as_of=day), pd.DataFrame({"a": [1]}))
    store.put(RawKey(ds, as_of=dt.date(2024, 1, 15), symbol="科创板"), pd.DataFrame({"a": [1]}))

    assert store.latest_as_of(ds, None, dt.date(2024, 1, 15)) == RawKey(ds, as_of=dt.date(2024, 1, 10))
    assert store.latest_as_of(ds, None, dt.date(2024, 1, 10)) == RawKey(ds, as_of=dt.date(2024, 1, 10))
    assert store.latest_as_of(ds, None, dt.date(2024, 12, 31)) == RawKey(ds, as_of=dt.date(2024, 1, 20))
    assert store.latest_as_of(ds, None, dt.date(2024, 1, 4)) is None
    assert store.latest_as_of(ds, "科创板", dt.date(2024, 1, 16)) == RawKey(ds, as_of=dt.date(2024, 1, 15), symbol="科创板")
    assert store.latest_as_of(ds, "科创板", dt.date(2024, 1, 14)) is None
    assert store.latest_as_of("nothing", None, dt.date(2024, 1, 15)) is None
    assert store.as_of_dates(ds) == [dt.date(2024, 1, 5), dt.date(2024, 1, 10), dt.date(2024, 1, 20)]
    assert store.as_of_dates(ds, "科创板") == [dt.date(2024, 1, 15)]
    assert store.as_of_dates("nothing") == []


# --------------------------------------------------------------------------------------------------- layout


def test_put_leaves_no_temporary_files_and_replaces_atomically(store):
    first = store.put(SPOT_KEY, spot_frame())
    assert first == store.root / "stock_zh_a_spot_em" / "date=2024-01-02" / "_all.parquet"
    assert stored_files(store.root) == ["stock_zh_a_spot_em/date=2024-01-02/_all.parquet"]
    replacement = spot_frame().iloc[:1]
    assert store.put(SPOT_KEY, replacement) == first
    assert stored_files(store.root) == ["stock_zh_a_spot_em/date=2024-01-02/_all.parquet"]
    assert_frame_equal(store.get(SPOT_KEY), replacement)
    assert not any(p.name.startswith(".") or p.suffix == ".tmp" for p in store.root.rglob("*"))


@pytest.mark.parametrize("key, path", [
    (RawKey("stock_zt_pool_em", trade_date=dt.date(2024, 1, 2)), "stock_zt_pool_em/date=2024-01-02/_all.parquet"),
    (RawKey("stock_individual_fund_flow", trade_date=dt.date(2024, 1, 2), symbol="600094"),
     "stock_individual_fund_flow/date=2024-01-02/600094.parquet"),
    (RawKey("stock_zh_a_hist", start=dt.date(2024, 1, 1), end=dt.date(2024, 3, 29), symbol="000001"),
     "stock_zh_a_hist/range=2024-01-01_2024-03-29/000001.parquet"),
    (RawKey("stock_margin_account_info", start=dt.date(2024, 1, 1), end=dt.date(2024, 3, 29)),
     "stock_margin_account_info/range=2024-01-01_2024-03-29/_all.parquet"),
    (RawKey("stock_hot_rank_detail_em", as_of=dt.date(2024, 1, 5), symbol="SZ000665"),
     "stock_hot_rank_detail_em/asof=2024-01-05/SZ000665.parquet"),
    (RawKey("stock_info_bj_name_code", as_of=dt.date(2024, 1, 5)), "stock_info_bj_name_code/asof=2024-01-05/_all.parquet"),
], ids=["date-all", "date-symbol", "range-symbol", "range-all", "asof-symbol", "asof-all"])
def test_raw_key_paths(store, key, path):
    assert key.relative_path().as_posix() == path
    assert str(key) == str(key.relative_path())
    assert store.path(key) == store.root / path


def test_raw_key_without_a_date_is_rejected():
    with pytest.raises(ValueError, match="raw key for stock_zh_a_hist needs a trade date, a range or an as-of date"):
        RawKey("stock_zh_a_hist", start=dt.date(2024, 1, 1), symbol="000001").relative_path()
    with pytest.raises(ValueError):
        RawKey("stock_zh_a_hist").relative_path()


def test_a_ban_page_where_json_was_expected_is_retried(make_fetcher, store):
    """East Money functions call .json() without raise_for_status: a 403 HTML page surfaces as JSONDecodeError."""
    ban = requests.exceptions.JSONDecodeError("Expecting value", "<html>403 Forbidden</html>", 0)
    call = Script(ban, hist_frame("600000"))
    fetcher = make_fetcher()
    key = RawKey("stock_zh_a_hist", start=DAY, end=DAY, symbol="600000")
    assert len(fetcher.fetch(key, "stock_zh_a_hist", call)) == 2
    assert call.calls == 2 and fetcher.stats.retries == 1 and store.has(key)


def test_akshare_failing_on_an_empty_answer_is_no_data_and_kept(make_fetcher, store):
    call = Script(ValueError("Length mismatch: Expected axis has 0 elements, new values have 3 elements"))
    fetcher = make_fetcher()
    key = RawKey("stock_hot_rank_detail_em", as_of=DAY, symbol="SZ000001")
    frame = fetcher.fetch(key, "stock_hot_rank_detail_em", call)
    assert frame.empty and len(frame.columns) == 0 and call.calls == 1 and fetcher.stats.retries == 0
    assert store.has(key)  # a replay of the same day finds the same "no data"


def test_a_null_answer_is_asked_again_then_unknown_and_never_stored_as_empty(make_fetcher, store):
    """A null `data` field (akshare indexing it: fund flow, hsgt) is also what East Money sends when a request
    fails on its side: asked twice, then no rows for now and nothing stored, so a later run asks again."""
    null = TypeError("'NoneType' object is not subscriptable")
    fetcher = make_fetcher()
    key = RawKey("stock_zh_a_hist", start=DAY, end=DAY, symbol="600000")
    frame = fetcher.fetch(key, "stock_zh_a_hist", Script(null, null))
    assert frame.empty and not store.has(key) and fetcher.stats.null_answers == 1
    # a null that turns into data on the second ask is kept as data
    again = fetcher.fetch(key, "stock_zh_a_hist", Script(null, hist_frame("600000")))
    assert len(again) == 2 and store.has(key) and fetcher.stats.retries == 2


def test_keep_can_decline_to_store_an_incomplete_answer(make_fetcher, store):
    fetcher = make_fetcher()
    key = RawKey("stock_zh_a_hist", start=DAY, end=DAY, symbol="600000")
    frame = fetcher.fetch(key, "stock_zh_a_hist", Script(hist_frame("600000")), keep=lambda f: len(f) > 5)
    assert len(frame) == 2 and not store.has(key)
