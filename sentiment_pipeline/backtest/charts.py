"""Equity-curve pictures: NAV beside the benchmark, and the drawdown below, as PNG.

Chinese labels need a CJK font: the first of CJK_FONTS the system has (Debian: `apt-get install
fonts-noto-cjk`). Without one the chart is still drawn, and `cjk_font()` says so, so a caller can warn.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: files only

import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import polars as pl  # noqa: E402
from matplotlib import font_manager  # noqa: E402

CJK_FONTS = ("Noto Sans CJK SC", "Noto Serif CJK SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "SimHei",
             "Microsoft YaHei", "PingFang SC", "Source Han Sans SC")


@cache
def cjk_font() -> str | None:
    """The CJK font the charts use, or None when the system has none."""
    have = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in have), None)


def equity_chart(nav: pl.DataFrame, title: str, path: Path, benchmark_label: str = "全A基准") -> Path:
    """nav: trade_date, nav, drawdown, benchmark_nav. Writes `path` (PNG) and returns it."""
    font = cjk_font()
    style = {"font.family": [font, "DejaVu Sans"] if font else ["DejaVu Sans"], "axes.unicode_minus": False}
    start = nav["nav"][0]
    with plt.rc_context(style):
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True,
                                          gridspec_kw={"height_ratios": [3, 1]}, dpi=100)
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
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png")
        plt.close(fig)
    return path
