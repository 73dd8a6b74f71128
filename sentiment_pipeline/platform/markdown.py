"""A frame as a Markdown table for the UI's metadata (without pandas and tabulate, which cost ~0.4 s to import)."""

from __future__ import annotations

import polars as pl


def _cell(value, float_format: str) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return format(value, float_format)
    return str(value).replace("|", "\\|").replace("\n", " ")


def md_table(df: pl.DataFrame, float_format: str = ".4g") -> str:
    """| a | b |, a separator (numbers aligned right), then one line per row."""
    numeric = [dtype.is_numeric() for dtype in df.dtypes]
    lines = ["| " + " | ".join(df.columns) + " |",
             "|" + "|".join("---:" if n else ":---" for n in numeric) + "|"]
    lines += ["| " + " | ".join(_cell(v, float_format) for v in row) + " |" for row in df.iter_rows()]
    return "\n".join(lines)
