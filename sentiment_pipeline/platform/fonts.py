"""The one place the charts get their CJK font: find one, tell matplotlib, and say once per run when there is none.

Chinese labels need a CJK font that matplotlib knows. matplotlib scans the system's fonts once and caches the
list (`<cache dir>/fontlist-v*.json`, the cache dir being $MPLCONFIGDIR or ~/.cache/matplotlib): a font installed
afterwards (`apt-get install fonts-noto-cjk`, as the warning advises) stays unknown to it. So `cjk_font()` first
looks in matplotlib's list for one of CJK_FONTS; when none is there it asks the system which CJK font files exist
(`fc-list :lang=zh`, and files in FONT_DIRS named like CJK fonts); if one of them is missing from matplotlib's
list, the list is rebuilt (and its cache file rewritten, so the next process reads it) and any file still
missing is added. No CJK font at all: the charts are still drawn (the Chinese labels show as boxes), matplotlib's
per-glyph "Glyph … missing from font(s)" warnings are filtered out in `drawing()`, and `warn_if_missing()` writes
ONE warning per run, to the Dagster run's log when called inside a step, saying what to install.

`python -m sentiment_pipeline.platform.fonts` (scripts/setup.sh runs it) does the same once and prints the font
found or what to install. matplotlib is imported inside the functions: importing this module costs nothing.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterable
from contextlib import contextmanager
from functools import cache
from pathlib import Path

# Preferred families, in order (the first matplotlib knows wins): Simplified Chinese first.
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", "Noto Serif CJK SC",
             "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Droid Sans Fallback", "AR PL UMing CN", "AR PL UKai CN",
             "SimHei", "Microsoft YaHei", "PingFang SC", "Heiti SC", "STHeiti", "Arial Unicode MS",
             "Noto Sans CJK TC", "Noto Sans CJK JP")
# Where font files live when fontconfig's fc-list is not there to ask (Linux, macOS, Windows).
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts", "/Library/Fonts",
             "/System/Library/Fonts", "~/Library/Fonts", "C:/Windows/Fonts")
# File names of CJK fonts (for the directories searched without fc-list).
CJK_FILE = re.compile(r"cjk|sourcehan|notos(an|erif)s?(sc|tc|jp|kr)|wqy|wenquanyi|droidsansfallback|uming|ukai|"
                      r"simhei|simsun|msyh|msjh|pingfang|stheiti|hiragino|arialuni", re.IGNORECASE)
FONT_SUFFIXES = (".ttf", ".otf", ".ttc")
# matplotlib's warning for each glyph no font has, at each draw: "Glyph 26368 (\N{CJK UNIFIED IDEOGRAPH-6700})
# missing from font(s) DejaVu Sans." (a regex, matched at the message's start).
MISSING_GLYPH = r"Glyph \d+ \(.*\) missing from font\(s\)"
FALLBACK = "DejaVu Sans"  # matplotlib's own font, for Latin text and digits

_log = logging.getLogger(__name__)
_warned: set[str] = set()  # the runs (or "process") already told that no CJK font exists


def install_hint() -> str:
    """What to install, for this system."""
    sudo = "" if not hasattr(os, "geteuid") or os.geteuid() == 0 else "sudo "
    if shutil.which("apt-get"):
        return f"{sudo}apt-get install fonts-noto-cjk"
    if shutil.which("dnf"):
        return f"{sudo}dnf install google-noto-sans-cjk-fonts"
    if shutil.which("pacman"):
        return f"{sudo}pacman -S noto-fonts-cjk"
    if shutil.which("apk"):
        return f"{sudo}apk add font-noto-cjk"
    if shutil.which("brew"):
        return "brew install --cask font-noto-sans-cjk-sc"
    return "install a CJK font (e.g. Noto Sans CJK SC) or copy its .ttf/.otf/.ttc file to ~/.local/share/fonts"


def missing_message() -> str:
    return (f"no CJK (Chinese) font found for the charts: their Chinese labels show as boxes. Install one "
            f"({install_hint()}) and run again: the font is picked up by itself (matplotlib's font list is rebuilt "
            "when it lacks an installed CJK font).")


def _fc_list() -> list[Path]:
    """The font files fontconfig says cover Chinese; [] without fc-list."""
    try:
        out = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=30,
                             check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [Path(line.strip().rstrip(":")) for line in out.splitlines() if line.strip()]


def cjk_files(dirs: Iterable[str | os.PathLike] | None = None) -> list[Path]:
    """CJK font files (.ttf, .otf, .ttc) on the system: fc-list's and those named like one under FONT_DIRS; with
    `dirs`, only those named like one under `dirs`."""
    found = _fc_list() if dirs is None else []
    for folder in (FONT_DIRS if dirs is None else dirs):
        root = Path(folder).expanduser()
        if root.is_dir():
            found += [p for p in root.rglob("*") if CJK_FILE.search(p.name)]
    seen, files = set(), []
    for path in found:
        if path.suffix.lower() in FONT_SUFFIXES and path.is_file() and os.path.realpath(path) not in seen:
            seen.add(os.path.realpath(path))
            files.append(path)
    return files


def _preferred(manager) -> str | None:
    have = {f.name for f in manager.ttflist}
    return next((name for name in CJK_FONTS if name in have), None)


def _rebuild(manager) -> None:
    """Rescan the system's fonts into `manager` (matplotlib's instance, which its backends hold: updated in
    place) and rewrite matplotlib's cache file."""
    from matplotlib import font_manager

    try:
        fresh = font_manager._load_fontmanager(try_read_cache=False)  # scans and writes the cache file
    except Exception:  # a private function: its signature may change; the public way does the same
        fresh = font_manager.FontManager()
        path = Path(font_manager.mpl.get_cachedir(), f"fontlist-v{font_manager.FontManager.__version__}.json")
        font_manager.json_dump(fresh, path)
    scanned = {f.fname for f in fresh.ttflist}
    manager.ttflist = fresh.ttflist + [f for f in manager.ttflist if f.fname not in scanned]  # keep added fonts
    scanned = {f.fname for f in fresh.afmlist}
    manager.afmlist = fresh.afmlist + [f for f in manager.afmlist if f.fname not in scanned]
    manager._findfont_cached.cache_clear()
    _log.info("matplotlib's font list rebuilt: it lacked a CJK font installed since")


def find_cjk_font(dirs: Iterable[str | os.PathLike] | None = None) -> str | None:
    """The CJK font family the charts use, or None when there is none. `dirs`: where to look for font files
    instead of the system's font directories (and fc-list); matplotlib's list is then extended, not rebuilt."""
    from matplotlib import font_manager

    manager = font_manager.fontManager
    if font := _preferred(manager):
        return font
    files = cjk_files(dirs)
    known = {os.path.realpath(f.fname) for f in manager.ttflist}
    new = [p for p in files if os.path.realpath(p) not in known]
    if new and dirs is None:
        _rebuild(manager)
        known = {os.path.realpath(f.fname) for f in manager.ttflist}
        new = [p for p in new if os.path.realpath(p) not in known]
    for path in new:  # not in the directories matplotlib scans (or its scan failed on them)
        try:
            manager.addfont(path)
        except (OSError, RuntimeError, ValueError) as e:
            _log.info(f"font file {path} not readable by matplotlib: {e}")
    if font := _preferred(manager):
        return font
    # Another CJK font than the preferred ones: the family of the first file found.
    wanted = {os.path.realpath(p) for p in files}
    return next((f.name for f in manager.ttflist if os.path.realpath(f.fname) in wanted), None)


@cache
def cjk_font() -> str | None:
    """find_cjk_font() once per process."""
    return find_cjk_font()


def style(**rc) -> dict:
    """rcParams for a chart: the CJK font before matplotlib's own, ASCII minus signs, and `rc`."""
    font = cjk_font()
    return {"font.family": [font, FALLBACK] if font else [FALLBACK], "axes.unicode_minus": False, **rc}


def _current_context():
    """The Dagster step's context when called inside one, else None."""
    if "dagster" not in sys.modules:
        return None
    try:
        from dagster import OpExecutionContext

        return OpExecutionContext.get()
    except Exception:
        return None


def warn_if_missing(context=None) -> bool:
    """True when the charts have a CJK font. Otherwise one warning per run: to `context.log` (by default the
    current Dagster step's context), else to this module's logger once per process."""
    if cjk_font() is not None:
        return True
    context = context if context is not None else _current_context()
    key = getattr(context, "run_id", None) or "process"
    if key not in _warned:
        _warned.add(key)
        if context is not None:
            context.log.warning(missing_message())
        else:
            _log.warning(missing_message())
    return False


@contextmanager
def drawing(rc: dict | None = None):
    """Draw inside: rcParams `rc` (default: style()), matplotlib's per-glyph warnings of a missing CJK font
    filtered out, and the run told once (warn_if_missing) when there is no CJK font."""
    import matplotlib

    warn_if_missing()
    with warnings.catch_warnings(), matplotlib.rc_context(style() if rc is None else rc):
        warnings.filterwarnings("ignore", message=MISSING_GLYPH, category=UserWarning)
        yield


def main() -> int:
    """Find (and make matplotlib know) a CJK font; print it, or what to install. Always 0: a missing font only
    makes the charts' labels boxes."""
    from matplotlib import font_manager

    font = cjk_font()
    if font:
        print(f"CJK font for the charts: {font} ({font_manager.fontManager.findfont(font)})")
    else:
        print(f"warning: {missing_message()}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
