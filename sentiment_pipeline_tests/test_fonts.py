"""The charts' CJK font (platform/fonts.py): Chinese labels drawn without a missing glyph, a font installed after
matplotlib cached its font list found all the same, and without any CJK font one warning per run, no flood."""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
import sys
import warnings

import dagster as dg
import polars as pl
import pytest

from sentiment_pipeline.platform import calendar, fonts
from sentiment_pipeline.research import report

MISSING = "missing from font"


def _days(n: int = 30) -> pl.DataFrame:
    dates = [d for d in calendar.trading_days() if d >= dt.date(2019, 1, 2)][:n]
    return pl.DataFrame({"trade_date": dates, "max_height": [i % 9 for i in range(n)],
                         "promotion_rate": [0.2 + (i % 4) / 10 for i in range(n)],
                         "phase_name": ["主线稳健期" if i % 2 else "混沌拉锯期" for i in range(n)],
                         "up_count": list(range(n)), "down_count": list(range(n)), "total_amount": [1e12] * n,
                         "margin_balance": [8e11 + i for i in range(n)]})


CROWDED = pl.DataFrame({"rank": [1, 2], "concept": ["人工智能", "芯片"], "amount_share": [0.05, 0.04],
                        "crowding": [98.0, 90.0], "crowding_change": [None, 3.0]})


def _glyph_warnings(caught) -> list[str]:
    return [str(w.message) for w in caught if MISSING in str(w.message)]


def test_a_chart_with_chinese_labels_records_no_missing_glyph_warning():
    """The report's charts (real renders), and a figure drawn with fonts.style() alone, without the filter that
    drawing() adds: the CJK font has every glyph."""
    if fonts.cjk_font() is None:
        pytest.skip(f"no CJK font on this system ({fonts.install_hint()})")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        images = report.charts(_days(), CROWDED, (dt.date(2019, 2, 11), dt.date(2019, 2, 15)))
    assert set(images) == {"ladder", "breadth", "crowding"} and not _glyph_warnings(caught)

    import matplotlib

    from sentiment_pipeline.backtest.charts import figure

    with warnings.catch_warnings(record=True) as caught, matplotlib.rc_context(fonts.style()):
        warnings.simplefilter("always")
        fig = figure(4, 2, dpi=50)
        ax = fig.subplots()
        ax.set_title("连板高度与晋级率 · 拥挤度最高的概念")
        ax.plot([1, 2], [3, 4], label="上涨家数")
        ax.legend()
        fig.canvas.draw()
    assert not _glyph_warnings(caught)


def test_a_font_installed_after_matplotlib_cached_its_list_is_found(tmp_path):
    """matplotlib's cached font list (in a fresh MPLCONFIGDIR) is written without the system's CJK fonts, as if
    they were installed after it was built: a new process reads that list, and fonts.cjk_font() still finds
    one, and rewrites the cache so that the next process has it."""
    files = fonts.cjk_files()
    if not files:
        pytest.skip(f"no CJK font file on this system ({fonts.install_hint()})")
    env = {**os.environ, "MPLCONFIGDIR": str(tmp_path)}
    stale = """
import os
from matplotlib import font_manager as fm
from sentiment_pipeline.platform import fonts
cjk = {os.path.realpath(p) for p in fonts.cjk_files()}
fm.fontManager.ttflist = [f for f in fm.fontManager.ttflist if os.path.realpath(f.fname) not in cjk]
fm.json_dump(fm.fontManager, fm.Path(fm.mpl.get_cachedir(), f"fontlist-v{fm.FontManager.__version__}.json"))
"""
    subprocess.run([sys.executable, "-c", stale], env=env, check=True)
    cache = next(tmp_path.glob("fontlist-v*.json"))
    assert not any(os.path.basename(f) in cache.read_text() for f in map(str, files))
    find = """
from matplotlib import font_manager as fm
from sentiment_pipeline.platform import fonts
print(any(n in {f.name for f in fm.fontManager.ttflist} for n in fonts.CJK_FONTS))
print(fonts.cjk_font())
"""
    out = subprocess.run([sys.executable, "-c", find], env=env, check=True, capture_output=True, text=True).stdout
    before, font = out.split()[0], out.split("\n")[1]
    assert before == "False" and font in fonts.CJK_FONTS
    assert font in cache.read_text()  # the cache was rebuilt: the next process reads the font from it
    again = subprocess.run([sys.executable, "-c", find], env=env, check=True, capture_output=True, text=True).stdout
    assert again.split()[0] == "True"


def test_a_font_file_in_a_searched_folder_is_added(tmp_path, monkeypatch):
    """find_cjk_font(dirs): a CJK font file that matplotlib's list lacks, in a folder of ours, is added to it."""
    files = fonts.cjk_files()
    if not files:
        pytest.skip(f"no CJK font file on this system ({fonts.install_hint()})")
    from matplotlib import font_manager

    (tmp_path / files[0].name).symlink_to(files[0])
    manager = font_manager.fontManager
    cjk = {os.path.realpath(p) for p in files}
    monkeypatch.setattr(manager, "ttflist", [f for f in manager.ttflist if os.path.realpath(f.fname) not in cjk])
    try:
        assert fonts.find_cjk_font([tmp_path / "empty"]) is None
        assert fonts.find_cjk_font([tmp_path]) is not None
        assert any(f.fname == str(tmp_path / files[0].name) for f in manager.ttflist)
    finally:
        monkeypatch.undo()
        manager._findfont_cached.cache_clear()


@pytest.fixture
def no_cjk_font(tmp_path, monkeypatch):
    """A system without any CJK font: matplotlib's list without them, the search pointed at an empty folder."""
    from matplotlib import font_manager

    manager = font_manager.fontManager
    names = set(fonts.CJK_FONTS)
    cjk = {os.path.realpath(p) for p in fonts.cjk_files()}
    monkeypatch.setattr(manager, "ttflist", [f for f in manager.ttflist
                                             if f.name not in names and os.path.realpath(f.fname) not in cjk])
    empty = tmp_path / "fonts"
    empty.mkdir()
    monkeypatch.setattr(fonts, "FONT_DIRS", (str(empty),))
    monkeypatch.setattr(fonts, "_fc_list", lambda: [])
    monkeypatch.setattr(fonts, "_warned", set())
    fonts.cjk_font.cache_clear()
    manager._findfont_cached.cache_clear()
    yield
    monkeypatch.undo()
    fonts.cjk_font.cache_clear()
    manager._findfont_cached.cache_clear()


def test_without_a_cjk_font_a_run_gets_one_warning_and_no_glyph_flood(no_cjk_font):
    """Two assets of one run each draw the report's charts: one warning in the run's log, naming what to
    install; no 'Glyph … missing' warning. The next run is told again, once."""
    assert fonts.cjk_font() is None and fonts.style()["font.family"] == [fonts.FALLBACK]

    @dg.asset
    def first_chart() -> None:
        report.charts(_days(), CROWDED)

    @dg.asset(deps=[first_chart])
    def second_chart() -> None:
        report.charts(_days(), CROWDED)
        fonts.warn_if_missing(dg.AssetExecutionContext.get())  # an explicit call is no second warning

    instance = dg.DagsterInstance.ephemeral()

    def run() -> list[str]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = dg.materialize([first_chart, second_chart], instance=instance)
        assert result.success and not _glyph_warnings(caught)
        return [r.user_message for r in instance.all_logs(result.run_id) if "no CJK" in r.user_message]

    warned = run()
    assert len(warned) == 1 and fonts.install_hint() in warned[0]
    assert [r.level for r in instance.all_logs(instance.get_runs()[0].run_id) if "no CJK" in r.user_message] == [
        logging.WARNING]
    assert len(run()) == 1
