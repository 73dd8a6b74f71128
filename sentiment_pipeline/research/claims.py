"""Note 000's claims beside what a database's research tables give under our definitions.

    python -m sentiment_pipeline.research.claims [DATABASE]   # default: $SENTIMENT_DUCKDB_PATH

prints one Markdown row per claim: the claim, what was measured, and whether it holds by the stated test.
"""

from __future__ import annotations

import sys

import duckdb
import polars as pl

MIN_PHASE_DAYS = 5  # a phase seen on fewer days is not ranked
TOP = 3


def _read(conn, sql: str) -> pl.DataFrame:
    return pl.from_arrow(conn.execute(sql).to_arrow_table())


def _ranked(forward: pl.DataFrame, target: str, horizons: tuple[int, ...], by: str) -> list[str]:
    """Phases (Chinese names) by their mean `by` over the horizons, best first, among those with enough days."""
    part = forward.filter((pl.col("target") == target) & pl.col("horizon").is_in(list(horizons))
                          & (pl.col("days") >= MIN_PHASE_DAYS))
    if part.is_empty():
        return []
    means = part.group_by("phase_name").agg(pl.col(by).mean()).drop_nulls(by).sort(by, descending=True)
    return means["phase_name"].to_list()


def _place(names: list[str], ranking: list[str]) -> str:
    return ", ".join(f"{n} #{ranking.index(n) + 1}" if n in ranking else f"{n} –" for n in names) + \
        f" (of {len(ranking)})"


def _in_top(names: list[str], ranking: list[str], top: int = TOP) -> bool:
    return bool(ranking) and all(n in ranking[:top] for n in names)


def _in_upper_half(names: list[str], ranking: list[str]) -> bool:
    return bool(ranking) and all(n in ranking[: (len(ranking) + 1) // 2] for n in names)


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("holds" if ok else "does not hold")


def measure(conn: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    summary = {r["regime"]: r for r in _read(conn, "select * from research.regime_summary").iter_rows(named=True)}
    corr = _read(conn, "select * from research.rate_correlation")
    forward = _read(conn, "select * from research.phase_forward")
    path = _read(conn, "select phase_name, target, mean_cum_return, days from research.phase_path where day = 20")
    rows = []

    def add(claim: str, measured: str, ok: bool | None, test: str):
        rows.append({"claim": claim, "measured": measured, "test": test, "verdict": _verdict(ok)})

    def coef(regime: str, target: str, method: str = "pearson") -> dict | None:
        hit = corr.filter((pl.col("regime") == regime) & (pl.col("target") == target) & (pl.col("method") == method))
        return hit.row(0, named=True) if hit.height and hit["coefficient"][0] is not None else None

    def coef_text(c: dict | None) -> str:
        return "–" if c is None else f"r = {c['coefficient']:+.2f} (p = {c['p_value']:.2g}, n = {c['n']})"

    bull, range_, bear = summary.get("bull"), summary.get("range"), summary.get("bear")
    if bull:
        add("牛市最高连板普遍维持在 6 板左右", f"bull: mode {bull['height_mode']}, median {bull['height_median']:g}, "
            f"≥ 6 on {bull['share_height_ge6']:.0%} of {bull['days']} days", 5 <= bull["height_median"] <= 7,
            "median height 5–7")
        add("牛市晋级率多数超过 25%", f"bull: rate > 25% on {bull['share_rate_gt25']:.0%} of days, median "
            f"{bull['rate_median']:.1%}", bull["share_rate_gt25"] > 0.5, "more than half the days")
    others = [(n, r) for n, r in (("range", range_), ("bear", bear)) if r]
    if bull and others:
        add("震荡市和熊市最高连板多为 5 板,晋级率与高度整体低于牛市",
            "; ".join(f"{n}: mode {r['height_mode']}, median {r['height_median']:g}, rate median {r['rate_median']:.1%}"
                      for n, r in others),
            all(r["height_median"] <= bull["height_median"] and r["rate_median"] < bull["rate_median"]
                for _, r in others), "median height ≤ bull's and median rate < bull's")
    c_bull = coef("bull", "limit_up_next_day")
    add("牛市 T 期晋级率与涨停股 T+1 表现明显正相关", f"bull: {coef_text(c_bull)}",
        None if c_bull is None else c_bull["coefficient"] > 0 and c_bull["p_value"] < 0.05, "r > 0, p < 0.05")
    c_range, c_bear = coef("range", "limit_up_next_day"), coef("bear", "limit_up_next_day")
    add("该相关性在震荡市减弱,熊市基本消失", f"range: {coef_text(c_range)}; bear: {coef_text(c_bear)}",
        None if None in (c_bull, c_range, c_bear) else
        c_range["coefficient"] < c_bull["coefficient"] and (c_bear["p_value"] >= 0.05 or c_bear["coefficient"] <= 0),
        "range r < bull r; bear r ≤ 0 or p ≥ 0.05")
    all_a = [(r, coef(r, "all_a_next_day")) for r in ("bull", "range", "bear")]
    all_a = [(r, c) for r, c in all_a if c is not None]
    add("晋级率与次日全A涨跌均无显著相关", "; ".join(f"{r}: {coef_text(c)}" for r, c in all_a),
        None if not all_a else all(c["p_value"] >= 0.05 for _, c in all_a), "p ≥ 0.05 in every regime")
    strong = ["冰点低迷期", "混沌活跃期", "高潮分化期"]
    ranking = _ranked(forward, "limit_ups", (1,), "mean_return")
    add("冰点低迷期、混沌活跃期、高潮分化期的涨停股次日表现较好",
        "mean next-day return rank: " + _place(strong, ranking), _in_upper_half(strong, ranking) if ranking else None,
        "each in the upper half of phases")
    short = ["混沌活跃期", "冰点蓄势期"]
    ranking = _ranked(forward, "all_a", (1, 5), "win_rate")
    add("全A:混沌活跃期和冰点蓄势期短期占优", "win rate at 1 and 5 days, rank: " + _place(short, ranking),
        _in_top(short, ranking) if ranking else None, f"both in the top {TOP}")
    late = ["高潮亢奋期"]
    by_win = _ranked(forward, "all_a", (10, 20), "win_rate")
    by_odds = _ranked(forward, "all_a", (10, 20), "odds")
    add("全A:高潮亢奋期中长期胜率与赔率更佳",
        f"10/20 days, win rate rank: {_place(late, by_win)}; odds rank: {_place(late, by_odds)}",
        (_in_top(late, by_win) and _in_top(late, by_odds)) if by_win else None, f"top {TOP} by both")
    csi = ["主线加速期", "冰点蓄势期"]
    ranking = _ranked(forward, "csi2000", (1, 5), "win_rate")
    add("中证2000:主线加速期与冰点蓄势期短期胜率较高",
        "win rate at 1 and 5 days, rank: " + _place(csi, ranking) if ranking else "no CSI 2000 series stored",
        _in_top(csi, ranking) if ranking else None, f"both in the top {TOP}")
    paths = ["混沌降温期", "混沌拉锯期", "主线分歧期", "主线稳健期"]
    a20 = path.filter((pl.col("target") == "all_a") & (pl.col("days") >= MIN_PHASE_DAYS)).sort(
        "mean_cum_return", descending=True)["phase_name"].to_list()
    add("20 日平均走势:混沌降温期、混沌拉锯期、主线分歧期、主线稳健期较强",
        "all-A mean 20-day path, rank: " + _place(paths, a20), _in_upper_half(paths, a20) if a20 else None,
        "each in the upper half of phases")
    return pl.DataFrame(rows)


def markdown(table: pl.DataFrame) -> str:
    lines = ["| note 000 says | measured | test | verdict |", "|---|---|---|---|"]
    lines += [f"| {r['claim']} | {r['measured']} | {r['test']} | {r['verdict']} |" for r in table.iter_rows(named=True)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from sentiment_pipeline.platform.resources import database_path

    args = sys.argv[1:] if argv is None else argv
    with duckdb.connect(args[0] if args else database_path(), read_only=True) as conn:
        print(markdown(measure(conn)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
