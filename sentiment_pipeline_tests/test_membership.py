"""Membership as a reference input: the folder readers (SW history across the 2021-07-30 switch, CSI effective
dates, concept snapshots), a TongDaXin source completed by them, and STMS on it without flows or float caps."""

from __future__ import annotations

import datetime as dt
import unittest.mock as mock

import dagster as dg
import duckdb
import polars as pl
import pytest

from sentiment_pipeline.catalog import ASSETS
from sentiment_pipeline.definitions import build_definitions, feedable
from sentiment_pipeline.market import membership
from sentiment_pipeline.platform import calendar
from sentiment_pipeline.sources import membership_folder as folder
from sentiment_pipeline.sources.membership_folder import MembershipFolderError
from sentiment_pipeline.sources.tdx import TdxSource

from .conftest import REAL_DATA
from .test_tdx import write_day

SWITCH = dt.date(2021, 7, 30)
HISTORY = """\
code,in_date,out_date,industry_code,scheme,l1_sw2021,l2_sw2021,l3_sw2021,l1_sw2014,update_time
000002,1991-01-29,,430101,SW2021,房地产,房地产开发,住宅开发,房地产,2015-10-27 15:29:00
000004,2001-09-01,2009-01-01,370301,pre-SW2021,,,,,2015-10-27 15:28:00
000004,2009-01-01,2021-06-11,370301,pre-SW2021,,,,医药生物,2015-10-27 15:28:00
000004,2021-06-11,2021-07-30,710202,pre-SW2021,,,,计算机,2021-06-11 15:43:00
000004,2021-07-30,,710402,SW2021,计算机,软件开发,横向通用软件,,2021-07-31 16:18:00
300750,2018-05-28,2021-07-30,630305,pre-SW2021,,,,电气设备,2021-03-03 15:31:00
300750,2021-07-30,,630701,SW2021,电力设备,电池,锂电池,,2025-10-15 10:57:00
000003,1991-04-14,,510101,pre-SW2021,,,,综合,2015-10-27 15:28:00
"""
# CSI 300 lists: June 2019 (review: 2nd Friday 06-14, effective 06-17), December 2019 (12-13 → 12-16), an
# interim list of February 2020 (its own date), June 2021 (06-11 → Monday 06-14 is the Dragon Boat holiday →
# 06-15).
LISTS = """\
index,snapshot_date,valid_until,code,exch
csi300,2005-04-08,2005-06-30,T00018,SH
csi300,2019-06-28,2019-12-30,000002,SZ
csi300,2019-06-28,2019-12-30,000004,SZ
csi300,2019-12-31,2020-02-27,000002,SZ
csi300,2019-12-31,2020-02-27,300750,SZ
csi300,2020-02-28,2021-06-29,300750,SZ
csi300,2021-06-30,2021-12-30,000004,SZ
csi500,2019-06-28,2019-12-30,000003,SZ
"""
CONCEPTS = """\
code,concept
000004,人工智能
300750,锂电池
300750,储能
"""


@pytest.fixture
def membership_dir(tmp_path):
    root = tmp_path / "membership"
    root.mkdir()
    (root / "sw_industry_history.csv").write_text(HISTORY)
    (root / "csi_index_snapshots.csv").write_text(LISTS)
    (root / "em_concepts_2025-12-13.csv").write_text(CONCEPTS)
    return root


def industry_on(history: pl.DataFrame, day: dt.date, codes=("000002", "000003", "000004", "300750")) -> dict:
    days = pl.DataFrame({"trade_date": [day] * len(codes), "code": list(codes)})
    return dict(membership.sw_l1_members(days, history).select("code", "sector").iter_rows())


def test_sw_history_names_sw2014_before_the_switch_and_sw2021_from_it(membership_dir):
    history = folder.industry_history(membership_dir)
    # The day before the switch: SW2014 names; 000004 moved from 医药生物 to 计算机 on 2021-06-11.
    assert industry_on(history, dt.date(2021, 7, 29)) == {
        "000002": "房地产", "000003": "综合", "000004": "计算机", "300750": "电气设备"}
    assert industry_on(history, dt.date(2021, 6, 10))["000004"] == "医药生物"
    # From the switch: SW2021 names. 000003's row has no SW2021 name: unclassified, not guessed.
    assert industry_on(history, SWITCH) == {"000002": "房地产", "000004": "计算机", "300750": "电力设备"}
    # A row before 2014 without a name (an older scheme): unclassified on those days.
    assert industry_on(history, dt.date(2005, 1, 4), ("000004",)) == {}
    assert history.filter(pl.col("code") == "000002").select("start_date", "taxonomy").rows() == [
        (dt.date(1991, 1, 29), "sw2014"), (SWITCH, "sw2021")]


def test_overlapping_classification_rows_are_refused_naming_them(membership_dir):
    (membership_dir / "sw_industry_history.csv").write_text(HISTORY + "000002,2020-01-02,,480301,SW2021,银行,,,,\n")
    with pytest.raises(MembershipFolderError, match=r"1 classification row\(s\) overlap.*000002 1991-01-29 → open "
                                                   r"overlaps the row from 2020-01-02"):
        folder.industry_history(membership_dir)


def test_a_missing_file_or_column_is_named(membership_dir):
    (membership_dir / "csi_index_snapshots.csv").unlink()
    with pytest.raises(MembershipFolderError, match="has no csi_index_snapshots.csv"):
        folder.index_membership(membership_dir)
    (membership_dir / "sw_industry_history.csv").write_text("code,in_date\n000001,2020-01-02\n")
    with pytest.raises(MembershipFolderError, match=r"no column\(s\) out_date, industry_code, l1_sw2021, l1_sw2014"):
        folder.industry_history(membership_dir)


@pytest.mark.parametrize("list_date, effective", [
    (dt.date(2019, 6, 28), dt.date(2019, 6, 17)),  # second Friday 06-14
    (dt.date(2019, 12, 31), dt.date(2019, 12, 16)),  # second Friday 12-13
    (dt.date(2020, 2, 28), dt.date(2020, 2, 28)),  # between reviews: its own date
    (dt.date(2021, 6, 30), dt.date(2021, 6, 15)),  # 06-11 is the second Friday; Monday 06-14 is a holiday
    (dt.date(2020, 5, 30), dt.date(2020, 6, 1)),  # a list dated on a Saturday: the next trading day
])
def test_csi_lists_take_effect_the_trading_day_after_the_second_friday(list_date, effective):
    assert folder.effective_date(list_date) == effective


def test_index_groups_switch_on_the_effective_day_and_count_members_without_a_bar(membership_dir):
    lists = folder.index_membership(membership_dir)
    assert set(lists["index_code"]) == {"000300", "000905"} and lists["weight"].null_count() == lists.height
    assert "T00018" not in lists["code"].to_list()  # not a six-digit code (600018's in 2005–2007): left out
    days = [dt.date(2019, 12, 13), dt.date(2019, 12, 16), dt.date(2020, 2, 27), dt.date(2020, 2, 28)]
    # 000004 is suspended on 12-13; 300750 trades every day
    bars = pl.DataFrame({"trade_date": [d for d in days for _ in range(3)],
                         "code": ["000002", "000003", "300750"] * len(days)})
    groups = membership.index_group_days(bars, lists).filter(pl.col("index_code") == "000300")
    assert groups.select("trade_date", "list_date", "list_size", "members_with_bar", "members_without_bar").rows() == [
        (dt.date(2019, 12, 13), dt.date(2019, 6, 17), 2, 1, 1),  # the June list until the Friday
        (dt.date(2019, 12, 16), dt.date(2019, 12, 16), 2, 2, 0),  # the December list from the Monday
        (dt.date(2020, 2, 27), dt.date(2019, 12, 16), 2, 2, 0),
        (dt.date(2020, 2, 28), dt.date(2020, 2, 28), 1, 1, 0),  # the interim list on its own date
    ]


def test_the_concept_snapshot_is_dated_by_its_file_and_labels_earlier_days_as_look_ahead(membership_dir):
    concepts = folder.concept_membership(membership_dir)
    assert concepts.sort("concept_name").rows() == [
        ("人工智能", "000004", dt.date(2025, 12, 13)), ("储能", "300750", dt.date(2025, 12, 13)),
        ("锂电池", "300750", dt.date(2025, 12, 13))]
    days = [dt.date(2021, 7, 29), dt.date(2021, 7, 30)]
    members = membership.concept_members(pl.DataFrame({"trade_date": days, "code": ["300750", "300750"]}), concepts)
    assert sorted(members.select("trade_date", "sector").rows()) == [
        (days[0], "储能"), (days[0], "锂电池"), (days[1], "储能"), (days[1], "锂电池")]
    assert membership.concept_look_ahead(days, concepts)["concept_look_ahead_days"] == 2


def test_a_tdx_source_with_a_membership_folder_feeds_stms_and_the_sector_backtests(membership_dir, tmp_path):
    bare = TdxSource(vipdoc_dir=str(tmp_path))
    completed = TdxSource(vipdoc_dir=str(tmp_path), membership_dir=str(membership_dir))
    assert bare.missing_datasets() == ["attention", "index_membership", "industry_history", "concept_membership",
                                       "margin_balance"]
    assert completed.missing_datasets() == ["attention", "margin_balance"]
    assert completed.origin("industry_history") == f"membership folder {membership_dir}"
    assert completed.origin("main_fund_flows") == "none: source tdx does not provide main_fund_flows"
    assert completed.origin("index_daily") == "source tdx"
    _, bare_left_out = feedable(ASSETS, bare)
    kept, left_out = feedable(ASSETS, completed)
    kept_keys = {k.to_user_string() for a in kept for k in a.keys}
    assert "stms/scores" in bare_left_out and "backtest/stms_top_sw" in bare_left_out
    assert {"stms/sector_daily", "stms/scores", "stms/top_list", "core/index_groups", "backtest/stms_top_sw",
            "backtest/stms_top_concept"} <= kept_keys
    # What attention feeds stays out, with its reason.
    assert left_out["heat/group_daily"] == "source 'tdx' does not provide attention"


# ---------------------------------------------------------------------------------- TDX + membership end to end

TDX_DAYS = calendar.trading_days_between(dt.date(2019, 1, 2), dt.date(2019, 2, 15))  # 30 trading days
STOCKS = {"000002": 1.00, "000004": 1.01, "300750": 0.99}  # daily growth of the close


def write_vipdoc(root):
    for code, growth in STOCKS.items():
        rows = []
        for i, day in enumerate(TDX_DAYS):
            close = 10 * growth ** i
            amount = 1e8 * (2 if i >= len(TDX_DAYS) - 5 else 1)  # the last 5 days trade twice the amount
            rows.append((int(day.strftime("%Y%m%d")), close, close * 1.01, close * 0.99, close, amount, 1e7))
        write_day(root / "sz" / "lday" / f"sz{code}.day", rows)
    write_day(root / "sh" / "lday" / "sh000300.day",
              [(int(d.strftime("%Y%m%d")), 3000, 3010, 2990, 3000 + i, 1e11, 1) for i, d in enumerate(TDX_DAYS)])


def test_stms_on_tdx_bars_without_flows_or_float_caps(membership_dir, tmp_path, monkeypatch):
    root = tmp_path / "vipdoc"
    write_vipdoc(root)
    db = tmp_path / "tdx.duckdb"
    monkeypatch.setenv("SENTIMENT_SOURCE", "tdx")
    monkeypatch.setenv("SENTIMENT_TDX_DIR", str(root))
    monkeypatch.setenv("SENTIMENT_MEMBERSHIP_DIR", str(membership_dir))
    monkeypatch.setenv("SENTIMENT_DUCKDB_PATH", str(db))
    defs = build_definitions()
    keys = ["raw/securities", "raw/daily_quotes", "core/daily_bars", "raw/main_fund_flows", "raw/northbound_flows",
            "raw/industry_history", "raw/concept_membership", "raw/index_membership", "core/index_groups",
            "stms/sector_daily", "stms/scores", "stms/top_list"]
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False,
        asset_selection=[dg.AssetKey.from_user_string(k) for k in keys],
        tags={"dagster/asset_partition_range_start": TDX_DAYS[0].isoformat(),
              "dagster/asset_partition_range_end": TDX_DAYS[-1].isoformat()})
    assert result.success
    with duckdb.connect(str(db), read_only=True) as conn:
        daily = pl.from_arrow(conn.sql("select * from stms.sector_daily where sector_kind = 'sw_l1' "
                                       "order by trade_date, sector").arrow())
        scores = pl.from_arrow(conn.sql("select * from stms.scores where sector_kind = 'sw_l1' "
                                        "order by trade_date, sector").arrow())
        flows = conn.sql("select count(*) from raw.main_fund_flows").fetchone()[0]
        groups = conn.sql("select list_size, members_with_bar, members_without_bar from core.index_groups "
                          "where index_code = '000300' and trade_date = '2019-02-15'").fetchone()
    assert flows == 0
    # No float caps: equal weights over the members that traded the day before; the first day has none.
    assert daily.filter(pl.col("trade_date") == TDX_DAYS[0])["return_weighting"].to_list() == [None] * 3
    last = daily.filter(pl.col("trade_date") == TDX_DAYS[-1])
    assert last["return_weighting"].to_list() == ["equal"] * 3
    # In 2019 000004 is 医药生物 (it moved to 计算机 on 2021-06-11).
    assert dict(last.select("sector", "ret").iter_rows()) == pytest.approx(
        {"房地产": 0.0, "医药生物": 0.01, "电气设备": -0.01}, abs=5e-4)  # closes in fen
    # The 21st day is the first with a complete window (2019-01-02 is the first partition).
    assert scores["trade_date"].min() == TDX_DAYS[20]
    day = scores.filter(pl.col("trade_date") == TDX_DAYS[-1])
    # Without turnover A2 compares the mean amounts: (2 × 5 / 5) / ((2 × 5 + 15) / 20) = 1.6 > 1.5 → 100.
    assert day["a2_basis"].unique().to_list() == ["amount"] and day["a2"].unique().to_list() == [100.0]
    # Without flows B is 0 and says so; ranks follow A and C.
    assert day["b_components"].unique().to_list() == ["none"] and day["score_b"].unique().to_list() == [0.0]
    # A1: 医药生物 r5 < r20 and r5 > 0 → 50, 电气设备 r5 > r20 and r5 ≤ 0 → 75, 房地产 flat → 0; C2: only the
    # rising stock closes above its MA20 → 100; C1 0. STMS = 0.4 (A1 + 100) / 2 + 0.3 C2 / 2.
    assert day.sort("rank").select("sector", "stms").rows() == [("医药生物", 45.0), ("电气设备", 35.0), ("房地产", 20.0)]
    assert groups is None  # no CSI list in force before the first one's effective date (2019-06-17)


# ------------------------------------------------------------------------------------- the real folder, if present

REAL_MEMBERSHIP = REAL_DATA / "membership"
real = pytest.mark.skipif(not REAL_MEMBERSHIP.is_dir(), reason="../shared/data/real is absent")


@real
def test_the_real_sw_history_gives_28_industries_before_the_switch_and_31_after():
    history = folder.industry_history(REAL_MEMBERSHIP)
    codes = history["code"].unique().to_list()
    for day, expected in ((dt.date(2021, 7, 29), membership.SW2014_L1), (SWITCH, membership.SW2021_L1)):
        members = membership.sw_l1_members(pl.DataFrame({"trade_date": [day] * len(codes), "code": codes}), history)
        assert set(members["sector"]) == expected and len(expected) == (28 if day < SWITCH else 31)
        assert members.group_by("code").len()["len"].max() == 1  # one industry per stock and day
    on = dict(membership.sw_l1_members(pl.DataFrame({"trade_date": [dt.date(2022, 3, 1)] * 3,
                                                     "code": ["600519", "000001", "300750"]}), history)
              .select("code", "sector").iter_rows())
    assert on == {"600519": "食品饮料", "000001": "银行", "300750": "电力设备"}
    assert industry_on(history, dt.date(2021, 7, 29), ("300750",)) == {"300750": "电气设备"}


@real
def test_the_real_csi_lists_hold_their_sizes_from_their_effective_dates():
    lists = folder.index_membership(REAL_MEMBERSHIP)
    sizes = lists.filter(pl.col("effective_date").is_between(dt.date(2018, 1, 1), dt.date(2023, 2, 24))).group_by(
        "index_code", "effective_date").len()
    assert dict(sizes.group_by("index_code").agg(pl.col("len").unique()).select(
        "index_code", pl.col("len").list.first()).iter_rows()) == {"000300": 300, "000905": 500, "000852": 1000}
    assert sizes.filter(pl.col("index_code") == "000300")["effective_date"].sort().to_list()[:4] == [
        dt.date(2018, 6, 11), dt.date(2018, 12, 17), dt.date(2019, 6, 17), dt.date(2019, 12, 16)]


def test_the_csi_300_index_file_is_bought_at_the_first_close_over_the_backtest_days():
    from sentiment_pipeline.backtest.metrics import index_reference

    days = calendar.trading_days_between(dt.date(2019, 1, 2), dt.date(2019, 1, 7))  # 4 days
    index = pl.DataFrame({"trade_date": days[:3], "index_code": ["000300"] * 3, "pre_close": [None] * 3,
                          "close": [100.0, 110.0, 99.0]}, schema_overrides={"pre_close": pl.Float64})
    ref = index_reference(index, days)
    # +10%, −10%, then no close on the fourth day (counted, taken as flat): drawdown 99 / 110 − 1
    assert ref["index_000300_max_drawdown_pct"] == -10.0 and ref["index_000300_days_without_close"] == 1
    assert ref["index_000300_annual_return_pct"] == pytest.approx(100 * (0.99 ** (252 / 4) - 1), abs=0.01)
    assert index_reference(index.clear(), days) == {}


def test_a_weekly_review_before_the_concept_snapshot_says_its_concepts_look_ahead():
    from sentiment_pipeline.research import report

    note = report.look_ahead_note(dt.date(2021, 7, 30), dt.date(2025, 12, 13))
    assert "2025-12-13" in note and "look-ahead" in note
    assert report.look_ahead_note(dt.date(2025, 12, 19), dt.date(2025, 12, 13)) is None
    assert report.look_ahead_note(dt.date(2021, 7, 30), None) is None
    week = {"week_start": dt.date(2021, 7, 26), "week_end": dt.date(2021, 7, 30), "trading_days": 5, "phases": "",
            "max_height": 3}
    crowded = pl.DataFrame({"rank": [1], "concept": ["锂电池"], "amount_share": [0.02], "crowding": [97.0],
                            "crowding_change": [None]}, schema_overrides={"crowding_change": pl.Float64})
    with mock.patch.object(report, "figure_rows", return_value=[]):
        assert note in report.markdown(week, crowded, None, note)
        assert note not in report.markdown(week, crowded, None, None)
