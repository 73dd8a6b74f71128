"""validate(): the model's verdict and pandera's failure report, each failure named with its rows, whether the quick
check passes the frame or pandera names the failures."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from pandera.config import ValidationDepth, config_context
from pandera.errors import SchemaErrors

from sentiment_pipeline.heat.tables import StockHeatDaily
from sentiment_pipeline.ladder.tables import LimitLadder
from sentiment_pipeline.market.tables import RawDailyQuotes
from sentiment_pipeline.platform.validation import validate
from sentiment_pipeline.research.tables import RegimeDistribution

DAY = dt.date(2019, 3, 5)
ROW = "row: trade_date=2019-03-05 code="


def quotes() -> pl.DataFrame:
    return pl.DataFrame({
        "trade_date": [DAY] * 4, "code": ["600000", "600001", "600002", "600003"],
        "open": [10.0, 20.0, 30.0, 40.0], "high": [11.0, 21.0, 31.0, 41.0], "low": [9.0, 19.0, 29.0, 39.0],
        "close": [10.5, 20.5, 30.5, 40.5], "pre_close": [10.0, 20.0, None, 40.0], "volume": [100, 200, None, 400],
        "amount": [1e3, 2e3, 3e3, 4e3], "turnover_rate": [0.01, None, 0.03, 0.04], "float_mcap": [1e9, 2e9, 3e9, 4e9],
        "is_st": [False, None, False, True]}, schema_overrides={"volume": pl.Int64})


def _set(df: pl.DataFrame, column: str, row: int, value) -> pl.DataFrame:
    values = df[column].to_list()
    values[row] = value
    return df.with_columns(pl.Series(column, values, dtype=df.schema[column]))


def _failures(df: pl.DataFrame, model=RawDailyQuotes, table="raw.daily_quotes") -> list[tuple]:
    report = validate(df, model, table, "2019-03-05")
    assert not report.passed
    return [(r["column"], r["check"], r["failure_case"], r["index"], r.get("trade_date"), r.get("code"))
            for r in report.failures.iter_rows(named=True)]


def _pandera_report(df: pl.DataFrame, model) -> pl.DataFrame:
    """The report as pandera alone makes it (the whole model, row key included): what validate() must give."""
    try:
        model.validate(df, lazy=True)
        return pl.DataFrame()
    except SchemaErrors as err:
        cases = err.failure_cases.with_columns(pl.col("failure_case").cast(pl.String), pl.col("index").cast(pl.Int64))
        keys = [k for k in ("trade_date", "code") if k in df.columns]
        rows = df.select(keys).with_row_index("index").with_columns(pl.col("index").cast(pl.Int64))
        return cases.join(rows, on="index", how="left").select("column", "check", "failure_case", "index", *keys)


def _json(row: dict) -> str:
    return pl.DataFrame([row], schema=quotes().schema).select(pl.struct(pl.all()).struct.json_encode()).item()


def test_a_valid_frame_passes():
    report = validate(quotes(), RawDailyQuotes, "raw.daily_quotes", "2019-03-05")
    assert report.passed and report.rows == 4 and report.failures.height == 0


def test_a_valid_frame_is_passed_without_running_pandera(monkeypatch):
    import pandera.polars as pa

    def pandera_runs(*args, **kwargs):
        raise AssertionError("pandera ran on a valid frame")

    monkeypatch.setattr(pa.DataFrameSchema, "validate", pandera_runs)
    assert validate(quotes(), RawDailyQuotes, "raw.daily_quotes", "2019-03-05").passed
    with pytest.raises(AssertionError, match="pandera ran"):
        validate(_set(quotes(), "close", 1, -1.0), RawDailyQuotes, "raw.daily_quotes", "2019-03-05")


def test_an_empty_frame_passes():
    assert validate(quotes().clear(), RawDailyQuotes, "raw.daily_quotes", "2019-03-05").passed


def test_a_duplicate_key_names_both_rows():
    df = pl.concat([quotes(), quotes()[3:4]])
    case = _json(quotes().row(3, named=True))
    assert _failures(df) == [("raw.daily_quotes", "multiple_fields_uniqueness", case, 3, DAY, "600003"),
                             ("raw.daily_quotes", "multiple_fields_uniqueness", case, 4, DAY, "600003")]
    message = validate(df, RawDailyQuotes, "raw.daily_quotes", "2019-03-05").message()
    assert message.startswith("raw.daily_quotes failed validation for partition(s) 2019-03-05: 2 failure(s)")
    assert message.count(f"check=multiple_fields_uniqueness value={case[:40]}") == 2
    assert message.count(f"{ROW}600003") == 2


def test_a_duplicate_key_with_different_values_is_still_a_duplicate():
    df = pl.concat([quotes(), _set(quotes(), "close", 1, 20.25)[1:2]])
    assert [f[1:2] + f[3:] for f in _failures(df)] == [("multiple_fields_uniqueness", 1, DAY, "600001"),
                                                       ("multiple_fields_uniqueness", 4, DAY, "600001")]


def test_a_null_or_nan_in_a_non_nullable_column():
    df = _set(_set(quotes(), "close", 0, None), "open", 2, float("nan"))
    # NaN orders above every number, so the open also breaks low <= open <= high (JSON writes NaN as null)
    assert _failures(df) == [("open", "not_nullable", "NaN", 2, DAY, "600002"),
                             ("close", "not_nullable", None, 0, DAY, "600000"),
                             ("raw.daily_quotes", "low <= open, close <= high", _json(df.row(2, named=True)), 2, DAY,
                              "600002")]
    assert '"open":null' in _json(df.row(2, named=True))
    message = validate(df, RawDailyQuotes, "raw.daily_quotes", "2019-03-05").message()
    assert f"  column=open check=not_nullable value=NaN {ROW}600002" in message
    assert f"  column=close check=not_nullable value=None {ROW}600000" in message


def test_a_nan_in_a_nullable_column_fails_its_check():
    assert _failures(_set(quotes(), "amount", 1, float("nan"))) == [
        ("amount", "NaN (a missing value must be null)", "NaN", 1, DAY, "600001")]


def test_an_out_of_range_value():
    df = _set(quotes(), "volume", 1, -5)
    assert _failures(df) == [("volume", "greater_than_or_equal_to(0)", "-5", 1, DAY, "600001")]
    assert (f"  column=volume check=greater_than_or_equal_to(0) value=-5 {ROW}600001"
            in validate(df, RawDailyQuotes, "raw.daily_quotes", "2019-03-05").message())


def test_a_value_outside_the_allowed_set_and_a_malformed_code():
    df = quotes().select(list(LimitLadder.to_schema().columns)[:2]).with_columns(
        is_st=pl.lit(False), listing_age=pl.lit(10, pl.Int32), is_limit_up=pl.Series([True, False, False, False]),
        is_broken=pl.lit(False), is_limit_down=pl.lit(False), pct_change=pl.lit(0.01),
        streak=pl.Series([1, 0, 0, 0], dtype=pl.Int32), in_opening_run=pl.lit(False), eligible=pl.lit(True),
        exclusion_reason=pl.lit(None, pl.String))
    assert validate(df, LimitLadder, "sentiment.limit_ladder", "2019-03-05").passed
    df = _set(_set(df, "exclusion_reason", 2, "delisted"), "code", 3, "60003")
    assert _failures(df, LimitLadder, "sentiment.limit_ladder") == [
        ("code", "str_matches('^\\d{6}$')", "60003", 3, DAY, "60003"),
        ("exclusion_reason", "isin(['st', 'new_listing', 'st+new_listing'])", "delisted", 2, DAY, "600002")]


def test_a_failing_dataframe_check_names_its_rows():
    df = _set(quotes(), "high", 3, 40.0)  # close 40.5 above the high
    case = _json(df.row(3, named=True))
    assert _failures(df) == [("raw.daily_quotes", "low <= open, close <= high", case, 3, DAY, "600003")]


def test_a_failing_dataframe_check_over_days():
    df = pl.DataFrame({"trade_date": [DAY, DAY, DAY + dt.timedelta(days=1)], "code": ["600000", "600001", "600000"],
                       "heat_raw": [1.0, 3.0, 2.0], "heat": [2500.0, 7500.0, 9000.0], "components": ["x"] * 3})
    assert _failures(df, StockHeatDaily, "heat.stock_daily") == [
        ("heat.stock_daily", "heat sums to 10,000 per day",
         '{"trade_date":"2019-03-06","code":"600000","heat_raw":2.0,"heat":9000.0,"components":"x"}',
         2, DAY + dt.timedelta(days=1), "600000")]


def test_every_failure_at_once_in_pandera_order():
    df = _set(_set(_set(quotes(), "close", 0, None), "close", 1, -20.5), "pre_close", 3, float("nan"))
    df = pl.concat([_set(df, "high", 3, 40.0), df[1:2]])
    got = _failures(df)
    assert [f[:2] + f[3:] for f in got] == [
        ("raw.daily_quotes", "multiple_fields_uniqueness", 1, DAY, "600001"),
        ("raw.daily_quotes", "multiple_fields_uniqueness", 4, DAY, "600001"),
        ("close", "not_nullable", 0, DAY, "600000"),
        ("close", "greater_than(0)", 1, DAY, "600001"),
        ("close", "greater_than(0)", 4, DAY, "600001"),
        ("pre_close", "NaN (a missing value must be null)", 3, DAY, "600003"),
        ("raw.daily_quotes", "low <= open, close <= high", 1, DAY, "600001"),
        ("raw.daily_quotes", "low <= open, close <= high", 3, DAY, "600003"),
        ("raw.daily_quotes", "low <= open, close <= high", 4, DAY, "600001")]
    assert validate(df, RawDailyQuotes, "raw.daily_quotes", "2019-03-05").message().startswith(
        "raw.daily_quotes failed validation for partition(s) 2019-03-05: 9 failure(s)")


@pytest.mark.parametrize("broken", [
    lambda df: df,
    lambda df: df.clear(),
    lambda df: pl.concat([df, df[0:1], df[0:1]]),
    lambda df: _set(df, "close", 2, 0.0),
    lambda df: _set(df, "is_st", 0, None),  # nullable: passes
    lambda df: _set(df, "turnover_rate", 0, float("nan")),
    lambda df: df.with_columns(extra=pl.lit(1)),  # strict
    lambda df: df.drop("amount"),
    lambda df: df.with_columns(pl.col("volume").cast(pl.Int32)),  # wrong type
    lambda df: df.with_columns(pl.col("trade_date").cast(pl.String)),
    lambda df: pl.concat([_set(df, "low", 1, 25.0), df[2:3]]),
], ids=["valid", "empty", "triplicate", "zero_close", "null_ok", "nan", "extra_column", "missing_column",
        "wrong_type", "string_date", "low_above_high_and_duplicate"])
def test_the_report_is_pandera_s(broken):
    df = broken(quotes())
    report = validate(df, RawDailyQuotes, "raw.daily_quotes", "2019-03-05")
    expected = _pandera_report(df, RawDailyQuotes)
    assert report.passed == (expected.height == 0)
    assert report.failures.equals(expected, null_equal=True), (report.failures, expected)


def test_a_float_key_counts_zero_and_minus_zero_as_one_value():
    def frame(lows):
        return pl.DataFrame({"regime": "all", "measure": "promotion_rate", "bucket_low": lows, "bucket": "0–5%",
                             "days": pl.Series([1] * len(lows), dtype=pl.Int32), "share": 0.5,
                             "source": "synthetic", "period_start": DAY, "period_end": DAY})
    assert validate(frame([0.0, 0.05]), RegimeDistribution, "research.regime_distribution", "all").passed
    duplicate = frame([0.0, -0.0])
    report = validate(duplicate, RegimeDistribution, "research.regime_distribution", "all")
    assert report.failures["check"].to_list() == ["multiple_fields_uniqueness"] * 2
    assert report.failures["index"].to_list() == [0, 1]
    assert report.failures.equals(_pandera_report(duplicate, RegimeDistribution))


def test_a_validation_depth_set_for_pandera_is_pandera_s_to_apply():
    df = _set(quotes(), "close", 1, -1.0)
    with config_context(validation_depth=ValidationDepth.SCHEMA_ONLY):
        assert validate(df, RawDailyQuotes, "raw.daily_quotes", "2019-03-05").passed
    assert not validate(df, RawDailyQuotes, "raw.daily_quotes", "2019-03-05").passed
