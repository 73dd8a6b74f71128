"""Offline stand-ins for the akshare functions the pipeline calls, building frames exactly as akshare returns them.

Columns and dtypes come from ``sentiment_pipeline.sources.akshare_schema``, which was read from akshare 1.19.5's
installed source (.venv/lib/python3.11/site-packages/akshare/, pandas 3.1.1); the file for each function is in
``SOURCE_FILES`` below:

    akshare/stock_feature/stock_hist_em.py       stock_zh_a_spot_em, stock_zh_a_hist
    akshare/stock/stock_info.py                  stock_info_sh_name_code, stock_info_sz_name_code,
                                                 stock_info_bj_name_code, stock_info_sh_delist, stock_info_sz_delist
    akshare/stock/stock_zh_a_special.py          stock_zh_a_st_em
    akshare/stock_feature/stock_ztb_em.py        stock_zt_pool_em, stock_zt_pool_previous_em,
                                                 stock_zt_pool_zbgc_em, stock_zt_pool_dtgc_em
    akshare/stock/stock_fund_em.py               stock_individual_fund_flow_rank, stock_individual_fund_flow
    akshare/stock_feature/stock_hsgt_em.py       stock_hsgt_stock_statistics_em
    akshare/stock_feature/stock_comment_em.py    stock_comment_em
    akshare/stock/stock_hot_rank_em.py           stock_hot_rank_detail_em
    akshare/index/index_cons.py                  index_stock_cons_weight_csindex
    akshare/stock/stock_industry_sw.py           stock_industry_clf_hist_sw
    akshare/index/index_sw.py                    sw_index_first_info
    akshare/stock/stock_board_concept_em.py      stock_board_concept_name_em, stock_board_concept_cons_em
    akshare/index/index_stock_zh_csindex.py      stock_zh_index_hist_csindex
    akshare/stock_feature/stock_margin_em.py     stock_margin_account_info
    (akshare/utils/func.py fetch_paginated_data supplies 序号 for the push2 "clist" functions)

Nothing here imports akshare or touches the network.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from sentiment_pipeline.sources.akshare_schema import UPSTREAM_COLUMNS, UPSTREAM_DTYPES

SOURCE_FILES: dict[str, str] = {
    "stock_zh_a_spot_em": "akshare/stock_feature/stock_hist_em.py",
    "stock_zh_a_hist": "akshare/stock_feature/stock_hist_em.py",
    "stock_info_sh_name_code": "akshare/stock/stock_info.py",
    "stock_info_sz_name_code": "akshare/stock/stock_info.py",
    "stock_info_bj_name_code": "akshare/stock/stock_info.py",
    "stock_info_sh_delist": "akshare/stock/stock_info.py",
    "stock_info_sz_delist": "akshare/stock/stock_info.py",
    "stock_info_sz_change_name": "akshare/stock/stock_info.py",
    "stock_zh_a_st_em": "akshare/stock/stock_zh_a_special.py",
    "stock_zt_pool_em": "akshare/stock_feature/stock_ztb_em.py",
    "stock_zt_pool_previous_em": "akshare/stock_feature/stock_ztb_em.py",
    "stock_zt_pool_zbgc_em": "akshare/stock_feature/stock_ztb_em.py",
    "stock_zt_pool_dtgc_em": "akshare/stock_feature/stock_ztb_em.py",
    "stock_individual_fund_flow_rank": "akshare/stock/stock_fund_em.py",
    "stock_individual_fund_flow": "akshare/stock/stock_fund_em.py",
    "stock_hsgt_stock_statistics_em": "akshare/stock_feature/stock_hsgt_em.py",
    "stock_comment_em": "akshare/stock_feature/stock_comment_em.py",
    "stock_hot_rank_detail_em": "akshare/stock/stock_hot_rank_em.py",
    "index_stock_cons_weight_csindex": "akshare/index/index_cons.py",
    "stock_industry_clf_hist_sw": "akshare/stock/stock_industry_sw.py",
    "sw_index_first_info": "akshare/index/index_sw.py",
    "stock_board_concept_name_em": "akshare/stock/stock_board_concept_em.py",
    "stock_board_concept_cons_em": "akshare/stock/stock_board_concept_em.py",
    "stock_zh_index_hist_csindex": "akshare/index/index_stock_zh_csindex.py",
    "stock_margin_account_info": "akshare/stock_feature/stock_margin_em.py",
}

_DATE = "object (datetime.date)"
_NUMERIC = ("float64", "int64")
_POSITION_COLUMNS = ("序号", "排名")  # akshare numbers these 1..n itself
_MISSING = object()


def resolve_key(function: str) -> str:
    """Schema key for ``function`` ("name" or "name:argument").

    "name:argument" falls back to "name" when the columns do not depend on the argument
    (e.g. "stock_info_sh_name_code:科创板" -> "stock_info_sh_name_code").
    """
    if function in UPSTREAM_COLUMNS:
        return function
    base, sep, _ = function.partition(":")
    if sep and base in UPSTREAM_COLUMNS:
        return base
    raise KeyError(f"no pinned akshare schema for {function!r}; known keys: {sorted(UPSTREAM_COLUMNS)}")


def empty_frame() -> pd.DataFrame:
    """akshare's "no data" answer: ``pd.DataFrame()`` with no columns at all (not the schema with zero rows)."""
    return pd.DataFrame()


# Shared instance for comparisons only; never mutate it (FakeAkshare returns copies of whatever it is given).
EMPTY = empty_frame()


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _to_date(function: str, column: str, value: Any) -> Any:
    """Mirror ``pd.to_datetime(...).dt.date``: datetime.date values, pd.NaT for missing."""
    if _is_missing(value):
        return pd.NaT
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return pd.to_datetime(value).date()
    raise TypeError(f"{function}.{column}: cannot use {value!r} as a date")


def _column(function: str, column: str, dtype: str, values: list[Any], raw_strings: bool) -> pd.Series:
    if dtype in _NUMERIC:
        texts = [v for v in values if isinstance(v, str)]
        if texts:
            if not raw_strings:
                raise ValueError(
                    f"{function}.{column} is {dtype} upstream but got text {texts[0]!r}; "
                    "pass raw_strings=True to simulate an uncoerced upstream column"
                )
            return pd.Series(values, dtype=object)
        if dtype == "int64":
            if any(_is_missing(v) for v in values):  # pandas turns an int column with a null into float64
                return pd.Series([math.nan if _is_missing(v) else float(v) for v in values], dtype="float64")
            for v in values:
                if isinstance(v, float) and not v.is_integer():
                    raise ValueError(f"{function}.{column} is int64 upstream but got {v!r}")
            return pd.Series([int(v) for v in values], dtype="int64")
        return pd.Series([math.nan if _is_missing(v) else float(v) for v in values], dtype="float64")
    if dtype == "str":
        for v in values:
            if not _is_missing(v) and not isinstance(v, str):
                raise TypeError(f"{function}.{column} is text upstream but got {v!r} ({type(v).__name__})")
        return pd.Series([math.nan if _is_missing(v) else v for v in values], dtype="str")
    if dtype == _DATE:
        return pd.Series([_to_date(function, column, v) for v in values], dtype=object)
    raise AssertionError(f"unknown dtype {dtype!r} in schema for {function}.{column}")


def _default(dtype: str, column: str, position: int) -> Any:
    if dtype == "int64":
        return position + 1 if column in _POSITION_COLUMNS else 0
    if dtype == "float64":
        return math.nan
    if dtype == "str":
        return ""
    return pd.NaT  # dates: what .dt.date yields for a missing/unparsable value


def upstream_frame(function: str, rows: list[dict], raw_strings: bool = False) -> pd.DataFrame:
    """A frame shaped exactly like akshare 1.19.5's return value for ``function``.

    ``function`` is a schema key ("stock_zt_pool_em", "stock_individual_fund_flow_rank:今日", ...;
    argument-independent functions also accept "name:argument"). Each row maps column -> value; unknown
    columns raise KeyError. Missing columns get defaults: 1-based position for 序号/排名, 0 for other int64,
    NaN for float64, "" for text, pd.NaT for dates (akshare's ``.dt.date`` yields NaT, not None).
    Date columns accept datetime.date/datetime/Timestamp/'YYYY-MM-DD'/'YYYYMMDD' and hold datetime.date.
    A None in an int64 column makes it float64, as pandas does upstream.

    Numeric columns reject text unless ``raw_strings`` is True; then a numeric column holding any text
    (e.g. '-') is kept as object dtype with the values unconverted, simulating a column akshare never
    passes through pd.to_numeric (see akshare_schema.UPSTREAM_UNCOERCED).
    """
    key = resolve_key(function)
    columns = UPSTREAM_COLUMNS[key]
    dtypes = UPSTREAM_DTYPES[key]
    allowed = set(columns)
    for row in rows:
        unknown = set(row) - allowed
        if unknown:
            raise KeyError(f"{key} has no column(s) {sorted(unknown)}; columns are {list(columns)}")
    data = {}
    for column in columns:
        dtype = dtypes[column]
        values = [row.get(column, _MISSING) for row in rows]
        raw = raw_strings and dtype in _NUMERIC and any(isinstance(v, str) for v in values)
        values = [
            (None if raw else _default(dtype, column, position)) if value is _MISSING else value
            for position, value in enumerate(values)
        ]
        data[column] = _column(key, column, dtype, values, raw_strings)
    return pd.DataFrame(data, columns=list(columns), index=pd.RangeIndex(len(rows)))


class FakeAkshare:
    """Drop-in for the ``akshare`` module with scripted answers and a call log.

    ``responses`` maps a key to a response:
      * key ``"function_name"``: any call of that function;
      * key ``FakeAkshare.key("function_name", **some_kwargs)``, i.e. ``(name, frozenset(kwargs.items()))``:
        calls whose arguments include those items; the most specific matching key wins over less specific
        ones and over the bare name.
    A response is a DataFrame (a deep copy is returned), an exception instance or class (raised), a callable
    (called with the call's keyword arguments; its result is handled the same way), or a list of those,
    consumed one per call (so ``[ConnectionError("reset"), frame]`` scripts a failure then a success);
    an exhausted list raises AssertionError.
    Every call is appended to ``self.calls`` as ``(function_name, kwargs)`` where kwargs holds every
    parameter by name, positional arguments normalised and defaults filled in. A call with no matching
    response raises AssertionError naming the call.
    Signatures (names and defaults) copy akshare 1.19.5.
    """

    def __init__(self, responses: Mapping[Any, Any] | None = None) -> None:
        self.responses: dict[Any, Any] = dict(responses or {})
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._queues: dict[Any, list[Any]] = {}

    @staticmethod
    def key(function: str, **kwargs: Any) -> tuple[str, frozenset]:
        return (function, frozenset(kwargs.items()))

    def calls_to(self, function: str) -> list[dict[str, Any]]:
        return [kwargs for name, kwargs in self.calls if name == function]

    def _match(self, function: str, kwargs: dict[str, Any]) -> Any:
        items = set(kwargs.items())
        best, best_size = None, -1
        for key in self.responses:
            if isinstance(key, tuple) and len(key) == 2 and key[0] == function:
                wanted = set(key[1])
                if wanted <= items and len(wanted) > best_size:
                    best, best_size = key, len(wanted)
        if best is not None:
            return best
        if function in self.responses:
            return function
        args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        raise AssertionError(f"unexpected akshare call {function}({args}): no scripted response")

    def _dispatch(self, function: str, kwargs: dict[str, Any]) -> pd.DataFrame:
        self.calls.append((function, dict(kwargs)))
        key = self._match(function, kwargs)
        response = self.responses[key]
        if isinstance(response, list):
            queue = self._queues.setdefault(key, list(response))
            if not queue:
                args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
                raise AssertionError(f"scripted responses for {function}({args}) are exhausted")
            response = queue.pop(0)
        if callable(response) and not isinstance(response, (pd.DataFrame, type)):
            response = response(**kwargs)
        if isinstance(response, BaseException):
            raise response
        if isinstance(response, type) and issubclass(response, BaseException):
            raise response()
        if isinstance(response, pd.DataFrame):
            return response.copy(deep=True)
        raise TypeError(f"response for {function} must be a DataFrame or an exception, got {type(response).__name__}")

    # --- akshare/stock_feature/stock_hist_em.py
    def stock_zh_a_spot_em(self) -> pd.DataFrame:
        return self._dispatch("stock_zh_a_spot_em", {})

    def stock_zh_a_hist(
        self,
        symbol: str = "000001",
        period: str = "daily",
        start_date: str = "19700101",
        end_date: str = "20500101",
        adjust: str = "",
        timeout: float = None,
    ) -> pd.DataFrame:
        return self._dispatch(
            "stock_zh_a_hist",
            {"symbol": symbol, "period": period, "start_date": start_date, "end_date": end_date,
             "adjust": adjust, "timeout": timeout},
        )

    # --- akshare/stock/stock_info.py
    def stock_info_sh_name_code(self, symbol: str = "主板A股") -> pd.DataFrame:
        return self._dispatch("stock_info_sh_name_code", {"symbol": symbol})

    def stock_info_sz_name_code(self, symbol: str = "A股列表") -> pd.DataFrame:
        return self._dispatch("stock_info_sz_name_code", {"symbol": symbol})

    def stock_info_bj_name_code(self) -> pd.DataFrame:
        return self._dispatch("stock_info_bj_name_code", {})

    def stock_info_sh_delist(self, symbol: str = "全部") -> pd.DataFrame:
        return self._dispatch("stock_info_sh_delist", {"symbol": symbol})

    def stock_info_sz_delist(self, symbol: str = "终止上市公司") -> pd.DataFrame:
        return self._dispatch("stock_info_sz_delist", {"symbol": symbol})

    def stock_info_sz_change_name(self, symbol: str = "全称变更") -> pd.DataFrame:
        return self._dispatch("stock_info_sz_change_name", {"symbol": symbol})

    # --- akshare/stock/stock_zh_a_special.py
    def stock_zh_a_st_em(self) -> pd.DataFrame:
        return self._dispatch("stock_zh_a_st_em", {})

    # --- akshare/stock_feature/stock_ztb_em.py
    def stock_zt_pool_em(self, date: str = "20241008") -> pd.DataFrame:
        return self._dispatch("stock_zt_pool_em", {"date": date})

    def stock_zt_pool_previous_em(self, date: str = "20240415") -> pd.DataFrame:
        return self._dispatch("stock_zt_pool_previous_em", {"date": date})

    def stock_zt_pool_zbgc_em(self, date: str = "20241011") -> pd.DataFrame:
        return self._dispatch("stock_zt_pool_zbgc_em", {"date": date})

    def stock_zt_pool_dtgc_em(self, date: str = "20241011") -> pd.DataFrame:
        return self._dispatch("stock_zt_pool_dtgc_em", {"date": date})

    # --- akshare/stock/stock_fund_em.py
    def stock_individual_fund_flow_rank(self, indicator: str = "5日") -> pd.DataFrame:
        return self._dispatch("stock_individual_fund_flow_rank", {"indicator": indicator})

    def stock_individual_fund_flow(self, stock: str = "600094", market: str = "sh") -> pd.DataFrame:
        return self._dispatch("stock_individual_fund_flow", {"stock": stock, "market": market})

    # --- akshare/stock_feature/stock_hsgt_em.py
    def stock_hsgt_stock_statistics_em(
        self, symbol: str = "北向持股", start_date: str = "20240110", end_date: str = "20240110"
    ) -> pd.DataFrame:
        return self._dispatch(
            "stock_hsgt_stock_statistics_em", {"symbol": symbol, "start_date": start_date, "end_date": end_date}
        )

    # --- akshare/stock_feature/stock_comment_em.py
    def stock_comment_em(self) -> pd.DataFrame:
        return self._dispatch("stock_comment_em", {})

    # --- akshare/stock/stock_hot_rank_em.py
    def stock_hot_rank_detail_em(self, symbol: str = "SZ000665") -> pd.DataFrame:
        return self._dispatch("stock_hot_rank_detail_em", {"symbol": symbol})

    # --- akshare/index/index_cons.py
    def index_stock_cons_weight_csindex(self, symbol: str = "000300") -> pd.DataFrame:
        return self._dispatch("index_stock_cons_weight_csindex", {"symbol": symbol})

    # --- akshare/stock/stock_industry_sw.py
    def stock_industry_clf_hist_sw(self) -> pd.DataFrame:
        return self._dispatch("stock_industry_clf_hist_sw", {})

    # --- akshare/index/index_sw.py
    def sw_index_first_info(self) -> pd.DataFrame:
        return self._dispatch("sw_index_first_info", {})

    # --- akshare/stock/stock_board_concept_em.py
    def stock_board_concept_name_em(self) -> pd.DataFrame:
        return self._dispatch("stock_board_concept_name_em", {})

    def stock_board_concept_cons_em(self, symbol: str = "融资融券") -> pd.DataFrame:
        return self._dispatch("stock_board_concept_cons_em", {"symbol": symbol})

    # --- akshare/index/index_stock_zh_csindex.py
    def stock_zh_index_hist_csindex(
        self, symbol: str = "000928", start_date: str = "20180526", end_date: str = "20240604"
    ) -> pd.DataFrame:
        return self._dispatch(
            "stock_zh_index_hist_csindex", {"symbol": symbol, "start_date": start_date, "end_date": end_date}
        )

    # --- akshare/stock_feature/stock_margin_em.py
    def stock_margin_account_info(self) -> pd.DataFrame:
        return self._dispatch("stock_margin_account_info", {})


FAKED_FUNCTIONS: tuple[str, ...] = tuple(SOURCE_FILES)
