"""Dashboard pages: the forecast, the report downloads and the model registry."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from churnradar.api.deps import PrincipalDep
from churnradar.api.messages import tr
from churnradar.api.roles import require
from churnradar.api.routes.pages import (
    SAFE_ID,
    lang_of,
    render,
)

router = APIRouter(include_in_schema=False)

#: ECharts' default colours, so a region keeps one colour across its actual and forecast lines
PALETTE = ("#5470c6", "#91cc75", "#fac858", "#ee6666", "#73c0de", "#3ba272", "#fc8452", "#9a60b4", "#ea7ccc")


@router.get("/forecast")
def forecast_page(
    request: Request, p: PrincipalDep, county: Annotated[str | None, Query(pattern=SAFE_ID)] = None
) -> Response:
    from churnradar.api.routes.reports import forecast_rows
    from churnradar.forecast import model_note

    require(p.role, "reports")
    lang = lang_of(request)
    fc = forecast_rows(request, p, 6, county)
    names = _region_names(request, p, lang)
    table = [
        {
            **r,
            "region_name": names.get(r["region"], r["region"]),
            "model_name": tr(f"forecast.model.{r['model']}", lang),
        }
        for r in fc.get("rows") or []
    ]
    return render(
        request,
        "forecast.html",
        fc=fc,
        table=table,
        chart=_forecast_chart(fc, names, lang),
        note=None if fc.get("seasonal", True) else model_note(lang),
        mape=_mape_line(fc.get("summary") or {}, lang),
    )


def _region_names(request: Request, p: Any, lang: str) -> dict[str, str]:
    """County id → its name in ``lang`` (the county's own name when it has no English one in an
    English page is its id), and the forecast's total ``ALL`` → all regions."""
    from churnradar.forecast import ALL
    from churnradar.views.regions import regions

    names = {ALL: tr("forecast.all_regions", lang)}
    for r in regions(request.app.state.data.store, p.scope):
        name = r.get("county_name_en") if lang == "en" else r.get("county_name")
        names[r["county_id"]] = name or r["county_id"]
    return names


def _mape_line(summary: dict[str, Any], lang: str) -> str | None:
    chosen = summary.get("chosen_mape")
    baseline = (
        summary.get("seasonal_naive_mape") if summary.get("seasonal", True) else summary.get("naive_mape")
    )
    if chosen is None:
        return None
    pct = lambda v: "—" if v is None else f"{v * 100:.1f}%"  # noqa: E731
    name = tr("forecast.model." + ("SeasonalNaive" if summary.get("seasonal", True) else "Naive"), lang)
    return tr("forecast.backtest", lang, chosen=pct(chosen), baseline=pct(baseline), name=name)


def _forecast_chart(fc: dict[str, Any], names: dict[str, str], lang: str) -> dict[str, Any] | None:
    """Actual churners per region by month, then the forecast (dashed) with its 80% interval in
    the tooltip; a month without a value is a gap."""
    rows = fc.get("rows") or []
    if not rows:
        return None
    hist = fc.get("history") or []
    months = sorted({r["month"] for r in hist} | {r["month"] for r in rows})
    regions = sorted({str(r["region"]) for r in rows}, key=lambda u: (u != "ALL", names.get(u, u)))
    actual: dict[str, dict[str, float]] = {}
    for r in hist:
        actual.setdefault(str(r["region"]), {})[r["month"]] = r["actual"]
    ahead: dict[str, dict[str, float]] = {}
    for r in rows:
        ahead.setdefault(str(r["region"]), {})[r["month"]] = r.get("forecast")
    series = []
    for i, u in enumerate(regions):
        name = names.get(u, u)
        color = PALETTE[i % len(PALETTE)]  # a region's actual and forecast lines share its colour
        series.append(
            {"name": name, "type": "line", "color": color, "data": [actual.get(u, {}).get(m) for m in months]}
        )
        last = max(actual.get(u, {}) or [""])
        # the forecast starts from the last actual month so the two lines meet
        joined = {**({last: actual[u][last]} if last else {}), **ahead.get(u, {})}
        series.append(
            {
                "name": name,
                "type": "line",
                "color": color,
                "lineStyle": {"type": "dashed"},
                "data": [None if joined.get(m) is None else round(joined[m], 1) for m in months],
            }
        )
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"type": "scroll", "bottom": 0},
        "grid": {"left": 56, "right": 24, "top": 24, "bottom": 64},
        "xAxis": {"type": "category", "data": months, "name": tr("axis.month", lang)},
        "yAxis": {
            "type": "value",
            "name": tr("forecast.axis", lang),
            "nameLocation": "middle",
            "nameGap": 40,
        },
        "series": series,
    }


@router.get("/reports")
def reports_page(
    request: Request, p: PrincipalDep, county: Annotated[str | None, Query(pattern=SAFE_ID)] = None
) -> Response:
    require(p.role, "reports")
    from churnradar.api.routes.reports import available_reports

    data = request.app.state.data
    counties = (
        sorted({c for _, c in data.region_rows()}) if p.scope.everything else data.full_counties(p.scope)
    )
    if county is not None and county not in counties:
        from churnradar.api.roles import NotInScope

        raise NotInScope(f"no county {county!r} in your regions")
    if county is None and not p.scope.everything and counties:
        county = counties[0]
    return render(request, "reports.html", reports=available_reports(), counties=counties, county=county)


@router.get("/model")
def model_page(request: Request, p: PrincipalDep) -> Response:
    """The current model as cards and tables, its validation curves, feature importance, drift by
    month and the realised outcomes of earlier scores (the caller's regions)."""
    from churnradar.views import model as model_views

    require(p.role, "model")
    lang = lang_of(request)
    store = request.app.state.data.store
    card = model_views.model_card(store)
    if card is None:
        return render(request, "model.html", card=None)
    curves = model_views.validation_curves(store)
    importance = model_views.feature_importance(store)
    drift = model_views.drift(store)
    outcomes = model_views.realised_outcomes(store, p.scope)
    return render(
        request,
        "model.html",
        card=card,
        rows=model_views.model_rows(store),
        curves=curves,
        importance=importance,
        drift=drift,
        outcomes=outcomes,
        outcome_wait=_outcome_wait(card),
        definition=_definition_label(card.get("label_definition"), lang),
        charts={
            "roc": _roc_chart(curves, lang) if curves else None,
            "gain": _gain_chart(curves, lang) if curves else None,
            "calibration": _calibration_chart(curves, lang) if curves else None,
            "importance": _importance_chart(importance, lang) if importance else None,
            "drift": _drift_chart(drift, lang) if drift["months"] else None,
            "outcomes": _outcomes_chart(outcomes, lang) if outcomes else None,
        },
    )


def _definition_label(name: str | None, lang: str) -> str:
    """A churn definition's name in ``lang`` (``silent:DAYS`` with its days)."""
    name = name or "offnet"
    kind, _, days = name.partition(":")
    if kind == "silent" and days:
        return tr("model.definition.silent_days", lang, days=days)
    text = tr(f"model.definition.{name}", lang)
    return name if text == f"model.definition.{name}" else text


def _outcome_wait(card: dict[str, Any]) -> dict[str, int]:
    """Months after a scored month before its 1-month outcome is settled (horizon + confirmation)."""
    from churnradar.evaluate.backtest import confirmation_months
    from churnradar.labels import get_definition

    lag = confirmation_months(get_definition(card.get("label_definition") or "offnet"))
    return {"h": 1, "lag": lag, "wait": 1 + lag}


def _pp(v: float | None) -> float | None:
    """A share as percentage points (two decimals); None stays a gap."""
    return None if v is None else round(float(v) * 100, 2)


def _value_axis(name: str, pct: bool = True, **kw: Any) -> dict[str, Any]:
    axis = {"type": "value", "name": name, "nameLocation": "middle", "nameGap": 40, **kw}
    if pct:
        axis["axisLabel"] = {"formatter": "{value}%"}
    return axis


def _base(lang: str, title: str, **kw: Any) -> dict[str, Any]:
    return {
        "title": {"text": tr(title, lang), "left": "center", "textStyle": {"fontSize": 13}},
        "tooltip": {"trigger": "axis"},
        "legend": {"bottom": 0},
        "grid": {"left": 64, "right": 24, "top": 40, "bottom": 72, "containLabel": False},
        **kw,
    }


def _roc_chart(c: dict[str, Any], lang: str) -> dict[str, Any]:
    roc = c["roc"]
    pts = [[_pp(x), _pp(y)] for x, y in zip(roc["fpr"], roc["tpr"], strict=True)]
    return _base(
        lang,
        "chart.roc",
        xAxis=_value_axis(tr("axis.fpr", lang), min=0, max=100),
        yAxis=_value_axis(tr("axis.tpr", lang), min=0, max=100),
        series=[
            {"name": tr("series.model", lang), "type": "line", "showSymbol": False, "data": pts},
            {
                "name": tr("series.random", lang),
                "type": "line",
                "showSymbol": False,
                "lineStyle": {"type": "dashed"},
                "data": [[0, 0], [100, 100]],
            },
        ],
    )


def _gain_chart(c: dict[str, Any], lang: str) -> dict[str, Any]:
    g = c["gain"]
    share = [_pp(x) for x in g["share"]]
    return _base(
        lang,
        "chart.gain",
        xAxis=_value_axis(tr("axis.targeted", lang), min=0, max=100),
        yAxis=[
            _value_axis(tr("axis.captured", lang), min=0, max=100),
            _value_axis(tr("axis.lift", lang), pct=False, position="right", nameGap=32),
        ],
        series=[
            {
                "name": tr("series.gain", lang),
                "type": "line",
                "showSymbol": False,
                "data": [[x, _pp(y)] for x, y in zip(share, g["captured"], strict=True)],
            },
            {
                "name": tr("series.random", lang),
                "type": "line",
                "showSymbol": False,
                "lineStyle": {"type": "dashed"},
                "data": [[0, 0], [100, 100]],
            },
            {
                "name": tr("series.lift", lang),
                "type": "line",
                "yAxisIndex": 1,
                "showSymbol": False,
                # no lift before the first line is targeted: a gap, never 0
                "data": [
                    [x, None if v is None else round(v, 3)] for x, v in zip(share, g["lift"], strict=True)
                ],
            },
        ],
    )


def _calibration_chart(c: dict[str, Any], lang: str) -> dict[str, Any]:
    r = c["reliability"]
    pts = [[_pp(x), _pp(y)] for x, y in zip(r["predicted"], r["observed"], strict=True)]
    top = max([v for pt in pts for v in pt if v is not None] or [1.0])
    return _base(
        lang,
        "chart.calibration",
        xAxis=_value_axis(tr("axis.predicted", lang), min=0),
        yAxis=_value_axis(tr("axis.observed", lang), min=0),
        series=[
            {"name": tr("series.observed", lang), "type": "line", "symbolSize": 8, "data": pts},
            {
                "name": tr("series.perfect", lang),
                "type": "line",
                "showSymbol": False,
                "lineStyle": {"type": "dashed"},
                "data": [[0, 0], [top, top]],
            },
        ],
    )


def _importance_chart(rows: list[dict[str, Any]], lang: str) -> dict[str, Any]:
    rows = list(reversed(rows))  # the largest at the top of a horizontal bar chart
    return _base(
        lang,
        "chart.importance",
        tooltip={"trigger": "axis", "axisPointer": {"type": "shadow"}},
        legend={"show": False},
        grid={"left": 8, "right": 24, "top": 40, "bottom": 48, "containLabel": True},
        xAxis=_value_axis(tr("axis.gain_share", lang), min=0),
        yAxis={
            "type": "category",
            "data": [feature_label(r["feature"], lang) for r in rows],
            "axisLabel": {"width": 150, "overflow": "truncate"},
        },
        series=[
            {
                "name": tr("axis.gain_share", lang),
                "type": "bar",
                "data": [_pp(r["share"]) for r in rows],
            }
        ],
    )


def feature_label(name: str, lang: str) -> str:
    """A feature's name in ``lang`` (the catalogue's ``feature.<name>``), its column name when the
    catalogue has none."""
    return tr(f"feature.{name}", lang)


def _drift_chart(d: dict[str, Any], lang: str) -> dict[str, Any]:
    series = [
        {
            "name": tr("series.score", lang),
            "type": "line",
            "connectNulls": False,
            "lineStyle": {"width": 3},
            "data": d["score"],
            "markLine": {
                "silent": True,
                "symbol": "none",
                "data": [
                    {
                        "yAxis": 0.1,
                        "name": tr("drift.watch", lang),
                        "label": {"formatter": tr("drift.watch", lang)},
                    },
                    {
                        "yAxis": 0.25,
                        "name": tr("drift.alert", lang),
                        "label": {"formatter": tr("drift.alert", lang)},
                    },
                ],
            },
        }
    ]
    for name, values in d["features"].items():
        series.append(
            {"name": feature_label(name, lang), "type": "line", "connectNulls": False, "data": values}
        )
    return _base(
        lang,
        "chart.drift",
        legend={"bottom": 0, "type": "scroll"},
        xAxis={"type": "category", "data": d["months"], "name": tr("axis.month", lang)},
        yAxis=_value_axis(tr("axis.psi", lang), pct=False, min=0),
        series=series,
    )


def _outcomes_chart(months: list[dict[str, Any]], lang: str) -> dict[str, Any]:
    months = list(reversed(months))  # oldest first along the axis
    levels: list[str] = []
    for m in months:
        levels += [lv["risk_level"] for lv in m["levels"] if lv["risk_level"] not in levels]
    series = []
    for lv in levels:
        by = {
            m["scored_month"]: next((x for x in m["levels"] if x["risk_level"] == lv), None) for m in months
        }
        series.append(
            {
                "name": tr(f"risk.{lv}", lang),
                "type": "bar",
                # a level without lines that month: a gap, never 0%
                "data": [
                    _pp(by[m["scored_month"]]["rate"]) if by[m["scored_month"]] else None for m in months
                ],
            }
        )
    return _base(
        lang,
        "chart.outcomes",
        tooltip={"trigger": "axis", "axisPointer": {"type": "shadow"}},
        xAxis={
            "type": "category",
            "data": [m["scored_month"] for m in months],
            "name": tr("outcomes.month", lang),
        },
        yAxis=_value_axis(tr("axis.rate", lang), min=0),
        series=series,
    )
