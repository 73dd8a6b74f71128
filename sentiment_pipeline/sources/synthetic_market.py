"""A deterministic simulated A-share market (the offline default source).

The whole market from 2019-01-02 to the calendar's end is simulated once per
(seed, version), day by day over numpy vectors of all stocks, and cached as
Parquet; a source call then reads only the requested date range. Each day draws
from its own generator seeded by (seed, day number), so day N is the same
whatever range was asked for.

What it models (calibrated against the real TDX bars, see the README):
- a securities master over SSE/SZSE main board, ChiNext, STAR and BSE with
  listings, delistings, ST periods, suspensions and ex-rights days;
- bars that obey the price-limit rule tables of `limits.py` in integer fen;
- a latent sentiment level that drives first boards, streak continuation and
  seal rates, and a rotating hot concept, so that ladders and phases emerge;
- consistent side data: main-force and northbound flows, attention counts,
  CSI 300/500/1000/2000 membership, SW level-1 and concept membership, index
  series and the margin balance.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from sentiment_pipeline.platform import calendar
from sentiment_pipeline.market.limits import BOARDS, BSE_OPEN, STAR_OPEN, limit_bp_arrays, limit_fen
from sentiment_pipeline.market.membership import SW_TAXONOMY_CHANGE
from sentiment_pipeline.sources.base import NORTHBOUND_LAST_DAY

GENERATOR_VERSION = 6
FIRST_DAY = calendar.FIRST_PARTITION

SW_L1 = (
    "农林牧渔", "基础化工", "钢铁", "有色金属", "电子", "汽车", "家用电器", "食品饮料", "纺织服饰", "轻工制造",
    "医药生物", "公用事业", "交通运输", "房地产", "商贸零售", "社会服务", "银行", "非银金融", "综合", "建筑材料",
    "建筑装饰", "电力设备", "机械设备", "国防军工", "计算机", "传媒", "通信", "煤炭", "石油石化", "环保", "美容护理",
)
# Names of the pre-2021 SW taxonomy where they differ (new → old).
SW_L1_OLD_NAMES = {
    "基础化工": "化工", "纺织服饰": "纺织服装", "商贸零售": "商业贸易", "社会服务": "休闲服务",
    "电力设备": "电气设备", "煤炭": "采掘", "石油石化": "采掘", "环保": "公用事业", "美容护理": "化工",
}
CONCEPTS = (
    "人工智能", "芯片", "新能源车", "光伏", "储能", "锂电池", "医疗器械", "创新药", "白酒", "军工",
    "半导体", "5G", "云计算", "数字货币", "元宇宙", "机器人", "氢能源", "消费电子", "国企改革", "一带一路",
    "大数据", "网络安全", "工业互联网", "新材料", "稀土永磁", "光模块", "算力", "低空经济", "固态电池", "数据要素",
    "信创", "短剧游戏", "华为概念", "猪肉", "疫苗", "核电", "风电", "充电桩", "跨境电商", "预制菜",
)
INDEXES = {  # code → (name, base level on 2018-12-28)
    "000001": ("上证指数", 2493.90),
    "000300": ("沪深300", 3010.65),
    "000905": ("中证500", 4168.13),
    "000852": ("中证1000", 4455.43),
    "932000": ("中证2000", 1000.0),
    "all_a": ("全A(合成)", 1000.0),
}
CSI_RANKS = {"000300": (0, 300), "000905": (300, 800), "000852": (800, 1800), "932000": (1800, 3800)}

# Regime of the simulated sentiment (bull/range/bear as in domain.md §4): mean level and drift.
REGIMES = (
    (dt.date(2019, 1, 2), dt.date(2021, 2, 18), 0.4, 0.0008),
    (dt.date(2021, 2, 19), dt.date(2021, 12, 13), 0.1, 0.0),
    (dt.date(2021, 12, 14), dt.date(2024, 2, 6), -0.4, -0.0005),
    (dt.date(2024, 2, 7), dt.date(2024, 9, 23), -0.1, 0.0),
    (dt.date(2024, 9, 24), dt.date(2025, 9, 11), 0.5, 0.0009),
)


@dataclass(frozen=True)
class Calibration:
    """Knobs of the sentiment model (fitted once against the real TDX bars)."""

    first_board_base: float = 0.0042
    first_board_heat: float = 0.0100
    continue_base: tuple[float, ...] = (0.08, 0.16, 0.24, 0.30)  # streak 1, 2, 3, 4+
    continue_heat: tuple[float, ...] = (0.25, 0.32, 0.34, 0.34)
    seal_base: float = 0.55
    seal_heat: float = 0.30
    heat_persistence: float = 0.93
    heat_noise: float = 0.45
    st_first_board: float = 0.012
    hot_concept_boost: float = 4.0
    promotion_shock: float = 0.4  # day-level log-noise on continuation: some days promote far more than others


def _trading_days() -> list[dt.date]:
    return calendar.trading_days_between(FIRST_DAY, calendar.calendar_end())


def _day_index(days: list[dt.date], day: dt.date) -> int:
    """Index of the first trading day on or after `day` (may be < 0 for days before 2019)."""
    import bisect

    if day < days[0]:
        return -1 - (days[0] - day).days * 244 // 365
    return bisect.bisect_left(days, day)


class Master:
    """The securities master: static arrays, one element per stock."""

    def __init__(self, seed: int, days: list[dt.date]):
        rng = np.random.default_rng([seed, 0])
        boards, list_dates, codes = [], [], []
        counters = {"main_sh": 600000, "main_sz": 1, "chinext": 300001, "star": 688001, "bse_old": 430001,
                    "bse": 830001, "bse92": 920001}

        def add(kind: str, n: int, start: dt.date, end: dt.date) -> None:
            span = (end - start).days
            for off in np.sort(rng.integers(0, span + 1, n)):
                code = counters[kind]
                counters[kind] += 1
                codes.append(f"{code:06d}")
                boards.append({"main_sh": 0, "main_sz": 0, "chinext": 1, "star": 2}.get(kind, 3))
                list_dates.append(start + dt.timedelta(days=int(off)))

        add("main_sh", 1480, dt.date(1994, 1, 1), dt.date(2018, 12, 20))
        add("main_sz", 1460, dt.date(1994, 1, 1), dt.date(2018, 12, 20))
        add("chinext", 750, dt.date(2009, 10, 30), dt.date(2018, 12, 20))
        add("bse_old", 71, dt.date(2016, 1, 1), dt.date(2020, 12, 31))  # moved to BSE on its opening day
        new_listings = {  # year → (SH main, SZ main, ChiNext, STAR, BSE)
            2019: (60, 40, 50, 70, 0), 2020: (90, 60, 110, 145, 0), 2021: (120, 80, 200, 160, 10),
            2022: (50, 30, 150, 120, 80), 2023: (35, 25, 110, 67, 77), 2024: (15, 15, 38, 15, 23),
            2025: (20, 20, 35, 20, 25), 2026: (15, 15, 30, 15, 20),
        }
        for year, (sh, sz, cy, star, bse) in new_listings.items():
            y0, y1 = dt.date(year, 1, 2), dt.date(year, 12, 31)
            add("main_sh", sh, y0, y1)
            add("main_sz", sz, y0, y1)
            add("chinext", cy, y0, y1)
            add("star", star, max(y0, STAR_OPEN), y1)
            if bse:
                add("bse92" if year >= 2024 else "bse", bse, max(y0, BSE_OPEN), y1)
        # Listing dates snap to trading days.
        open_days = np.array(calendar.trading_days(), dtype="datetime64[D]")
        ld = np.array(list_dates, dtype="datetime64[D]")
        pos = np.searchsorted(open_days, ld)
        ld = open_days[np.minimum(pos, len(open_days) - 1)]
        self.n = n = len(codes)
        self.code = np.array(codes)
        self.board = np.array(boards, dtype=np.int8)
        self.list_date = ld
        self.list_idx = np.array([_day_index(days, d.astype(dt.date)) for d in ld], dtype=np.int64)
        self.first_trade_idx = self.list_idx.copy()
        bse_old = np.char.startswith(self.code, "43")
        self.first_trade_idx[bse_old] = _day_index(days, BSE_OPEN)
        # Delistings: about 40 a year among old listings, each preceded by a year of ST.
        n_days = len(days)
        self.delist_idx = np.full(n, 10**9, dtype=np.int64)
        old = np.nonzero(self.list_idx < 0)[0]
        delisted = rng.choice(old, size=min(len(old), 280), replace=False)
        self.delist_idx[delisted] = rng.integers(60, min(n_days, 1750), size=len(delisted))
        # ST episodes: delisting stocks for their last ~250 days, and ~9% of others once.
        self.st_from = np.full(n, 10**9, dtype=np.int64)
        self.st_to = np.full(n, -(10**9), dtype=np.int64)
        self.st_from[delisted] = self.delist_idx[delisted] - rng.integers(120, 300, size=len(delisted))
        self.st_to[delisted] = self.delist_idx[delisted]
        others = np.setdiff1d(np.arange(n), delisted)
        st_once = rng.choice(others, size=int(0.09 * len(others)), replace=False)
        self.st_from[st_once] = rng.integers(-300, n_days, size=len(st_once))
        self.st_to[st_once] = self.st_from[st_once] + rng.integers(80, 500, size=len(st_once))
        # Static traits.
        small = rng.lognormal(0.0, 0.35, n)
        self.price0 = np.clip(rng.lognormal(np.log(11), 0.7, n), 2.0, 300.0)
        self.float_shares = np.clip(rng.lognormal(np.log(5.5e9), 1.0, n), 2e8, 3e11) / self.price0
        self.beta = rng.normal(1.0, 0.2, n)
        self.idio_vol = rng.uniform(0.012, 0.03, n)
        self.turnover = np.clip(rng.lognormal(np.log(0.02), 0.6, n), 0.002, 0.2)
        # Small caps are more speculative.
        self.speculative = np.clip(small * (5e9 / (self.float_shares * self.price0)) ** 0.25, 0.2, 4.0)
        self.attention = rng.lognormal(np.log(2000), 0.8, n) * (self.float_shares * self.price0 / 5e9) ** 0.3
        self.industry = rng.integers(0, len(SW_L1), n)
        # ~6% of stocks moved to another industry when SW changed its taxonomy.
        self.industry_before_2021 = self.industry.copy()
        moved = rng.random(n) < 0.06
        self.industry_before_2021[moved] = rng.integers(0, len(SW_L1), moved.sum())
        n_concepts = rng.integers(0, 5, n)
        self.concepts = [np.sort(rng.choice(len(CONCEPTS), size=k, replace=False)) for k in n_concepts]
        self.concept_matrix = np.zeros((n, len(CONCEPTS)), dtype=bool)
        for i, cs in enumerate(self.concepts):
            self.concept_matrix[i, cs] = True
        self.run_len = 1 + rng.geometric(0.18, n)  # opening run of one-word boards, old IPO regime
        old_regime_to = {0: dt.date(2023, 4, 9), 1: dt.date(2020, 8, 23)}
        self.old_ipo_regime = np.array(
            [b in old_regime_to and d.astype(dt.date) <= old_regime_to[b] for b, d in zip(self.board, ld)]
        ) & (self.list_idx >= 0)
        self.ipo_gain = rng.lognormal(np.log(1.2), 0.6, n)  # registration IPOs: day-1 gain

    def frame(self) -> pl.DataFrame:
        exch = np.where(np.char.startswith(self.code, "6"), "SH",
                        np.where(np.char.startswith(self.code, "0") | np.char.startswith(self.code, "3"), "SZ", "BJ"))
        days = _trading_days()
        delist = [days[i] if i < len(days) else None for i in self.delist_idx]
        return pl.DataFrame({
            "code": self.code,
            "name": [f"合成{c}" for c in self.code],
            "exchange": exch,
            "board": [BOARDS[b] for b in self.board],
            "list_date": self.list_date.astype("datetime64[D]"),
            "delist_date": delist,
        }, schema_overrides={"list_date": pl.Date, "delist_date": pl.Date})


def _regime(day: dt.date) -> tuple[float, float]:
    for a, b, level, drift in REGIMES:
        if a <= day <= b:
            return level, drift
    return 0.0, 0.0


def simulate(seed: int, cal: Calibration = Calibration(),
             progress: Callable[[str], None] | None = None) -> dict[str, pl.DataFrame]:
    """Simulate every trading day from 2019-01-02 to the calendar's end; `progress` hears of each year done."""
    days = _trading_days()
    started = time.perf_counter()
    m = Master(seed, days)
    n = m.n
    close = np.round(m.price0 * 100).astype(np.int64)  # last traded close, fen
    streak = np.zeros(n, dtype=np.int64)
    susp_left = np.zeros(n, dtype=np.int64)
    float_shares = m.float_shares.copy()
    heat = 0.0
    hot_concept = 0
    buzz_state = np.zeros(n)  # each stock's attention beyond its baseline, carried from day to day
    index_level = {k: v[1] for k, v in INDEXES.items()}
    members: dict[str, np.ndarray] = {}
    margin = 7.6e11
    prev_float_cap = close * float_shares / 100
    out: dict[str, list] = {k: [] for k in ("bars", "flows", "attention", "index", "membership", "margin")}
    rebalance_months = {6, 12}
    last_rebalance = None

    for d, day in enumerate(days):
        if progress and d and day.year != days[d - 1].year:
            progress(f"simulating the synthetic market (seed {seed}, one time, then cached): {days[d - 1].year} done, "
                     f"{d:,} of {len(days):,} trading days in {time.perf_counter() - started:.0f} s")
        rng = np.random.default_rng([seed, 1, d])
        level, drift = _regime(day)
        heat = cal.heat_persistence * heat + (1 - cal.heat_persistence) * level * 3 + rng.normal(0, cal.heat_noise)
        sentiment = 1 / (1 + np.exp(-heat))
        if rng.random() < 0.08:
            hot_concept = int(rng.integers(0, len(CONCEPTS)))
        market = rng.normal(drift, 0.011) + 0.0015 * (sentiment - 0.5)
        industry_ret = rng.normal(0, 0.006, len(SW_L1))

        alive = (m.first_trade_idx <= d) & (d < m.delist_idx)
        new_susp = alive & (susp_left == 0) & (rng.random(n) < 0.0004)
        susp_left = np.where(new_susp, rng.geometric(0.15, n), susp_left)
        suspended = susp_left > 0
        susp_left = np.maximum(susp_left - 1, 0)
        traded = alive & ~suspended
        age = d - m.list_idx + 1
        is_st = (m.st_from <= d) & (d < m.st_to)

        # Reference close: the offer price on day 1, ex-rights adjusted on ex-dates.
        listing_day = age == 1
        ref = close.copy()
        ipo_price = np.round(m.price0 * 100 / 1.3).astype(np.int64)
        ref = np.where(listing_day, ipo_price, ref)
        ex_day = traded & ~listing_day & (day.month in (5, 6, 7)) & (rng.random(n) < 0.7 / 63)
        cash = np.floor(ref * rng.uniform(0.003, 0.03, n))
        bonus = np.where(rng.random(n) < 0.15, rng.choice([0.2, 0.3, 0.5, 1.0], n), 0.0)
        ex_ref = np.floor((ref - cash) / (1 + bonus) + 0.5).astype(np.int64)
        ref = np.where(ex_day, np.maximum(ex_ref, 1), ref)
        float_shares = np.where(ex_day, float_shares * (1 + bonus), float_shares)

        up_bp, down_bp = limit_bp_arrays(m.board, is_st, day, m.list_date, age)
        has_limit = up_bp >= 0
        up = np.where(has_limit, limit_fen(ref, np.maximum(up_bp, 0), +1), 10**12)
        down = np.where(has_limit, limit_fen(ref, np.maximum(down_bp, 0), -1), 1)

        # Limit-up attempts: continuation for streaks, first boards otherwise.
        k = np.minimum(streak, 4)
        level_ix = np.maximum(k - 1, 0)
        cont = np.array(cal.continue_base)[level_ix] + np.array(cal.continue_heat)[level_ix] * sentiment
        cont = np.minimum(cont * np.exp(rng.normal(0, cal.promotion_shock)), 0.95)
        first = (cal.first_board_base + cal.first_board_heat * sentiment ** 2) * m.speculative
        first = first * np.where(m.concept_matrix[:, hot_concept], cal.hot_concept_boost, 1.0)
        first = np.where(is_st, cal.st_first_board, first)
        p_lu = np.where(streak > 0, cont, first)
        seal = cal.seal_base + cal.seal_heat * sentiment
        attempt = rng.random(n) < np.minimum(p_lu / seal, 0.98)
        sealed = attempt & (rng.random(n) < seal)
        opening_run = m.old_ipo_regime & (age <= m.run_len) & ~is_st
        is_lu = has_limit & (sealed | opening_run)
        is_broken = has_limit & attempt & ~is_lu
        p_ld = 0.0015 + 0.02 * max(0.0, -market - 0.02) * 50 + 0.004 * (1 - sentiment) ** 3
        is_ld = has_limit & ~is_lu & ~is_broken & (rng.random(n) < np.where(is_st, 3 * p_ld, p_ld))

        ret = m.beta * market + industry_ret[m.industry] + m.idio_vol * rng.standard_normal(n)
        # Limit moves are drawn apart from the factor return. Each stock gives back, on its other days, what its
        # own limit odds add (a streak that fails to continue falls), and gains its volatility drag, so that
        # its expected return is the factor's and a flat market keeps its median price (no new draws).
        limit = np.maximum(up_bp, 0) / 10_000
        p_attempt = np.minimum(p_lu / seal, 0.98)
        expected_jump = (p_attempt * seal * limit + p_attempt * (1 - seal) * (limit - 0.04)
                         - np.where(is_st, 3 * p_ld, p_ld) * limit)
        factor_ret = ret + m.idio_vol ** 2 / 2
        ret = factor_ret - np.where(has_limit, expected_jump, 0.0)
        no_limit_ret = np.where(listing_day, m.ipo_gain, rng.normal(0.0, 0.07, n))
        ret = np.where(has_limit, ret, np.maximum(no_limit_ret, -0.6))
        c = np.round(ref * (1 + ret)).astype(np.int64)
        c = np.clip(c, down + 1, up - 1)
        c = np.where(is_lu, up, np.where(is_ld, down, c))
        c = np.where(is_broken, np.maximum(np.round(up * (1 - rng.uniform(0.005, 0.08, n))).astype(np.int64), down + 1), c)
        c = np.maximum(c, 1)
        # What the day's limit moves added beyond those odds (opening runs, a hot day) the other stocks give back,
        # so the cap-weighted market return is the factor model's.
        free = traded & has_limit & ~(is_lu | is_ld | is_broken)
        w = np.where(traded & has_limit, prev_float_cap, 0.0)
        if (w * free).sum() > 0:
            gap = float((w * (c / ref - 1 - factor_ret)).sum() / w.sum())
            shifted = np.round(ref * (1 + ret - gap * w.sum() / (w * free).sum())).astype(np.int64)
            c = np.where(free, np.maximum(np.clip(shifted, down + 1, up - 1), 1), c)
        one_word = is_lu & ((opening_run & ~listing_day) | (rng.random(n) < 0.04 + 0.05 * np.minimum(streak, 4)))
        o = np.round(ref * (1 + 0.4 * (c / ref - 1) + rng.normal(0, 0.008, n))).astype(np.int64)
        o = np.clip(o, down, up)
        o = np.where(listing_day & (up_bp == 4400), np.round(ref * 1.2).astype(np.int64), o)
        hi = np.maximum(o, c) + np.abs(np.round(ref * rng.normal(0, 0.008, n))).astype(np.int64)
        lo = np.minimum(o, c) - np.abs(np.round(ref * rng.normal(0, 0.008, n))).astype(np.int64)
        hi = np.where(is_lu | is_broken, up, np.minimum(hi, np.where(has_limit, up - 1, hi)))
        hi = np.maximum(hi, np.maximum(o, c))
        lo = np.maximum(np.maximum(lo, down), 1)
        lo = np.minimum(lo, np.minimum(o, c))
        o = np.where(one_word, up, o)
        lo = np.where(one_word, up, lo)

        turnover = m.turnover * np.exp(np.minimum(np.abs(c / ref - 1) / 0.03, 3)) * (0.5 + sentiment)
        turnover = np.where(one_word, turnover * 0.15, np.where(age <= 5, np.maximum(turnover, 0.4), turnover))
        turnover = np.clip(turnover, 0.0005, 0.9)
        volume = np.round(turnover * float_shares / 100) * 100
        amount = volume * (o + hi + lo + c) / 400
        float_cap = c * float_shares / 100

        idx = np.nonzero(traded)[0]
        day_ret = c / ref - 1
        out["bars"].append({
            "d": np.full(len(idx), d, dtype=np.int32), "i": idx.astype(np.int32),
            "open": o[idx], "high": hi[idx], "low": lo[idx], "close": c[idx], "pre_close": ref[idx],
            "volume": volume[idx].astype(np.int64), "amount": amount[idx], "turnover_rate": turnover[idx],
            "float_mcap": float_cap[idx], "is_st": is_st[idx],
        })
        # Main-force flow follows the day's move; northbound only for large caps and until it stopped.
        mf = amount * (0.12 * np.tanh(day_ret / 0.03) + rng.normal(0, 0.04, n))
        nb_universe = np.zeros(n, dtype=bool)
        for code_ in ("000300", "000905"):
            if code_ in members:
                nb_universe[members[code_]] = True
        nb = np.where(nb_universe, amount * (0.03 * np.tanh(day_ret / 0.02) + rng.normal(0, 0.02, n)), np.nan)
        if day > NORTHBOUND_LAST_DAY:
            nb[:] = np.nan
        out["flows"].append({"d": np.full(len(idx), d, dtype=np.int32), "i": idx.astype(np.int32),
                             "main_net_inflow": mf[idx], "northbound_net_inflow": nb[idx]})
        # Attention follows limit-ups, big moves, unusual turnover and the hot concept, and lingers (it decays by
        # 15% a day); in hot markets it tilts to small speculative names, in cold ones to large caps.
        excite = (3 * is_lu + 1.5 * is_broken + 8 * np.abs(day_ret)
                  + 0.5 * np.log(np.maximum(turnover / m.turnover, 1e-3)).clip(-1, 3)
                  + 1.0 * m.concept_matrix[:, hot_concept])
        buzz_state = np.where(traded, 0.85 * buzz_state + 0.3 * np.maximum(excite, 0), 0.85 * buzz_state)
        tilt = m.speculative ** (2 * (sentiment - 0.5))
        buzz = m.attention * (1 + buzz_state) * tilt * (0.6 + 0.8 * sentiment)
        views = rng.poisson(buzz)
        out["attention"].append({"d": np.full(len(idx), d, dtype=np.int32), "i": idx.astype(np.int32),
                                 "browse_count": views[idx], "watchlist_adds": rng.binomial(views, 0.02)[idx],
                                 "click_count": rng.binomial(views, 0.35)[idx]})

        # CSI index membership: rebalanced on the first trading day from the 15th of June and December.
        if d == 0 or (day.month in rebalance_months and day.day >= 15 and last_rebalance != (day.year, day.month)):
            last_rebalance = (day.year, day.month) if d > 0 else None
            eligible = alive & ~is_st & (age > 250)
            ranked = np.argsort(-np.where(eligible, prev_float_cap, -1.0), kind="stable")
            n_eligible = int(eligible.sum())
            for code_, (a, b) in CSI_RANKS.items():
                members[code_] = np.sort(ranked[a:min(b, n_eligible)])
                out["membership"].append(pl.DataFrame({
                    "index_code": code_, "code": m.code[members[code_]], "effective_date": day,
                }))
        # Index series: float-cap weighted returns with the previous day's weights. New listings join once they
        # have a price limit (as indices add them after their first days, not at the IPO pop).
        w = np.where(traded & has_limit & ~listing_day, prev_float_cap, 0.0)
        universes = {"000001": np.char.startswith(m.code, "6"), "all_a": np.ones(n, dtype=bool)}
        for code_ in CSI_RANKS:
            u = np.zeros(n, dtype=bool)
            u[members[code_]] = True
            universes[code_] = u
        day_ret_t = np.where(traded, day_ret, 0.0)
        rows = []
        for code_, u in universes.items():
            ww = w * u
            r = float((ww * day_ret_t).sum() / ww.sum()) if ww.sum() > 0 else 0.0
            prev_level = index_level[code_]
            index_level[code_] = prev_level * (1 + r)
            rows.append((code_, prev_level, index_level[code_], float((amount * traded * u).sum())))
        out["index"].append(rows)
        margin *= 1 + 0.4 * market + rng.normal(0.0004, 0.002)
        out["margin"].append(margin)
        close = np.where(traded, c, close)
        streak = np.where(traded, np.where(is_lu, streak + 1, 0), streak)
        prev_float_cap = np.where(traded, float_cap, close * float_shares / 100)

    day_series = pl.Series("trade_date", days, dtype=pl.Date)
    code_series = pl.Series("code", m.code)

    def stack(parts: list[dict]) -> pl.DataFrame:
        cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        d, i = cols.pop("d"), cols.pop("i")
        return pl.DataFrame(cols).with_columns(trade_date=day_series.gather(d), code=code_series.gather(i))

    bars = stack(out["bars"]).with_columns(
        [(pl.col(x) / 100) for x in ("open", "high", "low", "close", "pre_close")]
    )
    index_rows = [
        {"trade_date": days[d], "index_code": code_, "index_name": INDEXES[code_][0], "pre_close": prev, "close": lvl,
         "amount": amt}
        for d, rows in enumerate(out["index"]) for code_, prev, lvl, amt in rows
    ]
    return {
        "securities": m.frame(),
        "daily_quotes": bars.select("trade_date", "code", "open", "high", "low", "close", "pre_close", "volume",
                                    "amount", "turnover_rate", "float_mcap", "is_st"),
        "fund_flows": stack(out["flows"]).select(
            "trade_date", "code", "main_net_inflow", pl.col("northbound_net_inflow").fill_nan(None)),
        "attention": stack(out["attention"]).select("trade_date", "code", "browse_count", "watchlist_adds",
                                                    "click_count"),
        "index_membership": pl.concat(out["membership"]),
        "index_daily": pl.DataFrame(index_rows),
        "margin_balance": pl.DataFrame({"trade_date": day_series, "margin_balance": out["margin"]}),
        "industry_history": _industry_history(m),
        "concept_membership": pl.concat([pl.DataFrame({
            "concept_name": [CONCEPTS[c] for cs in m.concepts for c in cs],
            "code": [m.code[i] for i, cs in enumerate(m.concepts) for _ in cs],
        }), _minor_concepts(m, seed)]),
    }


MINOR_CONCEPTS = 260  # boards with random members that no price dynamics depend on, for a realistic board count


def _minor_concepts(m: Master, seed: int) -> pl.DataFrame:
    """A few hundred small concept boards, like East Money's, from their own RNG so prices do not change."""
    rng = np.random.default_rng(seed + 10_000)
    names, codes = [], []
    for k in range(MINOR_CONCEPTS):
        members = rng.choice(len(m.code), size=int(rng.integers(8, 60)), replace=False)
        names += [f"细分概念{k + 1:03d}"] * len(members)
        codes += list(m.code[np.sort(members)])
    return pl.DataFrame({"concept_name": names, "code": codes})


def _industry_history(m: Master) -> pl.DataFrame:
    """SW level-1 classification history: the old taxonomy until 2021-07-29, the new one after."""
    old_names = [SW_L1_OLD_NAMES.get(SW_L1[i], SW_L1[i]) for i in m.industry_before_2021]
    new_names = [SW_L1[i] for i in m.industry]
    listed_before = m.list_date < np.datetime64(SW_TAXONOMY_CHANGE)
    old = pl.DataFrame({"code": m.code, "start_date": m.list_date, "industry_name": old_names,
                        "taxonomy": "sw2014"}).filter(pl.Series(listed_before))
    new = pl.DataFrame({
        "code": m.code,
        "start_date": np.maximum(m.list_date, np.datetime64(SW_TAXONOMY_CHANGE)),
        "industry_name": new_names, "taxonomy": "sw2021",
    })
    return pl.concat([old, new]).with_columns(pl.col("start_date").cast(pl.Date)).sort("code", "start_date")


def cache_path(cache_dir: Path, seed: int) -> Path:
    return cache_dir / f"synthetic-v{GENERATOR_VERSION}-seed{seed}-to{calendar.calendar_end():%Y%m%d}"


def ensure_cached(cache_dir: Path, seed: int, progress: Callable[[str], None] | None = None) -> Path:
    """Simulate once and keep each dataset as Parquet; concurrent writers rename atomically. The first time
    takes ~20 s (more on a loaded machine): `progress` hears how far it is."""
    target = cache_path(cache_dir, seed)
    if (target / "_complete").exists():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    if progress:
        progress(f"simulating the synthetic market (seed {seed}) into {target}: one time, about 20 s, then cached")
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=cache_dir))
    for name, df in simulate(seed, progress=progress).items():
        df.write_parquet(tmp / f"{name}.parquet", row_group_size=256_000)
    (tmp / "_complete").touch()
    try:
        os.replace(tmp, target)
    except OSError:  # another process finished first
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return target
