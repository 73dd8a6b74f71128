"""Equity-curve pictures as PNG: the strategy's key and headline figures on top, its NAV beside the benchmark
(and any reference portfolios, such as heat_rotation's buy-and-hold of each index), the days in cash shaded, and
below both drawdowns, the strategy's and the benchmark's. `equity_texts` says in words what the picture shows.

Chinese labels: the CJK font, the filter of matplotlib's per-glyph "missing from font" warnings and the one
warning per run when the system has no CJK font all come from platform/fonts.py (`drawing()`).

Matplotlib is imported inside the functions that draw, not with this module: importing the package does not
pay for it. The figures are `matplotlib.figure.Figure`s on their own Agg canvas, not pyplot's: no global figure
manager to register with and close.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from sentiment_pipeline.platform.fonts import CJK_FONTS, MISSING_GLYPH, cjk_font, drawing  # noqa: F401 (re-exported)
# Fixed margins, in inches (tight_layout was a fifth of the chart's time): room for 4-character NAV ticks (0.05),
# the rotated label, the title and the year labels.
EQUITY_SIZE = (10, 6.4)
EQUITY_MARGINS = {"left": 0.76, "right": 0.15, "top": 0.8, "bottom": 0.39}
CASH_COLOR = "#e8e8e8"  # the days without positions, shaded on both panels
REFERENCE_COLORS = ("#2471a3", "#28b463", "#d68910", "#8e44ad", "#17a589", "#a04000")


def figure(width: float, height: float, dpi: float):
    """An empty figure on its own Agg canvas (no pyplot)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


@dataclass(frozen=True)
class EquityTexts:
    """What an equity picture says, in words: built from the strategy's row of backtest.runs."""

    title: str  # the strategy's Chinese title and its asset key
    figures: str  # the headline figures: annual return, max drawdown, Sharpe, period, source
    strategy_label: str
    benchmark_label: str
    strategy_drawdown_label: str
    benchmark_drawdown_label: str


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:+.1f}%"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def equity_texts(run: Mapping, key: str, title: str) -> EquityTexts:
    """`run`: the strategy's row of backtest.runs; `key`: its asset key ('backtest/stms_top_sw')."""
    kind = run["benchmark"].removeprefix("all_a ")  # official / simulated / computed
    source = run["source"] + (" (模拟市场)" if run["source"] == "synthetic" else "")
    return EquityTexts(
        title=f"{title}    {key}",
        figures=(f"年化 {_pct(run['annual_return'])}   最大回撤 {_pct(run['max_drawdown'])}   "
                 f"夏普 {_ratio(run['sharpe'])}   区间 {run['start_date']} → {run['end_date']} ({run['days']} 个交易日)   "
                 f"来源 {source}"),
        strategy_label=f"策略 (年化 {_pct(run['annual_return'])})",
        benchmark_label=f"全A基准 {kind} (年化 {_pct(run['benchmark_annual_return'])})",
        strategy_drawdown_label=f"策略回撤 (最大 {_pct(run['max_drawdown'])})",
        benchmark_drawdown_label=f"基准回撤 (最大 {_pct(run['benchmark_max_drawdown'])})")


def reference_label(run: Mapping, strategy: str) -> str:
    """A reference portfolio's legend entry: 'heat_rotation_hold_csi300' of heat_rotation → '持有 csi300 (年化 …)'."""
    name = run["strategy"].removeprefix(f"{strategy}_")
    name = f"持有 {name.removeprefix('hold_')}" if name.startswith("hold_") else name
    return f"{name} (年化 {_pct(run['annual_return'])})"


def cash_spans(nav: pl.DataFrame) -> list[tuple[dt.date, dt.date]]:
    """The stretches in cash: the first and last day of each run of closes without positions."""
    days = nav["trade_date"].to_list()
    cash = (nav["positions_value"] <= 0).to_list()
    spans, start = [], None
    for i, flat in enumerate([*cash, False]):
        if flat and start is None:
            start = i
        elif not flat and start is not None:
            spans.append((days[start], days[i - 1]))
            start = None
    return spans


def _shaded(days: list[dt.date], spans: list[tuple[dt.date, dt.date]]) -> list[tuple[float, float]]:
    """Each span as (x, width) in matplotlib's date numbers, from halfway after the trading day before it to
    halfway before the trading day after it: a single day in cash is a band around that day."""
    from matplotlib.dates import date2num

    x = date2num(days)
    index = {d: i for i, d in enumerate(days)}
    bands = []
    for first, last in spans:
        i, j = index[first], index[last]
        left = (x[i - 1] + x[i]) / 2 if i > 0 else x[i]
        right = (x[j] + x[j + 1]) / 2 if j + 1 < len(x) else x[j]
        bands.append((float(left), float(right - left)))
    return bands


def drawdown(values: pl.Series) -> pl.Series:
    """A NAV's fall from its running peak (≤ 0); null days carry the last value."""
    filled = values.fill_null(strategy="forward")
    return filled / filled.cum_max() - 1.0


def equity_figure(nav: pl.DataFrame, texts: EquityTexts, references: Sequence[tuple[str, pl.DataFrame]] = ()):
    """The picture as a matplotlib Figure (not saved). nav: trade_date, nav, positions_value, drawdown,
    benchmark_nav (backtest.nav's rows of the strategy); `references`: (label, nav rows) drawn beside it."""
    import matplotlib.ticker

    start = nav["nav"][0]
    width, height = EQUITY_SIZE
    fig = figure(width, height, dpi=100)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    m = EQUITY_MARGINS
    fig.subplots_adjust(left=m["left"] / width, right=1 - m["right"] / width, top=1 - m["top"] / height,
                        bottom=m["bottom"] / height, hspace=0.08)
    days = nav["trade_date"].to_list()
    spans = cash_spans(nav)
    x = _shaded(days, spans)
    # One collection per axis (a daily strategy has hundreds of cash stretches), beneath the lines.
    cash = [ax.broken_barh(x, (0, 1), transform=ax.get_xaxis_transform(), color=CASH_COLOR, linewidth=0,
                           label="空仓 (无持仓)", zorder=0) for ax in (top, bottom)][0]
    lines = top.plot(days, (nav["nav"] / start).to_list(), color="#c0392b", linewidth=1.4,
                     label=texts.strategy_label, zorder=3)
    has_benchmark = nav["benchmark_nav"].is_not_null().any()
    if has_benchmark:
        lines += top.plot(days, (nav["benchmark_nav"] / start).to_list(), color="#7f8c8d", linewidth=1.0,
                          label=texts.benchmark_label)
    for (label, rows), color in zip(references, REFERENCE_COLORS):
        lines += top.plot(rows["trade_date"].to_list(), (rows["nav"] / rows["nav"][0]).to_list(), color=color,
                          linewidth=0.9, alpha=0.9, label=label)
    top.axhline(1.0, color="#bbbbbb", linewidth=0.6)
    top.set_yscale("log")  # years of compounding: equal heights are equal returns
    plain = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}")  # 0.6, not 6 × 10⁻¹
    top.yaxis.set_major_formatter(plain)
    top.yaxis.set_minor_formatter(plain)
    fig.suptitle(texts.title, fontsize=13, y=1 - 0.12 / height, va="top")
    top.set_title(texts.figures, fontsize=10, color="#333333")
    top.set_ylabel("净值(起始 = 1,对数坐标)")
    top.legend(handles=[*lines, *([cash] if spans else [])], loc="upper left", fontsize=9, framealpha=0.85,
               edgecolor="none")
    top.grid(alpha=0.25)
    falls = [bottom.fill_between(days, (nav["drawdown"] * 100).to_list(), 0, color="#c0392b", alpha=0.35,
                                 label=texts.strategy_drawdown_label)]
    if has_benchmark:
        falls += bottom.plot(days, (drawdown(nav["benchmark_nav"]) * 100).to_list(), color="#555555",
                             linewidth=0.9, label=texts.benchmark_drawdown_label)
    bottom.set_ylabel("回撤 %")
    bottom.legend(handles=falls, loc="lower left", fontsize=8, ncol=2, framealpha=0.85, edgecolor="none")
    bottom.grid(alpha=0.25)
    return fig


def equity_chart(nav: pl.DataFrame, texts: EquityTexts, path: Path,
                 references: Sequence[tuple[str, pl.DataFrame]] = ()) -> Path:
    """Writes the equity picture (equity_figure) to `path` (PNG) and returns it."""
    with drawing():  # fonts.style(): the CJK font; one warning per run without one
        fig = equity_figure(nav, texts, references)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png")
    return path
