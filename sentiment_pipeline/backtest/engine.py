"""An event-driven daily backtest under A-share trading rules (domain.md §8). Pure: Polars in, Polars out.

Targets decided at day t's close execute at the next market day's open. The state (cash, shares) steps over
days; within a day every rule is one NumPy operation over all instruments, so the cost grows with days, not
with stock-days.

A day at the open, in order:
1. corporate actions: holdings are scaled by previous close ÷ reference close (ex-rights days keep their value;
   a cash dividend is treated as reinvested at the reference price); with lots, the fraction of a share this
   leaves is paid out in cash at the reference close, so holdings stay whole shares;
2. delistings: a holding whose delisting date (`delistings`, known in advance) has come is sold
   at its last close; without a delisting date, an instrument without bars is suspended, held at its last
   close (the end of its bars is no evidence: that would read the future);
3. sells, then buys (so T+1 holds by construction: the day's only execution time is its open, and nothing
   bought is sold the same day), buys scaled down to the cash left, so cash never goes negative; orders follow
   the board's lots (main board and ChiNext: multiples of 100 shares; STAR: at least 200, BSE: at least 100,
   then 1-share steps), except a sell of the whole holding, which may be any size; a sell whose proceeds would
   not cover its costs is not made (the dust stays held); re-weighting orders below the rebalance band are
   skipped;
4. blocked orders (no bar: suspended, or delisted once its date has come; open at limit-up for a buy, at
   limit-down for a sell) are recorded with their reason, and retried at the next open or dropped
   (`Rules.blocked`; a delisted name is never retried). A retry is re-sized at the open it executes, from its
   weight and the holding as it then stands (a closing sell sells all of it, bonus shares included); it stays a
   buy or a sell, and one that re-sizes to nothing is done. A new decision replaces what is pending.
The day's NAV is cash + shares × close (the last close while suspended).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from sentiment_pipeline.market.limits import BOARDS, board_of

# Stamp duty on sells: (from date, rate). 0.1% since 2008-09-19, halved to 0.05% from 2023-08-28.
STAMP_DUTY_A_SHARES = ((dt.date(2008, 9, 19), 0.001), (dt.date(2023, 8, 28), 0.0005))


@dataclass(frozen=True)
class Rules:
    """Every trading rule of the engine, with its default. One place: strategies and tests override fields."""

    capital: float = 10_000_000.0  # starting cash, CNY
    commission_rate: float = 0.00025  # per side, on the traded amount
    min_commission: float = 5.0  # CNY per order
    stamp_duty: tuple[tuple[dt.date, float], ...] = STAMP_DUTY_A_SHARES  # on sells, dated
    slippage_bps: float = 5.0  # paid on both sides, in basis points of the traded amount
    lot_size: int = 100  # main board and ChiNext: orders in multiples of this; 0: fractional units on every board
    # Other boards: (board, minimum order, step), in shares. A sell of the whole holding may be smaller.
    board_lots: tuple[tuple[str, int, int], ...] = (("star", 200, 1), ("bse", 100, 1))
    # An order that only re-weights a holding (it neither opens nor closes it) is skipped when its value is below
    # this fraction of NAV: without a band, daily baskets pay the minimum commission on drift of a few hundred CNY.
    rebalance_band: float = 0.001
    blocked: str = "retry"  # a blocked order: 'retry' at the next open (until a new decision), or 'drop'

    def __post_init__(self):
        if self.blocked not in ("retry", "drop"):
            raise ValueError(f"Rules.blocked must be 'retry' or 'drop', not {self.blocked!r}")
        unknown = [b for b, _, _ in self.board_lots if b not in BOARDS]
        if unknown:
            raise ValueError(f"Rules.board_lots names unknown board(s) {unknown}; boards are {BOARDS}")

    def stamp_rate(self, day: dt.date) -> float:
        """The stamp-duty rate on sells of `day`. No table: no duty. A day before the table's first row has no
        known rate: an error, not a guess."""
        if not self.stamp_duty:
            return 0.0
        table = sorted(self.stamp_duty)
        if day < table[0][0]:
            raise ValueError(f"no stamp duty rate for {day}: Rules.stamp_duty starts on {table[0][0]}")
        return [rate for start, rate in table if start <= day][-1]

    def lots(self, codes: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(minimum order, step) in shares per code, by board; zeros (fractional units) when lot_size is 0."""
        minimum = np.full(len(codes), float(self.lot_size))
        step = minimum.copy()
        if self.lot_size and len(codes):
            board = pl.DataFrame({"code": list(codes)}, schema={"code": pl.String}).select(
                board_of(pl.col("code")))[:, 0].to_numpy()
            for name, least, by in self.board_lots:
                minimum[board == name], step[board == name] = least, by
        return minimum, step

    def as_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["stamp_duty"] = [[str(d), r] for d, r in self.stamp_duty]
        return out


# Frictionless rules, for index series and for checking the engine against vectorised returns.
INDEX_RULES = Rules(commission_rate=0.0, min_commission=0.0, stamp_duty=(), slippage_bps=0.0, lot_size=0,
                    rebalance_band=0.0)

BLOCK_REASONS = ("suspended", "delisted", "limit_up_open", "limit_down_open")
TRADE_REASONS = ("rebalance", "retry", "delisted")

# Required; optional: pre_close, limit_up_price, limit_down_price.
PANEL_COLUMNS = ("trade_date", "code", "open", "close")


@dataclass
class Result:
    nav: pl.DataFrame  # trade_date, nav, cash, positions_value
    trades: pl.DataFrame  # trade_date, code, side, shares, price, amount, commission, stamp_duty, slippage_cost, reason
    blocked: pl.DataFrame  # trade_date, code, side, shares, reason
    rules: Rules = field(default_factory=Rules)


@dataclass
class _Panel:
    days: list[dt.date]
    codes: list[str]
    open: np.ndarray  # [day, code], NaN where the instrument has no bar
    close: np.ndarray
    last_close: np.ndarray  # close carried over days without a bar; NaN before the first bar
    limit_up: np.ndarray  # NaN where there is no limit
    limit_down: np.ndarray
    adjust: np.ndarray  # previous close ÷ reference close, 1 where there is no corporate action
    delist_day: np.ndarray  # [code]: index of the first day on or after the delisting date; len(days) if none


def dense_panel(panel: pl.DataFrame, days: Sequence[dt.date] | None = None,
                delistings: pl.DataFrame | None = None) -> _Panel:
    """Scatter the long panel into [day, code] arrays over the market's days."""
    missing = [c for c in PANEL_COLUMNS if c not in panel.columns]
    if missing:
        raise ValueError(f"backtest panel lacks column(s) {missing}")
    days = sorted(set(panel["trade_date"].to_list()) if days is None else days)
    codes = sorted(panel["code"].unique().to_list())
    calendar = np.array(days, dtype="datetime64[D]")
    # Row → (day, code) positions without joining (a join would copy the whole panel).
    dates = panel["trade_date"].to_numpy().astype("datetime64[D]")
    d = np.minimum(np.searchsorted(calendar, dates), len(days) - 1)
    on_calendar = calendar[d] == dates
    d = d[on_calendar]
    c = panel["code"].cast(pl.Enum(codes)).to_physical().to_numpy()[on_calendar]
    shape = (len(days), len(codes))

    def scatter(column: str) -> np.ndarray:
        out = np.full(shape, np.nan)
        if column in panel.columns:
            out[d, c] = panel[column].cast(pl.Float64).fill_null(np.nan).to_numpy()[on_calendar]
        return out

    open_, close = scatter("open"), scatter("close")
    # Carry the last close over days without a bar; the adjustment compares it with the reference close.
    last_close = close.copy()
    adjust = scatter("pre_close")
    for day in range(1, len(days)):
        gap = np.isnan(last_close[day])
        last_close[day, gap] = last_close[day - 1, gap]
        with np.errstate(invalid="ignore", divide="ignore"):
            adjust[day] = last_close[day - 1] / adjust[day]
    adjust[0] = 1.0
    adjust[np.isnan(adjust)] = 1.0
    delist_day = np.full(len(codes), len(days))
    if delistings is not None:
        delisted = delistings.filter(pl.col("delist_date").is_not_null() & pl.col("code").is_in(codes))
        when = np.searchsorted(calendar, delisted["delist_date"].to_numpy().astype("datetime64[D]"))
        delist_day[delisted["code"].cast(pl.Enum(codes)).to_physical().to_numpy()] = when
    return _Panel(days, codes, open_, close, last_close, scatter("limit_up_price"), scatter("limit_down_price"),
                  adjust, delist_day)


# The last dense panel built, for the frame it was built from (held weakly: it goes when the frame goes). The
# whole-history run hands every backtest the same frame of bars (platform/io_manager.py): built once, not six
# times (~2 s and ~0.6 GiB each over seven years).
_LAST_PANEL: dict = {}


def shared_dense_panel(panel: pl.DataFrame, days: Sequence[dt.date] | None = None,
                       delistings: pl.DataFrame | None = None) -> _Panel:
    """dense_panel, reused while the same frames are asked for again. Its arrays are read-only."""
    key = (id(panel), panel.height, None if days is None else (len(days), days[0], days[-1]),
           id(delistings) if delistings is not None else None)
    entry = _LAST_PANEL.get("entry")
    if entry is not None and entry[0] == key and entry[1]() is panel and \
            (delistings is None or entry[2]() is delistings):
        return entry[3]
    dense = dense_panel(panel, days, delistings)
    for array in (dense.open, dense.close, dense.last_close, dense.limit_up, dense.limit_down, dense.adjust,
                  dense.delist_day):
        array.flags.writeable = False
    _LAST_PANEL.clear()
    try:
        refs = (weakref.ref(panel, lambda _: _LAST_PANEL.clear()),
                weakref.ref(delistings) if delistings is not None else (lambda: None))
    except TypeError:  # not weakly referenceable: no reuse
        return dense
    _LAST_PANEL["entry"] = (key, *refs, dense)
    return dense


def run(panel: pl.DataFrame, targets: pl.DataFrame, rules: Rules = Rules(), *,
        decision_days: Iterable[dt.date] | None = None, days: Sequence[dt.date] | None = None,
        delistings: pl.DataFrame | None = None) -> Result:
    """Backtest target weights (trade_date = the decision day t, code, weight as a fraction of NAV) over the
    panel (trade_date, code, open, close, and optionally pre_close, limit_up_price, limit_down_price; a row
    only where the instrument trades). On a decision day, codes without a row have weight 0; decision days
    default to the days that have targets. `days` is the market calendar (default: the panel's days).
    `delistings` (code, delist_date): the first day each code no longer trades, as announced."""
    p = shared_dense_panel(panel, days, delistings)
    n_days, n_codes = p.open.shape
    code_of = {code: i for i, code in enumerate(p.codes)}
    day_of = {day: i for i, day in enumerate(p.days)}
    decisions = _decisions(targets, code_of, day_of, n_codes, decision_days)

    minimum, step = rules.lots(p.codes)
    slip = rules.slippage_bps / 10_000
    cash = float(rules.capital)
    shares = np.zeros(n_codes)
    pending: tuple | None = None  # (code index, weight, side: +1 buy / -1 sell) to retry
    nav = np.empty(n_days)
    cash_by_day = np.empty(n_days)
    trades: list[dict] = []
    blocked: list[dict] = []

    def commission(amount: np.ndarray) -> np.ndarray:
        return np.where(amount > 0, np.maximum(amount * rules.commission_rate, rules.min_commission), 0.0)

    def sell(day: int, idx: np.ndarray, qty: np.ndarray, price: np.ndarray, reason: str, slipped: bool) -> float:
        amount = qty * price
        cost = amount * slip if slipped else np.zeros_like(amount)
        fee = commission(amount)
        duty = amount * rules.stamp_rate(p.days[day])
        worth = amount - cost - fee - duty > 0  # a sell that costs more than it brings is not made
        idx, qty, price, amount, cost, fee, duty = (x[worth] for x in (idx, qty, price, amount, cost, fee, duty))
        if not idx.size:
            return 0.0
        shares[idx] -= qty
        trades.append(_ledger(day, idx, "sell", qty, price, amount, fee, duty, cost, reason, shares[idx]))
        return float((amount - cost - fee - duty).sum())

    for day in range(n_days):
        open_, traded = p.open[day], ~np.isnan(p.open[day])
        if day:
            shares *= p.adjust[day]
            if rules.lot_size:  # whole shares: the fraction an ex-rights day leaves is paid out at the reference close
                whole = np.floor(shares + 1e-9)
                paid = (shares - whole) * p.last_close[day - 1] / p.adjust[day]
                cash += float(np.nansum(np.where(whole < shares, paid, 0.0)))
                shares[:] = whole
        # Delistings: sold at the last close, whatever the decisions say.
        gone = np.flatnonzero((p.delist_day <= day) & ~traded & (shares > 0))
        if gone.size:
            cash += sell(day, gone, shares[gone].copy(), p.last_close[day - 1, gone], "delisted", slipped=False)

        orders = None
        mark = np.where(traded, open_, np.nan_to_num(p.last_close[day - 1] if day else open_))
        value = cash + float((shares * mark).sum())
        if day - 1 in decisions:
            weights = decisions[day - 1]
            delta = _orders(weights, shares, open_, traded, value, minimum, step, rules.rebalance_band)
            idx = np.flatnonzero(delta != 0)
            orders, reason = (idx, delta[idx], weights[idx]), "rebalance"
        elif pending is not None:
            # Sized afresh at this open: the holding may have changed (bonus shares) and so may the prices.
            idx, weight, side = pending
            held = shares[idx]
            qty = _orders(weight, held, open_[idx], traded[idx], value, minimum[idx], step[idx],
                          rules.rebalance_band)
            # A re-weighting still without a bar stays blocked, unsized, rather than silently dropped.
            qty = np.where(~traded[idx] & (qty == 0) & (held > 0) & (weight > 0), side * np.inf, qty)
            keep = np.sign(qty) == side  # the same order: a buy stays a buy; re-sized to nothing, it is done
            orders, reason = (idx[keep], qty[keep], weight[keep]), "retry"
        pending = None
        if orders is None:
            nav[day], cash_by_day[day] = _mark(cash, shares, p.last_close[day]), cash
            continue

        idx, qty, weight = orders
        is_sell = qty < 0
        suspended = ~traded[idx]
        up = p.limit_up[day, idx]
        down = p.limit_down[day, idx]
        at_up = ~is_sell & ~suspended & ~np.isnan(up) & (open_[idx] >= up)
        at_down = is_sell & ~suspended & ~np.isnan(down) & (open_[idx] <= down)
        stopped = suspended | at_up | at_down
        if stopped.any():
            gone = suspended & (p.delist_day[idx] <= day)
            why = np.where(gone, "delisted", np.where(suspended, "suspended",
                                                      np.where(at_up, "limit_up_open", "limit_down_open")))[stopped]
            stopped_qty = qty[stopped]
            blocked.append({"day": day, "idx": idx[stopped], "side": np.where(stopped_qty < 0, "sell", "buy"),
                            "shares": np.where(np.isinf(stopped_qty), np.nan, np.abs(stopped_qty)), "reason": why})
            retry = stopped & ~gone
            if rules.blocked == "retry" and retry.any():
                pending = (idx[retry], weight[retry], np.sign(qty[retry]))

        go_sell = is_sell & ~stopped
        if go_sell.any():
            s_idx = idx[go_sell]
            s_qty = np.minimum(-qty[go_sell], shares[s_idx])
            cash += sell(day, s_idx, s_qty, open_[s_idx], reason, slipped=True)

        go_buy = ~is_sell & ~stopped & np.isfinite(qty)
        if go_buy.any():
            b_idx, b_qty = idx[go_buy], qty[go_buy]
            price = open_[b_idx]
            b_qty = _fit_cash(b_qty, price, cash, minimum[b_idx], step[b_idx], slip, commission)
            keep = b_qty > 0
            b_idx, b_qty, price = b_idx[keep], b_qty[keep], price[keep]
            if b_idx.size:
                amount = b_qty * price
                cost, fee = amount * slip, commission(amount)
                cash -= float((amount + cost + fee).sum())
                if -1e-6 * rules.capital < cash < 0:  # float rounding of buys that spend exactly the cash
                    cash = 0.0
                shares[b_idx] += b_qty
                trades.append(_ledger(day, b_idx, "buy", b_qty, price, amount, fee, np.zeros_like(amount), cost,
                                      reason, shares[b_idx]))
        nav[day], cash_by_day[day] = _mark(cash, shares, p.last_close[day]), cash

    nav_frame = pl.DataFrame({"trade_date": p.days, "nav": nav, "cash": cash_by_day},
                             schema={"trade_date": pl.Date, "nav": pl.Float64, "cash": pl.Float64})
    nav_frame = nav_frame.with_columns(positions_value=pl.col("nav") - pl.col("cash"))
    return Result(nav_frame, _trades_frame(trades, p), _blocked_frame(blocked, p), rules)


def _decisions(targets: pl.DataFrame, code_of: dict, day_of: dict, n_codes: int,
               decision_days: Iterable[dt.date] | None) -> dict[int, np.ndarray]:
    """Decision day index → dense target weights. Targets on a day outside the calendar are an error."""
    unknown_days = set(targets["trade_date"].unique().to_list()) - set(day_of)
    if unknown_days:
        raise ValueError(f"targets on {len(unknown_days)} day(s) outside the panel's calendar, e.g. "
                         f"{sorted(unknown_days)[:3]}")
    unknown_codes = set(targets["code"].unique().to_list()) - set(code_of)
    if unknown_codes:
        raise ValueError(f"targets name {len(unknown_codes)} code(s) with no bar in the panel, e.g. "
                         f"{sorted(unknown_codes)[:3]}")
    days = sorted(set(targets["trade_date"].to_list()) if decision_days is None else set(decision_days))
    out = {day_of[d]: np.zeros(n_codes) for d in days if d in day_of}
    if targets.height:
        t = targets.sort("trade_date")
        d = np.array([day_of[x] for x in t["trade_date"].to_list()])
        c = np.array([code_of[x] for x in t["code"].to_list()])
        w = t["weight"].cast(pl.Float64).to_numpy()
        for day in np.unique(d):
            if day in out:
                sel = d == day
                np.add.at(out[day], c[sel], w[sel])
    return out


def _orders(weights: np.ndarray, held: np.ndarray, price: np.ndarray, traded: np.ndarray, value: float,
            minimum: np.ndarray, step: np.ndarray, band: float) -> np.ndarray:
    """Signed share orders taking holdings to their weights of `value` at today's open prices (all arrays per
    code, or per order for a retry). +inf: a buy without a bar to size it."""
    with np.errstate(invalid="ignore", divide="ignore"):
        target = np.where(traded & (weights > 0), _round_order(weights * value / price, 0.0, step), 0.0)
    delta = np.where(traded, target - held, 0.0)
    # Buys, and sells that keep a holding, follow the board's minimum and step; a closing sell sells it all.
    delta = np.where(delta > 0, _round_order(delta, minimum, step), delta)
    delta = np.where((delta < 0) & (target > 0), -_round_order(-delta, minimum, step), delta)
    # A re-weighting below the band (the holding neither opens nor closes) is not worth its costs.
    with np.errstate(invalid="ignore"):
        small = (held > 0) & (target > 0) & (np.abs(delta) * price < band * value)
    delta = np.where(small, 0.0, delta)
    # Without a bar: a holding to close out, or a new name to buy, is a blocked order; a holding that stays is
    # left alone (no order to re-weight what cannot trade).
    delta = np.where(~traded & (weights <= 0) & (held > 0), -held, delta)
    return np.where(~traded & (weights > 0) & (held == 0), np.inf, delta)


def _round_order(qty: np.ndarray, minimum, step: np.ndarray) -> np.ndarray:
    """Shares rounded down to the step, none below the minimum; step 0: fractional units, as they are."""
    with np.errstate(invalid="ignore", divide="ignore"):
        # 1e-9: a count that float arithmetic leaves a hair below a step (199.99999999999997) is that step.
        rounded = np.where(step > 0, np.floor(qty / step + 1e-9) * step, qty)
        return np.where(rounded >= minimum, rounded, 0.0)


def _fit_cash(qty: np.ndarray, price: np.ndarray, cash: float, minimum: np.ndarray, step: np.ndarray, slip: float,
              commission) -> np.ndarray:
    """Scale the buys down (in their boards' lots) until they, their slippage and commissions fit in the cash."""
    def total(q):
        amount = q * price
        return float((amount * (1 + slip) + commission(amount)).sum())

    if cash <= 0:
        return np.zeros_like(qty)
    # Relative tolerance: buys that spend exactly the cash differ from it by float rounding only.
    budget = cash * (1 + 1e-12)
    spent = total(qty)
    if spent <= budget:
        return qty
    scale = max(cash, 0.0) / spent
    for _ in range(100):
        fitted = _round_order(qty * scale, minimum, step)
        spent = total(fitted)
        if spent <= budget:
            return fitted
        scale *= min(0.995, cash / spent)
    return np.zeros_like(qty)


def _mark(cash: float, shares: np.ndarray, last_close: np.ndarray) -> float:
    held = shares > 0
    return cash + float((shares[held] * last_close[held]).sum())


def _ledger(day, idx, side, qty, price, amount, fee, duty, cost, reason, position_after) -> dict:
    return {"day": day, "idx": idx, "side": side, "shares": qty, "price": price, "amount": amount,
            "commission": fee, "stamp_duty": duty, "slippage_cost": cost, "reason": reason,
            "position_after": position_after.copy()}


TRADE_SCHEMA = {"trade_date": pl.Date, "code": pl.String, "side": pl.String, "shares": pl.Float64,
                "price": pl.Float64, "amount": pl.Float64, "commission": pl.Float64, "stamp_duty": pl.Float64,
                "slippage_cost": pl.Float64, "reason": pl.String, "position_after": pl.Float64}
BLOCKED_SCHEMA = {"trade_date": pl.Date, "code": pl.String, "side": pl.String, "shares": pl.Float64,
                  "reason": pl.String}


def _frame(parts: list[dict], p: _Panel, schema: dict) -> pl.DataFrame:
    if not parts:
        return pl.DataFrame(schema=schema)
    codes = np.asarray(p.codes, dtype=object)
    columns = {"trade_date": np.concatenate([np.full(len(x["idx"]), x["day"]) for x in parts]),
               "code": np.concatenate([codes[x["idx"]] for x in parts])}
    for name in schema:
        if name not in columns:
            columns[name] = np.concatenate([np.broadcast_to(x[name], len(x["idx"])) for x in parts])
    days = pl.Series(p.days, dtype=pl.Date)
    frame = pl.DataFrame({k: v for k, v in columns.items() if k != "trade_date"})
    frame = frame.with_columns(trade_date=days.gather(columns["trade_date"]))
    return frame.select([pl.col(k).cast(v) for k, v in schema.items()])


def _trades_frame(parts, p):
    return _frame(parts, p, TRADE_SCHEMA)


def _blocked_frame(parts, p):
    # A buy blocked before it could be sized (no bar to price it) has no share count.
    return _frame(parts, p, BLOCKED_SCHEMA).with_columns(pl.col("shares").fill_nan(None))
