"""Equity-curve pictures: NAV beside the benchmark, and the drawdown below, as PNG.

Chinese labels need a CJK font: the first of CJK_FONTS the system has (Debian: `apt-get install
fonts-noto-cjk`). Without one the chart is still drawn (the labels show as boxes) and matplotlib's per-glyph
"missing from font" warnings are silenced here; `cjk_font()` says so, so a caller can warn once.

Matplotlib is imported inside the functions that draw, not with this module: importing the package does not
pay for it. The figures are `matplotlib.figure.Figure`s on their own Agg canvas, not pyplot's: no global figure
manager to register with and close.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import polars as pl

CJK_FONTS = ("Noto Sans CJK SC", "Noto Serif CJK SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "SimHei",
             "Microsoft YaHei", "PingFang SC", "Source Han Sans SC")
# matplotlib's warning for each glyph no font has, at each draw: "Glyph 26368 (\N{CJK UNIFIED IDEOGRAPH-6700})
# missing from font(s) DejaVu Sans." (a regex, matched at the message's start).
MISSING_GLYPH = r"Glyph \d+ \(.*\) missing from font\(s\)"
# Fixed margins, in inches (tight_layout was a fifth of the chart's time): room for 4-character NAV ticks (0.05),
# the rotated label, the title and the year labels.
EQUITY_SIZE = (10, 6)
EQUITY_MARGINS = {"left": 0.76, "right": 0.15, "top": 0.38, "bottom": 0.39}


@cache
def cjk_font() -> str | None:
    """The CJK font the charts use, or None when the system has none."""
    from matplotlib import font_manager

    have = {f.name for f in font_manager.fontManager.ttflist}
    if not have & set(CJK_FONTS):
        # matplotlib caches its font list once: a font installed since (apt-get install fonts-noto-cjk, as the
        # warning advises) is not in it until the cache is rebuilt; add the CJK files it would have found.
        for path in font_manager.findSystemFonts():
            if "CJK" in path:
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        have = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in have), None)


@contextmanager
def drawing(style: dict):
    """rcParams `style` for the figures drawn inside, without the per-glyph warnings of a missing CJK font."""
    import matplotlib

    with warnings.catch_warnings(), matplotlib.rc_context(style):
        warnings.filterwarnings("ignore", message=MISSING_GLYPH, category=UserWarning)
        yield


def figure(width: float, height: float, dpi: float):
    """An empty figure on its own Agg canvas (no pyplot)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def equity_chart(nav: pl.DataFrame, title: str, path: Path, benchmark_label: str = "全A基准") -> Path:
    """nav: trade_date, nav, drawdown, benchmark_nav. Writes `path` (PNG) and returns it."""
    import matplotlib.ticker

    font = cjk_font()
    style = {"font.family": [font, "DejaVu Sans"] if font else ["DejaVu Sans"], "axes.unicode_minus": False}
    start = nav["nav"][0]
    width, height = EQUITY_SIZE
    with drawing(style):
        fig = figure(width, height, dpi=100)
        top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
        m = EQUITY_MARGINS
        fig.subplots_adjust(left=m["left"] / width, right=1 - m["right"] / width, top=1 - m["top"] / height,
                            bottom=m["bottom"] / height, hspace=0.08)
        days = nav["trade_date"].to_list()
        top.plot(days, (nav["nav"] / start).to_list(), color="#c0392b", linewidth=1.4, label="策略净值")
        if nav["benchmark_nav"].is_not_null().any():
            top.plot(days, (nav["benchmark_nav"] / start).to_list(), color="#7f8c8d", linewidth=1.0,
                     label=benchmark_label)
        top.axhline(1.0, color="#bbbbbb", linewidth=0.6)
        top.set_yscale("log")  # years of compounding: equal heights are equal returns
        plain = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}")  # 0.6, not 6 × 10⁻¹
        top.yaxis.set_major_formatter(plain)
        top.yaxis.set_minor_formatter(plain)
        top.set_title(title, fontsize=13)
        top.set_ylabel("净值(起始 = 1,对数坐标)")
        top.legend(loc="upper left", frameon=False)
        top.grid(alpha=0.25)
        bottom.fill_between(days, (nav["drawdown"] * 100).to_list(), 0, color="#2980b9", alpha=0.5)
        bottom.set_ylabel("回撤 %")
        bottom.grid(alpha=0.25)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png")
    return path
