"""Pinned upstream contract: the DataFrames akshare 1.19.5 returns (column order and pandas 3 dtypes),
read from the installed source (.venv/lib/python3.11/site-packages/akshare/...), not from live calls.
Keys are function names, or "function:argument" where the columns depend on the argument."""

from __future__ import annotations

# Dtype vocabulary (str(Series.dtype) under pandas 3, except the date marker):
#   "float64" / "int64"          numpy numbers
#   "str"                        pandas 3 default string dtype (StringDtype(na_value=nan)); missing -> nan
#   "object (datetime.date)"     pd.to_datetime(...).dt.date: datetime.date values, missing/unparsable -> pd.NaT
# Columns run through pd.to_numeric on JSON numbers are data-dependent in pandas: int64 while every value is
# an integral JSON number, float64 once one value is fractional, null or a coerced '-'. Measures are pinned
# as float64; counters/ranks that upstream sends as integers are pinned as int64.
F = "float64"
I = "int64"
S = "str"
D = "object (datetime.date)"

UPSTREAM_COLUMNS: dict[str, tuple[str, ...]] = {
    # sorted by 涨跌幅 (f3) descending; 序号 is the rank after that sort, not a stable id
    "stock_zh_a_spot_em": (
        "序号", "代码", "名称", "最新价", "涨跌幅", "涨跌额", "成交量", "成交额", "振幅", "最高", "最低",
        "今开", "昨收", "量比", "换手率", "市盈率-动态", "市净率", "总市值", "流通市值", "涨速",
        "5分钟涨跌", "60日涨跌幅", "年初至今涨跌幅",
    ),
    # returns pd.DataFrame() (no columns) when the kline list is empty; 成交量 is int64 (lots, parsed from text)
    "stock_zh_a_hist": (
        "日期", "股票代码", "开盘", "收盘", "最高", "最低", "成交量", "成交额", "振幅", "涨跌幅", "涨跌额", "换手率",
    ),
    # @lru_cache; identical columns for every symbol ("主板A股", "主板B股", "科创板")
    "stock_info_sh_name_code": ("证券代码", "证券简称", "证券全称", "公司简称", "公司全称", "上市日期"),
    # @lru_cache; columns depend on symbol. Excel text: 上市日期 'YYYY-MM-DD' and 股本 '19,405,918,198' stay str;
    # with <= 10 rows the raw Excel frame is returned unselected (all sheet columns, codes not zero-padded)
    "stock_info_sz_name_code:A股列表": ("板块", "A股代码", "A股简称", "A股上市日期", "A股总股本", "A股流通股本", "所属行业"),
    # @lru_cache; 48 JSON fields renamed by position, 总股本/流通股本 never coerced
    "stock_info_bj_name_code": ("证券代码", "证券简称", "总股本", "流通股本", "上市日期", "所属行业", "地区", "报告日期"),
    # same columns for every symbol; "暂停上市日期" is SSE's DELIST_DATE (the delisting date), despite its name
    "stock_info_sh_delist": ("公司代码", "公司简称", "上市日期", "暂停上市日期"),
    # columns are the SZSE Excel header (not in the source) and depend on symbol; empty sheet -> pd.DataFrame()
    "stock_info_sz_delist:终止上市公司": ("证券代码", "证券简称", "上市日期", "终止上市日期"),
    # SZSE Excel header, not in the source; akshare's docs show 变更日期/证券代码/证券简称/变更前全称/变更后全称 for the
    # 全称变更 tab and the 简称 tab is assumed parallel (verify live). Sorted by 变更日期, which is a date.
    "stock_info_sz_change_name:简称变更": ("变更日期", "证券代码", "证券简称", "变更前简称", "变更后简称"),
    # 昨收, 市盈率-动态, 市净率 are never coerced (see UPSTREAM_UNCOERCED)
    "stock_zh_a_st_em": (
        "序号", "代码", "名称", "最新价", "涨跌幅", "涨跌额", "成交量", "成交额", "振幅", "最高", "最低",
        "今开", "昨收", "量比", "换手率", "市盈率-动态", "市净率",
    ),
    # empty pool or data=None -> pd.DataFrame(); 封板时间 are zero-padded 'HHMMSS' text; 涨停统计 is 'days/ct' text
    "stock_zt_pool_em": (
        "序号", "代码", "名称", "涨跌幅", "最新价", "成交额", "流通市值", "总市值", "换手率", "封板资金",
        "首次封板时间", "最后封板时间", "炸板次数", "涨停统计", "连板数", "所属行业",
    ),
    # no pd.to_numeric at all: every number is raw JSON (see UPSTREAM_UNCOERCED)
    "stock_zt_pool_previous_em": (
        "序号", "代码", "名称", "涨跌幅", "最新价", "涨停价", "成交额", "流通市值", "总市值", "换手率",
        "涨速", "振幅", "昨日封板时间", "昨日连板数", "涨停统计", "所属行业",
    ),
    # raises ValueError for dates older than 30 calendar days before now(); no pd.to_numeric at all
    "stock_zt_pool_zbgc_em": (
        "序号", "代码", "名称", "涨跌幅", "最新价", "涨停价", "成交额", "流通市值", "总市值", "换手率",
        "涨速", "首次封板时间", "炸板次数", "涨停统计", "振幅", "所属行业",
    ),
    # raises ValueError for dates older than 30 calendar days; data=None -> TypeError (no None check here)
    "stock_zt_pool_dtgc_em": (
        "序号", "代码", "名称", "涨跌幅", "最新价", "成交额", "流通市值", "总市值", "动态市盈率", "换手率",
        "封单资金", "最后封板时间", "板上成交额", "连续跌停", "开板次数", "所属行业",
    ),
    # column names carry the indicator prefix (akshare's default indicator is "5日", not "今日"); nothing coerced
    "stock_individual_fund_flow_rank:今日": (
        "序号", "代码", "名称", "最新价", "今日涨跌幅", "今日主力净流入-净额", "今日主力净流入-净占比",
        "今日超大单净流入-净额", "今日超大单净流入-净占比", "今日大单净流入-净额", "今日大单净流入-净占比",
        "今日中单净流入-净额", "今日中单净流入-净占比", "今日小单净流入-净额", "今日小单净流入-净占比",
    ),
    "stock_individual_fund_flow": (
        "日期", "收盘价", "涨跌幅", "主力净流入-净额", "主力净流入-净占比", "超大单净流入-净额",
        "超大单净流入-净占比", "大单净流入-净额", "大单净流入-净占比", "中单净流入-净额", "中单净流入-净占比",
        "小单净流入-净额", "小单净流入-净占比",
    ),
    # same columns for 北向/南向/沪股通/深股通持股; an unknown symbol returns pd.DataFrame()
    "stock_hsgt_stock_statistics_em": (
        "持股日期", "股票代码", "股票简称", "当日收盘价", "当日涨跌幅", "持股数量", "持股市值",
        "持股数量占发行股百分比", "持股市值变化-1日", "持股市值变化-5日", "持股市值变化-10日",
    ),
    "stock_comment_em": (
        "序号", "代码", "名称", "最新价", "涨跌幅", "换手率", "市盈率", "主力成本", "机构参与度", "综合得分",
        "上升", "目前排名", "关注指数", "交易日",
    ),
    # 时间 is the raw 'YYYY-MM-DD' JSON text (never parsed); sorted by 时间 without resetting the index
    "stock_hot_rank_detail_em": ("时间", "排名", "证券代码", "新晋粉丝", "铁杆粉丝"),
    # .xls renamed by position
    "index_stock_cons_weight_csindex": (
        "日期", "指数代码", "指数名称", "指数英文名称", "成分券代码", "成分券名称", "成分券英文名称",
        "交易所", "交易所英文名称", "权重",
    ),
    # columns are the SWS .xls header renamed; not selected, so an extra sheet column would pass through
    "stock_industry_clf_hist_sw": ("symbol", "start_date", "industry_code", "update_time"),
    # backed by an @lru_cache'd fetch; the public function returns a .copy()
    "stock_board_concept_name_em": (
        "排名", "板块名称", "板块代码", "最新价", "涨跌额", "涨跌幅", "总市值", "换手率", "上涨家数", "下跌家数",
        "领涨股票", "领涨股票-涨跌幅",
    ),
    # a non-"BK..." symbol is resolved through the cached stock_board_concept_name_em list (extra request)
    "stock_board_concept_cons_em": (
        "序号", "代码", "名称", "最新价", "涨跌幅", "涨跌额", "成交量", "成交额", "振幅", "最高", "最低",
        "今开", "昨收", "换手率", "市盈率-动态", "市净率",
    ),
    "stock_zh_index_hist_csindex": (
        "日期", "指数代码", "指数中文全称", "指数中文简称", "指数英文全称", "指数英文简称", "开盘", "最高", "最低",
        "收盘", "涨跌", "涨跌幅", "成交量", "成交金额", "样本数量", "滚动市盈率",
    ),
    # sorted by 日期 ascending
    "stock_margin_account_info": (
        "日期", "融资余额", "融券余额", "融资买入额", "融券卖出额", "证券公司数量", "营业部数量", "个人投资者数量",
        "机构投资者数量", "参与交易的投资者数量", "有融资融券负债的投资者数量", "担保物总价值", "平均维持担保比例",
    ),
}

UPSTREAM_DTYPES: dict[str, dict[str, str]] = {
    "stock_zh_a_spot_em": {
        "序号": I, "代码": S, "名称": S, "最新价": F, "涨跌幅": F, "涨跌额": F, "成交量": F, "成交额": F,
        "振幅": F, "最高": F, "最低": F, "今开": F, "昨收": F, "量比": F, "换手率": F, "市盈率-动态": F,
        "市净率": F, "总市值": F, "流通市值": F, "涨速": F, "5分钟涨跌": F, "60日涨跌幅": F, "年初至今涨跌幅": F,
    },
    "stock_zh_a_hist": {
        "日期": D, "股票代码": S, "开盘": F, "收盘": F, "最高": F, "最低": F, "成交量": I, "成交额": F,
        "振幅": F, "涨跌幅": F, "涨跌额": F, "换手率": F,
    },
    "stock_info_sh_name_code": {
        "证券代码": S, "证券简称": S, "证券全称": S, "公司简称": S, "公司全称": S, "上市日期": D,
    },
    "stock_info_sz_name_code:A股列表": {
        "板块": S, "A股代码": S, "A股简称": S, "A股上市日期": S, "A股总股本": S, "A股流通股本": S, "所属行业": S,
    },
    "stock_info_bj_name_code": {
        "证券代码": S, "证券简称": S, "总股本": I, "流通股本": I, "上市日期": D, "所属行业": S, "地区": S,
        "报告日期": D,
    },
    "stock_info_sh_delist": {"公司代码": S, "公司简称": S, "上市日期": D, "暂停上市日期": D},
    "stock_info_sz_delist:终止上市公司": {"证券代码": S, "证券简称": S, "上市日期": D, "终止上市日期": D},
    "stock_info_sz_change_name:简称变更": {"变更日期": D, "证券代码": S, "证券简称": S, "变更前简称": S, "变更后简称": S},
    "stock_zh_a_st_em": {
        "序号": I, "代码": S, "名称": S, "最新价": F, "涨跌幅": F, "涨跌额": F, "成交量": F, "成交额": F,
        "振幅": F, "最高": F, "最低": F, "今开": F, "昨收": F, "量比": F, "换手率": F, "市盈率-动态": F,
        "市净率": F,
    },
    "stock_zt_pool_em": {
        "序号": I, "代码": S, "名称": S, "涨跌幅": F, "最新价": F, "成交额": F, "流通市值": F, "总市值": F,
        "换手率": F, "封板资金": F, "首次封板时间": S, "最后封板时间": S, "炸板次数": I, "涨停统计": S,
        "连板数": I, "所属行业": S,
    },
    "stock_zt_pool_previous_em": {
        "序号": I, "代码": S, "名称": S, "涨跌幅": F, "最新价": F, "涨停价": F, "成交额": F, "流通市值": F,
        "总市值": F, "换手率": F, "涨速": F, "振幅": F, "昨日封板时间": S, "昨日连板数": I, "涨停统计": S,
        "所属行业": S,
    },
    "stock_zt_pool_zbgc_em": {
        "序号": I, "代码": S, "名称": S, "涨跌幅": F, "最新价": F, "涨停价": F, "成交额": F, "流通市值": F,
        "总市值": F, "换手率": F, "涨速": F, "首次封板时间": S, "炸板次数": I, "涨停统计": S, "振幅": F,
        "所属行业": S,
    },
    "stock_zt_pool_dtgc_em": {
        "序号": I, "代码": S, "名称": S, "涨跌幅": F, "最新价": F, "成交额": F, "流通市值": F, "总市值": F,
        "动态市盈率": F, "换手率": F, "封单资金": F, "最后封板时间": S, "板上成交额": F, "连续跌停": I,
        "开板次数": I, "所属行业": S,
    },
    "stock_individual_fund_flow_rank:今日": {
        "序号": I, "代码": S, "名称": S, "最新价": F, "今日涨跌幅": F, "今日主力净流入-净额": F,
        "今日主力净流入-净占比": F, "今日超大单净流入-净额": F, "今日超大单净流入-净占比": F,
        "今日大单净流入-净额": F, "今日大单净流入-净占比": F, "今日中单净流入-净额": F, "今日中单净流入-净占比": F,
        "今日小单净流入-净额": F, "今日小单净流入-净占比": F,
    },
    "stock_individual_fund_flow": {
        "日期": D, "收盘价": F, "涨跌幅": F, "主力净流入-净额": F, "主力净流入-净占比": F,
        "超大单净流入-净额": F, "超大单净流入-净占比": F, "大单净流入-净额": F, "大单净流入-净占比": F,
        "中单净流入-净额": F, "中单净流入-净占比": F, "小单净流入-净额": F, "小单净流入-净占比": F,
    },
    "stock_hsgt_stock_statistics_em": {
        "持股日期": D, "股票代码": S, "股票简称": S, "当日收盘价": F, "当日涨跌幅": F, "持股数量": F,
        "持股市值": F, "持股数量占发行股百分比": F, "持股市值变化-1日": F, "持股市值变化-5日": F,
        "持股市值变化-10日": F,
    },
    "stock_comment_em": {
        "序号": I, "代码": S, "名称": S, "最新价": F, "涨跌幅": F, "换手率": F, "市盈率": F, "主力成本": F,
        "机构参与度": F, "综合得分": F, "上升": I, "目前排名": I, "关注指数": F, "交易日": D,
    },
    "stock_hot_rank_detail_em": {"时间": S, "排名": I, "证券代码": S, "新晋粉丝": F, "铁杆粉丝": F},
    "index_stock_cons_weight_csindex": {
        "日期": D, "指数代码": S, "指数名称": S, "指数英文名称": S, "成分券代码": S, "成分券名称": S,
        "成分券英文名称": S, "交易所": S, "交易所英文名称": S, "权重": F,
    },
    "stock_industry_clf_hist_sw": {"symbol": S, "start_date": D, "industry_code": S, "update_time": D},
    "stock_board_concept_name_em": {
        "排名": I, "板块名称": S, "板块代码": S, "最新价": F, "涨跌额": F, "涨跌幅": F, "总市值": F, "换手率": F,
        "上涨家数": I, "下跌家数": I, "领涨股票": S, "领涨股票-涨跌幅": F,
    },
    "stock_board_concept_cons_em": {
        "序号": I, "代码": S, "名称": S, "最新价": F, "涨跌幅": F, "涨跌额": F, "成交量": F, "成交额": F,
        "振幅": F, "最高": F, "最低": F, "今开": F, "昨收": F, "换手率": F, "市盈率-动态": F, "市净率": F,
    },
    "stock_zh_index_hist_csindex": {
        "日期": D, "指数代码": S, "指数中文全称": S, "指数中文简称": S, "指数英文全称": S, "指数英文简称": S,
        "开盘": F, "最高": F, "最低": F, "收盘": F, "涨跌": F, "涨跌幅": F, "成交量": F, "成交金额": F,
        "样本数量": I, "滚动市盈率": F,
    },
    "stock_margin_account_info": {
        "日期": D, "融资余额": F, "融券余额": F, "融资买入额": F, "融券卖出额": F, "证券公司数量": F,
        "营业部数量": F, "个人投资者数量": F, "机构投资者数量": F, "参与交易的投资者数量": F,
        "有融资融券负债的投资者数量": F, "担保物总价值": F, "平均维持担保比例": F,
    },
}

# Numeric columns akshare never passes through pd.to_numeric: they keep the JSON values as they came, so
# they are float64/int64 only while upstream sends numbers, and become object (numbers mixed with '-' text)
# as soon as one row carries a placeholder. Consumers must coerce these themselves.
UPSTREAM_UNCOERCED: dict[str, tuple[str, ...]] = {
    "stock_info_bj_name_code": ("总股本", "流通股本"),
    "stock_zh_a_st_em": ("昨收", "市盈率-动态", "市净率"),
    "stock_zt_pool_previous_em": ("涨跌幅", "成交额", "流通市值", "总市值", "换手率", "涨速", "振幅", "昨日连板数"),
    "stock_zt_pool_zbgc_em": ("涨跌幅", "成交额", "流通市值", "总市值", "换手率", "涨速", "炸板次数", "振幅"),
    "stock_individual_fund_flow_rank:今日": UPSTREAM_COLUMNS["stock_individual_fund_flow_rank:今日"][3:],
    "stock_hot_rank_detail_em": ("排名",),
}
