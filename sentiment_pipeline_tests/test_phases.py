import polars as pl
import pytest

from sentiment_pipeline.ladder.phases import PHASE_CODES, classify_phases


def phase(height, rate, has_prev=True, prev_lu=10):
    df = pl.DataFrame({"trade_date": [None], "max_height": [height], "promotion_rate": [rate],
                       "has_previous_day": [has_prev], "prev_limit_up_count": [prev_lu]},
                      schema={"trade_date": pl.Date, "max_height": pl.Int32, "promotion_rate": pl.Float64,
                              "has_previous_day": pl.Boolean, "prev_limit_up_count": pl.Int32})
    r = classify_phases(df).row(0, named=True)
    return r["phase_code"], r["phase_name"], r["no_phase_reason"]


@pytest.mark.parametrize("height,band", [(2, "ice"), (3, "ice"), (4, "chaos"), (6, "chaos"), (7, "mainline"),
                                         (9, "mainline"), (10, "climax"), (15, "climax")])
@pytest.mark.parametrize("rate,rate_band", [(0.0, 0), (0.2499, 0), (0.25, 1), (0.4499, 1), (0.45, 2), (1.0, 2)])
def test_every_boundary(height, band, rate, rate_band):
    expected = {
        "ice": ("ice_slump", "ice_buildup", "ice_stirring"),
        "chaos": ("chaos_cooling", "chaos_tug_of_war", "chaos_active"),
        "mainline": ("mainline_divergence", "mainline_steady", "mainline_acceleration"),
        "climax": ("climax_fading", "climax_splitting", "climax_euphoria"),
    }[band][rate_band]
    code, name, reason = phase(height, rate)
    assert code == expected and reason is None and name


def test_chinese_names():
    assert phase(2, 0.1)[1] == "冰点低迷期"
    assert phase(5, 0.3)[1] == "混沌拉锯期"
    assert phase(8, 0.5)[1] == "主线加速期"
    assert phase(12, 0.3)[1] == "高潮分化期"
    assert len(set(PHASE_CODES)) == 12


def test_days_without_a_phase_say_why():
    assert phase(1, 0.3) == (None, None, "max_height_below_2")
    assert phase(0, None, prev_lu=0) == (None, None, "no_limit_up_previous_day")
    assert phase(5, None, has_prev=False, prev_lu=None) == (None, None, "previous_day_missing")
