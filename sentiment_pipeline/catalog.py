"""Every domain's assets and tables, in lineage order. `python -m sentiment_pipeline.catalog` prints the SQL
contract (sql/tables.sql) generated from the table models."""

from __future__ import annotations

from sentiment_pipeline.backtest import assets as backtest
from sentiment_pipeline.heat import assets as heat
from sentiment_pipeline.ladder import assets as ladder
from sentiment_pipeline.market import assets as market
from sentiment_pipeline.platform.tables import contract
from sentiment_pipeline.quality import assets as quality
from sentiment_pipeline.research import assets as research
from sentiment_pipeline.stms import assets as stms

DOMAINS = (market, ladder, quality, stms, heat, research, backtest)
ASSETS = [a for domain in DOMAINS for a in domain.assets]
TABLES = [t for domain in DOMAINS for t in domain.TABLES]

if __name__ == "__main__":
    print(contract(TABLES), end="")
