"""A stand-in for the ``akshare`` module that scripts which call gets which answer, and logs the calls.

The frames it hands out are never written by hand: tests make them with ``recorded_frame`` (akshare_recordings.py),
which runs akshare's own function (the pinned 1.19.5) on a recorded upstream answer. FakeAkshare only decides
which call gets which of those frames, or which exception (a dropped connection, a timeout), so a pipeline test
can script a whole market and its faults without a network. The signatures below copy akshare 1.19.5's; the
file of each function is in ``SOURCE_FILES``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from .akshare_recordings import recorded_frame

__all__ = ["FakeAkshare", "recorded_frame", "SOURCE_FILES", "FAKED_FUNCTIONS"]

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
    "stock_board_concept_name_em": "akshare/stock/stock_board_concept_em.py",
    "stock_board_concept_cons_em": "akshare/stock/stock_board_concept_em.py",
    "stock_zh_index_hist_csindex": "akshare/index/index_stock_zh_csindex.py",
    "stock_margin_account_info": "akshare/stock_feature/stock_margin_em.py",
}


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
