"""The akshare source without network: akshare replaced by a fake that hands out what akshare's own code makes
of recorded upstream answers (akshare_recordings.py), with scripted faults between them."""

import datetime as dt

import duckdb
import polars as pl
import pytest
import dagster as dg

from sentiment_pipeline.definitions import build_definitions
from sentiment_pipeline.sources import akshare_source as ak
from sentiment_pipeline.sources.akshare_source import AkshareSource, snapshot_trade_date
from sentiment_pipeline.sources.fetch import RawResponseMissing, StaleSnapshot, UpstreamSchemaChanged
from sentiment_pipeline.sources.raw_store import RawStore

from .akshare_fakes import FakeAkshare, recorded_frame

SH = ak.SHANGHAI
HISTORY_DAYS = [dt.date(2024, 6, 3), dt.date(2024, 6, 4), dt.date(2024, 6, 5)]
SNAPSHOT_DAY = dt.date(2024, 6, 6)
AFTER_CLOSE = dt.datetime(2024, 6, 6, 17, 0, tzinfo=SH)
RECENT = f"{dt.date.today():%Y%m%d}"


class FakeClock:
    def __init__(self):
        self.now, self.slept = 0.0, []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


# --------------------------------------------------------------------------------------------- a small market
# 600001 closes 10.00, 11.00, 12.10 (two limit-ups), then 13.31 on the snapshot day (third).
# 000002 is *ST: its 06-04 reference close (4.90) is ex-rights, not the previous close (6.00); +5% on 06-06.
# 300003 trades three days and is suspended on the snapshot day. 600099 was delisted in 2020.
HIST = {
    "600001": [(10.00, 0.00), (11.00, 1.00), (12.10, 1.10)],
    "000002": [(6.00, 0.10), (5.00, 0.10), (5.00, 0.00)],
    "300003": [(20.00, 0.20), (20.40, 0.40), (20.00, -0.40)],
}


def hist(symbol, period, start_date, end_date, adjust, timeout=None):
    """East Money's series as it sends them: unadjusted, 涨跌额 is against the raw previous close (so 收盘 − 涨跌额
    is wrong on an ex-rights day); back-adjusted (hfq), closes times a factor that changes on ex-rights days."""
    assert period == "daily" and adjust in ("", "hfq")
    closes = [c for c, _ in HIST.get(symbol, [])]
    references = [c - chg for c, chg in HIST.get(symbol, [])]  # the exchange's reference closes
    factor, factors = 1.0, []
    for i, ref in enumerate(references):
        factor = factor if i == 0 else factor * closes[i - 1] / ref
        factors.append(factor)
    rows = []
    for i, (d, c) in enumerate(zip(HISTORY_DAYS, closes)):
        if not start_date <= f"{d:%Y%m%d}" <= end_date:
            continue
        f = factors[i] if adjust == "hfq" else 1.0
        previous = references[0] if i == 0 else closes[i - 1] * (factors[i - 1] if adjust == "hfq" else 1.0)
        chg = round(c * f - previous * (f if i == 0 else 1.0), 4)
        rows.append({"日期": d, "开盘": round(c * f, 4), "收盘": round(c * f, 4),
                     "最高": round(c * f, 4), "最低": round(c * f - 0.01, 4), "成交量": 1000, "成交额": 1e6,
                     "涨跌额": chg, "换手率": 1.5})
    return recorded_frame("stock_zh_a_hist", rows, symbol=symbol, period=period, start_date=start_date,
                          end_date=end_date, adjust=adjust)


def spot(stale=False):
    prices = {"600001": (12.10, 11.00) if stale else (13.31, 12.10), "000002": (5.25, 5.00)}
    rows = [{"序号": i + 1, "代码": c, "名称": n, "最新价": p, "昨收": pc, "今开": pc, "最高": p, "最低": pc,
             "成交量": 2000.0, "成交额": 2.5e6, "换手率": 2.0, "流通市值": 1e9}
            for i, (c, n, (p, pc)) in enumerate([("600001", "浦一", prices["600001"]),
                                                 ("000002", "*ST二号", prices["000002"])])]
    rows.append({"序号": 3, "代码": "300003", "名称": "创三", "最新价": None, "昨收": 20.00, "成交量": 0.0})
    return recorded_frame("stock_zh_a_spot_em", rows)


def zt_pool(date):
    streaks = {"20240604": [("600001", 11.00, 1)], "20240605": [("600001", 12.10, 2)],
               "20240606": [("600001", 13.31, 3), ("000002", 5.25, 1)]}.get(date, [])
    rows = [{"序号": i + 1, "代码": c, "名称": "x", "涨跌幅": 10.0, "最新价": p, "成交额": 1e6, "流通市值": 1e9,
             "总市值": 2e9, "换手率": 1.0, "封板资金": 5e6, "首次封板时间": "093500", "最后封板时间": "140102",
             "炸板次数": 1, "涨停统计": f"{s}/{s}", "连板数": s, "所属行业": "银行"}
            for i, (c, p, s) in enumerate(streaks)]
    return recorded_frame("stock_zt_pool_em", rows, date=date)


def fund_flow_history(stock, market):
    return recorded_frame("stock_individual_fund_flow", [
        {"日期": d, "收盘价": 10.0, "主力净流入-净额": 1e5 * (i + 1)} for i, d in enumerate(HISTORY_DAYS)],
        stock=stock, market=market)


def northbound(symbol, start_date, end_date):
    """600001: 1,000 shares = 1.0% on 05-31, +100 shares a day; on 06-05 a 10-for-10 bonus issue doubles the
    shares held (2,400) while the share of the company rises only as much as 100 bought shares would."""
    assert symbol == "北向持股" and start_date == end_date
    d = dt.datetime.strptime(start_date, "%Y%m%d").date()
    held, pct = {dt.date(2024, 5, 31): (1000.0, 1.0), HISTORY_DAYS[0]: (1100.0, 1.1), HISTORY_DAYS[1]: (1200.0, 1.2),
                 HISTORY_DAYS[2]: (2600.0, 1.3), SNAPSHOT_DAY: (2800.0, 1.4)}[d]
    return recorded_frame("stock_hsgt_stock_statistics_em", [
        {"持股日期": d, "股票代码": "600001", "股票简称": "浦一", "当日收盘价": 10.0, "持股数量": held,
         "持股市值": held * 10.0, "持股数量占发行股百分比": pct}], symbol=symbol, start_date=start_date, end_date=end_date)


def comment(day=SNAPSHOT_DAY):
    return recorded_frame("stock_comment_em", [
        {"序号": 1, "代码": "600001", "名称": "浦一", "关注指数": 88.5, "目前排名": 12, "交易日": day},
        {"序号": 2, "代码": "000002", "名称": "*ST二号", "关注指数": 40.0, "目前排名": 900, "交易日": day}])


def index_hist(symbol, start_date, end_date):
    days = [d for d in HISTORY_DAYS + [SNAPSHOT_DAY] if start_date <= f"{d:%Y%m%d}" <= end_date]
    return recorded_frame("stock_zh_index_hist_csindex", [
        {"日期": d, "指数代码": symbol, "指数中文简称": f"指数{symbol}", "收盘": 1000.0 + i, "涨跌": 1.0,
         "成交金额": 12.5} for i, d in enumerate(days)], symbol=symbol, start_date=start_date, end_date=end_date)


def responses(spot_frame=None, comment_frame=None):
    return {
        "stock_info_sh_name_code": recorded_frame("stock_info_sh_name_code", [
            {"证券代码": "600001", "证券简称": "浦一", "上市日期": dt.date(2010, 1, 5)}]),
        # a STAR stock and a Beijing stock the source must list (neither lists are ever empty upstream; akshare
        # raises on an empty one); they have no bars here
        FakeAkshare.key("stock_info_sh_name_code", symbol="科创板"): recorded_frame("stock_info_sh_name_code:科创板", [
            {"证券代码": "688981", "证券简称": "中芯国际", "上市日期": dt.date(2020, 7, 16)}]),
        "stock_info_sz_name_code": recorded_frame("stock_info_sz_name_code:A股列表", [
            {"板块": "主板", "A股代码": "000002", "A股简称": "*ST二号", "A股上市日期": "2010-01-05"},
            {"板块": "创业板", "A股代码": "300003", "A股简称": "创三", "A股上市日期": "2012-03-01"}]),
        "stock_info_bj_name_code": recorded_frame("stock_info_bj_name_code", [
            {"证券代码": "830799", "证券简称": "艾融软件", "上市日期": dt.date(2021, 11, 15)}]),
        "stock_info_sh_delist": recorded_frame("stock_info_sh_delist", [
            {"公司代码": "600099", "公司简称": "退一", "上市日期": dt.date(2005, 1, 4),
             "暂停上市日期": dt.date(2020, 1, 2)}]),
        "stock_info_sz_delist": recorded_frame("stock_info_sz_delist:终止上市公司", []),
        # 000002 became *ST on 06-04 (the SZSE publishes dated short-name changes; the SSE does not)
        "stock_info_sz_change_name": recorded_frame("stock_info_sz_change_name:简称变更", [
            {"变更日期": dt.date(2015, 5, 4), "证券代码": "000002", "证券简称": "二号", "变更前简称": "老二号",
             "变更后简称": "二号"},
            {"变更日期": dt.date(2024, 6, 4), "证券代码": "000002", "证券简称": "*ST二号", "变更前简称": "二号",
             "变更后简称": "*ST二号"}]),
        "stock_zh_a_st_em": recorded_frame("stock_zh_a_st_em", [{"代码": "000002", "名称": "*ST二号"}]),
        "stock_zh_a_hist": hist,
        "stock_zh_a_spot_em": spot_frame if spot_frame is not None else spot(),
        "stock_zt_pool_em": zt_pool,
        "stock_zt_pool_previous_em": lambda date: recorded_frame("stock_zt_pool_previous_em", [], date=date),
        # akshare refuses dates older than 30 days before its clock: asked with a recent date for the same answer
        "stock_zt_pool_zbgc_em": recorded_frame("stock_zt_pool_zbgc_em", [], date=RECENT),
        "stock_zt_pool_dtgc_em": lambda date: recorded_frame("stock_zt_pool_dtgc_em", [], date=RECENT),  # raises
        "stock_individual_fund_flow_rank": recorded_frame("stock_individual_fund_flow_rank:今日", [
            {"代码": "600001", "最新价": 13.31, "今日主力净流入-净额": 1.5e6},
            {"代码": "000002", "最新价": 5.25, "今日主力净流入-净额": None},  # East Money's "-"
            {"代码": "200002", "最新价": 3.10, "今日主力净流入-净额": 1.0}]),  # a B share: dropped
        "stock_individual_fund_flow": fund_flow_history,
        "stock_hsgt_stock_statistics_em": northbound,
        "stock_comment_em": comment_frame if comment_frame is not None else comment(),
        "stock_hot_rank_detail_em": lambda symbol: recorded_frame("stock_hot_rank_detail_em", [
            {"时间": d, "排名": 10 + i, "新晋粉丝": 0.4, "铁杆粉丝": 0.6} for i, d in enumerate(HISTORY_DAYS)],
            symbol=symbol),
        "index_stock_cons_weight_csindex": lambda symbol: recorded_frame("index_stock_cons_weight_csindex", [
            {"日期": dt.date(2024, 5, 31), "指数代码": symbol, "成分券代码": "600001", "权重": 1.5}], symbol=symbol),
        "stock_industry_clf_hist_sw": recorded_frame("stock_industry_clf_hist_sw", [
            {"symbol": "600001", "start_date": dt.date(2014, 1, 2), "industry_code": "480101"},
            {"symbol": "000002", "start_date": dt.date(2014, 1, 2), "industry_code": "220301"},
            {"symbol": "000002", "start_date": dt.date(2021, 7, 30), "industry_code": "220301"},
            {"symbol": "300003", "start_date": dt.date(2021, 7, 30), "industry_code": "740201"}]),
        "stock_board_concept_name_em": recorded_frame("stock_board_concept_name_em", [
            {"板块名称": "人工智能", "板块代码": "BK0800"}]),
        "stock_board_concept_cons_em": recorded_frame("stock_board_concept_cons_em", [
            {"代码": "600001"}, {"代码": "300003"}], symbol="BK0800"),
        "stock_zh_index_hist_csindex": index_hist,
        "stock_margin_account_info": recorded_frame("stock_margin_account_info", [
            {"日期": d, "融资余额": 15000.0 + i, "融券余额": 100.0} for i, d in enumerate(HISTORY_DAYS)]),
    }


@pytest.fixture
def live(monkeypatch, tmp_path):
    """An akshare source in live mode at 17:00 on 2024-06-06 with the fake module and a fake clock."""
    fake = FakeAkshare(responses())
    clock = FakeClock()
    monkeypatch.setattr(ak, "akshare_api", lambda: fake)
    monkeypatch.setattr(ak, "now_shanghai", lambda: AFTER_CLOSE)
    monkeypatch.setattr(ak, "make_clock", lambda: clock)
    return fake, AkshareSource(store_dir=str(tmp_path / "raw"))


# ------------------------------------------------------------------------------------------------ trade dates


@pytest.mark.parametrize(("now", "expected"), [
    (dt.datetime(2024, 6, 6, 16, 0), SNAPSHOT_DAY),  # a trading day, after the ready time
    (dt.datetime(2024, 6, 6, 15, 59), None),  # closed but not settled: no snapshot
    (dt.datetime(2024, 6, 6, 9, 15), None),  # the auction has started
    (dt.datetime(2024, 6, 6, 9, 14), dt.date(2024, 6, 5)),  # before the auction: yesterday's quotes
    (dt.datetime(2024, 6, 8, 11, 0), dt.date(2024, 6, 7)),  # Saturday
    (dt.datetime(2024, 10, 1, 20, 0), dt.date(2024, 9, 30)),  # National Day holiday
])
def test_a_snapshot_describes_the_latest_closed_trading_day(now, expected):
    assert snapshot_trade_date(now.replace(tzinfo=SH), dt.time(16, 0)) == expected


# --------------------------------------------------------------------------------------------------- parsers


def test_spot_parser_converts_units_flags_st_and_drops_suspended():
    df = ak.parse_spot(spot(), SNAPSHOT_DAY).sort("code")
    assert df["code"].to_list() == ["000002", "600001"]  # 300003 has no price: suspended
    row = df.row(1, named=True)
    assert (row["close"], row["pre_close"], row["volume"], row["turnover_rate"], row["float_mcap"]) == (
        13.31, 12.10, 200_000, 0.02, 1e9)  # lots → shares, % → fraction
    assert df["is_st"].to_list() == [True, False] and (df["trade_date"] == SNAPSHOT_DAY).all()


def test_history_reference_close_comes_from_the_adjusted_series_so_ex_rights_days_are_right():
    raw = hist("000002", "daily", "20240603", "20240605", "")
    # the unadjusted series alone: 收盘 − 涨跌额 is the raw previous close, 6.00, on the ex-rights day (was the bug)
    alone = ak.parse_hist({"000002": raw})
    assert alone.filter(pl.col("trade_date") == dt.date(2024, 6, 4))["pre_close"].item() == 6.00
    df = ak.parse_hist({"000002": raw}, {"000002": hist("000002", "daily", "20240603", "20240605", "hfq")})
    assert df["pre_close"].to_list() == [5.90, 4.90, 5.00]
    assert df["volume"].to_list() == [100_000] * 3 and df["is_st"].null_count() == 3
    # 换手率 1.5% of float shares: 100,000 shares traded → 6.67 M float shares × close
    assert df["float_mcap"].to_list() == pytest.approx([c * 100_000 / 0.015 for c, _ in HIST["000002"]])


def test_pool_parser_reads_times_heights_and_dash_strings():
    pool = ak.parse_pool(zt_pool("20240606"), "limit_up", SNAPSHOT_DAY).sort("code")
    assert pool["streak"].to_list() == [1, 3]
    assert pool["first_seal_time"].to_list() == ["09:35:00"] * 2 and pool["last_seal_time"][0] == "14:01:02"
    assert pool["pct_change"].to_list() == [0.10, 0.10] and pool["limit_up_stat"][1] == "3/3"
    previous = recorded_frame("stock_zt_pool_previous_em", [
        {"代码": "600001", "名称": "浦一", "涨跌幅": "-", "最新价": 13.31, "涨停价": 13.31,
         "昨日封板时间": "93000", "昨日连板数": 2}], date="20240606")
    prev = ak.parse_pool(previous, "previous", SNAPSHOT_DAY)
    assert prev["pct_change"].to_list() == [None] and prev["streak"].to_list() == [2]
    assert prev["last_seal_time"].to_list() == ["09:30:00"]
    assert ak.parse_pool(zt_pool("20240603"), "limit_up", SNAPSHOT_DAY).is_empty()  # data null: no frame


def test_securities_combine_listed_and_delisted_stocks():
    r = responses()
    sec = ak.parse_securities(
        {"stock_info_sh_name_code:主板A股": r["stock_info_sh_name_code"],
         "stock_info_sz_name_code:A股列表": r["stock_info_sz_name_code"],
         "stock_info_bj_name_code": r["stock_info_bj_name_code"]},
        {"stock_info_sh_delist:全部": r["stock_info_sh_delist"]})
    # SZSE's codes arrive as Excel numbers (2 for 000002) when akshare does not pad them
    assert sec["code"].to_list() == ["000002", "300003", "600001", "600099", "830799"]
    assert sec["board"].to_list() == ["main", "chinext", "main", "main", "bse"]
    assert sec.filter(pl.col("code") == "600099")["delist_date"].item() == dt.date(2020, 1, 2)
    assert sec.filter(pl.col("code") == "300003")["list_date"].item() == dt.date(2012, 3, 1)


def test_sw_history_names_level_one_in_the_taxonomy_of_its_start_date():
    df = ak.parse_industry_history(responses()["stock_industry_clf_hist_sw"])
    assert df.select("code", "industry_code", "industry_name", "taxonomy").rows() == [
        ("000002", "220301", "化工", "sw2014"), ("000002", "220301", "基础化工", "sw2021"),
        ("300003", "740201", "煤炭", "sw2021"), ("600001", "480101", "银行", "sw2014"),
        # in force across 2021-07-30 without a new row there: its SW2021 name from then on
        ("600001", "480101", "银行", "sw2021")]


def test_margin_is_converted_from_yi_to_yuan():
    df = ak.parse_margin(responses()["stock_margin_account_info"])
    assert df["margin_balance"][0] == (15000.0 + 100.0) * 1e8


def test_northbound_net_inflow_is_change_in_holdings_times_close():
    frames = {d: northbound("北向持股", f"{d:%Y%m%d}", f"{d:%Y%m%d}") for d in [dt.date(2024, 5, 31), *HISTORY_DAYS]}
    df = ak.parse_northbound(frames)
    # 0.1 point of the company bought a day; on 06-05 that is 200 post-bonus shares, not the 1,400 added
    assert [None if v is None else round(v, 6) for v in df["northbound_net_inflow"].to_list()] == [
        None, 1000.0, 1000.0, 2000.0]


# ------------------------------------------------------------------------------------------------ the source


def test_backfill_days_come_from_history_and_the_closed_day_from_the_snapshot(live):
    fake, source = live
    quotes = source.daily_quotes(HISTORY_DAYS[0], SNAPSHOT_DAY)
    assert quotes.group_by("trade_date").len().sort("trade_date")["len"].to_list() == [3, 3, 3, 2]
    assert quotes.filter(pl.col("trade_date") == SNAPSHOT_DAY)["float_mcap"].null_count() == 0
    # one history request per stock alive in the range (688981 and 830799 answer no bars); the delisted 600099
    # is not asked for
    # each stock's unadjusted and back-adjusted series (the reference close on ex-rights days)
    assert sorted((c["symbol"], c["adjust"]) for c in fake.calls_to("stock_zh_a_hist")) == [
        (code, adjust) for code in ("000002", "300003", "600001", "688981", "830799") for adjust in ("", "hfq")]
    assert len(fake.calls_to("stock_zh_a_spot_em")) == 1
    first = source.fetch_report()
    assert first["network_calls"] == len(fake.calls) and first["raw_store_hits"] == 0
    # a second run reads the raw store: no new request, and the report counts only that run
    calls = len(fake.calls)
    again = source.daily_quotes(HISTORY_DAYS[0], SNAPSHOT_DAY)
    assert len(fake.calls) == calls and again.sort("trade_date", "code").equals(quotes.sort("trade_date", "code"))
    second = source.fetch_report()
    assert second["network_calls"] == 0 and second["raw_store_hits"] >= 4


def test_history_st_flags_come_from_dated_name_changes_and_stored_st_lists(live):
    fake, source = live
    quotes = source.daily_quotes(HISTORY_DAYS[0], SNAPSHOT_DAY).sort("code", "trade_date")
    flags = {c: quotes.filter(pl.col("code") == c)["is_st"].to_list() for c in ("000002", "300003", "600001")}
    assert flags["000002"] == [False, True, True, True]  # *ST from its 06-04 rename on
    assert flags["300003"] == [False, False, False]  # an SZSE stock never renamed: never ST (suspended on 06-06)
    assert flags["600001"] == [None, None, None, False]  # SSE: unknown before the first stored ST list
    assert len(fake.calls_to("stock_zh_a_st_em")) == 1  # taken with the evening snapshot
    # The ST list kept that evening answers for SSE stocks when that day is later rebuilt from history.
    history = pl.DataFrame({"trade_date": [SNAPSHOT_DAY, SNAPSHOT_DAY], "code": ["600001", "600002"],
                            "is_st": [None, None]}, schema_overrides={"is_st": pl.Boolean})
    st_list = ak.parse_st_list(recorded_frame("stock_zh_a_st_em", [{"代码": "600002", "名称": "ST二"}]),
                               SNAPSHOT_DAY)
    assert ak.apply_st_history(history, ak.parse_st_changes(recorded_frame("stock_info_sz_change_name:简称变更", [])), st_list)["is_st"].to_list() == [
        False, True]


def test_every_dataset_parses_from_the_fakes(live):
    fake, source = live
    pools = source.limit_up_pools(HISTORY_DAYS[0], SNAPSHOT_DAY)
    assert pools.group_by("trade_date").len().sort("trade_date")["len"].to_list() == [1, 1, 2]
    flows = source.main_fund_flows(HISTORY_DAYS[0], SNAPSHOT_DAY).sort("trade_date", "code")
    assert flows.filter(pl.col("trade_date") == SNAPSHOT_DAY)["main_net_inflow"].to_list() == [None, 1.5e6]
    assert flows.filter(pl.col("code") == "600001")["main_net_inflow"].to_list()[:3] == [1e5, 2e5, 3e5]
    north = source.northbound_flows(HISTORY_DAYS[0], SNAPSHOT_DAY)
    assert [round(v, 6) for v in north["northbound_net_inflow"].to_list()] == [1000.0, 1000.0, 2000.0, 2000.0]
    att = source.attention(HISTORY_DAYS[0], SNAPSHOT_DAY)
    assert att.filter(pl.col("trade_date") == SNAPSHOT_DAY)["attention_index"].sort().to_list() == [40.0, 88.5]
    assert att.filter(pl.col("trade_date") < SNAPSHOT_DAY)["hot_rank"].null_count() == 0
    members = source.index_membership()
    assert members.select("index_code").to_series().to_list() == ["000300", "000852", "000905", "932000"]
    assert members["weight"].to_list() == [0.015] * 4
    concepts = source.concept_membership()
    assert concepts.rows() == [("人工智能", "600001", SNAPSHOT_DAY), ("人工智能", "300003", SNAPSHOT_DAY)]
    idx = source.index_daily(HISTORY_DAYS[0], SNAPSHOT_DAY)
    assert set(idx["index_code"]) == {"000300", "000905", "000852", "932000", "all_a"}
    assert idx["amount"][0] == 12.5e8 and idx["pre_close"][0] == 999.0
    assert source.margin_balance(HISTORY_DAYS[0], SNAPSHOT_DAY).height == 3
    assert source.northbound_flows(dt.date(2024, 8, 19), dt.date(2024, 8, 23)).is_empty()  # absent by design


def test_a_day_still_trading_is_refused_and_nothing_is_stored(live, monkeypatch, tmp_path):
    fake, source = live
    monkeypatch.setattr(ak, "now_shanghai", lambda: dt.datetime(2024, 6, 6, 10, 30, tzinfo=SH))
    with pytest.raises(StaleSnapshot, match=r"raw.daily_quotes partition 2024-06-06: the trading day is not over"):
        source.daily_quotes(SNAPSHOT_DAY, SNAPSHOT_DAY)
    with pytest.raises(StaleSnapshot, match="raw.limit_up_pools partition 2024-06-06"):
        source.limit_up_pools(SNAPSHOT_DAY, SNAPSHOT_DAY)
    assert not fake.calls_to("stock_zh_a_spot_em") and not fake.calls_to("stock_zt_pool_em")
    assert not list((tmp_path / "raw").rglob("*.parquet"))


def test_a_snapshot_that_repeats_an_older_day_is_rejected_before_it_is_stored(live, monkeypatch):
    fake, source = live
    fake.responses["stock_zh_a_spot_em"] = spot(stale=True)  # yesterday's prices served again
    with pytest.raises(StaleSnapshot, match="match the 2024-06-06 limit-up pool for only 1 of 2"):
        source.daily_quotes(SNAPSHOT_DAY, SNAPSHOT_DAY)
    assert not RawStore(source.store_dir).has(ak.RawKey("stock_zh_a_spot_em", trade_date=SNAPSHOT_DAY))
    fake.responses["stock_comment_em"] = comment(day=dt.date(2024, 6, 5))
    with pytest.raises(StaleSnapshot, match="stamped 交易日 2024-06-05, not 2024-06-06"):
        source.attention(SNAPSHOT_DAY, SNAPSHOT_DAY)
    assert not RawStore(source.store_dir).has(ak.RawKey("stock_comment_em", trade_date=SNAPSHOT_DAY))


def test_upstream_changes_fail_with_function_and_columns(live):
    fake, source = live
    fake.responses["stock_zh_a_spot_em"] = spot().assign(新字段=1.0)
    with pytest.raises(UpstreamSchemaChanged, match=r"akshare.stock_zh_a_spot_em.*unexpected \['新字段'\]"):
        source.daily_quotes(SNAPSHOT_DAY, SNAPSHOT_DAY)
    fake.responses["stock_zt_pool_em"] = ValueError("Length mismatch: Expected axis has 18 elements, new values "
                                                    "have 17 elements")
    with pytest.raises(UpstreamSchemaChanged, match="akshare.stock_zt_pool_em.*renaming columns"):
        source.limit_up_pools(SNAPSHOT_DAY, SNAPSHOT_DAY)


def test_network_errors_are_retried_with_backoff_on_the_fake_clock(live, monkeypatch):
    fake, source = live
    from http.client import RemoteDisconnected

    fake.responses["stock_zh_a_spot_em"] = [RemoteDisconnected("Remote end closed connection"),
                                            ConnectionError("reset"), spot()]
    assert source.daily_quotes(SNAPSHOT_DAY, SNAPSHOT_DAY).height == 2
    report = source.fetch_report()
    assert report["retries"] == 2 and report["backoff_seconds"] <= 2.0 + 4.0


def test_replay_reads_only_the_store_and_names_a_miss(live, monkeypatch):
    fake, source = live
    live_quotes = source.daily_quotes(HISTORY_DAYS[0], SNAPSHOT_DAY)
    monkeypatch.setattr(ak, "akshare_api", lambda: FakeAkshare({}))  # any request would fail the test
    replay = AkshareSource(store_dir=source.store_dir, mode="replay")
    assert replay.daily_quotes(HISTORY_DAYS[0], SNAPSHOT_DAY).sort("trade_date", "code").equals(
        live_quotes.sort("trade_date", "code"))
    with pytest.raises(RawResponseMissing, match=r"replay mode: no stored response stock_zh_a_hist/range="):
        replay.daily_quotes(dt.date(2024, 5, 27), dt.date(2024, 5, 28))


# ------------------------------------------------------------------ the real Dagster definitions, live then replay


def _tables(db):
    with duckdb.connect(str(db), read_only=True) as conn:
        names = [r[0] for r in conn.execute("select table_schema || '.' || table_name from information_schema.tables "
                                            "where table_schema not like '\\_%' escape '\\' order by 1").fetchall()]
        return {n: pl.from_arrow(conn.execute(f"select * from {n} order by all").to_arrow_table()) for n in names}


def _run(start, end):
    defs = build_definitions()
    keys = [k for k in defs.resolve_asset_graph().get_all_asset_keys() if k.path[0] not in ("stms", "backtest", "heat")]  # 4 days: no windows
    return defs.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), asset_selection=keys,
        tags={"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end})


def test_every_raw_asset_runs_live_through_dagster_then_replays_offline(live, monkeypatch, tmp_path):
    fake, _ = live
    monkeypatch.setenv("SENTIMENT_SOURCE", "akshare")
    monkeypatch.setenv("SENTIMENT_RAW_DIR", str(tmp_path / "raw"))
    monkeypatch.setenv("SENTIMENT_DUCKDB_PATH", str(tmp_path / "live.duckdb"))
    assert _run("2024-06-03", "2024-06-06").success
    live_tables = _tables(tmp_path / "live.duckdb")
    assert {f"raw.{t}" for t in ("securities", "daily_quotes", "limit_up_pools", "main_fund_flows",
                                 "northbound_flows", "attention", "index_daily", "margin_balance",
                                 "index_membership", "industry_history", "concept_membership")} <= set(live_tables)
    assert live_tables["sentiment.limit_ladder"].filter(pl.col("code") == "600001")["streak"].to_list() == [0, 1, 2, 3]
    recon = live_tables["quality.limit_up_reconciliation"]
    assert recon["found_share"].to_list() == [None, 1.0, 1.0, 1.0]  # no pool on 06-03: nothing to compare
    # *ST 000002's limit-up at +5% is flagged by us and listed by the pool: both agree on the 06-06 day

    monkeypatch.setattr(ak, "akshare_api", lambda: FakeAkshare({}))
    monkeypatch.setenv("SENTIMENT_AKSHARE_MODE", "replay")
    monkeypatch.setenv("SENTIMENT_DUCKDB_PATH", str(tmp_path / "replay.duckdb"))
    assert _run("2024-06-03", "2024-06-06").success
    replayed = _tables(tmp_path / "replay.duckdb")
    assert replayed.keys() == live_tables.keys()
    for name in live_tables:
        assert replayed[name].equals(live_tables[name]), name


def test_an_interrupted_history_backfill_resumes_where_it_stopped(live):
    fake, source = live
    calls = {"n": 0}

    def flaky_hist(**kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # the operator stops the run after the first stock's two series
        return hist(**kwargs)

    fake.responses["stock_zh_a_hist"] = flaky_hist
    with pytest.raises(KeyboardInterrupt):
        source.daily_quotes(HISTORY_DAYS[0], HISTORY_DAYS[-1])
    first = [c["symbol"] for c in fake.calls_to("stock_zh_a_hist")]
    resumed = AkshareSource(store_dir=source.store_dir)
    quotes = resumed.daily_quotes(HISTORY_DAYS[0], HISTORY_DAYS[-1])
    again = [c["symbol"] for c in fake.calls_to("stock_zh_a_hist")][len(first):]
    listed = set(HIST) | {"688981", "830799"}  # the last two have no bars
    assert len(first) == 3 and first[0] not in again and sorted(set(again)) == sorted(listed - {first[0]})
    assert len(again) == 8  # the four other stocks' two series each; the first stock's came from the store
    assert quotes.height == 9
