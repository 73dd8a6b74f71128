"""The recordings against akshare's own code, and the fake that hands their frames out.

Every pinned schema (sources/akshare_schema.py, which the fetcher checks live answers against) is compared with
what akshare 1.19.5 itself returns for a recorded answer, so the schema cannot drift from the code it describes.
"""

from __future__ import annotations

import datetime as dt
import inspect

import pandas as pd
import pytest

from sentiment_pipeline.sources.akshare_schema import UPSTREAM_COLUMNS, UPSTREAM_DTYPES, UPSTREAM_UNCOERCED
from sentiment_pipeline_tests.akshare_fakes import FAKED_FUNCTIONS, SOURCE_FILES, FakeAkshare, recorded_frame

akshare = pytest.importorskip("akshare")

DAY = dt.date(2024, 6, 6)
RECENT = f"{dt.date.today():%Y%m%d}"  # the broken and limit-down pools are served for the last 30 days only
# one row and the call's arguments per pinned schema
SAMPLES: dict[str, tuple[dict, dict]] = {
    "stock_zh_a_spot_em": ({"代码": "600001", "名称": "浦一", "最新价": 13.31}, {}),
    "stock_zh_a_hist": ({"日期": DAY, "收盘": 1.1}, {"symbol": "600001"}),
    "stock_info_sh_name_code": ({"证券代码": "600001", "上市日期": dt.date(2010, 1, 5)}, {}),
    "stock_info_sz_name_code:A股列表": ({"板块": "主板", "A股简称": "二"}, {}),  # codes: Excel numbers
    "stock_info_bj_name_code": ({"证券代码": "830799", "上市日期": dt.date(2021, 11, 15)}, {}),
    "stock_info_sh_delist": ({"公司代码": "600099", "上市日期": dt.date(2005, 1, 4)}, {}),
    "stock_info_sz_delist:终止上市公司": ({"证券代码": "000013", "上市日期": dt.date(1992, 5, 6)}, {}),
    "stock_info_sz_change_name:简称变更": ({"变更日期": DAY, "证券代码": "000002"}, {}),
    "stock_zh_a_st_em": ({"代码": "000002", "名称": "*ST二"}, {}),
    "stock_zt_pool_em": ({"代码": "600001", "最新价": 13.31, "连板数": 3}, {"date": "20240606"}),
    "stock_zt_pool_previous_em": ({"代码": "600001", "最新价": 13.31}, {"date": "20240606"}),
    "stock_zt_pool_zbgc_em": ({"代码": "600001", "最新价": 13.31}, {"date": RECENT}),
    "stock_zt_pool_dtgc_em": ({"代码": "600001", "最新价": 13.31}, {"date": RECENT}),
    "stock_individual_fund_flow_rank:今日": ({"代码": "600001", "今日主力净流入-净额": 1.5e6}, {}),
    "stock_individual_fund_flow": ({"日期": DAY, "主力净流入-净额": 1e5}, {"stock": "600001", "market": "sh"}),
    "stock_hsgt_stock_statistics_em": ({"持股日期": DAY, "股票代码": "600001", "持股数量": 1e3},
                                       {"start_date": "20240606", "end_date": "20240606"}),
    "stock_comment_em": ({"代码": "600001", "关注指数": 88.5, "交易日": DAY}, {}),
    "stock_hot_rank_detail_em": ({"时间": "2024-06-06", "排名": 10}, {"symbol": "SH600001"}),  # text dates
    "index_stock_cons_weight_csindex": ({"日期": DAY, "指数代码": "000300", "成分券代码": "600001"}, {}),
    "stock_industry_clf_hist_sw": ({"symbol": "600001", "start_date": dt.date(2014, 1, 2)}, {}),
    "stock_board_concept_name_em": ({"板块名称": "人工智能", "板块代码": "BK0800"}, {}),
    "stock_board_concept_cons_em": ({"代码": "600001"}, {"symbol": "BK0800"}),
    "stock_zh_index_hist_csindex": ({"日期": DAY, "收盘": 1000.0}, {"start_date": "20240606", "end_date": "20240606"}),
    "stock_margin_account_info": ({"日期": DAY, "融资余额": 15000.0}, {}),
}


def test_schema_dicts_agree_and_cover_every_faked_function():
    assert set(UPSTREAM_COLUMNS) == set(UPSTREAM_DTYPES) == set(SAMPLES)
    for key, columns in UPSTREAM_COLUMNS.items():
        assert len(set(columns)) == len(columns), key
        assert tuple(UPSTREAM_DTYPES[key]) == columns, key
        assert set(UPSTREAM_UNCOERCED.get(key, ())) <= set(columns), key
    assert {key.partition(":")[0] for key in UPSTREAM_COLUMNS} == set(FAKED_FUNCTIONS)


@pytest.mark.parametrize("key", sorted(UPSTREAM_COLUMNS))
def test_akshare_returns_the_pinned_columns_for_a_recorded_answer(key):
    row, call = SAMPLES[key]
    frame = recorded_frame(key, [row], **call)
    assert tuple(frame.columns) == UPSTREAM_COLUMNS[key]
    assert len(frame) == 1
    for column, value in row.items():
        assert frame[column].iloc[0] == value, (key, column)
    for column, dtype in UPSTREAM_DTYPES[key].items():
        if dtype == "object (datetime.date)":  # akshare's .dt.date: dates, or NaT where nothing came
            assert all(v is pd.NaT or type(v) is dt.date for v in frame[column]), (key, column)


def test_no_rows_is_what_akshare_makes_of_each_sites_empty_answer():
    """East Money's pools and klines: no frame at all; SZSE's empty sheet: no frame; a null datacenter result or
    clist `data`: akshare indexes None (the source reads that as a null answer, asked again, never stored)."""
    assert recorded_frame("stock_zt_pool_em", [], date="20190102").shape == (0, 0)
    assert recorded_frame("stock_zh_a_hist", [], symbol="600001").shape == (0, 0)
    assert recorded_frame("stock_info_sz_delist:终止上市公司", []).shape == (0, 0)
    for key, call in (("stock_comment_em", {}), ("stock_zh_a_spot_em", {}), ("stock_zt_pool_dtgc_em", {"date": RECENT})):
        with pytest.raises(TypeError, match="'NoneType' object is not subscriptable"):
            recorded_frame(key, [], **call)


def test_a_column_akshare_does_not_have_is_refused():
    with pytest.raises(KeyError, match="not_a_column"):
        recorded_frame("stock_zt_pool_em", [{"not_a_column": 1}], date="20240606")


def test_east_moneys_dash_stays_text_where_akshare_does_not_coerce():
    frame = recorded_frame("stock_individual_fund_flow_rank:今日", [{"代码": "600001", "最新价": "-"},
                                                                   {"代码": "600002", "最新价": 10.5}])
    assert frame["最新价"].dtype == object and sorted(map(str, frame["最新价"])) == ["-", "10.5"]


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
    frame = recorded_frame("stock_zt_pool_em", [{"代码": "600000"}], date="20240102")
    empty = recorded_frame("stock_zt_pool_em", [], date="20240103")
    fake = FakeAkshare(
        {
            "stock_zt_pool_em": [ConnectionError("reset"), frame],
            FakeAkshare.key("stock_zh_a_hist", symbol="000001", adjust="qfq"): frame,
            "stock_zh_a_hist": ValueError("generic"),
            "stock_comment_em": lambda: empty,
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
