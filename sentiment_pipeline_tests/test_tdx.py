"""The TongDaXin folder source on a hand-made `vipdoc`: stock bars and the index files."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from sentiment_pipeline.sources.tdx import DAY_RECORD, TdxSource

from .conftest import REAL_DATA


def write_day(path, rows):
    """rows: (yyyymmdd, open, high, low, close in CNY, amount, volume)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    records = np.array([(d, round(o * 100), round(h * 100), round(lo * 100), round(c * 100), a, v, 0)
                        for d, o, h, lo, c, a, v in rows], dtype=DAY_RECORD)
    records.tofile(path)


@pytest.fixture
def vipdoc(tmp_path):
    root = tmp_path / "vipdoc"
    write_day(root / "sh" / "lday" / "sh600000.day", [(20190102, 10, 10.5, 9.9, 10.2, 1e8, 1e7),
                                                      (20190103, 10.2, 11.22, 10.1, 11.22, 2e8, 2e7)])
    write_day(root / "sh" / "lday" / "sh000001.day", [(20190102, 2497.88, 2500.28, 2456.42, 2465.29, 9.76e10, 1),
                                                      (20190103, 2461.78, 2488.48, 2455.93, 2464.36, 1.07e11, 1)])
    write_day(root / "sh" / "lday" / "sh000300.day", [(20190103, 2994.0, 3018.0, 2986.0, 2964.84, 8e10, 1)])
    write_day(root / "sz" / "lday" / "sz399001.day", [(20190102, 7000, 7100, 6900, 7050, 1e11, 1)])  # not read
    return root


def test_index_files_become_index_daily_with_the_previous_close(vipdoc):
    source = TdxSource(vipdoc_dir=str(vipdoc))
    assert source.provides("index_daily")
    indexes = source.index_daily(dt.date(2019, 1, 3), dt.date(2019, 1, 3)).sort("index_code")
    assert indexes.select("index_code", "index_name").rows() == [("000001", "上证指数"), ("000300", "沪深300")]
    assert indexes["close"].to_list() == [2464.36, 2964.84]
    # The previous record's close, also when it lies before the requested range; none for a first record.
    assert indexes["pre_close"].to_list() == [2465.29, None]
    assert indexes["amount"][0] == pytest.approx(1.07e11, rel=1e-6)
    # The stock bars do not include the index files.
    assert source.daily_quotes(dt.date(2019, 1, 2), dt.date(2019, 1, 3))["code"].unique().to_list() == ["600000"]


def test_a_folder_without_index_files_gives_an_empty_index_table(tmp_path):
    root = tmp_path / "vipdoc"
    write_day(root / "sz" / "lday" / "sz000001.day", [(20190102, 10, 10.5, 9.9, 10.2, 1e8, 1e7)])
    assert TdxSource(vipdoc_dir=str(root)).index_daily(dt.date(2019, 1, 2), dt.date(2019, 1, 2)).height == 0


@pytest.mark.skipif(not (REAL_DATA / "tdx" / "vipdoc").is_dir(), reason="../shared/data/real is absent")
def test_the_real_folder_has_four_indexes_and_no_csi_2000():
    indexes = TdxSource(vipdoc_dir=str(REAL_DATA / "tdx" / "vipdoc")).index_daily(dt.date(2019, 1, 2),
                                                                                  dt.date(2023, 2, 24))
    counts = dict(indexes.group_by("index_code").len().iter_rows())
    assert counts == {"000001": 1006, "000300": 1006, "000905": 1006, "000852": 1006}
    first = indexes.filter(indexes["index_code"] == "000001").sort("trade_date").row(0, named=True)
    assert (first["trade_date"], first["close"]) == (dt.date(2019, 1, 2), 2465.29)
    assert first["pre_close"] is not None  # from the 2018 record before it
