"""Render a :class:`~churnradar.reports.model.Report` as one self-contained HTML file.

ECharts is inlined from the package's vendored copy (``_static/vendor/echarts.min.js``, installed by
``bash scripts/install_assets.sh``), so the file opens without network access and holds no external
URL. Each chart's data is embedded as an ECharts option object.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape

from churnradar.errors import ChurnRadarError
from churnradar.i18n import t
from churnradar.reports.model import Chart, Report, Section

VENDOR = Path(__file__).resolve().parent.parent / "_static" / "vendor" / "echarts.min.js"
MAX_TABLE_ROWS = 400


class AssetMissingError(ChurnRadarError):
    """A vendored front-end asset is not installed."""


@cache
def echarts_source() -> str:
    """The vendored ECharts bundle; AssetMissingError when it was never installed."""
    if not VENDOR.exists():
        raise AssetMissingError(
            f"{VENDOR} is missing: the HTML reports inline ECharts from the package; "
            "run `bash scripts/install_assets.sh` (needs Node.js and npm) and retry"
        )
    src = VENDOR.read_text(encoding="utf-8")
    return src.replace("</script", "<\\/script")


def _clean(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, (np.floating, float)):
        return None if not math.isfinite(float(v)) else round(float(v), 6)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d")
    return v


PALETTE = [
    "#2f6db5",
    "#d9534f",
    "#3c9d5d",
    "#f0a020",
    "#7b5ea7",
    "#1aa3a3",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
]


def _axis_fmt(fmt: str) -> str:
    return {"pct": "pct", "yuan": "num", "num": "num"}.get(fmt, "num")


def _series_label(ch: Chart, col: str, lang: str) -> str:
    if col in ch.series_names:
        return ch.series_names[col]
    text = t(f"col.{col}", lang)
    return col if text == f"col.{col}" else text


def provisional_months(section: Section) -> list[str]:
    """Months (``YYYY-MM``) a section's table marks as not final yet (``provisional``), in order."""
    df = section.table
    if "provisional" not in df.columns or "month" not in df.columns:
        return []
    prov = df.loc[df["provisional"].fillna(False).astype(bool), "month"]
    return sorted({str(_clean(m))[:7] for m in prov})


def gap_unfinished(ch: Chart, months: list[str] | set[str]) -> Chart:
    """``ch`` with its values in ``months`` (not final yet) made missing, so they are drawn as a gap
    rather than as a low or 0 value; charts not over months are returned as they are."""
    if not months or ch.x != "month" or ch.kind not in ("line", "bar", "stacked_bar", "step"):
        return ch
    data = ch.data.copy()
    unfinished = data[ch.x].map(lambda v: str(_clean(v))[:7] in set(months))
    if not unfinished.any():
        return ch
    cols = [c for c in ch.series if c in data.columns]
    data[cols] = data[cols].astype(float)
    data.loc[unfinished, cols] = np.nan
    return replace(ch, data=data)


def chart_option(ch: Chart, lang: str = "zh", unfinished: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    """ECharts option for one chart (data embedded).

    Missing values (suppressed cells; ``unfinished`` months, which are also shaded and labelled)
    are ``null``, which ECharts draws as a gap: never a 0.
    """
    ch = gap_unfinished(ch, unfinished)
    base: dict[str, Any] = {
        "color": PALETTE,
        "tooltip": {"trigger": "axis" if ch.kind in ("line", "bar", "stacked_bar", "step") else "item"},
        "animation": False,
        "grid": {"left": 70, "right": 30, "top": 50, "bottom": 60, "containLabel": True},
        "_fmt": _axis_fmt(ch.fmt),
    }
    df = ch.data
    if ch.kind in ("line", "bar", "stacked_bar", "step"):
        x = [str(_clean(v)) for v in df[ch.x]]
        series = []
        for col in ch.series:
            s: dict[str, Any] = {
                "name": _series_label(ch, col, lang),
                "type": "bar" if ch.kind in ("bar", "stacked_bar") else "line",
                "data": [_clean(v) for v in df[col]],
                "connectNulls": False,
            }
            if ch.kind == "stacked_bar":
                s["stack"] = "total"
            if ch.kind == "step":
                s["step"] = "end"
                s["showSymbol"] = False
            series.append(s)
        shaded = [m for m in x if m[:7] in set(unfinished)]
        if series and shaded:
            series[0]["markArea"] = {
                "silent": True,
                "itemStyle": {"color": "rgba(120, 120, 120, 0.10)"},
                "label": {"position": "insideTop", "color": "#666"},
                "data": [[{"xAxis": shaded[0], "name": t("col.provisional", lang)}, {"xAxis": shaded[-1]}]],
            }
        for mk in ch.marks:
            if series and "y" in mk:
                series[0].setdefault("markLine", {"symbol": "none", "data": []})["data"].append(
                    {"yAxis": _clean(mk["y"]), "name": mk.get("name", "")}
                )
        base.update(
            legend={"top": 5, "type": "scroll"},
            xAxis={"type": "category", "data": x, "axisLabel": {"rotate": 45 if len(x) > 12 else 0}},
            yAxis={"type": "value", "scale": ch.kind in ("line", "step")},
            series=series,
        )
        if len(x) > 30:
            base["dataZoom"] = [{"type": "inside"}, {"type": "slider", "height": 16, "bottom": 5}]
    elif ch.kind == "scatter":
        ycol = ch.series[0]
        pts = [
            {"name": str(r[ch.label]) if ch.label else "", "value": [_clean(r[ch.x]), _clean(r[ycol])]}
            for _, r in df.iterrows()
        ]
        s = {
            "type": "scatter",
            "name": _series_label(ch, ycol, lang),
            "data": pts,
            "symbolSize": 14,
            "label": {"show": True, "formatter": "{b}", "position": "right", "fontSize": 10},
        }
        lines = [{"xAxis": _clean(m["x"])} for m in ch.marks if "x" in m] + [
            {"yAxis": _clean(m["y"])} for m in ch.marks if "y" in m
        ]
        if lines:
            s["markLine"] = {"symbol": "none", "lineStyle": {"type": "dashed"}, "data": lines}
        base.update(
            xAxis={"type": "value", "name": _series_label(ch, ch.x, lang), "scale": True},
            yAxis={"type": "value", "name": _series_label(ch, ycol, lang), "scale": True},
            series=[s],
        )
    elif ch.kind == "heatmap":
        xs = [_category(v) for v in df[ch.x].unique()]
        xs = sorted(xs, key=_category_key(xs))
        ys = [_category(v) for v in df[ch.y].unique()] if ch.y else []
        ys = sorted(ys, key=_category_key(ys))
        xi = {v: i for i, v in enumerate(xs)}
        yi = {v: i for i, v in enumerate(ys)}
        data = [
            [xi[_category(r[ch.x])], yi[_category(r[ch.y])], _clean(r[ch.value])]
            for _, r in df.iterrows()
            if _clean(r[ch.value]) is not None
        ]
        lo, hi = _legend_range([d[2] for d in data])
        base.update(
            tooltip={"position": "top"},
            xAxis={"type": "category", "data": xs, "axisLabel": {"rotate": 45}},
            yAxis={"type": "category", "data": ys},
            visualMap={
                "min": lo,
                "max": hi,
                "show": bool(data),  # nothing to colour: no legend
                "calculable": True,
                "orient": "horizontal",
                "left": "center",
                "bottom": 0,
                "inRange": {"color": ["#f7fbff", "#6baed6", "#08306b"]},
            },
            series=[{"type": "heatmap", "name": ch.series_names.get(ch.value or "", ch.value), "data": data}],
        )
        base["grid"]["bottom"] = 80
    return base


def _legend_range(values: list[float]) -> tuple[float, float]:
    """Ends of a heat map's legend: the values' range, widened when every value is the same (the
    legend would read "0 — 0" and colour nothing) to start at 0, or to 0 … 1 for all zeros."""
    if not values:
        return 0.0, 1.0
    lo, hi = float(min(values)), float(max(values))
    if hi > lo:
        return lo, hi
    if lo > 0:
        return 0.0, lo
    if lo < 0:
        return lo, 0.0
    return 0.0, 1.0


def _category(v: Any) -> str:
    """A category label: ``3`` rather than ``3.0``, months and texts as they are."""
    v = _clean(v)
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return "" if v is None else str(v)


def format_number(v: Any, kind: str) -> str:
    """A number as the tables show it, by kind of value (the workbook's kinds, see
    :func:`churnradar.reports.xlsx.number_kind`): rates ``1.36%``, counts ``5,486``, money and
    amounts ``1,234.56``, statistics ``0.83``, NPS ``-9.4``, p-values ``0.0012`` / ``1.9e-62``."""
    v = _clean(v)
    if v is None:
        return "—"
    if isinstance(v, bool) or not isinstance(v, int | float):
        return str(v)
    if kind == "pct":
        return f"{v * 100:.2f}%"
    if kind in ("int", "months"):
        return f"{v:,.0f}"
    if kind == "points":
        return f"{v:,.1f}"
    if kind == "p":
        return f"{v:.1e}" if 0 < abs(v) < 1e-4 else f"{v:.4f}"
    return f"{v:,.2f}"


def table_html(df: pd.DataFrame, lang: str) -> tuple[list[str], list[list[str]], int]:
    """Headers and formatted cells of a section's table, as the workbook shows it: names before
    codes, unique headers, booleans and units as words, numbers formatted by kind."""
    from churnradar.reports.xlsx import table_columns

    columns = table_columns(df.head(MAX_TABLE_ROWS), lang)
    head = [c.header for c in columns]
    n = len(columns[0].values) if columns else 0
    rows = []
    for i in range(n):
        row = []
        for c in columns:
            v = c.values[i]
            if c.kind == "text":
                row.append("" if v is None else str(v))
            else:
                row.append(format_number(v, c.row_kinds[i] if c.row_kinds is not None else c.kind))
        rows.append(row)
    return head, rows, len(df)


def ordered_categories(values: Any) -> list[Any]:
    """Distinct ``values`` in reading order (see :func:`_category_key`)."""
    distinct = list(dict.fromkeys(values))
    key = _category_key([_category(v) for v in distinct])
    return sorted(distinct, key=lambda v: key(_category(v)))


def _category_key(values: list[str]):
    """Sort key of heat-map categories: numbers as numbers (1, 2, 10), bands by their lower bound
    (0-2, 3-9, 10-23), other texts as texts."""

    def lead(v: str) -> float | None:
        m = re.match(r"^-?\d+(\.\d+)?", v)
        return float(m.group(0)) if m else None

    if (
        values
        and all(lead(v) is not None for v in values)
        and not any(re.match(r"^\d{4}-\d{2}", v) for v in values)
    ):
        return lambda v: (lead(v), v)
    return lambda v: v


@cache
def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(Path(__file__).with_name("templates"))),
        autoescape=select_autoescape(["html"]),
    )


def render_html(report: Report, path: Path | str) -> Path:
    """Write ``report`` as one self-contained HTML file at ``path``; returns the path."""
    path = Path(path)
    lang = report.lang
    sections = []
    charts = []
    for s in report.sections:
        ids = []
        unfinished = provisional_months(s)
        for ch in s.all_charts():
            cid = f"chart{len(charts)}"
            charts.append(
                {
                    "id": cid,
                    "title": ch.title,
                    "option": chart_option(ch, lang, unfinished),
                    "points": gap_unfinished(ch, unfinished).n_points(),
                }
            )
            ids.append({"id": cid, "title": ch.title})
        head, rows, total = table_html(s.table, lang)
        sections.append(
            {
                "key": s.key,
                "title": s.title,
                "note": s.note,
                "definitions": s.definitions,
                "charts": ids,
                "head": head,
                "rows": rows,
                "total": total,
            }
        )
    html = (
        _env()
        .get_template("report.html")
        .render(
            report=report,
            lang=lang,
            html_lang="zh-CN" if lang == "zh" else "en",
            t=lambda k, **kw: t(k, lang, **kw),
            sections=sections,
            charts_json=json.dumps(charts, ensure_ascii=False, default=_clean).replace("</", "<\\/"),
            echarts=echarts_source(),
            max_rows=MAX_TABLE_ROWS,
            meta=report.meta,
        )
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
