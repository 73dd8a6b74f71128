"""The weekly review as a reader opens it: one self-contained HTML file per week (charts embedded as PNG, the
week itself shaded on them), and its Markdown summary (and charts) for the asset's metadata. Fonts: platform.fonts."""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import math

import numpy as np
import polars as pl

from sentiment_pipeline.backtest.charts import figure
from sentiment_pipeline.platform import fonts
from sentiment_pipeline.research.review import CrowdingGap

CHART_DAYS = 60
DPI = 90  # 810 px wide: the page's 860 px column shows it at about its own size
WIDTH = 9  # inches
# Phases coloured by height band (hue) and rate band (shade): 冰点 blue, 混沌 grey-green, 主线 orange, 高潮 red.
PHASE_COLOURS = {
    "冰点低迷期": "#9ecae1", "冰点蓄势期": "#4292c6", "冰点异动期": "#08519c",
    "混沌降温期": "#c7e9c0", "混沌拉锯期": "#74c476", "混沌活跃期": "#238b45",
    "主线分歧期": "#fdd0a2", "主线稳健期": "#fd8d3c", "主线加速期": "#d94801",
    "高潮衰退期": "#fcbba1", "高潮分化期": "#fb6a4a", "高潮亢奋期": "#a50f15",
}
NO_PHASE = "#d9d9d9"
WEEK_SHADE = "#fff2b3"  # the report's own week on the 60-day charts
ALL_A_SOURCES = {"official": "来自官方指数", "simulated": "来自模拟市场自身的指数(synthetic,非真实行情)",
                 "computed": "由个股行情计算(流通市值加权,无市值时等权)"}
CHART_TITLES = {"ladder": "连板高度与晋级率", "breadth": "涨跌家数与成交额", "crowding": "两融余额与拥挤度"}


def _style() -> dict:
    return fonts.style(**{"font.size": 9})


def _as_date(v):
    """A datetime (a timestamp column read back) as its date; anything else as it is."""
    return v.date() if isinstance(v, dt.datetime) else v


def _day(v) -> str:
    """A date as 2019-01-02 (a datetime too: no 00:00:00)."""
    if v is None:
        return "—"
    v = _as_date(v)
    return v.isoformat() if isinstance(v, dt.date) else str(v)[:10]


def _week_span(axes, days: list, week: tuple | None) -> None:
    """Shade the report's week (first and last day) on these axes, whose x is the day's position."""
    if week is None:
        return
    inside = [i for i, d in enumerate(days) if week[0] <= d <= week[1]]
    if inside:
        for ax in axes:
            ax.axvspan(inside[0] - 0.5, inside[-1] + 0.5, color=WEEK_SHADE, zorder=0, linewidth=0)


def _subplots(height: float, ncols: int = 1, *, left: float, right: float, top: float = 0.34, bottom: float = 0.36,
              gap: float = 0.0):
    """A WIDTH × height figure of `ncols` axes side by side, at fixed margins and `gap` between the axes (inches):
    no tight_layout, which took a fifth of a report (it lays every tick label out before the draw does it again).
    The margins are tight_layout's on these charts, with room for their widest tick labels (six digits)."""
    fig = figure(WIDTH, height, dpi=DPI)
    axis_width = (WIDTH - left - right - gap * (ncols - 1)) / ncols
    axes = fig.subplots(1, ncols, gridspec_kw={"left": left / WIDTH, "right": 1 - right / WIDTH,
                                               "top": 1 - top / height, "bottom": bottom / height,
                                               "wspace": gap / axis_width})
    return fig, axes


def _label_width(labels: list[str]) -> float:
    """The widest of these tick labels, in inches (in the font the axes use)."""
    import matplotlib
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path

    prop = FontProperties(size=matplotlib.rcParams["ytick.labelsize"])
    return max((text_to_path.get_text_width_height_descent(s, prop, ismath=False)[0] for s in labels), default=0) / 72


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return base64.b64encode(buffer.getvalue()).decode()


def _bars(ax, x: list[int], heights: pl.Series, colours, width: float = 0.85) -> None:
    """`ax.bar(x, heights, color=colours, width=width)` drawn as one PolyCollection instead of one Rectangle
    per day (the same pixels; 120 patches were an eighth of a report's time). A null height draws no bar."""
    from matplotlib.collections import PolyCollection

    h = heights.cast(pl.Float64).to_numpy()
    keep = ~np.isnan(h)
    left = np.asarray(x, dtype=float)[keep] - width / 2
    h = h[keep]
    zero = np.zeros_like(h)
    corners = np.stack([np.stack(c, axis=1) for c in ((left, zero), (left, h), (left + width, h),
                                                       (left + width, zero))], axis=1)
    colours = [c for c, k in zip(colours, keep) if k] if isinstance(colours, list) else colours
    bars = PolyCollection(corners, facecolors=colours, edgecolors="none", linewidths=0)
    bars.sticky_edges.y.append(0)  # as ax.bar: the y axis starts at 0, without a margin below
    ax.add_collection(bars)


def charts(days: pl.DataFrame, crowded: pl.DataFrame, week: tuple | None = None,
           crowding_gap: CrowdingGap | None = None) -> dict[str, str]:
    """days (the last 60 trading days): trade_date, max_height, promotion_rate, phase_name, up_count,
    down_count, total_amount, margin_balance; crowded: the week's top concepts (concept, crowding,
    crowding_change); week: its first and last day, shaded; crowding_gap: why there are no concepts
    (review.crowding_gap). Base64 PNGs by name."""
    from matplotlib.patches import Patch

    x = list(range(days.height))
    dates = [_as_date(d) for d in days["trade_date"]]
    week = None if week is None else tuple(_as_date(d) for d in week)
    labels = [d.strftime("%m-%d") for d in dates]
    ticks = x[:: max(1, len(x) // 8)]
    out = {}
    with fonts.drawing(_style()):
        present = [p for p in PHASE_COLOURS if p in set(days["phase_name"].drop_nulls())]
        legend_rows = math.ceil((len(present) + (week is not None)) / 6)  # below the axes, 6 to a row
        fig, ax = _subplots(3.6, left=0.57, right=0.65,  # right: room for "100" (%)
                            bottom=0.49 + 0.161 * legend_rows if legend_rows else 0.36)
        colours = [PHASE_COLOURS.get(p, NO_PHASE) for p in days["phase_name"].fill_null("")]
        _bars(ax, x, days["max_height"], colours)
        ax.set_ylabel("最高连板")
        rate_axis = ax.twinx()
        rate_axis.plot(x, (days["promotion_rate"] * 100).to_list(), color="#333333", linewidth=1.2, marker=".")
        rate_axis.axhline(25, color="#999999", linewidth=0.6, linestyle="--")
        rate_axis.axhline(45, color="#999999", linewidth=0.6, linestyle="--")
        rate_axis.set_ylabel("晋级率 %")
        _week_span([ax], dates, week)
        shade = [Patch(color=WEEK_SHADE, label="本周")] if week is not None else []
        ax.legend(handles=[Patch(color=PHASE_COLOURS[p], label=p) for p in present] + shade,
                  ncol=min(6, len(present) + len(shade) or 1),
                  fontsize=7, loc="upper center", frameon=False, bbox_to_anchor=(0.5, -0.1))
        ax.set_xticks(ticks, [labels[i] for i in ticks])
        ax.set_title("连板高度(柱,按情绪周期着色)与晋级率(线;虚线 25% / 45% 为情绪周期的晋级率分界)")
        out["ladder"] = _png(fig)

        fig, (breadth, amount) = _subplots(2.6, 2, left=0.54, right=0.14, gap=0.7)
        breadth.plot(x, days["up_count"].to_list(), color="#c0392b", label="上涨家数")
        breadth.plot(x, days["down_count"].to_list(), color="#27ae60", label="下跌家数")
        breadth.legend(frameon=False, fontsize=7)
        breadth.set_title("涨跌家数")
        _bars(amount, x, days["total_amount"] / 1e8, "#7f8c8d")
        amount.set_title("成交额(亿元)")
        for axis in (breadth, amount):
            axis.set_xticks(ticks[::2], [labels[i] for i in ticks[::2]])
        _week_span([breadth, amount], dates, week)
        out["breadth"] = _png(fig)

        names = crowded["concept"].to_list()[::-1]
        fig, (margin, concepts) = _subplots(2.6, 2, left=0.62, right=0.25, gap=max(0.7, _label_width(names) + 0.24))
        balance = days["margin_balance"]
        if balance.is_not_null().any():
            margin.plot(x, (balance / 1e8).to_list(), color="#8e44ad")
            margin.set_xticks(ticks[::2], [labels[i] for i in ticks[::2]])
            _week_span([margin], dates, week)
        else:
            margin.text(0.5, 0.5, "数据源无两融余额", ha="center", va="center", transform=margin.transAxes)
            margin.set_axis_off()
        margin.set_title("融资融券余额(亿元)")
        if crowded.height:
            margin_values = crowded["crowding"].to_list()[::-1]
            concepts.barh(names, margin_values, color="#e67e22")
            concepts.set_xlim(0, 100)
        else:
            concepts.text(0.5, 0.5, crowding_gap.label if crowding_gap else "无概念成交数据", ha="center",
                          va="center", transform=concepts.transAxes)
            concepts.set_axis_off()
        concepts.set_title("拥挤度最高的概念(近一年分位 %)")
        out["crowding"] = _png(fig)
    return out


def charts_markdown(images: dict[str, str]) -> str:
    """The charts as Markdown images (data URIs), for the UI's metadata."""
    return "\n\n".join(f"![{CHART_TITLES.get(name, name)}](data:image/png;base64,{data})"
                         for name, data in images.items())


def _money(v, unit=1e8, suffix="亿") -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v / unit:,.0f}{suffix}"


def _signed_money(v) -> str:
    return "—" if v is None else f"{v / 1e8:+,.0f}亿"


def _pct(v) -> str:
    return "—" if v is None else f"{v:+.2%}"


def _count(v, signed=False) -> str:
    return "—" if v is None else (f"{v:+,.0f}" if signed else f"{v:,.0f}")


def figure_rows(week: dict) -> list[tuple[str, str, str]]:
    """(label, value, change on the previous week) for the review's figures."""
    return [
        ("全A涨跌幅", _pct(week["all_a_return"]),
         "—" if week["all_a_return_change"] is None else f"{week['all_a_return_change'] * 100:+.2f} 个百分点"),
        ("日均成交额", _money(week["avg_amount"]), _signed_money(week["avg_amount_change"])),
        ("日均上涨家数", _count(week["avg_up_count"]), _count(week["avg_up_count_change"], True)),
        ("日均涨停家数", _count(week["avg_limit_up_count"]), _count(week["avg_limit_up_count_change"], True)),
        ("主力净流入(周合计)", _signed_money(week["main_net_flow"]), _signed_money(week["main_net_flow_change"])),
        ("两融余额(周末)", _money(week["margin_balance"]), _signed_money(week["margin_balance_change"])),
    ]


FULL_WEEK_DAYS = 5


def short_week_note(week: dict) -> str | None:
    """A week shorter than five trading days (a holiday week) is not comparable with a full one: say so."""
    n = week["trading_days"]
    if n is None or n >= FULL_WEEK_DAYS:
        return None
    return (f"本周仅 {n} 个交易日(节假日):全A涨跌幅与主力净流入(周合计)按 {n} 日计,与上周的比较口径不同。")


def crowding_window_text(crowded: pl.DataFrame) -> str:
    """The window the shown percentiles really span: the trailing 52 weeks, or fewer while history is short."""
    weeks = (int(crowded["window_weeks"].max()) if crowded.height and "window_weeks" in crowded.columns
             and crowded["window_weeks"].max() is not None else None)
    return f"近 {weeks} 周(上限 52 周)" if weeks and weeks < 52 else "近 52 周"


def tie_note(week_crowding: pl.DataFrame, shown: int) -> str | None:
    """When more concepts share the last shown crowding value than fit in the top `shown`, say how the cut was
    made (by rank: the turnover share breaks the tie) instead of letting it look like a ranking. week_crowding:
    the week's concepts with rank and crowding."""
    ranked = week_crowding.filter(pl.col("rank").is_not_null())
    top = ranked.filter(pl.col("rank") <= shown)
    if top.height < shown:
        return None
    last = top["crowding"].min()
    tied = ranked.filter(pl.col("crowding") == last).height
    inside = top.filter(pl.col("crowding") == last).height
    if tied <= inside:
        return None
    return f"拥挤度 {last:.0f} 并列 {tied} 个概念,按成交占比取其中 {inside} 个列入前 {shown}。"


def look_ahead_note(week_end, first_snapshot) -> str | None:
    """The line a week's concepts carry when their membership snapshot postdates the week."""
    if first_snapshot is None or _as_date(week_end) >= _as_date(first_snapshot):
        return None
    return f"概念成分取自 {_day(first_snapshot)} 的快照,晚于本周:含前视与幸存者偏差(look-ahead),不作为证据。"


def markdown(week: dict, crowded: pl.DataFrame, path: str | None, concept_note: str | None = None,
             crowding_gap: CrowdingGap | None = None) -> str:
    """The week at a glance, for the UI."""
    lines = [f"**{_day(week['week_start'])} 周** (交易日 {week['trading_days']},至 {_day(week['week_end'])})", "",
             "| 指标 | 本周 | 较上周 |", "|---|---|---|"]
    lines += [f"| {label} | {value} | {change} |" for label, value, change in figure_rows(week)]
    lines += ["", short_week_note(week)] if short_week_note(week) else []
    lines += ["", f"情绪周期:{week['phases'] or '—'};最高连板 {_count(week['max_height'])}"]
    if crowded.height:
        lines += ["", "拥挤度前五的概念:" + " · ".join(
            f"{c} {v:.0f}" + ("" if d is None else f" ({d:+.0f})")
            for c, v, d in crowded.select("concept", "crowding", "crowding_change").iter_rows())]
        lines += [concept_note] if concept_note else []
    else:
        lines += ["", f"拥挤度:{crowding_gap.text if crowding_gap else '本周无拥挤度。'}"]
    if path:
        lines += ["", f"报告:`{path}`"]
    return "\n".join(lines)


def html_report(week: dict, crowded: pl.DataFrame, days: pl.DataFrame, all_a_source: str,
                concept_note: str | None = None, crowding_gap: CrowdingGap | None = None,
                images: dict[str, str] | None = None) -> str:
    """The self-contained page: figures, phases, crowded concepts (or why there are none) and the charts
    (`images`: charts()'s, drawn here when not given)."""
    if images is None:
        images = charts(days, crowded, (week["week_start"], week["week_end"]), crowding_gap)
    e = html.escape
    start, end = _day(week["week_start"]), _day(week["week_end"])
    rows = "".join(f'<tr><td>{e(a)}</td><td class="n">{e(b)}</td><td class="n">{e(c)}</td></tr>'
                   for a, b, c in figure_rows(week))
    concept_rows = "".join(
        f'<tr><td>{r}</td><td>{e(c)}</td><td class="n">{s:.2%}</td><td class="n">{v:.0f}</td>'
        f'<td class="n">{"—" if d is None else f"{d:+.0f}"}</td></tr>'
        for r, c, s, v, d in crowded.select("rank", "concept", "amount_share", "crowding", "crowding_change").iter_rows())
    image = "".join(f'<img alt="{e(CHART_TITLES.get(name, name))}" src="data:image/png;base64,{data}">'
                    for name, data in images.items())
    if crowded.height:
        concepts = ('<table><tr><th>#</th><th>概念</th><th>成交占比</th><th>拥挤度</th><th>较上周</th></tr>'
                    f'{concept_rows}</table>' + (f'<p class="sub"><b>{e(concept_note)}</b></p>' if concept_note else ''))
    else:
        concepts = f'<p class="gap">{e(crowding_gap.text if crowding_gap else "本周无拥挤度。")}</p>'
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>市场周报 {start}</title>
<style>
body {{ font-family: "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif; margin: 24px auto;
       max-width: 860px; color: #222; }}
h1 {{ font-size: 22px; margin-bottom: 4px; }} .sub {{ color: #666; margin-top: 0; }}
table {{ border-collapse: collapse; margin: 8px 0 16px; }} td, th {{ padding: 4px 12px; border-bottom: 1px solid #e5e5e5; }}
th {{ text-align: left; background: #f6f6f6; }} td.n {{ text-align: right; }}
img {{ width: 100%; margin: 6px 0; }} .phase {{ font-size: 16px; }}
.gap {{ background: #f6f6f6; border-left: 3px solid #e67e22; padding: 6px 10px; }}
.week {{ background: #fff2b3; padding: 0 4px; }}
</style></head><body>
<h1>A股市场周报 · {start} 周</h1>
<p class="sub">{week['trading_days']} 个交易日,{start} 至 {end};全A收益{ALL_A_SOURCES.get(all_a_source, ALL_A_SOURCES['computed'])}</p>
<p class="phase">本周情绪周期:<b>{e(week['phases'] or '无')}</b>;最高连板 <b>{_count(week['max_height'])}</b></p>
<table><tr><th>指标</th><th>本周</th><th>较上周</th></tr>{rows}</table>
{f'<p class="gap">{e(short_week_note(week))}</p>' if short_week_note(week) else ''}
<h2>拥挤度最高的五个概念</h2>
{concepts}
<h2>近 {days.height} 个交易日 <span class="sub" style="font-size:14px;font-weight:normal">(<span class="week">黄色底纹</span>为本周)</span></h2>
{image}
<p class="sub">拥挤度:概念成交额占全市场之比在其自身{crowding_window_text(crowded)}中的分位(0–100)。情绪周期见 domain.md §3。</p>
</body></html>
"""
