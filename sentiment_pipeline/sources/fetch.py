"""Fetching upstream responses politely: the raw store first, a per-host rate limit, retries with backoff.

One `Fetcher.fetch` call is one akshare function call. The order is:
store hit → return it; replay mode → fail on a miss; otherwise wait for the
host's rate limit, call, retry network errors and bans with exponential backoff
and full jitter, check the columns against the pinned upstream contract, store
the response as received, return it.
"""

from __future__ import annotations

import http.client
import logging
import random
import socket
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

import pandas as pd

from sentiment_pipeline.sources.raw_store import RawKey, RawStore

log = logging.getLogger(__name__)

# Upstream host of each akshare function the pipeline calls (read from akshare 1.19.5's source).
FUNCTION_HOSTS = {
    "stock_zh_a_spot_em": "push2.eastmoney.com",
    "stock_zh_a_st_em": "push2.eastmoney.com",
    "stock_board_concept_name_em": "push2.eastmoney.com",
    "stock_board_concept_cons_em": "push2.eastmoney.com",
    "stock_individual_fund_flow_rank": "push2.eastmoney.com",
    "stock_zh_a_hist": "push2his.eastmoney.com",
    "stock_individual_fund_flow": "push2his.eastmoney.com",
    "stock_zt_pool_em": "push2ex.eastmoney.com",
    "stock_zt_pool_previous_em": "push2ex.eastmoney.com",
    "stock_zt_pool_zbgc_em": "push2ex.eastmoney.com",
    "stock_zt_pool_dtgc_em": "push2ex.eastmoney.com",
    "stock_hsgt_stock_statistics_em": "datacenter-web.eastmoney.com",
    "stock_comment_em": "datacenter-web.eastmoney.com",
    "stock_margin_account_info": "datacenter-web.eastmoney.com",
    "stock_hot_rank_detail_em": "emappdata.eastmoney.com",
    "stock_info_sh_name_code": "query.sse.com.cn",
    "stock_info_sh_delist": "query.sse.com.cn",
    "stock_info_sz_name_code": "www.szse.cn",
    "stock_info_sz_delist": "www.szse.cn",
    "stock_info_sz_change_name": "www.szse.cn",
    "stock_info_bj_name_code": "www.bse.cn",
    "index_stock_cons_weight_csindex": "www.csindex.com.cn",
    "stock_zh_index_hist_csindex": "www.csindex.com.cn",
    "stock_industry_clf_hist_sw": "www.swsresearch.com",
    # baostock: one server for every call
    "query_history_k_data_plus": "baostock.com",
    "query_stock_basic": "baostock.com",
    "query_hs300_stocks": "baostock.com",
    "query_zz500_stocks": "baostock.com",
}
# Requests per second. East Money bans IPs after bursts (docs/akshare.md), so its hosts get one call every 2 s.
DEFAULT_HOST_RATES = {host: (0.5 if host.endswith("eastmoney.com") else 1.0) for host in set(FUNCTION_HOSTS.values())}

# What a network failure or a ban looks like from inside akshare (requests wraps most of these).
# Status codes only in requests' own wording, so an error that merely mentions a code such as 600403 is not a ban.
RETRYABLE_MESSAGES = ("RemoteDisconnected", "Connection aborted", "Max retries exceeded", "timed out",
                      "403 Client Error", "429 Client Error", "Too Many Requests")


class UpstreamError(RuntimeError):
    """Base of every error the live source raises on purpose."""


def qualified(function: str) -> str:
    """The library a fetched function belongs to, with it: 'akshare.stock_zh_a_hist', 'baostock.query_…'."""
    return f"{'baostock' if FUNCTION_HOSTS.get(function) == 'baostock.com' else 'akshare'}.{function}"


class UpstreamSchemaChanged(UpstreamError):
    def __init__(self, function: str, expected: tuple[str, ...], received: list[str] | None, detail: str = ""):
        self.function, self.expected, self.received = function, expected, received
        if received is None:
            what = f"akshare failed while renaming columns ({detail}); the upstream site changed its fields"
        else:
            missing = [c for c in expected if c not in received]
            extra = [c for c in received if c not in expected]
            what = f"missing {missing}, unexpected {extra}"
        super().__init__(
            f"upstream schema changed in akshare.{function}: expected columns {list(expected)}, "
            f"received {received if received is not None else 'none'}: {what}. "
            "Pin or upgrade akshare and update sources/akshare_schema.py."
        )


class RawResponseMissing(UpstreamError):
    def __init__(self, key: RawKey, store: RawStore):
        super().__init__(f"replay mode: no stored response {key} under {store.root} "
                         "(run once in live mode to fetch it)")


class NetworkDown(UpstreamError):
    """The upstream's name cannot be resolved: no network (or no DNS), not a blip. Not retried further: the run
    fails at once, saying so, instead of backing off for many minutes."""

    def __init__(self, function: str, key: RawKey, host: str, last: BaseException):
        super().__init__(f"{qualified(function)} for {key}: cannot resolve {host} twice in a row: the network or DNS "
                         f"is down ({type(last).__name__}: {last}). Nothing was stored; run again once the machine is "
                         "online (SENTIMENT_SOURCE=synthetic or tdx work offline).")


# What a resolver failure looks like through requests/urllib3 (NameResolutionError) or a bare socket.
NAME_RESOLUTION_MESSAGES = ("NameResolutionError", "Failed to resolve", "Name or service not known",
                            "Temporary failure in name resolution", "nodename nor servname provided",
                            "getaddrinfo failed")


def name_not_resolved(exc: BaseException) -> bool:
    seen, current = set(), exc
    while current is not None and id(current) not in seen:  # requests wraps urllib3's error: walk the chain
        seen.add(id(current))
        if isinstance(current, socket.gaierror) or any(m in str(current) for m in NAME_RESOLUTION_MESSAGES):
            return True
        current = current.__cause__ or current.__context__
    return False


@contextmanager
def default_timeout(seconds: float | None):
    """Every requests call made inside without a timeout of its own gets `seconds` (akshare's functions mostly
    pass none: a stalled connection would hang the run, and the retries would never fire)."""
    if not seconds:
        yield
        return
    import requests

    original = requests.Session.request

    def request(self, method, url, *args, **kwargs):
        if not args and kwargs.get("timeout") is None:
            kwargs["timeout"] = seconds
        return original(self, method, url, *args, **kwargs)

    requests.Session.request = request
    try:
        yield
    finally:
        requests.Session.request = original


class FetchFailed(UpstreamError):
    def __init__(self, function: str, key: RawKey, attempts: int, last: BaseException):
        super().__init__(f"{qualified(function)} for {key} failed after {attempts} attempt(s): "
                         f"{type(last).__name__}: {last}")


class StaleSnapshot(UpstreamError):
    """A "now" response that does not describe the partition's trading day."""


def is_retryable(exc: BaseException) -> bool:
    """Network errors and bans are worth retrying; everything else (bugs, schema changes) is not."""
    if isinstance(exc, (ConnectionError, TimeoutError, socket.timeout, http.client.HTTPException)):
        return True
    try:
        import requests

        if isinstance(exc, requests.HTTPError):
            status = exc.response.status_code if exc.response is not None else None
            return status is None or status in (403, 429) or status >= 500
        if isinstance(exc, requests.RequestException):
            return True  # connection errors, timeouts, and a ban page where JSON was expected
    except ImportError:  # pragma: no cover - requests comes with akshare
        pass
    if isinstance(exc, OSError) and not isinstance(exc, (FileNotFoundError, PermissionError)):
        return True  # socket-level failures (DNS, resets) surface as bare OSError
    return any(m in str(exc) for m in RETRYABLE_MESSAGES)


# akshare functions that add a column to an empty answer before naming the columns, so "no rows" fails with one
# column more than none: (function, the mismatch's wording). stock_hot_rank_detail_em adds 证券代码 to an empty
# rank history (a stock without one, e.g. delisted) and names three columns (akshare/stock/stock_hot_rank_em.py).
EMPTY_WITH_ADDED_COLUMN = {
    "stock_hot_rank_detail_em": "Length mismatch: Expected axis has 1 elements, new values have 3 elements",
}


# akshare functions paging through East Money's clist with akshare/utils/func.py fetch_paginated_data, which divides
# the total by the first page's length: an empty list (a concept board without members) is a ZeroDivisionError.
PAGED_FUNCTIONS = {"stock_zh_a_spot_em", "stock_zh_a_st_em", "stock_individual_fund_flow_rank",
                   "stock_board_concept_name_em", "stock_board_concept_cons_em"}


def no_data_answer(exc: BaseException, function: str | None = None) -> bool:
    """akshare failing on an empty upstream answer rather than returning pd.DataFrame(): naming the columns
    of an empty frame (pandas: 'Expected axis has 0 elements', or one more for the functions that add a column
    first). A settled answer: no rows."""
    text = str(exc)
    added = EMPTY_WITH_ADDED_COLUMN.get(function or "")
    if isinstance(exc, ZeroDivisionError):
        return function in PAGED_FUNCTIONS
    return isinstance(exc, ValueError) and ("Length mismatch: Expected axis has 0 elements" in text
                                            or (added is not None and added in text))


def null_answer(exc: BaseException) -> bool:
    """akshare indexing a null `data` field: upstream answered without data, which East Money also does when a
    request fails on its side. Not a settled "no rows": retried once, then unknown (not stored)."""
    return isinstance(exc, TypeError) and "'NoneType' object is not subscriptable" in str(exc)


NULL_ATTEMPTS = 2  # a null answer asked twice before it counts as unknown


class Clock:
    """Time as the throttle and the backoff see it; tests substitute a fake."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass
class RetryPolicy:
    max_attempts: int = 6
    base_delay: float = 2.0  # seconds before the first retry (before jitter)
    max_delay: float = 120.0

    def delay(self, retry_number: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(max_delay, base·2^(n-1))] for the n-th retry."""
        return rng.uniform(0, min(self.max_delay, self.base_delay * 2 ** (retry_number - 1)))


@dataclass
class HostThrottle:
    """At most `rate` calls per second to each host, spaced evenly."""

    rates: dict[str, float]
    clock: Clock
    default_rate: float = 1.0
    _next_allowed: dict[str, float] = field(default_factory=dict)

    def wait(self, host: str) -> float:
        """Sleep until `host` may be called again; return the seconds slept."""
        now = self.clock.monotonic()
        ready = self._next_allowed.get(host, now)
        waited = max(0.0, ready - now)
        if waited:
            self.clock.sleep(waited)
        interval = 1.0 / self.rates.get(host, self.default_rate)
        self._next_allowed[host] = max(ready, now) + interval
        return waited


@dataclass
class FetchStats:
    store_hits: int = 0
    network_calls: int = 0
    retries: int = 0
    throttled_seconds: float = 0.0
    backoff_seconds: float = 0.0
    null_answers: int = 0  # answers still null after NULL_ATTEMPTS: treated as unknown, not stored

    def as_metadata(self) -> dict:
        return {"raw_store_hits": self.store_hits, "network_calls": self.network_calls, "retries": self.retries,
                "throttled_seconds": round(self.throttled_seconds, 1), "backoff_seconds": round(self.backoff_seconds, 1),
                "null_answers": self.null_answers}


class Fetcher:
    def __init__(self, store: RawStore, *, replay: bool = False, rates: dict[str, float] | None = None,
                 retry: RetryPolicy | None = None, clock: Clock | None = None, rng: random.Random | None = None,
                 expected_columns: dict[str, tuple[str, ...]] | None = None, timeout: float | None = 30.0):
        self.store = store
        self.timeout = timeout  # seconds per HTTP request (SENTIMENT_HTTP_TIMEOUT)
        self.replay = replay
        self.clock = clock or Clock()
        self.throttle = HostThrottle({**DEFAULT_HOST_RATES, **(rates or {})}, self.clock)
        self.retry = retry or RetryPolicy()
        self.rng = rng or random.Random()
        self.expected_columns = expected_columns or {}
        self.stats = FetchStats()

    def fetch(self, key: RawKey, function: str, call: Callable[[], pd.DataFrame], *,
              schema: str | None = None, store_empty: bool = True,
              accept: Callable[[pd.DataFrame], None] | None = None,
              keep: Callable[[pd.DataFrame], bool] | None = None) -> pd.DataFrame:
        """The response for `key`: from the store, else from `call()` (then stored as received).

        `schema` names the pinned column list (akshare_schema.UPSTREAM_COLUMNS) when it depends on an argument.
        `accept` may raise to reject a fresh response (e.g. a snapshot of the wrong day) before it is stored;
        `keep` may decline to store one that is fine for now but incomplete (e.g. a series missing its last day).
        """
        schema = schema or function
        stored = self.store.get(key)
        if stored is not None:
            self.stats.store_hits += 1
            self._check_columns(function, schema, stored)
            return stored
        if self.replay:
            raise RawResponseMissing(key, self.store)
        frame = self._call_with_retries(key, function, schema, call)
        if frame is None:  # null after NULL_ATTEMPTS: unknown, so nothing is stored and a later run asks again
            self.stats.null_answers += 1
            log.warning("%s for %s answered null %d times: treated as unknown (no rows now, not stored)",
                        qualified(function), key, NULL_ATTEMPTS)
            return pd.DataFrame()
        self._check_columns(function, schema, frame)
        if accept is not None:
            accept(frame)
        # An empty answer about a day still in progress may fill later; only settled answers are kept.
        if (store_empty or not frame.empty) and (keep is None or keep(frame)):
            self.store.put(key, frame, request={"function": function, "key": str(key)})
        return frame

    def _call_with_retries(self, key: RawKey, function: str, schema: str,
                           call: Callable[[], pd.DataFrame]) -> pd.DataFrame | None:
        host = FUNCTION_HOSTS.get(function, "unknown")
        unresolved = nulls = 0
        for attempt in range(1, self.retry.max_attempts + 1):
            self.stats.throttled_seconds += self.throttle.wait(host)
            self.stats.network_calls += 1
            try:
                with default_timeout(self.timeout):
                    frame = call()
            except Exception as exc:  # noqa: BLE001 - classified right below
                if name_not_resolved(exc):
                    unresolved += 1
                    if unresolved >= 2:  # once may be a resolver blip; twice in a row is no network
                        raise NetworkDown(function, key, host, exc)  # noqa: B904
                if no_data_answer(exc, function):
                    return pd.DataFrame()
                if null_answer(exc):
                    nulls += 1
                    if nulls >= NULL_ATTEMPTS:
                        return None
                    self.stats.retries += 1
                    continue
                # Raised in this handler without `from`: akshare's error stays attached as the context (its
                # traceback is kept), but the error's cause chain ends at ours, whose message names the function
                # and the request; the main command prints the innermost cause of a failed step.
                if isinstance(exc, ValueError) and "Length mismatch" in str(exc):
                    raise UpstreamSchemaChanged(function, self.expected_columns.get(schema, ()), None,  # noqa: B904
                                                str(exc))
                if not is_retryable(exc):
                    raise
                if attempt == self.retry.max_attempts:
                    raise FetchFailed(function, key, attempt, exc)  # noqa: B904
                delay = self.retry.delay(attempt, self.rng)
                self.stats.retries += 1
                self.stats.backoff_seconds += delay
                log.warning("%s for %s: %s: %s; retry %d/%d in %.1f s", qualified(function), key, type(exc).__name__,
                            exc, attempt, self.retry.max_attempts - 1, delay)
                self.clock.sleep(delay)
                continue
            if not isinstance(frame, pd.DataFrame):
                raise UpstreamError(f"akshare.{function} for {key} returned {type(frame).__name__}, not a DataFrame")
            return frame
        raise AssertionError("unreachable")  # pragma: no cover

    def _check_columns(self, function: str, schema: str, frame: pd.DataFrame) -> None:
        expected = self.expected_columns.get(schema)
        if expected is None or (frame.empty and len(frame.columns) == 0):
            return  # akshare's "no data" frame has no columns
        received = [str(c) for c in frame.columns]
        if received != list(expected):
            raise UpstreamSchemaChanged(function, expected, received)
