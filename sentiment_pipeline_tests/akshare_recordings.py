"""Upstream answers as the sites send them, and the frames akshare's own code (the pinned 1.19.5) makes of them.

`recorded_frame("stock_zt_pool_em", rows, date="20240606")` writes ``rows`` (dicts keyed by akshare's column
names, as a reader of akshare's docs knows them) into the upstream answer akshare parses — East Money's JSON
envelopes, SSE's JSON, BSE's JSONP, SZSE's / CSIndex's / Shenwan's Excel files — serves it at the HTTP layer with
`responses`, calls the real akshare function and returns what it returns (or raises what it raises). No
finished frame is written by hand: renames, unit conversions, sorting and the "no data" answers are akshare's.

Where an answer's key names are not in akshare's code (akshare names many fields by position), the keys below
are East Money's where they are known and placeholders otherwise; the position is what akshare reads. Which
column sits at which position is taken from akshare's own code (its ``.columns = [...]`` lists), so a
recording cannot drift from the parser it feeds. Shapes inferred rather than seen in akshare's code or docs
are marked "inferred".
"""

from __future__ import annotations

import ast
import datetime as dt
import functools
import importlib
import inspect
import io
import json
import re
import textwrap
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs, urlparse

import pandas as pd
import responses

# --------------------------------------------------------------------------------- akshare's own column lists


@functools.cache
def akshare_columns(function: str, module: str | None = None, branch: str | None = None) -> tuple[str, ...]:
    """The first positional rename (``frame.columns = [...]``) in akshare's source of ``function``; with
    ``branch``, the first inside the ``if`` whose test names that argument value (e.g. "北向持股")."""
    target = getattr(importlib.import_module(module), function) if module else getattr(_akshare(), function)
    tree = ast.parse(textwrap.dedent(inspect.getsource(inspect.unwrap(target))))
    if branch is not None:
        tree = next(ast.Module(body=node.body, type_ignores=[]) for node in ast.walk(tree)
                    if isinstance(node, ast.If) and any(isinstance(c, ast.Constant) and c.value == branch
                                                        for c in ast.walk(node.test)))
    renames = [node for node in ast.walk(tree)
               if isinstance(node, ast.Assign) and isinstance(node.value, ast.List)
               and isinstance(node.targets[0], ast.Attribute) and node.targets[0].attr == "columns"]
    if not renames:
        raise LookupError(f"akshare's {function} renames no columns by position")
    first = min(renames, key=lambda node: node.lineno)
    return tuple(element.value for element in first.value.elts)


def _akshare():
    import akshare

    return akshare


# ------------------------------------------------------------------------------------------- value encoding

MISSING = object()


def _date_text(value: Any, form: str) -> Any:
    if isinstance(value, (dt.date, pd.Timestamp)):
        return value.strftime(form)
    return value


def _positional(keys: list[str], columns: tuple[str, ...], row: dict, default: Any,
                encode: Callable[[str, Any], Any] | None = None) -> dict:
    """One record whose ``keys`` sit where akshare's ``columns`` (same length, same order) read them."""
    if len(keys) != len(columns):
        raise AssertionError(f"the recording has {len(keys)} fields but akshare names {len(columns)}")
    position = {column: i for i, column in enumerate(columns) if column not in ("_", "-")}
    unknown = set(row) - set(position)
    if unknown:
        raise KeyError(f"akshare names no column {sorted(unknown)} here; it names {sorted(position)}")
    record = dict.fromkeys(keys, default)
    for column, value in row.items():
        record[keys[position[column]]] = encode(column, value) if encode else value
    return record


# ------------------------------------------------------------------------------ East Money's clist (push2)

# East Money answers every requested f-field in ascending order plus the companions of a "leading stock" field
# (f128 → f140, f141; f205 → f206): akshare's positional renames only line up with that many fields (inferred
# from akshare's column lists, which agree on it for every clist function).
COMPANIONS = {"f128": ("f140", "f141"), "f205": ("f206",)}
CLIST_URL = re.compile(r"https://(\d+\.)?push2\.eastmoney\.com/api/qt/clist/get")


def clist_fields(requested: str) -> list[str]:
    wanted = [f.strip() for f in requested.split(",")]
    for field, extra in COMPANIONS.items():
        if field in wanted:
            wanted += list(extra)
    return sorted(set(wanted), key=lambda f: int(f[1:]))


def clist_item(requested: str, values: dict) -> dict:
    """One ``diff`` item in East Money's field names; fields without a value are "-", as East Money sends them."""
    return {f: values.get(f, "-") for f in clist_fields(requested)}


def clist_answer(items: list[dict]) -> dict:
    return {"rc": 0, "rt": 6, "svr": 181669437, "lt": 1, "full": 1, "dlmkts": "",
            "data": {"total": len(items), "diff": items} if items else None}  # inferred: no rows is data null


CLIST_COLUMNS = {  # function -> (akshare's function holding the rename, its module)
    "stock_zh_a_spot_em": ("stock_zh_a_spot_em", None),
    "stock_zh_a_st_em": ("stock_zh_a_st_em", None),
    "stock_individual_fund_flow_rank": ("stock_individual_fund_flow_rank", None),
    "stock_board_concept_cons_em": ("stock_board_concept_cons_em", None),
    "stock_board_concept_name_em": ("__stock_board_concept_name_em", "akshare.stock.stock_board_concept_em"),
}


def _clist(function: str) -> Callable:
    def answer(rows: list[dict], request) -> tuple[int, dict, str]:
        requested = parse_qs(urlparse(request.url).query)["fields"][0]
        fields = clist_fields(requested)
        columns = akshare_columns(*CLIST_COLUMNS[function])[1:]  # the first is the index akshare adds
        items = [_positional(fields, columns, {c: v for c, v in row.items() if c not in ("序号", "排名")}, "-",
                             lambda _c, v: "-" if v is None else v) for row in rows]
        return 200, {}, json.dumps(clist_answer(items))
    return answer


# --------------------------------------------------------------------------------- East Money's other JSON

def kline_answer(code: str, klines: list[str]) -> dict:
    """push2his's kline envelope (the fields around ``data.klines`` are inferred from akshare's parser)."""
    return {"rc": 0, "rt": 17, "svr": 181669437, "lt": 1, "full": 0, "dlmkts": "",
            "data": {"code": code, "market": 1 if code.startswith("6") else 0, "name": code, "decimal": 2,
                     "dktotal": len(klines), "klines": klines}}


def _csv_line(columns: tuple[str, ...], row: dict, date_column: str) -> str:
    def text(column):
        value = row.get(column, 0)
        return _date_text(value, "%Y-%m-%d") if column == date_column else ("-" if value is None else str(value))
    return ",".join(text(c) for c in columns)


def _hist(rows: list[dict], request) -> tuple[int, dict, str]:
    code = parse_qs(urlparse(request.url).query)["secid"][0].split(".")[1]
    columns = akshare_columns("stock_zh_a_hist")[:-1]  # the last, 股票代码, akshare adds from the symbol
    for row in rows:
        if row.get("股票代码", code) != code:
            raise AssertionError(f"a kline row of {row['股票代码']} in the answer for {code}")
    lines = [_csv_line(columns, {c: v for c, v in row.items() if c != "股票代码"}, "日期") for row in rows]
    return 200, {}, json.dumps(kline_answer(code, lines))


def _fund_flow(rows: list[dict], request) -> tuple[int, dict, str]:
    code = parse_qs(urlparse(request.url).query)["secid"][0].split(".")[1]
    columns = tuple(c if c != "-" else f"_{i}" for i, c in enumerate(akshare_columns("stock_individual_fund_flow")))
    lines = [_csv_line(columns, row, "日期") for row in rows]
    return 200, {}, json.dumps({"rc": 0, "rt": 21, "svr": 1, "lt": 1, "full": 0, "dlmkts": "",
                                "data": {"code": code, "market": 0, "name": code, "klines": lines}})


# East Money's limit-up pool item keys in the order akshare reads them (inferred names; akshare names by position)
POOL_KEYS = {
    "stock_zt_pool_em": ["c", "m", "n", "p", "zdp", "amount", "ltsz", "tshare", "hs", "lbc", "fbt", "lbt", "fund",
                         "zbc", "hybk", "zttj"],
    "stock_zt_pool_previous_em": ["c", "m", "n", "p", "ztp", "zdp", "amount", "ltsz", "tshare", "hs", "zf", "zs",
                                  "yfbt", "ylbc", "hybk", "zttj"],
    "stock_zt_pool_zbgc_em": ["c", "m", "n", "p", "ztp", "zdp", "amount", "ltsz", "tshare", "hs", "fbt", "zbc", "zf",
                              "zs", "zttj", "hybk"],
    "stock_zt_pool_dtgc_em": ["c", "m", "n", "p", "zdp", "amount", "ltsz", "tshare", "pe", "hs", "fund", "lbt", "fba",
                              "days", "oc", "hybk"],
}
POOL_PATHS = {"stock_zt_pool_em": "getTopicZTPool", "stock_zt_pool_previous_em": "getYesterdayZTPool",
              "stock_zt_pool_zbgc_em": "getTopicZBPool", "stock_zt_pool_dtgc_em": "getTopicDTPool"}


def _pool_value(column: str, value: Any) -> Any:
    if column in ("最新价", "涨停价"):  # East Money sends prices in 1/1000 CNY
        return None if value is None else round(value * 1000)
    if column.endswith("封板时间"):  # hhmmss as an integer; akshare zero-pads it back
        return int(value)
    if column == "涨停统计":  # {"days": n, "ct": m}; akshare writes "n/m"
        days, count = str(value).split("/")
        return {"days": int(days), "ct": int(count)}
    return value


def _pool(function: str) -> Callable:
    def answer(rows: list[dict], request) -> tuple[int, dict, str]:
        date = parse_qs(urlparse(request.url).query)["date"][0]
        columns = akshare_columns(function)[1:]  # the first is the index akshare adds
        items = []
        for row in rows:
            item = _positional(POOL_KEYS[function], columns, {c: v for c, v in row.items() if c != "序号"}, None,
                               _pool_value)
            if "zttj" in item and item["zttj"] is None:
                item["zttj"] = {"days": 1, "ct": 1}
            items.append(item)
        data = {"tc": len(items), "qdate": int(date), "pool": items} if items else None  # old days: data null
        return 200, {}, json.dumps({"rc": 0, "data": data})
    return answer


def datacenter_answer(records: list[dict]) -> dict:
    """datacenter-web's envelope; a query without rows answers ``result: null`` (code 9201)."""
    if not records:
        return {"version": "1", "result": None, "success": False, "message": "返回数据为空", "code": 9201}
    return {"version": "1", "result": {"pages": 1, "data": records, "count": len(records)}, "success": True,
            "message": "ok", "code": 0}


def _placeholders(count: int, start: int = 0) -> list[str]:
    return [f"FIELD_{i:02d}" for i in range(start, start + count)]


def _datacenter_positional(function: str, date_columns: Iterable[str], skip_index: bool,
                           branch: str | None = None) -> Callable:
    def answer(rows: list[dict], request) -> tuple[int, dict, str]:
        columns = akshare_columns(function, None, branch)[1 if skip_index else 0:]
        dates = set(date_columns)
        records = [_positional(_placeholders(len(columns), 1 if skip_index else 0), columns,
                               {c: v for c, v in row.items() if c != "序号"}, None,
                               lambda c, v: _date_text(v, "%Y-%m-%d 00:00:00") if c in dates else v)
                   for row in rows]
        return 200, {}, json.dumps(datacenter_answer(records))
    return answer


MARGIN_FIELDS = {"日期": "STATISTICS_DATE", "融资余额": "FIN_BALANCE", "融券余额": "LOAN_BALANCE",
                 "融资买入额": "FIN_BUY_AMT", "融券卖出额": "LOAN_SELL_AMT", "证券公司数量": "SECURITY_ORG_NUM",
                 "营业部数量": "OPERATEDEPT_NUM", "个人投资者数量": "PERSONAL_INVESTOR_NUM",
                 "机构投资者数量": "ORG_INVESTOR_NUM", "参与交易的投资者数量": "INVESTOR_NUM",
                 "有融资融券负债的投资者数量": "MARGINLIAB_INVESTOR_NUM", "担保物总价值": "TOTAL_GUARANTEE",
                 "平均维持担保比例": "AVG_GUARANTEE_RATIO"}


def _named(fields: dict[str, str], row: dict, dates: dict[str, str]) -> dict:
    record = dict.fromkeys(fields.values())
    for column, value in row.items():
        record[fields[column]] = _date_text(value, dates[column]) if column in dates else value
    return record


def _margin(rows: list[dict], request) -> tuple[int, dict, str]:
    records = [_named(MARGIN_FIELDS, row, {"日期": "%Y-%m-%d 00:00:00"}) for row in rows]
    return 200, {}, json.dumps(datacenter_answer(records))


def _hot_rank(rows: list[dict], request) -> tuple[int, dict, str]:
    """Two POSTs with one payload: the rank history (calcTime, rank) and the follower profile (percent strings);
    a stock without rank history answers an empty ``data`` list (inferred from akshare's parser)."""
    unknown = {c for row in rows for c in row} - {"时间", "排名", "新晋粉丝", "铁杆粉丝"}
    if unknown:
        raise KeyError(f"akshare names no column {sorted(unknown)} from East Money's answer here")
    if request.url.endswith("getHisList"):
        data = [{"calcTime": _date_text(r["时间"], "%Y-%m-%d"), "rank": r.get("排名")} for r in rows]
    else:
        data = [{"newUidRate": f"{100 * r.get('新晋粉丝', 0.0):.2f}%", "oldUidRate": f"{100 * r.get('铁杆粉丝', 0.0):.2f}%"}
                for r in rows]
    return 200, {}, json.dumps({"globalId": "786e4c21-70dc-435a-93bb-38", "code": 0, "message": "success",
                                "data": data})


# ---------------------------------------------------------------------------------------- exchanges, CSIndex

def _csindex_perf(rows: list[dict], request) -> tuple[int, dict, str]:
    keys = ["tradeDate", "indexCode", "indexNameCnAll", "indexNameCn", "indexNameEnAll", "indexNameEn", "open",
            "high", "low", "close", "change", "changePct", "tradingVol", "tradingValue", "consNumber", "peg"]
    records = [_positional(keys, akshare_columns("stock_zh_index_hist_csindex"), row, None,
                           lambda c, v: _date_text(v, "%Y%m%d") if c == "日期" else v) for row in rows]
    return 200, {}, json.dumps({"code": "200", "msg": "Success", "data": records, "success": True})


SSE_FIELDS = {"证券代码": "A_STOCK_CODE", "证券简称": "SEC_NAME_CN", "证券全称": "SEC_NAME_FULL",
              "公司简称": "COMPANY_ABBR", "公司全称": "FULL_NAME", "上市日期": "LIST_DATE"}
SSE_DELIST_FIELDS = {"公司代码": "COMPANY_CODE", "公司简称": "COMPANY_ABBR", "上市日期": "LIST_DATE",
                     "暂停上市日期": "DELIST_DATE"}


def _sse(fields: dict[str, str], dates: Iterable[str]) -> Callable:
    def answer(rows: list[dict], request) -> tuple[int, dict, str]:
        records = [_named(fields, row, dict.fromkeys(dates, "%Y%m%d")) for row in rows]
        return 200, {}, json.dumps({"result": records})
    return answer


def _bse(rows: list[dict], request) -> tuple[int, dict, str]:
    columns = akshare_columns("stock_info_bj_name_code")
    records = [_positional(_placeholders(len(columns)), columns, row, None,
                           lambda c, v: _date_text(v, "%Y%m%d") if c in ("上市日期", "报告日期") else v) for row in rows]
    return 200, {}, "null(" + json.dumps([{"totalPages": 1 if records else 0, "content": records}]) + ")"


def xlsx(frame: pd.DataFrame) -> bytes:
    """An Excel answer, as SZSE's ShowReport, CSIndex's and Shenwan's files are read (pandas.read_excel)."""
    buffer = io.BytesIO()
    frame.to_excel(buffer, index=False)
    return buffer.getvalue()


def _excel(columns: list[str], dates: dict[str, str] | None = None, rename: dict[str, str] | None = None) -> Callable:
    """An Excel sheet with ``columns`` as its header; row values under akshare's names (``rename`` maps them back
    to the sheet's header where akshare renames)."""
    back = {v: k for k, v in (rename or {}).items()}

    def answer(rows: list[dict], request) -> tuple[int, dict, bytes]:
        sheet = pd.DataFrame([{back.get(c, c): _date_text(v, (dates or {}).get(c, "%Y-%m-%d")) for c, v in row.items()}
                              for row in rows], columns=columns)
        return 200, {"Content-Type": "application/vnd.ms-excel"}, xlsx(sheet)
    return answer


def _csindex_weights(rows: list[dict], request) -> tuple[int, dict, bytes]:
    columns = list(akshare_columns("index_stock_cons_weight_csindex"))
    sheet = pd.DataFrame([{c: (int(v.strftime("%Y%m%d")) if c == "日期" and isinstance(v, dt.date) else v)
                           for c, v in row.items()} for row in rows], columns=columns)
    return 200, {}, xlsx(sheet)


# ------------------------------------------------------------------------------------------------ the table

SZSE = "https://www.szse.cn/api/report/ShowReport"
DATACENTER = re.compile(r"https?://datacenter-web\.eastmoney\.com/api/data/v1/get")

# function -> [(method, url, answer(rows, request))]
RECORDINGS: dict[str, list[tuple[str, Any, Callable]]] = {
    **{f: [("GET", CLIST_URL, _clist(f))] for f in CLIST_COLUMNS},
    "stock_zh_a_hist": [("GET", "https://push2his.eastmoney.com/api/qt/stock/kline/get", _hist)],
    "stock_individual_fund_flow": [("GET", "https://push2his.eastmoney.com/api/qt/stock/fflow/daykline/get",
                                    _fund_flow)],
    **{f: [("GET", f"https://push2ex.eastmoney.com/{path}", _pool(f))] for f, path in POOL_PATHS.items()},
    "stock_hsgt_stock_statistics_em": [("GET", DATACENTER, _datacenter_positional(
        "stock_hsgt_stock_statistics_em", ["持股日期"], skip_index=False, branch="北向持股"))],
    "stock_comment_em": [("GET", DATACENTER, _datacenter_positional("stock_comment_em", ["交易日"], skip_index=True))],
    "stock_margin_account_info": [("GET", DATACENTER, _margin)],
    "stock_hot_rank_detail_em": [("POST", "https://emappdata.eastmoney.com/stockrank/getHisList", _hot_rank),
                                 ("POST", "https://emappdata.eastmoney.com/stockrank/getHisProfileList", _hot_rank)],
    "stock_zh_index_hist_csindex": [("GET", "https://www.csindex.com.cn/csindex-home/perf/index-perf", _csindex_perf)],
    "index_stock_cons_weight_csindex": [("GET", re.compile(r"https://oss-ch\.csindex\.com\.cn/.*closeweight\.xls"),
                                         _csindex_weights)],
    "stock_info_sh_name_code": [("GET", "https://query.sse.com.cn/sseQuery/commonQuery.do",
                                 _sse(SSE_FIELDS, ["上市日期"]))],
    "stock_info_sh_delist": [("GET", "https://query.sse.com.cn/commonQuery.do",
                              _sse(SSE_DELIST_FIELDS, ["上市日期", "暂停上市日期"]))],
    "stock_info_bj_name_code": [("POST", "https://www.bse.cn/nqxxController/nqxxCnzq.do", _bse)],
    # SZSE's sheets: headers as akshare's docs show them (inferred for the short-name tab)
    "stock_info_sz_name_code": [("GET", SZSE, _excel(["板块", "A股代码", "A股简称", "A股上市日期", "A股总股本",
                                                       "A股流通股本", "所属行业"]))],
    "stock_info_sz_delist": [("GET", SZSE, _excel(["证券代码", "证券简称", "上市日期", "终止上市日期"]))],
    "stock_info_sz_change_name": [("GET", SZSE, _excel(["变更日期", "证券代码", "证券简称", "变更前简称", "变更后简称"]))],
    "stock_industry_clf_hist_sw": [("GET", "https://www.swsresearch.com/swindex/pdf/SwClass2021/"
                                           "StockClassifyUse_stock.xls",
                                    _excel(["股票代码", "计入日期", "行业代码", "更新日期"],
                                           rename={"股票代码": "symbol", "计入日期": "start_date",
                                                   "行业代码": "industry_code", "更新日期": "update_time"}))],
}

# the parameter a "function:argument" key sets
ARGUMENT = {"stock_individual_fund_flow_rank": "indicator"}


def recorded_frame(function: str, rows: list[dict], **call: Any) -> pd.DataFrame:
    """What akshare's ``function`` returns when the upstream answers with ``rows``.

    ``function`` is a name or "name:argument" (the argument goes to the function's first parameter, e.g.
    "stock_individual_fund_flow_rank:今日"); ``call`` holds further keyword arguments of the call. Rows are
    keyed by akshare's column names; a column akshare does not have raises KeyError. Exceptions akshare raises
    on the answer (e.g. on a shape it cannot parse) propagate.
    """
    name, _, argument = function.partition(":")
    api = _akshare()
    if argument:
        call.setdefault(ARGUMENT.get(name, "symbol"), argument)
    from sentiment_pipeline.sources.akshare_source import clear_akshare_caches

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for method, url, answer in RECORDINGS[name]:
            mock.add_callback(method, url, callback=lambda request, answer=answer: answer(rows, request))
        clear_akshare_caches(api, name)
        try:
            return getattr(api, name)(**call)
        finally:
            clear_akshare_caches(api, name)
