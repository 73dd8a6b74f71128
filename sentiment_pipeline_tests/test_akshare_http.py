"""akshare's own functions (the pinned 1.19.5) against recorded answers at the HTTP layer (`responses`): their
parsing runs here, not a fake in their place.

The kline answers below carry real bars (万科A, 000002, around its 2020-08-14 ex-dividend day: previous close 28.60,
exchange reference close 27.58; from baostock's output in ../shared/data/real) in East Money's envelope as
akshare's stock_hist_em.py parses it (`data.klines`: "date,open,close,high,low,volume(lots),amount,amplitude,
pct,change,turnover"). The envelope's other fields are inferred from that parser; the back-adjusted (fqt=2)
prices are derived from the reference closes with a factor of 100 before the ex-day, as East Money's back-adjusted
prices are the raw ones times the accumulated factor."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time

import polars as pl
import pytest
import requests
import responses
from responses import matchers

from sentiment_pipeline.sources import akshare_source as ak_source
from sentiment_pipeline.sources.fetch import Fetcher, NetworkDown, RetryPolicy, default_timeout
from sentiment_pipeline.sources.raw_store import RawKey, RawStore

from .akshare_recordings import clist_answer, clist_item, xlsx
from .conftest import REAL_DATA

KLINE_URL = "https://push2his.eastmoney.com/api/qt/stock/kline/get"
RAW_KLINES = ["2020-08-13,28.83,28.60,29.06,28.31,790903,2261412098.20,2.61,-0.38,-0.11,0.81",
              "2020-08-14,27.90,27.68,27.90,27.15,940947,2592380291.00,2.62,-3.22,-0.92,0.97"]
# 28.60 × 100 on 08-13; on 08-14 the factor becomes 100 × 28.60 / 27.58: 27.68 × that = 2870.37
HFQ_KLINES = ["2020-08-13,2883.00,2860.00,2906.00,2831.00,790903,2261412098.20,2.61,-0.38,-11.00,0.81",
              "2020-08-14,2893.18,2870.37,2893.18,2815.41,940947,2592380291.00,2.62,0.36,10.37,0.97"]


def kline_answer(klines: list[str]) -> dict:
    return {"rc": 0, "rt": 17, "svr": 181669437, "lt": 1, "full": 0, "dlmkts": "",
            "data": {"code": "000002", "market": 0, "name": "万科Ａ", "decimal": 2, "dktotal": len(klines),
                     "preKPrice": 28.71, "klines": klines}}


def record_klines():
    for fqt, klines in (("0", RAW_KLINES), ("2", HFQ_KLINES)):
        responses.add(responses.GET, KLINE_URL, json=kline_answer(klines),
                      match=[matchers.query_param_matcher({"fqt": fqt, "secid": "0.000002"}, strict_match=False)])


@responses.activate
def test_the_reference_close_of_an_ex_rights_day_comes_from_the_back_adjusted_series():
    import akshare as ak

    record_klines()
    raw = ak.stock_zh_a_hist(symbol="000002", start_date="20200813", end_date="20200814", adjust="")
    hfq = ak.stock_zh_a_hist(symbol="000002", start_date="20200813", end_date="20200814", adjust="hfq")
    # akshare's own parse: 涨跌额 of the unadjusted series is against the raw previous close (28.60)
    assert raw["涨跌额"].tolist() == [-0.11, -0.92]
    alone = ak_source.parse_hist({"000002": raw})
    assert alone["pre_close"].to_list() == [28.71, 28.60]  # the bug: 28.60 is not the exchange's
    quotes = ak_source.parse_hist({"000002": raw}, {"000002": hfq})
    assert quotes["pre_close"].to_list() == [28.71, 27.58]  # baostock's preclose on both days
    assert quotes["volume"].to_list() == [79_090_300, 94_094_700]  # lots × 100


@responses.activate
def test_a_resolver_failure_twice_in_a_row_stops_at_once_saying_the_network_is_down(tmp_path):
    import akshare as ak

    failure = requests.exceptions.ConnectionError(
        "HTTPSConnectionPool(host='push2his.eastmoney.com', port=443): Max retries exceeded with url: "
        "/api/qt/stock/kline/get (Caused by NameResolutionError(\"<urllib3.connection.HTTPSConnection object>: "
        "Failed to resolve 'push2his.eastmoney.com' ([Errno -3] Temporary failure in name resolution)\"))")
    responses.add(responses.GET, KLINE_URL, body=failure)
    slept = []

    class Clock:
        def monotonic(self):
            return 0.0

        def sleep(self, seconds):
            slept.append(seconds)

    fetcher = Fetcher(RawStore(tmp_path), clock=Clock(), retry=RetryPolicy(max_attempts=6, base_delay=2.0))
    key = RawKey("stock_zh_a_hist", start=dt.date(2020, 8, 13), end=dt.date(2020, 8, 14), symbol="000002")
    with pytest.raises(NetworkDown, match=r"cannot resolve push2his.eastmoney.com twice in a row: the network or "
                                          r"DNS is down"):
        fetcher.fetch(key, "stock_zh_a_hist", lambda: ak.stock_zh_a_hist(symbol="000002", adjust=""))
    # one retry (a backoff of at most 2 s and East Money's 2 s throttle), not six attempts with minutes of backoff
    assert len(responses.calls) == 2 and sum(slept) <= 4.0
    assert not RawStore(tmp_path).has(key)


def test_every_request_gets_a_timeout_so_a_stalled_connection_fails():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted = []
    threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True).start()  # never answers
    url = f"http://127.0.0.1:{server.getsockname()[1]}/api"
    started = time.monotonic()
    with default_timeout(0.3), pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(url)  # akshare's functions call requests like this, without a timeout
    assert time.monotonic() - started < 5
    assert requests.Session.request.__name__ == "request" and "default_timeout" not in repr(requests.Session.request)
    server.close()


@pytest.mark.skipif(not (REAL_DATA / "baostock").is_dir(), reason="../shared/data/real is absent")
def test_the_reference_close_arithmetic_holds_on_baostocks_ex_rights_days():
    """baostock's preclose is the exchange's: rebuild back-adjusted prices from it (rounded to the fen, as East
    Money's are), derive the reference close the way the source does, and compare on every Shenzhen day."""
    rows = (pl.read_parquet(REAL_DATA / "baostock" / "sz_daily_2020_2022.parquet")
            .filter(pl.col("tradestatus") == 1).sort("code", "date")
            .with_columns(previous=pl.col("close").shift(1).over("code")))
    for scale, exact_ex_rights in ((10.0, 1.0), (1.0, 0.9)):
        d = (rows.with_columns(factor=(pl.col("previous") / pl.col("preclose")).fill_null(1.0).log()
                               .cum_sum().over("code").exp() * scale)
             .with_columns(hfq=(pl.col("close") * pl.col("factor")).round(2))
             .with_columns(hfq_change=pl.col("hfq") - pl.col("hfq").shift(1).over("code"),
                           raw_change=pl.col("close") - pl.col("previous"))
             .drop_nulls("hfq_change")
             .with_columns(ref=ak_source.reference_close(pl.col("close"), pl.col("raw_change"), pl.col("hfq"),
                                                         pl.col("hfq_change")),
                           ex_rights=(pl.col("preclose") - pl.col("previous")).abs() >= 0.005))
        error = (pl.col("ref") - pl.col("preclose")).abs()
        ex = d.filter("ex_rights")
        assert ex.height == 3230
        assert ex.filter(error < 0.005).height / ex.height >= exact_ex_rights
        assert d.select(error.max()).item() <= 0.0100001  # never more than a fen off


RANK_URL = "https://emappdata.eastmoney.com/stockrank/getHisList"
FOLLOW_URL = "https://emappdata.eastmoney.com/stockrank/getHisProfileList"


@responses.activate
def test_a_stock_without_rank_history_is_no_rows_not_an_upstream_change(tmp_path):
    """stock_hot_rank_detail_em on a stock East Money has no rank history for (an empty `data` list, the shape
    akshare's parser implies for it): akshare raises 'Length mismatch' (it adds 证券代码 to the empty frame before
    naming three columns), which was read as an upstream schema change and failed the whole attention backfill."""
    import akshare as ak

    from sentiment_pipeline.sources.fetch import UpstreamSchemaChanged

    responses.add(responses.POST, RANK_URL, json={"globalId": "786e4c21-70dc-435a-93bb-38", "code": 0,
                                                  "message": "success", "data": []})
    fetcher = Fetcher(RawStore(tmp_path), retry=RetryPolicy(max_attempts=2, base_delay=0.0),
                      rates={"emappdata.eastmoney.com": 1000.0})
    key = RawKey("stock_hot_rank_detail_em", as_of=dt.date(2024, 6, 6), symbol="SZ000029")
    frame = fetcher.fetch(key, "stock_hot_rank_detail_em", lambda: ak.stock_hot_rank_detail_em(symbol="SZ000029"))
    assert frame.empty and RawStore(tmp_path).has(key)  # kept: the answer is settled
    # an answer with another shape is still an upstream change
    responses.replace(responses.POST, RANK_URL, json={"data": [{"calcTime": "2024-06-06", "rank": 7, "x": 1, "y": 2}]})
    with pytest.raises((UpstreamSchemaChanged, ValueError)):
        fetcher.fetch(RawKey("stock_hot_rank_detail_em", as_of=dt.date(2024, 6, 6), symbol="SZ000002"),
                      "stock_hot_rank_detail_em", lambda: ak.stock_hot_rank_detail_em(symbol="SZ000002"))


@responses.activate
def test_a_null_fund_flow_answer_is_asked_again_and_never_stored_as_empty(tmp_path):
    """stock_individual_fund_flow indexes data.klines: a `data: null` answer (East Money's shape for no data and
    for a failure on its side alike) raises TypeError in akshare; it was stored as an empty history for good."""
    import akshare as ak

    url = "https://push2his.eastmoney.com/api/qt/stock/fflow/daykline/get"
    responses.add(responses.GET, url, json={"rc": 0, "rt": 21, "svr": 1, "lt": 1, "full": 0, "dlmkts": "",
                                            "data": None})
    fetcher = Fetcher(RawStore(tmp_path), retry=RetryPolicy(max_attempts=3, base_delay=0.0),
                      rates={"push2his.eastmoney.com": 1000.0})
    key = RawKey("stock_individual_fund_flow", as_of=dt.date(2024, 6, 6), symbol="600000")
    frame = fetcher.fetch(key, "stock_individual_fund_flow",
                          lambda: ak.stock_individual_fund_flow(stock="600000", market="sh"))
    assert frame.empty and len(responses.calls) == 2 and not RawStore(tmp_path).has(key)
    assert fetcher.stats.null_answers == 1


@responses.activate
def test_a_concept_board_without_members_is_no_rows(tmp_path):
    """stock_board_concept_cons_em pages with fetch_paginated_data, which divides the total by the first page's
    length: an empty board (`diff: []`, the shape akshare's pager reads) raised ZeroDivisionError and failed the
    whole concept refresh."""
    import akshare as ak

    responses.add(responses.GET, "https://29.push2.eastmoney.com/api/qt/clist/get",
                  json={"rc": 0, "rt": 6, "svr": 1, "lt": 1, "full": 1, "dlmkts": "", "data": {"total": 0, "diff": []}})
    fetcher = Fetcher(RawStore(tmp_path), retry=RetryPolicy(max_attempts=2, base_delay=0.0),
                      rates={"push2.eastmoney.com": 1000.0})
    key = RawKey("stock_board_concept_cons_em", as_of=dt.date(2024, 6, 6), symbol="BK1234")
    frame = fetcher.fetch(key, "stock_board_concept_cons_em", lambda: ak.stock_board_concept_cons_em(symbol="BK1234"))
    assert frame.empty and RawStore(tmp_path).has(key) and len(responses.calls) == 1


POOL_URL = "https://push2ex.eastmoney.com/getTopicZTPool"
# East Money's limit-up pool items; the key names are inferred (akshare names them by position: 代码, _, 名称,
# 最新价 in 1/1000 CNY, 涨跌幅, 成交额, 流通市值, 总市值, 换手率, 连板数, 首次/最后封板时间, 封板资金, 炸板次数,
# 所属行业, 涨停统计 {days, ct}).
POOL_ITEM = {"c": "000002", "m": 0, "n": "万科A", "p": 30460, "zdp": 10.003, "amount": 5.1e9, "ltsz": 2.9e11,
             "tshare": 3.4e11, "hs": 1.75, "lbc": 2, "fbt": 93512, "lbt": 140102, "fund": 4.2e8, "zbc": 1,
             "hybk": "房地产", "zttj": {"days": 2, "ct": 2}}


@responses.activate
def test_the_limit_up_pool_is_parsed_by_akshare_and_an_empty_one_is_not_kept(tmp_path, monkeypatch):
    import akshare as ak

    responses.add(responses.GET, POOL_URL, json={"rc": 0, "data": {"tc": 1, "qdate": 20200814, "pool": [POOL_ITEM]}},
                  match=[matchers.query_param_matcher({"date": "20200814"}, strict_match=False)])
    frame = ak.stock_zt_pool_em(date="20200814")
    pool = ak_source.parse_pool(frame, "limit_up", dt.date(2020, 8, 14))
    assert pool.select("code", "close", "streak").row(0) == ("000002", 30.46, 2)
    # an older day than upstream keeps: `data: null`, which akshare returns as an empty frame
    responses.add(responses.GET, POOL_URL, json={"rc": 0, "data": None},
                  match=[matchers.query_param_matcher({"date": "20190102"}, strict_match=False)])
    monkeypatch.setattr(ak_source, "now_shanghai", lambda: dt.datetime(2024, 6, 6, 17, 0, tzinfo=ak_source.SHANGHAI))
    source = ak_source.AkshareSource(store_dir=str(tmp_path), eastmoney_rate=1000.0)
    empty = source._pool_response("limit_up", dt.date(2019, 1, 2))
    assert empty.empty and not source.fetcher().store.has(RawKey("stock_zt_pool_em", trade_date=dt.date(2019, 1, 2)))


@responses.activate
def test_csindex_series_are_parsed_by_akshare_and_scaled_from_yi_yuan():
    """stock_zh_index_hist_csindex: `data` is a list of one record per day; akshare names the 16 fields by
    position. The key names below are CSIndex's (inferred: akshare does not name them); the CSI 300's closes and
    amounts of 2020-08-13/14 are real (the TongDaXin index file in ../shared/data/real: 4,647.64 → 4,635.71 →
    4,704.63; 2,509.5 and 2,543.4 亿元)."""
    import akshare as ak

    def day(date, close, change, value):
        return {"tradeDate": date, "indexCode": "000300", "indexNameCnAll": "沪深300指数", "indexNameCn": "沪深300",
                "indexNameEnAll": "CSI 300 Index", "indexNameEn": "CSI 300", "open": close - 10, "high": close + 5,
                "low": close - 20, "close": close, "change": change, "changePct": round(100 * change / (close - change), 2),
                "tradingVol": 180.5, "tradingValue": value, "consNumber": 300, "peg": 14.1}

    responses.add(responses.GET, "https://www.csindex.com.cn/csindex-home/perf/index-perf",
                  json={"code": "200", "msg": "Success", "data": [day("20200813", 4635.71, -11.93, 2509.5),
                                                                   day("20200814", 4704.63, 68.92, 2543.4)],
                        "success": True})
    frame = ak.stock_zh_index_hist_csindex(symbol="000300", start_date="20200813", end_date="20200814")
    series = ak_source.parse_index_daily({"000300": frame})
    assert series.select("trade_date", "index_code", "pre_close", "close").rows() == [
        (dt.date(2020, 8, 13), "000300", pytest.approx(4647.64), 4635.71),
        (dt.date(2020, 8, 14), "000300", pytest.approx(4635.71), 4704.63)]
    assert series["amount"].to_list() == pytest.approx([2509.5e8, 2543.4e8])  # 亿元 → CNY


@responses.activate
def test_the_margin_balance_is_parsed_by_akshare_and_scaled_from_yi_yuan():
    """stock_margin_account_info reads `result.pages`, then `result.data` (named fields, renamed by akshare);
    East Money gives the balances in 亿元 (the figures are of the size its page shows; the scale is inferred)."""
    import akshare as ak

    row = {"STATISTICS_DATE": "2020-08-14 00:00:00", "FIN_BALANCE": 14356.7, "LOAN_BALANCE": 952.3,
           "FIN_BUY_AMT": 1203.1, "LOAN_SELL_AMT": 98.6, "SECURITY_ORG_NUM": 97, "OPERATEDEPT_NUM": 10652,
           "PERSONAL_INVESTOR_NUM": 1089.2, "ORG_INVESTOR_NUM": 2.6, "INVESTOR_NUM": 44.1,
           "MARGINLIAB_INVESTOR_NUM": 498.3, "TOTAL_GUARANTEE": 47213.5, "AVG_GUARANTEE_RATIO": 297.4}
    responses.add(responses.GET, "https://datacenter-web.eastmoney.com/api/data/v1/get",
                  json={"version": "1", "result": {"pages": 1, "data": [row], "count": 1}, "success": True,
                        "message": "ok", "code": 0})
    margin = ak_source.parse_margin(ak.stock_margin_account_info())
    assert margin.rows() == [(dt.date(2020, 8, 14), pytest.approx((14356.7 + 952.3) * 1e8))]


@responses.activate
def test_the_fund_flow_history_is_parsed_by_akshare():
    """stock_individual_fund_flow: `data.klines`, one string of 15 comma-separated fields a day (akshare's order:
    date, main, small, medium, large, extra-large net inflow in CNY, their shares in %, close, % change, two more);
    the values are inferred, of the size East Money shows for 万科A."""
    import akshare as ak

    klines = ["2020-08-13,-123456789.0,60000000.0,40000000.0,-23456789.0,-100000000.0,-5.46,2.65,1.77,-1.04,-4.42,"
              "28.60,-0.38,0.00,0.00",
              "2020-08-14,98765432.0,-50000000.0,-48765432.0,38765432.0,60000000.0,3.81,-1.93,-1.88,1.50,2.31,"
              "27.68,0.36,0.00,0.00"]
    responses.add(responses.GET, "https://push2his.eastmoney.com/api/qt/stock/fflow/daykline/get",
                  json={"rc": 0, "rt": 21, "svr": 1, "lt": 1, "full": 0, "dlmkts": "",
                        "data": {"code": "000002", "market": 0, "name": "万科A", "klines": klines}})
    frame = ak.stock_individual_fund_flow(stock="000002", market="sz")
    flows = ak_source.parse_main_flow_history({"000002": frame})
    assert flows.select("trade_date", "code", "main_net_inflow").rows() == [
        (dt.date(2020, 8, 13), "000002", -123456789.0), (dt.date(2020, 8, 14), "000002", 98765432.0)]


@responses.activate
def test_the_hot_rank_history_is_parsed_by_akshare():
    """stock_hot_rank_detail_em: the rank history (`data`: calcTime, rank) and the follower profile (`data`:
    newUidRate, oldUidRate as percent strings) from two calls; akshare pairs them by position (left as it is: a
    profile list of another length would misalign them, which no recorded answer here shows). Keys inferred from
    akshare's renames."""
    import akshare as ak

    responses.add(responses.POST, RANK_URL, json={"code": 0, "message": "success", "data": [
        {"calcTime": "2024-06-05", "rank": 12}, {"calcTime": "2024-06-06", "rank": 7}]})
    responses.add(responses.POST, FOLLOW_URL, json={"code": 0, "message": "success", "data": [
        {"newUidRate": "12.50%", "oldUidRate": "40.10%"}, {"newUidRate": "15.00%", "oldUidRate": "38.00%"}]})
    frame = ak.stock_hot_rank_detail_em(symbol="SZ000002")
    attention = ak_source.parse_hot_rank_history({"000002": frame})
    assert attention.select("trade_date", "hot_rank", "new_follower_share", "loyal_follower_share").rows() == [
        (dt.date(2024, 6, 5), 12, pytest.approx(0.125), pytest.approx(0.401)),
        (dt.date(2024, 6, 6), 7, pytest.approx(0.15), pytest.approx(0.38))]


# ------------------------------------------------------------------------ East Money's clist (akshare's pager)

SPOT_FIELDS = ("f1,f2,f3,f4,f5,f6,f7,f8,f9,f10,f12,f13,f14,f15,f16,f17,f18,f20,f21,f23,f24,f25,f22,f11,f62,f128,"
               "f136,f115,f152")


@responses.activate
def test_the_quotes_snapshot_is_parsed_by_akshare():
    """stock_zh_a_spot_em: 万科A's 2020-08-14 bar (real: baostock) in the fields akshare names 最新价 (f2), 成交量
    (f5, lots), 成交额 (f6), 换手率 (f8), 代码 (f12), 名称 (f14), 最高/最低/今开/昨收 (f15–f18), 流通市值 (f21)."""
    import akshare as ak

    item = clist_item(SPOT_FIELDS, {"f1": 2, "f2": 27.68, "f3": 0.36, "f4": 0.10, "f5": 940947, "f6": 2592380291.0,
                                    "f7": 2.72, "f8": 0.97, "f12": "000002", "f13": 0, "f14": "万科A", "f15": 27.9,
                                    "f16": 27.15, "f17": 27.9, "f18": 27.58, "f20": 3.2e11, "f21": 2.69e11})
    responses.add(responses.GET, "https://82.push2.eastmoney.com/api/qt/clist/get", json=clist_answer([item]))
    quotes = ak_source.parse_spot(ak.stock_zh_a_spot_em(), dt.date(2020, 8, 14))
    assert quotes.select("code", "open", "high", "low", "close", "pre_close", "volume", "float_mcap").row(0) == (
        "000002", 27.9, 27.9, 27.15, 27.68, 27.58, 94_094_700, 2.69e11)
    assert quotes["turnover_rate"].item() == pytest.approx(0.0097)


@responses.activate
def test_the_st_board_and_the_flow_ranking_are_parsed_by_akshare():
    import akshare as ak

    st = clist_item("f2,f3,f4,f5,f6,f7,f8,f9,f10,f12,f13,f14,f15,f16,f17,f18,f20,f21,f23,f24,f25,f22,f11,f62,f128,"
                    "f136,f115,f152", {"f2": 8.41, "f3": 4.99, "f12": "000408", "f13": 0, "f14": "*ST藏格", "f18": 8.01})
    responses.add(responses.GET, "https://40.push2.eastmoney.com/api/qt/clist/get", json=clist_answer([st]))
    st_list = ak_source.parse_st_list(ak.stock_zh_a_st_em(), dt.date(2020, 8, 7))
    assert st_list.rows() == [(dt.date(2020, 8, 7), "000408")]
    flow = clist_item("f12,f14,f2,f3,f62,f184,f66,f69,f72,f75,f78,f81,f84,f87,f204,f205,f124",
                      {"f2": 27.68, "f3": 0.36, "f12": "000002", "f14": "万科A", "f62": 98765432.0, "f184": 3.81,
                       "f124": 1597390000})
    responses.add(responses.GET, "https://push2.eastmoney.com/api/qt/clist/get", json=clist_answer([flow]))
    flows = ak_source.parse_main_flow_snapshot(ak.stock_individual_fund_flow_rank(indicator="今日"), dt.date(2020, 8, 14))
    assert flows.select("trade_date", "code", "main_net_inflow").rows() == [(dt.date(2020, 8, 14), "000002", 98765432.0)]


@responses.activate
def test_concept_boards_and_members_are_parsed_by_akshare_and_its_cache_is_refreshed(tmp_path, monkeypatch):
    """stock_board_concept_name_em is cached by akshare for the life of the process: a long-lived daemon stored
    the first day's board list again on every later day. The source clears akshare's caches before each call."""
    import akshare as ak

    board_fields = ("f2,f3,f4,f8,f12,f14,f15,f16,f17,f18,f20,f21,f24,f25,f22,f33,f11,f62,f128,f124,f107,f104,f105,"
                    "f136")
    names_url = "https://79.push2.eastmoney.com/api/qt/clist/get"
    monkeypatch.setattr(ak_source, "now_shanghai", lambda: dt.datetime(2024, 6, 6, 17, 0, tzinfo=ak_source.SHANGHAI))
    source = ak_source.AkshareSource(store_dir=str(tmp_path), eastmoney_rate=1000.0, concept_refresh_days=0)
    for day, board in ((dt.date(2024, 6, 6), "锂电池"), (dt.date(2024, 6, 7), "固态电池")):
        responses.upsert(responses.GET, names_url, json=clist_answer([clist_item(
            board_fields, {"f2": 1000.0, "f3": 1.2, "f12": "BK0574", "f14": board, "f104": 10, "f105": 3})]))
        monkeypatch.setattr(ak_source.AkshareSource, "_as_of", lambda self, day=day: day)
        names = source._reference("stock_board_concept_name_em", max_age_days=0)
        assert names["板块名称"].tolist() == [board]  # not the cached first answer
    assert ak.stock_board_concept_name_em()[["板块代码", "上涨家数", "下跌家数"]].values.tolist() == [["BK0574", 10, 3]]
    member = clist_item("f1,f2,f3,f4,f5,f6,f7,f8,f9,f10,f12,f13,f14,f15,f16,f17,f18,f20,f21,f23,f24,f25,f22,f11,f62,"
                        "f128,f136,f115,f152,f45", {"f2": 210.5, "f12": "300750", "f13": 0, "f14": "宁德时代"})
    responses.add(responses.GET, "https://29.push2.eastmoney.com/api/qt/clist/get", json=clist_answer([member]))
    concepts = ak_source.parse_concepts({"BK0574": ak.stock_board_concept_cons_em(symbol="BK0574")},
                                        {"BK0574": "固态电池"}, dt.date(2024, 6, 7))
    assert concepts.rows() == [("固态电池", "300750", dt.date(2024, 6, 7))]


@responses.activate
def test_the_previous_broken_and_limit_down_pools_are_parsed_by_akshare():
    """The other three pools: `data.pool` items named by position (key names inferred, in akshare's order);
    prices in 1/1000 CNY, times as hhmmss integers. The broken and limit-down pools are only served for the last
    30 days (akshare returns nothing for older dates without asking), so they are asked for today."""
    import akshare as ak

    today = dt.date.today()
    date = f"{today:%Y%m%d}"
    previous = {"c": "000002", "m": 0, "n": "万科A", "p": 28600, "ztp": 30460, "zdp": 1.2, "amount": 3.1e9,
                "ltsz": 2.9e11, "tshare": 3.4e11, "hs": 1.1, "zf": 3.2, "zs": 0.1, "yfbt": 93512, "ylbc": 2,
                "hybk": "房地产", "zttj": {"days": 2, "ct": 2}}
    broken = {"c": "000408", "m": 0, "n": "*ST藏格", "p": 8200, "ztp": 8410, "zdp": 2.4, "amount": 1.0e8,
              "ltsz": 1.6e10, "tshare": 1.7e10, "hs": 2.5, "fbt": 100512, "zbc": 3, "zf": 5.1, "zs": -0.2,
              "zttj": {"days": 1, "ct": 1}, "hybk": "化工"}
    down = {"c": "300003", "m": 0, "n": "创三", "p": 16000, "zdp": -20.0, "amount": 5.0e7, "ltsz": 3.0e9,
            "tshare": 4.0e9, "pe": -12.3, "hs": 1.6, "fund": 2.0e7, "lbt": 141502, "fba": 1.0e7, "days": 1, "oc": 0,
            "hybk": "医药"}
    for url, item in (("getYesterdayZTPool", previous), ("getTopicZBPool", broken), ("getTopicDTPool", down)):
        responses.add(responses.GET, f"https://push2ex.eastmoney.com/{url}",
                      json={"rc": 0, "data": {"tc": 1, "qdate": int(date), "pool": [item]}})
    rows = pl.concat([
        ak_source.parse_pool(ak.stock_zt_pool_previous_em(date=date), "previous", today),
        ak_source.parse_pool(ak.stock_zt_pool_zbgc_em(date=date), "broken", today),
        ak_source.parse_pool(ak.stock_zt_pool_dtgc_em(date=date), "limit_down", today)])
    assert rows.select("pool", "code", "close", "streak", "broken_count", "last_seal_time").rows() == [
        ("previous", "000002", 28.6, 2, None, "09:35:12"), ("broken", "000408", 8.2, None, 3, None),
        ("limit_down", "300003", 16.0, None, 0, "14:15:02")]


HSGT_URL = "http://datacenter-web.eastmoney.com/api/data/v1/get"


def hsgt_record(day: str, code: str, name: str, shares: float, value: float, ratio: float, close: float) -> dict:
    """One RPT_MUTUAL_STOCK_NORTHSTA record: akshare names its 43 fields by position (持股日期 3rd, 股票简称 5th,
    股票代码 8th, 持股数量 13th, 持股市值 14th, 持股数量占发行股百分比 16th, 当日收盘价 17th, 当日涨跌幅 18th);
    the key names here are placeholders where akshare does not tell them."""
    record = {f"FIELD_{i:02d}": None for i in range(43)}
    record.update({"FIELD_02": f"{day} 00:00:00", "FIELD_04": name, "FIELD_07": code, "FIELD_12": shares,
                   "FIELD_13": value, "FIELD_15": ratio, "FIELD_16": close, "FIELD_17": 0.5})
    return record


@responses.activate
def test_northbound_holdings_are_parsed_by_akshare_and_a_null_result_is_not_kept(tmp_path):
    import akshare as ak

    days = [hsgt_record("2020-08-13", "000002", "万科A", 1.0e8, 2.86e9, 1.00, 28.60),
            hsgt_record("2020-08-14", "000002", "万科A", 1.1e8, 3.04e9, 1.10, 27.68)]
    responses.add(responses.GET, HSGT_URL, json={"version": "1", "result": {"pages": 1, "data": days, "count": 2},
                                                 "success": True, "message": "ok", "code": 0})
    frame = ak.stock_hsgt_stock_statistics_em(symbol="北向持股", start_date="20200813", end_date="20200814")
    flows = ak_source.parse_northbound({dt.date(2020, 8, 14): frame}).sort("trade_date")
    # inflow = Δ share of the company ÷ share × shares held × close: (1.10 − 1.00) / 1.10 × 1.1e8 × 27.68
    assert flows["northbound_net_inflow"].to_list() == [None, pytest.approx(0.1 / 1.1 * 1.1e8 * 27.68)]
    assert flows["holding_shares"].to_list() == [1.0e8, 1.1e8]
    # the same holdings with 持股数量 in 万股 (as akshare's docs have it): recognised by 持股市值, the same inflow
    in_wan = [hsgt_record("2020-08-13", "000002", "万科A", 1.0e4, 2.86e9, 1.00, 28.60),
              hsgt_record("2020-08-14", "000002", "万科A", 1.1e4, 3.04e9, 1.10, 27.68)]
    responses.replace(responses.GET, HSGT_URL, json={"version": "1", "result": {"pages": 1, "data": in_wan}})
    again = ak_source.parse_northbound({dt.date(2020, 8, 14): ak.stock_hsgt_stock_statistics_em(
        symbol="北向持股", start_date="20200813", end_date="20200814")}).sort("trade_date")
    assert again["holding_shares"].to_list() == [1.0e8, 1.1e8]
    assert again["northbound_net_inflow"].to_list() == flows["northbound_net_inflow"].to_list()
    # a day without data: `result: null` (akshare then indexes it) is asked again, then unknown, never kept
    responses.replace(responses.GET, HSGT_URL, json={"version": "1", "result": None, "success": False,
                                                     "message": "返回数据为空", "code": 9201})
    fetcher = Fetcher(RawStore(tmp_path), retry=RetryPolicy(max_attempts=3, base_delay=0.0),
                      rates={"datacenter-web.eastmoney.com": 1000.0})
    key = RawKey("stock_hsgt_stock_statistics_em", trade_date=dt.date(2020, 8, 17))
    frame = fetcher.fetch(key, "stock_hsgt_stock_statistics_em", lambda: ak.stock_hsgt_stock_statistics_em(
        symbol="北向持股", start_date="20200817", end_date="20200817"))
    assert frame.empty and not RawStore(tmp_path).has(key) and fetcher.stats.null_answers == 1


@responses.activate
def test_the_attention_snapshot_is_parsed_by_akshare():
    """stock_comment_em (千股千评, RPT_DMSK_TS_STOCKNEW): 31 fields named by position after akshare's 序号 (代码 2nd,
    交易日 4th, 关注指数 29th); key names are placeholders where akshare does not tell them."""
    import akshare as ak

    def record(code, name, attention):
        r = {f"FIELD_{i:02d}": None for i in range(1, 32)}
        r.update({"FIELD_02": code, "FIELD_04": "2024-06-06 00:00:00", "FIELD_05": name, "FIELD_09": 7.12,
                  "FIELD_28": 1024, "FIELD_29": attention})
        return r

    responses.add(responses.GET, "https://datacenter-web.eastmoney.com/api/data/v1/get",
                  json={"version": "1", "result": {"pages": 1, "count": 2, "data": [
                      record("000002", "万科A", 86.4), record("600000", "浦发银行", 71.2)]}, "success": True})
    attention = ak_source.parse_attention_snapshot(ak.stock_comment_em())
    assert attention.select("trade_date", "code", "attention_index").rows() == [
        (dt.date(2024, 6, 6), "000002", 86.4), (dt.date(2024, 6, 6), "600000", 71.2)]


# ----------------------------------------------------------------------------------------- the exchanges' lists


@responses.activate
def test_the_exchanges_listing_and_delisting_lists_are_parsed_by_akshare():
    """SSE's commonQuery JSON (named fields), SZSE's xlsx reports (akshare post-processes the A-share list only
    when it has more than 10 rows, so 11 are recorded), BSE's JSONP (48 fields named by position: key names
    are placeholders). Codes and dates are real listings; the other fields are inferred."""
    import akshare as ak
    import pandas as pd

    sh = {"result": [{"A_STOCK_CODE": "600000", "SEC_NAME_CN": "浦发银行", "SEC_NAME_FULL": "上海浦东发展银行",
                      "COMPANY_ABBR": "浦发银行", "FULL_NAME": "上海浦东发展银行股份有限公司", "LIST_DATE": "19991110"}]}
    responses.add(responses.GET, "https://query.sse.com.cn/sseQuery/commonQuery.do", json=sh)
    sh_delist = {"result": [{"COMPANY_CODE": "600087", "COMPANY_ABBR": "退市长油", "LIST_DATE": "19970610",
                             "DELIST_DATE": "20140605"}]}
    responses.add(responses.GET, "https://query.sse.com.cn/commonQuery.do", json=sh_delist)
    codes = [1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    sz_list = pd.DataFrame({"板块": "主板", "A股代码": codes, "A股简称": [f"深{c}" for c in codes],
                            "A股上市日期": "1991-04-03", "A股总股本": "1,000,000", "A股流通股本": "900,000",
                            "所属行业": "J 金融业"})
    sz_delist = pd.DataFrame({"证券代码": [13], "证券简称": ["*ST石化"], "上市日期": ["1992-05-06"],
                              "终止上市日期": ["2004-09-20"]})
    responses.add(responses.GET, "https://www.szse.cn/api/report/ShowReport", body=xlsx(sz_list),
                  match=[matchers.query_param_matcher({"CATALOGID": "1110"}, strict_match=False)])
    responses.add(responses.GET, "https://www.szse.cn/api/report/ShowReport", body=xlsx(sz_delist),
                  match=[matchers.query_param_matcher({"CATALOGID": "1793_ssgs"}, strict_match=False)])
    record = {f"F{i:02d}": None for i in range(48)}
    record.update({"F00": "20211115", "F11": 1.0e8, "F17": "制造业", "F22": "20241231", "F29": "北京", "F35": "券商",
                   "F36": 2.0e8, "F38": "830799", "F40": "艾融软件"})
    responses.add(responses.POST, "https://www.bse.cn/nqxxController/nqxxCnzq.do",
                  body="null(" + json.dumps([{"totalPages": 1, "content": [record]}]) + ")")
    listed = {"stock_info_sh_name_code:主板A股": ak.stock_info_sh_name_code(symbol="主板A股"),
              "stock_info_sz_name_code:A股列表": ak.stock_info_sz_name_code(symbol="A股列表"),
              "stock_info_bj_name_code": ak.stock_info_bj_name_code()}
    delisted = {"stock_info_sh_delist:全部": ak.stock_info_sh_delist(symbol="全部"),
                "stock_info_sz_delist:终止上市公司": ak.stock_info_sz_delist(symbol="终止上市公司")}
    securities = ak_source.parse_securities(listed, delisted)
    rows = {r["code"]: r for r in securities.iter_rows(named=True)}
    assert rows["600000"]["list_date"] == dt.date(1999, 11, 10) and rows["600000"]["board"] == "main"
    assert rows["000001"]["name"] == "深1" and rows["000001"]["list_date"] == dt.date(1991, 4, 3)
    assert rows["830799"]["exchange"] == "BJ" and rows["830799"]["list_date"] == dt.date(2021, 11, 15)
    assert rows["600087"]["delist_date"] == dt.date(2014, 6, 5) and rows["000013"]["delist_date"] == dt.date(2004, 9, 20)


@responses.activate
def test_szse_short_name_changes_give_st_history_through_akshare():
    import akshare as ak
    import pandas as pd

    changes = pd.DataFrame({"变更日期": ["2020-05-06", "2021-06-01"], "证券代码": [408, 408], "证券简称": ["*ST藏格"] * 2,
                            "变更前简称": ["藏格控股", "*ST藏格"], "变更后简称": ["*ST藏格", "藏格控股"]})
    responses.add(responses.GET, "https://www.szse.cn/api/report/ShowReport", body=xlsx(changes))
    st = ak_source.parse_st_changes(ak.stock_info_sz_change_name(symbol="简称变更"))
    assert st.rows() == [("000408", dt.date(1990, 1, 1), False), ("000408", dt.date(2020, 5, 6), True),
                         ("000408", dt.date(2021, 6, 1), False)]


# -------------------------------------------------------------------------------------- CSIndex and Shenwan files


@responses.activate
def test_csindex_weights_and_the_shenwan_history_are_parsed_by_akshare():
    """CSIndex's closeweight file (10 columns named by position; served here as xlsx, which pandas reads by content
    like the real xls) and Shenwan's StockClassifyUse_stock file (股票代码, 计入日期, 行业代码, 更新日期: real rows of
    000002, 000004 and 300750, as in ../shared/data/real/membership)."""
    import akshare as ak
    import pandas as pd

    from sentiment_pipeline.market import membership

    weights = pd.DataFrame({"日期": [20240628, 20240628], "指数代码": [300, 300], "指数名称": ["沪深300"] * 2,
                            "指数英文名称": ["CSI 300"] * 2, "成分券代码": [2, 600000], "成分券名称": ["万科A", "浦发银行"],
                            "成分券英文名称": ["Vanke", "SPDB"], "交易所": ["深圳证券交易所", "上海证券交易所"],
                            "交易所英文名称": ["SZSE", "SSE"], "权重": [0.41, 0.38]})
    responses.add(responses.GET, "https://oss-ch.csindex.com.cn/static/html/csindex/public/uploads/file/autofile/"
                                 "closeweight/000300closeweight.xls", body=xlsx(weights))
    lists = ak_source.parse_index_membership([("000300", ak.index_stock_cons_weight_csindex(symbol="000300"))])
    assert lists.rows() == [("000300", "000002", dt.date(2024, 6, 28), pytest.approx(0.0041)),
                            ("000300", "600000", dt.date(2024, 6, 28), pytest.approx(0.0038))]
    history = pd.DataFrame({"股票代码": ["000002", "000004", "000004", "000004", "300750", "300750"],
                            "计入日期": ["1991-01-29", "2009-01-01", "2021-06-11", "2021-07-30", "2018-05-28", "2021-07-30"],
                            "行业代码": ["430101", "370301", "710202", "710402", "630305", "630701"],
                            "更新日期": ["2015-10-27"] * 6})
    responses.add(responses.GET, "https://www.swsresearch.com/swindex/pdf/SwClass2021/StockClassifyUse_stock.xls",
                  body=xlsx(history))
    parsed = ak_source.parse_industry_history(ak.stock_industry_clf_hist_sw())
    codes = ["000002", "000004", "300750"]

    def on(day):
        days = pl.DataFrame({"trade_date": [day] * 3, "code": codes})
        return dict(membership.sw_l1_members(days, parsed).select("code", "sector").iter_rows())

    assert on(dt.date(2021, 7, 29)) == {"000002": "房地产", "000004": "计算机", "300750": "电气设备"}
    assert on(dt.date(2021, 7, 30)) == {"000002": "房地产", "000004": "计算机", "300750": "电力设备"}


def test_every_akshare_function_the_source_calls_runs_here_for_real():
    """The source's akshare calls (every fetched function name in akshare_source.py) each run in this file as
    akshare's own code against a recorded answer, not a fake in its place."""
    import inspect
    import re

    from sentiment_pipeline.sources.fetch import FUNCTION_HOSTS

    source_text = inspect.getsource(ak_source)
    called = {f for f, host in FUNCTION_HOSTS.items() if host != "baostock.com" and f'"{f}"' in source_text}
    here = set(re.findall(r"\bak\.([a-z_]+)\(", open(__file__, encoding="utf-8").read()))
    assert len(called) == 24 and called <= here, sorted(called - here)
