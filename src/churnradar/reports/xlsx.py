"""Render reports as one XLSX workbook with native Excel charts (xlsxwriter).

The workbook follows the conventions an Excel user expects (docs/reports.md, "Workbook"):

* a **contents** sheet (one row per section, with a link to its sheet) and a **key findings** sheet;
* one sheet per section, named ``<report> · <section>`` in the workbook's language, within Excel's
  31 characters and never cut with ``~``;
* on every sheet the table's header is on row 4, frozen, with an autofilter; every numeric column
  has a number format (rates ``0.00%``, counts ``#,##0``, money ``#,##0.00 元`` / ``¥#,##0.00``,
  statistics ``0.00``); booleans are words (是/否, yes/no); column widths fit the contents;
* a name comes before its code (``套餐`` = 全球通5G尊享套餐, then ``套餐编码`` = PK01), so no two
  headers of a table are the same; units are words (百分比, 元), never ``pct``/``yuan``;
* print setup: A4 landscape, one page wide, header row repeated on every page;
* the chart's data block sits to the right of the table with the native chart beside it; charts
  draw hidden rows (an autofilter on the table does not empty them) and leave gaps for missing
  (suppressed or not-yet-final) cells, never a 0.

Every cell is written through :mod:`churnradar.reports.safe_cells`: text is a string cell, never a
formula, whatever a package, county, grid or channel name starts with.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from churnradar.i18n import t
from churnradar.reports.html import gap_unfinished, ordered_categories, provisional_months
from churnradar.reports.model import Chart, Report, Section
from churnradar.reports.safe_cells import WORKBOOK_OPTIONS, cell_value, chart_text, write_cell

MAX_ROWS = 100_000

#: Excel's limit on a sheet name.
SHEET_NAME_MAX = 31

#: Row (0-based) of every sheet's table header: title, note and a blank row above it.
HEADER_ROW = 3

_v = cell_value

# ------------------------------------------------------------------------------------ sheet names
#: Short report names used as the first part of a sheet name.
REPORT_SHORT: dict[str, dict[str, str]] = {
    "zh": {
        "churn": "流失",
        "geography": "地域",
        "cohort": "批次",
        "revenue": "收入",
        "retention": "留存",
        "anomaly": "异常",
        "kpi": "考核",
        "competitor": "竞争",
        "survey": "调研",
        "forecast": "预测",
        "diagnosis": "诊断",
    },
    "en": {
        "churn": "Churn",
        "geography": "Geo",
        "cohort": "Cohort",
        "revenue": "Revenue",
        "retention": "Retention",
        "anomaly": "Anomaly",
        "kpi": "KPI",
        "competitor": "Competition",
        "survey": "Survey",
        "forecast": "Forecast",
        "diagnosis": "Diagnosis",
    },
}

#: Short section names (``report.section`` → name); a section not listed uses its title.
SECTION_SHORT: dict[str, dict[str, str]] = {
    "zh": {
        "churn.totals": "分类型流失",
        "churn.rate": "离网率",
        "churn.reason": "按离网原因",
        "churn.group": "按客户群",
        "churn.brand": "按品牌",
        "churn.package": "按套餐",
        "churn.channel": "按发展渠道",
        "churn.channel_type": "按渠道类型",
        "geography.county": "按区县",
        "geography.grid": "按网格",
        "cohort.cohort_tenure": "入网批次×在网月数",
        "cohort.t_plus_n_channel": "渠道T+n拆机率",
        "cohort.t_plus_n_package": "套餐T+n拆机率",
        "cohort.package_tenure": "套餐×在网时长段",
        "revenue.stock": "存量收入流失",
        "revenue.package_revenue": "套餐收入流失率",
        "revenue.product_matrix": "产品矩阵",
        "retention.km_package_group": "按套餐类别",
        "retention.km_channel_type": "按渠道类型",
        "retention.km_customer_group": "按客户群",
        "retention.km_payment_type": "按付费类型",
        "retention.logrank": "Log-rank检验",
        "anomaly.status": "季节基线对比",
        "anomaly.spring_festival": "区县春节效应",
        "anomaly.spring_festival_group": "客户群春节效应",
        "anomaly.flags": "异常单元",
        "anomaly.flag_cells": "异常单元月明细",
        "anomaly.drilldown_promotions": "促销与酬金追溯",
        "anomaly.drilldown_channel": "下钻-发展渠道",
        "anomaly.drilldown_cohort": "下钻-入网月份",
        "kpi.kpi": "分部门考核指标",
        "kpi.offnet_recorded": "离网率（按记录）",
        "kpi.group_rates": "按客户群",
        "competitor.traffic": "竞争对手通话",
        "competitor.share": "通话分钟占比",
        "competitor.push": "竞争对手发力区域",
        "survey.drivers": "NPS驱动因素",
        "survey.nps_segment": "分群NPS",
        "survey.cci": "CCI与离网",
        "survey.nps_churn": "NPS类别与离网",
        "forecast.backtest": "回测MAPE",
        "diagnosis.reason": "1 离网原因",
        "diagnosis.status": "2 季节性还是异常",
        "diagnosis.excess": "2 超额所在",
        "diagnosis.trace": "2 促销与酬金追溯",
        "diagnosis.intake": "2 分套餐渠道入网",
        "diagnosis.survey": "3 问卷证据",
        "diagnosis.plan": "4 维系方案",
        "diagnosis.tracking": "5 跟踪指标",
    },
    "en": {
        "churn.totals": "By kind",
        "churn.rate": "Off-net rate",
        "churn.reason": "By reason",
        "churn.group": "By group",
        "churn.brand": "By brand",
        "churn.package": "By package",
        "churn.channel": "By channel",
        "churn.channel_type": "By channel type",
        "geography.county": "By county",
        "geography.grid": "By grid",
        "cohort.cohort_tenure": "Cohort x tenure",
        "cohort.t_plus_n_channel": "Channel T+n",
        "cohort.t_plus_n_package": "Package T+n",
        "cohort.package_tenure": "Package x tenure",
        "revenue.stock": "Stock revenue",
        "revenue.package_revenue": "Package revenue",
        "revenue.product_matrix": "Product matrix",
        "retention.km_package_group": "By package group",
        "retention.km_channel_type": "By channel type",
        "retention.km_customer_group": "By group",
        "retention.km_payment_type": "By payment type",
        "retention.logrank": "Log-rank tests",
        "anomaly.status": "Seasonal baseline",
        "anomaly.spring_festival": "Festival, county",
        "anomaly.spring_festival_group": "Festival, group",
        "anomaly.flags": "Abnormal cells",
        "anomaly.flag_cells": "Cell months",
        "anomaly.drilldown_promotions": "Promotions",
        "anomaly.drilldown_channel": "Drill channel",
        "anomaly.drilldown_cohort": "Drill cohort",
        "kpi.kpi": "By department",
        "kpi.offnet_recorded": "Off-net recorded",
        "kpi.group_rates": "By group",
        "competitor.traffic": "Traffic",
        "competitor.share": "Minute share",
        "competitor.push": "Where they push",
        "survey.drivers": "NPS drivers",
        "survey.nps_segment": "NPS by segment",
        "survey.cci": "CCI and churn",
        "survey.nps_churn": "NPS and churn",
        "forecast.backtest": "Backtest MAPE",
        "diagnosis.reason": "1 Reasons",
        "diagnosis.status": "2 Seasonal or not",
        "diagnosis.excess": "2 Excess",
        "diagnosis.trace": "2 Trace-back",
        "diagnosis.intake": "2 Intake",
        "diagnosis.survey": "3 Survey",
        "diagnosis.plan": "4 Plan",
        "diagnosis.tracking": "5 Tracking",
    },
}

#: Words of the workbook that the message catalogue does not hold.
WORDS: dict[str, dict[str, str]] = {
    "zh": {
        "contents": "目录",
        "findings": "主要发现",
        "report": "报告",
        "month": "统计月份",
        "section": "章节",
        "sheet": "工作表",
        "finding": "发现",
        "code": "{name}编码",
        "chart_data": "图表数据：{title}",
        "generated": "由 churnradar 生成；每个工作表第4行为表头（已冻结、可筛选）。",
        "unit.pct": "百分比",
        "unit.yuan": "元",
        "unit.score": "分",
        "unit.months": "个月",
        "unit.count": "户",
        "note.kpi.kpi": "各指标的计算公式见“定义”列；比率附95% Wilson区间。",
        "col.best_excess": "最大超额",
        "col.package_group": "套餐类别",
    },
    "en": {
        "contents": "Contents",
        "findings": "Key findings",
        "report": "Report",
        "month": "As of",
        "section": "Section",
        "sheet": "Sheet",
        "finding": "Finding",
        "code": "{name} code",
        "chart_data": "Chart data: {title}",
        "generated": "Written by churnradar; on every sheet row 4 is the header (frozen, with filters).",
        "unit.pct": "percent",
        "unit.yuan": "yuan",
        "unit.score": "points",
        "unit.months": "months",
        "unit.count": "lines",
        "note.kpi.kpi": "Each KPI's formula is in the Definition column; rates carry 95% Wilson intervals.",
        "col.best_excess": "Best excess",
        "col.package_group": "Package group",
        # English headers the catalogue still gives in Chinese
        "col.base": "Base (lines at end of previous month)",
        "col.revenue_retention": "Revenue retention",
        "col.customer_retention": "Customer retention",
        "col.stock_revenue_churn_rate": "Stock revenue churn rate",
        "col.port_outs": "Port-outs",
        "col.deregistrations": "Deregistrations",
        "col.offnet_rate": "Off-net rate",
    },
}


def _w(key: str, lang: str, **kw: Any) -> str:
    text = WORDS.get(lang, WORDS["en"]).get(key) or WORDS["en"][key]
    return text.format(**kw) if kw else text


_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\'~]")


def _clean_sheet_text(text: str) -> str:
    return re.sub(r"\s+", " ", _BAD_SHEET_CHARS.sub(" ", str(text))).strip()


def _fit(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, cut at a word boundary when it has spaces."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    if " " in cut and not text[limit].isspace():
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ·-,")


def sheet_name(report: str, section: Section | str, lang: str, used: set[str], title: str = "") -> str:
    """A sheet name for ``section`` of ``report``: ``<report> · <section>``, ≤ 31 characters, unique
    (case-insensitive) within ``used``, without characters Excel refuses and without ``~``."""
    key = section.key if isinstance(section, Section) else str(section)
    title = section.title if isinstance(section, Section) else title or key
    prefix = REPORT_SHORT.get(lang, {}).get(report, report)
    short = SECTION_SHORT.get(lang, {}).get(f"{report}.{key}")
    if short is None:
        # forecast sections are "<region> · <model>": the region is what tells the sheets apart
        short = title.split(" · ")[0] if report == "forecast" else title
    prefix, short = _clean_sheet_text(prefix), _clean_sheet_text(short) or "sheet"
    sep = "·" if lang == "zh" else " · "
    candidates = [f"{prefix}{sep}{short}" if prefix else short, short]
    name = next((c for c in candidates if len(c) <= SHEET_NAME_MAX and c.lower() not in used), None)
    if name is None:
        base = _fit(candidates[0], SHEET_NAME_MAX)
        name, k = base, 2
        while name.lower() in used:
            tail = f" ({k})"
            name = _fit(candidates[0], SHEET_NAME_MAX - len(tail)) + tail
            k += 1
    used.add(name.lower())
    return name


# ------------------------------------------------------------------------------------ columns
#: Number formats by kind of numeric column.
NUMBER_FORMATS: dict[str, str] = {
    "pct": "0.00%",
    "int": "#,##0",
    "num": "#,##0.00",
    "stat": "0.00",
    "points": "0.0",
    "p": "[<0.0001]0.00E+00;0.0000",
    "months": "0",
}
YUAN_FORMATS = {"zh": '#,##0.00" 元"', "en": '"¥"#,##0.00'}

_PCT = re.compile(
    r"(^|_)(rate|share|retention|mape)(_|$)|^share_|^importance$|^change_mom$|^peak_rise$|_change_3m$"
)
_YUAN = re.compile(r"revenue|_yuan$|^arpu|^commission")
_STAT = re.compile(
    r"^(z|z_\w+|chi2|coef|factor|sf_factor|ratio|ratio_\w+|rr_base|lift|peak_ratio|mean_rating"
    r"|stated_importance|cci)$"
)
_POINTS = re.compile(r"^nps$")
_P = re.compile(r"^(p|p_value|pvalue)$")
_BOUND = re.compile(r"^(?:(?P<a>.+)_(?:lo|hi)(?:_\d+)?|(?:lo|hi)(?:_\d+)?)$")

#: Units of a per-row ``unit`` column → number format kind.
UNIT_KINDS = {"pct": "pct", "yuan": "yuan", "score": "points", "months": "months", "count": "int"}

#: Text columns whose values are column codes (``customer_group``, ``package_id×tenure_band``).
_CODE_NAME_COLUMNS = ("segment", "dimension")

#: Code columns a ``label`` column names, most specific first.
_LABEL_CODES = (
    "cell",
    "value",
    "competitor_id",
    "grid_id",
    "channel_id",
    "package_id",
    "factor_name",
    "category",
    "unique_id",
    "reason_code",
    "kind",
    "channel_type",
    "customer_group",
    "brand",
    "payment_type",
    "county_id",
)


_CJK = re.compile(r"[\u3400-\u9fff]")


def _col_name(lang: str, c: str) -> str:
    """The header of column ``c`` in ``lang``: the catalogue's, else the workbook's own word."""
    s = t(f"col.{c}", lang)
    own = WORDS.get(lang, {}).get(f"col.{c}")
    if own and (s == f"col.{c}" or c == "best_excess" or (lang == "en" and _CJK.search(s))):
        return own
    return c if s == f"col.{c}" else s


def _is_integral(s: pd.Series) -> bool:
    vals = pd.to_numeric(s, errors="coerce").dropna()
    vals = vals[vals.map(lambda x: math.isfinite(float(x)))]
    return bool(len(vals)) and bool((vals == vals.round()).all())


def number_kind(name: str, series: pd.Series, columns: list[str] | tuple[str, ...] = ()) -> str:
    """The kind of number a column holds, read from its name, then its values: ``pct``, ``yuan``,
    ``stat``, ``points``, ``p``, ``int`` or ``num``. A bound (``rate_lo``, ``lo_80``) takes its
    estimate's kind (``rate``; ``forecast``)."""
    m = _BOUND.match(name)
    if m:
        base = m.group("a") or ("forecast" if "forecast" in columns else None)
        if base and base != name:
            return number_kind(base, series, columns)
    if _PCT.search(name):
        return "pct"
    if _YUAN.search(name):
        return "yuan"
    if _P.match(name):
        return "p"
    if _STAT.match(name):
        return "stat"
    if _POINTS.match(name):
        return "points"
    return "int" if _is_integral(series) else "num"


@dataclass
class _Column:
    key: str
    header: str
    values: list[Any]
    kind: str  # "text" or a NUMBER_FORMATS / "yuan" kind
    row_kinds: list[str] | None = None  # per-row kinds (a ``unit`` column beside it)


def _label_pairs(cols: list[str]) -> dict[str, str]:
    """Name column → the code column it names."""
    pairs: dict[str, str] = {}
    for c in cols:
        if c.endswith("_label") and c[: -len("_label")] in cols:
            pairs[c] = c[: -len("_label")]
    if "county" in cols and "county_id" in cols:
        pairs["county"] = "county_id"
    if "label" in cols:
        taken = set(pairs.values())
        code = next((c for c in _LABEL_CODES if c in cols and c not in taken), None)
        if code is not None:
            pairs["label"] = code
    return pairs


def _ordered(cols: list[str], pairs: dict[str, str]) -> list[str]:
    """Columns with each name column moved right before its code column."""
    names_of = {code: name for name, code in pairs.items()}
    out: list[str] = []
    for c in cols:
        if c in pairs:
            continue
        if c in names_of:
            out.append(names_of[c])
        out.append(c)
    return out


def _text_value(key: str, v: Any, lang: str) -> Any:
    v = _v(v)
    if v is None:
        return None
    if isinstance(v, bool):
        return t("common.yes" if v else "common.no", lang)
    if key == "unit":
        return _w(f"unit.{v}", lang) if f"unit.{v}" in WORDS["en"] else v
    if key in _CODE_NAME_COLUMNS and isinstance(v, str):
        return " × ".join(_col_name(lang, p.strip()) for p in v.split("×"))
    return v


def table_columns(df: pd.DataFrame, lang: str) -> list[_Column]:
    """The columns of a section's table as the workbook shows them: names before codes, headers in
    ``lang`` (unique), values as cells and the kind of number of each numeric column."""
    cols = [str(c) for c in df.columns if not str(c).startswith("_")]
    df = df.head(MAX_ROWS).copy()
    df.columns = [str(c) for c in df.columns]
    # a text column kept in both languages: show the workbook's language only
    if "terms_en" in cols:
        if lang == "en":
            df["terms"] = df["terms_en"].where(df["terms_en"].notna(), df.get("terms"))
        cols.remove("terms_en")
    pairs = _label_pairs(cols)
    order = _ordered(cols, pairs)
    unit_kinds = None
    if "unit" in cols:
        unit_kinds = [UNIT_KINDS.get(str(u), "num") for u in df["unit"]]
    out: list[_Column] = []
    for c in order:
        s = df[c]
        if c in pairs:
            header = _col_name(lang, pairs[c])
        elif c in pairs.values() or (c.endswith("_id") and s.dtype == object):
            header = _w("code", lang, name=_col_name(lang, c))
        else:
            header = _col_name(lang, c)
        numeric = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
        if numeric:
            row_kinds = None
            if unit_kinds is not None and (c == "value" or (_BOUND.match(c) and c.startswith("value"))):
                row_kinds = unit_kinds
            kind = number_kind(c, s, cols)
            out.append(_Column(c, header, [_v(x) for x in s], kind, row_kinds))
        else:
            out.append(_Column(c, header, [_text_value(c, x, lang) for x in s], "text"))
    seen: dict[str, int] = {}
    for col in out:
        n = seen.get(col.header, 0) + 1
        seen[col.header] = n
        if n > 1:
            col.header = f"{col.header} ({n})"
    return out


def _display_width(v: Any, kind: str) -> int:
    if v is None:
        return 0
    if kind != "text":
        if isinstance(v, int | float):
            return 14 if kind in ("yuan", "num") and abs(v) >= 1e6 else 10
        return len(str(v))
    s = str(v)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _width(header: str, values: list[Any], kind: str) -> float:
    w = max([_display_width(header, "text"), *(_display_width(v, kind) for v in values[:2000])])
    return float(min(max(w + 2, 8), 48))


class _Formats:
    """The workbook's cell formats, created once."""

    def __init__(self, wb: Any, lang: str) -> None:
        self.wb = wb
        self.lang = lang
        self.head = wb.add_format(
            {"bold": True, "bg_color": "#EEF2F7", "border": 1, "text_wrap": True, "valign": "top"}
        )
        self.title = wb.add_format({"bold": True, "font_size": 14})
        self.note = wb.add_format({"italic": True, "font_color": "#555555"})
        self.caption = wb.add_format({"bold": True, "font_color": "#555555"})
        self.link = wb.add_format({"font_color": "#1F5FBF", "underline": 1})
        self._num: dict[str, Any] = {}

    def num(self, kind: str) -> Any:
        if kind == "text":
            return None
        if kind not in self._num:
            fmt = YUAN_FORMATS.get(self.lang, YUAN_FORMATS["en"]) if kind == "yuan" else NUMBER_FORMATS[kind]
            self._num[kind] = self.wb.add_format({"num_format": fmt})
        return self._num[kind]


def _setup_sheet(ws: Any, header_row: int, last_row: int, ncols: int) -> None:
    """Frozen header, autofilter over the table and print setup."""
    ncols = max(ncols, 1)
    ws.freeze_panes(header_row + 1, 0)
    ws.autofilter(header_row, 0, max(last_row, header_row), ncols - 1)
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(header_row)
    ws.print_area(0, 0, max(last_row, header_row), ncols - 1)
    ws.set_footer("&L&A&R&P / &N")


def _write_table(ws: Any, columns: list[_Column], row: int, col: int, fmts: _Formats) -> int:
    """Write ``columns`` with their header at ``row``; returns the last data row."""
    n = len(columns[0].values) if columns else 0
    for j, c in enumerate(columns):
        write_cell(ws, row, col + j, c.header, fmts.head)
        ws.set_column(col + j, col + j, _width(c.header, c.values, c.kind), fmts.num(c.kind))
        for i, v in enumerate(c.values, start=1):
            kind = c.row_kinds[i - 1] if c.row_kinds is not None else c.kind
            write_cell(ws, row + i, col + j, v, fmts.num(kind))
    return row + n


def _category(v: Any) -> str:
    v = _v(v)
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return "" if v is None else str(v)


def _series_kind(ch: Chart, name: str, values: pd.Series) -> str:
    if ch.fmt == "pct":
        return "pct"
    if ch.fmt == "yuan":
        return "yuan"
    return number_kind(name, values)


def _axis_format(ch: Chart, lang: str) -> dict[str, Any]:
    if ch.fmt == "pct":
        return {"num_format": "0.0%"}
    if ch.fmt == "yuan":
        return {"num_format": "#,##0"}
    return {"num_format": "#,##0.##"}


def _chart_block(ws, wb, ch: Chart, row: int, col: int, lang: str, fmts: _Formats, sheet: str):
    """Write the chart's data block at (row, col): a caption, a header and the values; returns the
    native chart drawn from it and the block's last row and width."""
    df = ch.data
    write_cell(ws, row, col, _w("chart_data", lang, title=ch.title), fmts.caption)
    row += 1
    if ch.kind == "heatmap":
        wide = df.pivot_table(index=ch.y, columns=ch.x, values=ch.value, aggfunc="first")
        wide = wide.reindex(index=ordered_categories(wide.index), columns=ordered_categories(wide.columns))
        write_cell(ws, row, col, f"{_col_name(lang, ch.y)} \\ {_col_name(lang, ch.x)}", fmts.head)
        for j, c in enumerate(wide.columns, start=1):
            write_cell(ws, row, col + j, _category(c), fmts.head)
        kind = _series_kind(ch, ch.value or "", df[ch.value]) if ch.value else "num"
        for i, (idx, r) in enumerate(wide.iterrows(), start=1):
            write_cell(ws, row + i, col, _category(idx))
            for j, v in enumerate(r, start=1):
                write_cell(ws, row + i, col + j, v, fmts.num(kind))
        nr, nc = len(wide), len(wide.columns)
        if nr and nc:
            ws.conditional_format(row + 1, col + 1, row + nr, col + nc, {"type": "3_color_scale"})
        means = wide.mean(axis=1)
        mcol = col + nc + 1
        write_cell(ws, row, mcol, _col_name(lang, "mean"), fmts.head)
        for i, v in enumerate(means, start=1):
            write_cell(ws, row + i, mcol, v, fmts.num(kind))
        chart = wb.add_chart({"type": "column"})
        chart.add_series(
            {
                "name": chart_text(ch.title),
                "categories": [sheet, row + 1, col, row + nr, col],
                "values": [sheet, row + 1, mcol, row + nr, mcol],
            }
        )
        chart.set_y_axis(_axis_format(ch, lang))
        return chart, row + nr, nc + 2
    if ch.kind == "scatter":
        ycol = ch.series[0]
        cols = [ch.label or ch.x, ch.x, ycol]
        kinds = ["text", _series_kind(ch, ch.x, df[ch.x]), _series_kind(ch, ycol, df[ycol])]
        for j, c in enumerate(cols):
            write_cell(ws, row, col + j, _col_name(lang, c), fmts.head)
        for i, (_, r) in enumerate(df.iterrows(), start=1):
            for j, c in enumerate(cols):
                write_cell(ws, row + i, col + j, r[c], fmts.num(kinds[j]))
        n = len(df)
        chart = wb.add_chart({"type": "scatter"})
        chart.add_series(
            {
                "name": chart_text(ch.title),
                "categories": [sheet, row + 1, col + 1, row + n, col + 1],
                "values": [sheet, row + 1, col + 2, row + n, col + 2],
                "marker": {"type": "circle", "size": 8},
                "data_labels": {
                    "custom": [{"value": chart_text(v)} for v in df[ch.label or ch.x]],
                    "position": "right",
                },
            }
        )
        chart.set_x_axis(
            {"name": chart_text(ch.series_names.get(ch.x, _col_name(lang, ch.x))), **_axis_format(ch, lang)}
        )
        chart.set_y_axis(
            {"name": chart_text(ch.series_names.get(ycol, _col_name(lang, ycol))), **_axis_format(ch, lang)}
        )
        return chart, row + n, 3
    write_cell(ws, row, col, _col_name(lang, ch.x), fmts.head)
    kinds = [_series_kind(ch, c, df[c]) for c in ch.series]
    for j, c in enumerate(ch.series, start=1):
        write_cell(ws, row, col + j, ch.series_names.get(c, _col_name(lang, c)), fmts.head)
    for i, (_, r) in enumerate(df.iterrows(), start=1):
        write_cell(ws, row + i, col, _category(r[ch.x]))
        for j, c in enumerate(ch.series, start=1):
            write_cell(ws, row + i, col + j, r[c], fmts.num(kinds[j - 1]))
    n = len(df)
    kind = {
        "line": ("line", None),
        "step": ("line", None),
        "bar": ("column", None),
        "stacked_bar": ("column", "stacked"),
    }[ch.kind]
    chart = wb.add_chart({"type": kind[0], **({"subtype": kind[1]} if kind[1] else {})})
    for j, _c in enumerate(ch.series, start=1):
        chart.add_series(
            {
                "name": [sheet, row, col + j],
                "categories": [sheet, row + 1, col, row + n, col],
                "values": [sheet, row + 1, col + j, row + n, col + j],
            }
        )
    chart.set_x_axis({"name": chart_text(_col_name(lang, ch.x))})
    chart.set_y_axis(_axis_format(ch, lang))
    return chart, row + n, 1 + len(ch.series)


def _section_note(rep: Report, s: Section, lang: str) -> str:
    """The note under a section's title, then the 口径 of its metrics; a note pointing to the
    repository's docs is replaced by one that stands on its own."""
    key = f"note.{rep.name}.{s.key}"
    note = _w(key, lang) if key in WORDS["en"] else s.note or ""
    return "\n".join(x for x in (note, s.definitions) if x)


def _write_section(wb, ws, rep: Report, s: Section, name: str, fmts: _Formats) -> None:
    lang = fmts.lang
    write_cell(ws, 0, 0, s.title, fmts.title)
    note = _section_note(rep, s, lang)
    if note:
        write_cell(ws, 1, 0, note, fmts.note)
    columns = table_columns(s.table, lang)
    last = _write_table(ws, columns, HEADER_ROW, 0, fmts)
    ncols = len(columns)
    _setup_sheet(ws, HEADER_ROW, last, ncols)
    bcol, brow = ncols + 1, HEADER_ROW - 1
    unfinished = provisional_months(s)
    for ch in s.all_charts():
        ch = gap_unfinished(ch, unfinished)  # not-final months are blank cells, drawn as gaps
        chart, block_end, width = _chart_block(ws, wb, ch, brow, bcol, lang, fmts, name)
        chart.set_title({"name": chart_text(ch.title)})
        chart.set_size({"width": 760, "height": 360})
        chart.show_blanks_as("gap")  # a missing (suppressed, not-yet-final) cell is a gap, not 0
        chart.show_hidden_data()  # rows hidden by the table's autofilter stay in the chart
        ws.insert_chart(brow, bcol + width + 1, chart)
        brow = max(block_end, brow + 20) + 2


def _write_contents(ws, reports: list[Report], sheets: list[tuple[Report, Section, str]], fmts: _Formats):
    lang = fmts.lang
    write_cell(ws, 0, 0, f"churnradar · {_w('contents', lang)}", fmts.title)
    write_cell(ws, 1, 0, _w("generated", lang), fmts.note)
    heads = [_w("report", lang), _w("month", lang), _w("section", lang), _w("sheet", lang)]
    for j, h in enumerate(heads):
        write_cell(ws, HEADER_ROW, j, h, fmts.head)
    widths = [len(h) + 4 for h in heads]
    r = HEADER_ROW
    for rep, s, name in sheets:
        r += 1
        cells = [rep.title, rep.as_of.strftime("%Y-%m"), s.title]
        for j, v in enumerate(cells):
            write_cell(ws, r, j, v)
            widths[j] = max(widths[j], _display_width(v, "text") + 2)
        ws.write_url(r, 3, f"internal:'{name}'!A1", fmts.link, string=name)
        widths[3] = max(widths[3], _display_width(name, "text") + 2)
    for j, w in enumerate(widths):
        ws.set_column(j, j, min(w, 60))
    _setup_sheet(ws, HEADER_ROW, r, len(heads))


def _write_findings(ws, reports: list[Report], fmts: _Formats) -> None:
    lang = fmts.lang
    write_cell(ws, 0, 0, _w("findings", lang), fmts.title)
    heads = [_w("report", lang), _w("month", lang), _w("finding", lang)]
    for j, h in enumerate(heads):
        write_cell(ws, HEADER_ROW, j, h, fmts.head)
    wrap = fmts.wb.add_format({"text_wrap": True, "valign": "top"})
    r = HEADER_ROW
    for rep in reports:
        for f in rep.findings:
            r += 1
            write_cell(ws, r, 0, rep.title)
            write_cell(ws, r, 1, rep.as_of.strftime("%Y-%m"))
            write_cell(ws, r, 2, f, wrap)
    ws.set_column(0, 0, 28)
    ws.set_column(1, 1, 12)
    ws.set_column(2, 2, 100)
    _setup_sheet(ws, HEADER_ROW, r, len(heads))


def render_xlsx(reports: list[Report], path: Path | str) -> Path:
    """Write ``reports`` into one workbook at ``path``: contents, key findings, one sheet per section."""
    import xlsxwriter

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path), WORKBOOK_OPTIONS)
    lang = reports[0].lang if reports else "zh"
    fmts = _Formats(wb, lang)
    used: set[str] = set()
    toc = wb.add_worksheet(sheet_name("", "contents", lang, used, _w("contents", lang)))
    found = wb.add_worksheet(sheet_name("", "findings", lang, used, _w("findings", lang)))
    sheets: list[tuple[Report, Section, str]] = []
    for rep in reports:
        for s in rep.sections:
            name = sheet_name(rep.name, s, lang, used)
            sheets.append((rep, s, name))
            _write_section(wb, wb.add_worksheet(name), rep, s, name, fmts)
    _write_contents(toc, reports, sheets, fmts)
    _write_findings(found, reports, fmts)
    wb.close()
    return path
