"""The 12 sentiment phases of note 000 (domain.md §3): height band × promotion-rate band."""

from __future__ import annotations

import polars as pl

RATE_LOW_BELOW = 0.25  # rate < 0.25 → low band
RATE_HIGH_FROM = 0.45  # rate ≥ 0.45 → high band

# (height band, rate band) → (code, Chinese name). Height bands: 2–3, 4–6, 7–9, ≥10.
PHASES: dict[tuple[str, str], tuple[str, str]] = {
    ("ice", "low"): ("ice_slump", "冰点低迷期"),
    ("ice", "mid"): ("ice_buildup", "冰点蓄势期"),
    ("ice", "high"): ("ice_stirring", "冰点异动期"),
    ("chaos", "low"): ("chaos_cooling", "混沌降温期"),
    ("chaos", "mid"): ("chaos_tug_of_war", "混沌拉锯期"),
    ("chaos", "high"): ("chaos_active", "混沌活跃期"),
    ("mainline", "low"): ("mainline_divergence", "主线分歧期"),
    ("mainline", "mid"): ("mainline_steady", "主线稳健期"),
    ("mainline", "high"): ("mainline_acceleration", "主线加速期"),
    ("climax", "low"): ("climax_fading", "高潮衰退期"),
    ("climax", "mid"): ("climax_splitting", "高潮分化期"),
    ("climax", "high"): ("climax_euphoria", "高潮亢奋期"),
}
PHASE_CODES = tuple(code for code, _ in PHASES.values())
PHASE_NAMES = dict(PHASES.values())


def classify_phases(daily: pl.DataFrame) -> pl.DataFrame:
    """Per day: phase_code, phase_name, or the reason there is none.

    Needs trade_date, max_height, promotion_rate, has_previous_day, prev_limit_up_count.
    """
    h, r = pl.col("max_height"), pl.col("promotion_rate")
    height_band = (
        pl.when(h >= 10).then(pl.lit("climax"))
        .when(h >= 7).then(pl.lit("mainline"))
        .when(h >= 4).then(pl.lit("chaos"))
        .when(h >= 2).then(pl.lit("ice"))
    )
    rate_band = (
        pl.when(r >= RATE_HIGH_FROM).then(pl.lit("high"))
        .when(r >= RATE_LOW_BELOW).then(pl.lit("mid"))
        .when(r.is_not_null()).then(pl.lit("low"))
    )
    no_phase_reason = (
        pl.when(~pl.col("has_previous_day")).then(pl.lit("previous_day_missing"))
        .when(pl.col("prev_limit_up_count") == 0).then(pl.lit("no_limit_up_previous_day"))
        .when(h < 2).then(pl.lit("max_height_below_2"))
        .otherwise(pl.lit(None, pl.String))
    )
    key = pl.concat_str(height_band, pl.lit("/"), rate_band)
    codes = {f"{hb}/{rb}": code for (hb, rb), (code, _) in PHASES.items()}
    names = {f"{hb}/{rb}": name for (hb, rb), (_, name) in PHASES.items()}
    out = daily.with_columns(no_phase_reason=no_phase_reason, _key=key)
    has_phase = pl.col("no_phase_reason").is_null()
    return out.select(
        "trade_date",
        "max_height",
        "promotion_rate",
        pl.when(has_phase).then(pl.col("_key").replace_strict(codes, default=None)).alias("phase_code"),
        pl.when(has_phase).then(pl.col("_key").replace_strict(names, default=None)).alias("phase_name"),
        "no_phase_reason",
    ).sort("trade_date")
