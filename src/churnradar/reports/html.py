"""Render a :class:`~churnradar.reports.model.Report` as one self-contained HTML file.

ECharts is inlined from the package's vendored copy (``_static/vendor/echarts.min.js``, installed by
``bash scripts/install_assets.sh``), so the file opens without network access and holds no external
URL. Each chart's data is embedded as an ECharts option object.
"""

from __future__ import annotations

import json
import math
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
        xs = sorted(df[ch.x].astype(str).unique())
        ys = sorted(df[ch.y].astype(str).unique(), key=lambda v: (len(v), v)) if ch.y else []
        xi = {v: i for i, v in enumerate(xs)}
        yi = {v: i for i, v in enumerate(ys)}
        data = [
            [xi[str(r[ch.x])], yi[str(r[ch.y])], _clean(r[ch.value])]
            for _, r in df.iterrows()
            if _clean(r[ch.value]) is not None
        ]
        vals = [d[2] for d in data] or [0]
        base.update(
            tooltip={"position": "top"},
            xAxis={"type": "category", "data": xs, "axisLabel": {"rotate": 45}},
            yAxis={"type": "category", "data": ys},
            visualMap={
                "min": float(min(vals)),
                "max": float(max(vals)),
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


def _fmt_cell(col: str, v: Any, lang: str) -> str:
    v = _clean(v)
    if v is None:
        return "—" if not isinstance(v, str) else ""
    if isinstance(v, bool):
        return t("common.yes", lang) if v else t("common.no", lang)
    if isinstance(v, float):
        if col.startswith(("rate", "share", "pct")) or col.endswith(
            ("_rate", "_share", "_lo", "_hi", "_pct")
        ):
            return f"{v * 100:.2f}%"
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        return f"{v:,.2f}" if v != int(v) else f"{int(v):,}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def table_html(df: pd.DataFrame, lang: str) -> tuple[list[str], list[list[str]], int]:
    shown = df.head(MAX_TABLE_ROWS)
    cols = [c for c in shown.columns if not c.startswith("_")]
    head = [t(f"col.{c}", lang) if t(f"col.{c}", lang) != f"col.{c}" else c for c in cols]
    rows = [[_fmt_cell(c, r[c], lang) for c in cols] for _, r in shown.iterrows()]
    return head, rows, len(df)


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
