"""Self-checks for the akshare fakes: schema shape, fake signatures vs installed akshare, scripting behaviour.

None of the pinned akshare functions separates fetching from parsing, so no akshare code is run here
(akshare is only imported for its signatures and source paths; nothing makes a request).
"""

from __future__ import annotations

import datetime as dt
import inspect
import math

import pandas as pd
import pytest

from sentiment_pipeline.sources.akshare_schema import UPSTREAM_COLUMNS, UPSTREAM_DTYPES, UPSTREAM_UNCOERCED
from sentiment_pipeline_tests.akshare_fakes import (
    EMPTY,
    FAKED_FUNCTIONS,
    SOURCE_FILES,
    FakeAkshare,
    empty_frame,
    upstream_frame,
)

akshare = pytest.importorskip("akshare")


def _dtype_ok(series: pd.Series, expected: str) -> bool:
    if expected == "object (datetime.date)":
        return series.dtype == object and all(
            isinstance(v, dt.date) and not isinstance(v, dt.datetime) or v is pd.NaT for v in series
        )
    return str(series.dtype) == expected


def test_schema_dicts_agree():
    assert set(UPSTREAM_COLUMNS) == set(UPSTREAM_DTYPES)
    for key, columns in UPSTREAM_COLUMNS.items():
        assert len(set(columns)) == len(columns), key
        assert tuple(UPSTREAM_DTYPES[key]) == columns, key
        assert set(UPSTREAM_UNCOERCED.get(key, ())) <= set(columns), key
    assert set(UPSTREAM_UNCOERCED) <= set(UPSTREAM_COLUMNS)
    assert {key.partition(":")[0] for key in UPSTREAM_COLUMNS} == set(FAKED_FUNCTIONS)


@pytest.mark.parametrize("key", sorted(UPSTREAM_COLUMNS))
def test_upstream_frame_has_exact_columns_and_dtypes(key):
    for rows in ([], [{}], [{}, {}]):
        frame = upstream_frame(key, rows)
        assert tuple(frame.columns) == UPSTREAM_COLUMNS[key]
        assert len(frame) == len(rows)
        for column, expected in UPSTREAM_DTYPES[key].items():
            assert _dtype_ok(frame[column], expected), (key, column, frame[column].dtype, expected)


def test_text_dtype_is_pandas_default_string():
    assert str(pd.DataFrame({"a": ["x"]})["a"].dtype) == "str"
    frame = upstream_frame("stock_zt_pool_em", [{"代码": "600000", "名称": "浦发银行"}])
    assert frame["代码"].dtype == pd.DataFrame({"a": ["x"]})["a"].dtype


def test_values_defaults_and_dates():
    frame = upstream_frame(
        "stock_zh_a_hist",
        [
            {"日期": "2024-01-02", "股票代码": "000001", "收盘": 9.21, "成交量": 1158366},
            {"日期": dt.date(2024, 1, 3), "股票代码": "000001", "收盘": None},
        ],
    )
    assert frame["日期"].tolist() == [dt.date(2024, 1, 2), dt.date(2024, 1, 3)]
    assert frame["收盘"].iloc[0] == 9.21 and math.isnan(frame["收盘"].iloc[1])
    assert math.isnan(frame["开盘"].iloc[0])
    assert frame["成交量"].tolist() == [1158366, 0]
    pool = upstream_frame("stock_zt_pool_em", [{}, {}])
    assert pool["序号"].tolist() == [1, 2]
    listing = upstream_frame("stock_info_sh_delist", [{"公司代码": "600001"}])
    assert listing["上市日期"].iloc[0] is pd.NaT


def test_argument_independent_keys_resolve_and_unknown_ones_fail():
    frame = upstream_frame("stock_info_sh_name_code:科创板", [])
    assert tuple(frame.columns) == UPSTREAM_COLUMNS["stock_info_sh_name_code"]
    with pytest.raises(KeyError):
        upstream_frame("stock_info_sz_name_code", [])
    with pytest.raises(KeyError):
        upstream_frame("stock_zt_pool_em", [{"not_a_column": 1}])


def test_raw_strings():
    with pytest.raises(ValueError):
        upstream_frame("stock_individual_fund_flow_rank:今日", [{"最新价": "-"}])
    frame = upstream_frame(
        "stock_individual_fund_flow_rank:今日", [{"最新价": "-"}, {"最新价": 10.5}], raw_strings=True
    )
    assert frame["最新价"].dtype == object
    assert frame["最新价"].tolist() == ["-", 10.5]
    assert str(frame["今日涨跌幅"].dtype) == "float64"  # columns without text keep their numeric dtype


def test_int_column_with_null_becomes_float_like_pandas():
    frame = upstream_frame("stock_zt_pool_em", [{"连板数": 2}, {"连板数": None}])
    assert str(frame["连板数"].dtype) == "float64"


def test_empty_frame_has_no_columns():
    assert empty_frame().shape == (0, 0) and list(empty_frame().columns) == []
    assert EMPTY.shape == (0, 0)


@pytest.mark.parametrize("name", FAKED_FUNCTIONS)
def test_fake_signatures_match_akshare(name):
    real = inspect.signature(getattr(akshare, name))
    fake = inspect.signature(getattr(FakeAkshare(), name))
    assert list(fake.parameters) == list(real.parameters)
    assert [p.default for p in fake.parameters.values()] == [p.default for p in real.parameters.values()]


@pytest.mark.parametrize("name", FAKED_FUNCTIONS)
def test_source_files_match_installed_akshare(name):
    function = getattr(akshare, name)
    path = inspect.getsourcefile(getattr(function, "__wrapped__", function)).replace("\\", "/")
    assert path.endswith("/" + SOURCE_FILES[name])


def test_fake_scripting_and_call_log():
    frame = upstream_frame("stock_zt_pool_em", [{"代码": "600000"}])
    fake = FakeAkshare(
        {
            "stock_zt_pool_em": [ConnectionError("reset"), frame],
            FakeAkshare.key("stock_zh_a_hist", symbol="000001", adjust="qfq"): frame,
            "stock_zh_a_hist": ValueError("generic"),
            "stock_comment_em": lambda: empty_frame(),
        }
    )
    with pytest.raises(ConnectionError):
        fake.stock_zt_pool_em("20240102")
    got = fake.stock_zt_pool_em(date="20240102")
    pd.testing.assert_frame_equal(got, frame)
    assert got is not frame
    with pytest.raises(AssertionError, match="exhausted"):
        fake.stock_zt_pool_em("20240102")

    pd.testing.assert_frame_equal(fake.stock_zh_a_hist("000001", "daily", "20240101", "20240131", "qfq"), frame)
    with pytest.raises(ValueError, match="generic"):
        fake.stock_zh_a_hist("000001")
    assert fake.stock_comment_em().shape == (0, 0)
    with pytest.raises(AssertionError, match=r"stock_margin_account_info\(\)"):
        fake.stock_margin_account_info()

    assert fake.calls[0] == ("stock_zt_pool_em", {"date": "20240102"})
    assert fake.calls_to("stock_zh_a_hist")[0] == {
        "symbol": "000001", "period": "daily", "start_date": "20240101", "end_date": "20240131",
        "adjust": "qfq", "timeout": None,
    }
    assert [name for name, _ in fake.calls][-1] == "stock_margin_account_info"
