"""Reports of ``fit-table``: Markdown and a self-contained HTML page (inline SVG, nothing loaded).

Both hold the evaluation (rows and churners of the training and test rows, ROC-AUC, Gini, PR-AUC,
lift at 5/10/20%, Brier), the gain and lift by decile, the calibration, the top features, the
capacity search, the hygiene findings and the columns left out.
"""

from __future__ import annotations

import html
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from churnradar.models.flat import FitTableResult


def report_paths(r: FitTableResult, report: Path | str | None) -> tuple[Path, Path]:
    """``report`` None → the current folder; a ``.md`` path → that file (HTML beside); else a folder."""
    stem = f"fit-table-{r.file.stem}"
    if report is None:
        return Path(f"{stem}.md"), Path(f"{stem}.html")
    report = Path(report)
    if report.suffix.lower() == ".md":
        return report, report.with_suffix(".html")
    return report / f"{stem}.md", report / f"{stem}.html"


def deciles(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """Per tenth of the customers by falling probability: churners, rate, lift, cumulative gain."""
    order = np.argsort(-p, kind="stable")
    ys = y[order]
    total = ys.sum() or 1.0
    base = ys.mean() or 1.0
    out, cum = [], 0.0
    for k, idx in enumerate(np.array_split(np.arange(len(ys)), bins)):
        hits = float(ys[idx].sum())
        cum += hits
        out.append(
            {
                "decile": k + 1,
                "rows": len(idx),
                "churners": int(hits),
                "rate": hits / max(len(idx), 1),
                "lift": (hits / max(len(idx), 1)) / base,
                "gain": cum / total,
                "p_mean": float(p[order][idx].mean()) if len(idx) else 0.0,
            }
        )
    return out


def calibration(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[tuple[float, float, int]]:
    from churnradar.evaluate.metrics import reliability_curve

    rc = reliability_curve(y, p, bins=bins)
    return list(zip(rc.predicted, rc.observed, rc.count, strict=True))


# -- SVG ---------------------------------------------------------------------------------------------

W, H, PAD = 360, 260, 40


def _xy(x: float, y: float, xmax: float = 1.0, ymax: float = 1.0) -> tuple[float, float]:
    return PAD + x / xmax * (W - 1.5 * PAD), H - PAD - y / ymax * (H - 1.5 * PAD)


def _axes(xlabel: str, ylabel: str, xmax: float = 1.0, ymax: float = 1.0, pct: bool = True) -> str:
    parts = [
        f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - PAD / 2}" y2="{H - PAD}" stroke="#444"/>',
        f'<line x1="{PAD}" y1="{H - PAD}" x2="{PAD}" y2="{PAD / 2}" stroke="#444"/>',
    ]
    for t in np.linspace(0, 1, 6):
        x, _ = _xy(t * xmax, 0, xmax, ymax)
        _, y = _xy(0, t * ymax, xmax, ymax)
        lx = f"{t * xmax:.0%}" if pct else f"{t * xmax:.1f}"
        ly = f"{t * ymax:.0%}" if pct else f"{t * ymax:.1f}"
        parts.append(f'<text x="{x:.1f}" y="{H - PAD + 14}" font-size="9" text-anchor="middle">{lx}</text>')
        parts.append(f'<text x="{PAD - 4}" y="{y + 3:.1f}" font-size="9" text-anchor="end">{ly}</text>')
        parts.append(f'<line x1="{PAD}" y1="{y:.1f}" x2="{W - PAD / 2}" y2="{y:.1f}" stroke="#eee"/>')
    parts.append(
        f'<text x="{W / 2}" y="{H - 6}" font-size="10" text-anchor="middle">{html.escape(xlabel)}</text>'
    )
    parts.append(
        f'<text x="12" y="{H / 2}" font-size="10" text-anchor="middle" transform="rotate(-90 12 {H / 2})">'
        f"{html.escape(ylabel)}</text>"
    )
    return "".join(parts)


def _svg(title: str, body: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img">'
        f"<title>{html.escape(title)}</title>{body}</svg>"
    )


def gain_svg(y: np.ndarray, p: np.ndarray) -> str:
    order = np.argsort(-p, kind="stable")
    ys = y[order]
    n = len(ys)
    steps = np.unique(np.linspace(0, n, 101).astype(int))
    cum = np.concatenate([[0.0], np.cumsum(ys)])[steps] / max(ys.sum(), 1)
    pts = " ".join(f"{_xy(s / n, g)[0]:.1f},{_xy(s / n, g)[1]:.1f}" for s, g in zip(steps, cum, strict=True))
    rate = ys.mean()
    best = " ".join(
        f"{_xy(x, min(x / rate, 1.0))[0]:.1f},{_xy(x, min(x / rate, 1.0))[1]:.1f}" for x in (0, rate, 1)
    )
    x0, y0 = _xy(0, 0)
    x1, y1 = _xy(1, 1)
    body = _axes("share of customers contacted (highest probability first)", "share of churners reached")
    body += f'<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y1}" stroke="#999" stroke-dasharray="4 3"/>'
    body += f'<polyline points="{best}" fill="none" stroke="#bbb" stroke-dasharray="2 2"/>'
    body += f'<polyline points="{pts}" fill="none" stroke="#c0392b" stroke-width="2"/>'
    return _svg("Cumulative gain", body)


def lift_svg(dec: list[dict[str, float]]) -> str:
    ymax = max(1.0, max(d["lift"] for d in dec)) * 1.1
    body = _axes("decile (highest probability first)", "lift", xmax=1.0, ymax=ymax, pct=False)
    bw = (W - 1.5 * PAD) / len(dec)
    for i, d in enumerate(dec):
        x = PAD + i * bw + 2
        _, ytop = _xy(0, d["lift"], 1, ymax)
        body += (
            f'<rect x="{x:.1f}" y="{ytop:.1f}" width="{bw - 4:.1f}" height="{H - PAD - ytop:.1f}" fill="#2e86c1">'
            f"<title>decile {d['decile']}: lift {d['lift']:.2f}</title></rect>"
        )
        body += f'<text x="{x + bw / 2 - 2:.1f}" y="{ytop - 3:.1f}" font-size="8" text-anchor="middle">{d["lift"]:.1f}</text>'
    _, y1 = _xy(0, 1, 1, ymax)
    body += f'<line x1="{PAD}" y1="{y1:.1f}" x2="{W - PAD / 2}" y2="{y1:.1f}" stroke="#999" stroke-dasharray="4 3"/>'
    return _svg("Lift by decile", body)


def calibration_svg(cal: list[tuple[float, float, int]]) -> str:
    top = max([1e-6] + [max(a, b) for a, b, _ in cal]) * 1.05
    top = min(1.0, top)
    body = _axes("mean predicted probability", "observed churn rate", xmax=top, ymax=top)
    x0, y0 = _xy(0, 0, top, top)
    x1, y1 = _xy(top, top, top, top)
    body += f'<line x1="{x0}" y1="{y0}" x2="{x1:.1f}" y2="{y1:.1f}" stroke="#999" stroke-dasharray="4 3"/>'
    pts = " ".join(f"{_xy(a, b, top, top)[0]:.1f},{_xy(a, b, top, top)[1]:.1f}" for a, b, _ in cal)
    body += f'<polyline points="{pts}" fill="none" stroke="#27ae60" stroke-width="2"/>'
    for a, b, c in cal:
        x, y = _xy(a, b, top, top)
        body += f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#27ae60"><title>{c} rows: predicted {a:.3f}, observed {b:.3f}</title></circle>'
    return _svg("Calibration", body)


def features_svg(imp: list[tuple[str, float]]) -> str:
    h = 18 * len(imp) + 20
    vmax = max([v for _, v in imp] + [1e-9])
    body = ""
    for i, (c, v) in enumerate(imp):
        y = 10 + 18 * i
        w = v / vmax * (W - 170)
        body += f'<text x="150" y="{y + 11}" font-size="10" text-anchor="end">{html.escape(c[:28])}</text>'
        body += f'<rect x="155" y="{y}" width="{w:.1f}" height="13" fill="#8e44ad"/>'
        body += f'<text x="{158 + w:.1f}" y="{y + 11}" font-size="9">{v:.1%}</text>'
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" viewBox="0 0 {W} {h}" role="img">'
        f"<title>Top features</title>{body}</svg>"
    )


# -- documents ---------------------------------------------------------------------------------------


def _evaluation(r: FitTableResult) -> str:
    if r.test_rows is not None:
        where = (
            r.test_file.name
            if r.test_file
            else f"the rows of {r.split['column']!r} other than {r.split['train_value']!r}"
        )
        return f"trained on {r.file.name}, tested on {where}"
    return f"stratified {r.mode} cross-validation (a row and its duplicates in one fold)"


def _lines(r: FitTableResult) -> list[str]:
    s = r.summary()
    m = r.metrics
    lines = [
        f"# Churn model on {r.file.name}",
        "",
        f"- date: {date.today().isoformat()}; target: `{r.target}`; adapter: {r.adapter or 'none'}",
        f"- evaluation: {_evaluation(r)}",
        f"- training rows: {r.rows:,}; churners: {r.positives:,} ({r.positives / r.rows:.1%})",
    ]
    if r.test_rows is not None:
        lines.append(
            f"- test rows: {r.test_rows:,}; churners: {r.test_positives:,} ({r.test_positives / r.test_rows:.1%})"
        )
    if r.prior.get("corrected_to") is not None:
        lines.append(
            f"- probabilities corrected from the training churn rate {r.prior['train_rate']:.1%} to "
            f"{r.prior['corrected_to']:.1%} ({r.prior['source']})"
        )
    p = s["params"]
    lines.append(
        "- model: LightGBM, "
        + (
            f"{p.get('n_estimators')} trees × {p.get('num_leaves')} leaves, at least {p.get('min_child_samples')} "
            f"rows per leaf, learning rate {p.get('learning_rate')}"
            if p
            else "-"
        )
        + (
            " (fixed by --params)"
            if r.searches and r.searches[0].fixed
            else " (chosen on an inner validation split)"
        )
    )
    lines.append(f"- numeric columns: {', '.join(s['columns']['numeric']) or '-'}")
    lines.append(f"- categorical columns: {', '.join(s['columns']['categorical']) or '-'}")
    lines += ["", *[f"> **warning:** {w}" for w in r.warnings], ""] if r.warnings else [""]
    lines += ["## Metrics", "", "| metric | value |", "|---|---|"]
    for k in ("roc_auc", "gini", "pr_auc", "lift_5", "lift_10", "lift_20", "brier", "brier_uncorrected"):
        if k not in m:
            continue
        sd = m.get(f"{k}_sd")
        lines.append(f"| {k} | {m[k]:.4f}" + (f" ± {sd:.4f}" if sd is not None else "") + " |")
    if r.folds:
        lines += ["", "Per fold ROC-AUC: " + ", ".join(f"{f['roc_auc']:.4f}" for f in r.folds)]
    return lines


def write_reports(r: FitTableResult, report: Path | str | None) -> tuple[Path, Path]:
    """Write the Markdown and the HTML report; return their paths."""
    md_path, html_path = report_paths(r, report)
    y, p = r.y_eval, r.p_eval
    dec = deciles(y, p)
    cal = calibration(y, p)
    top = sorted(r.importance.items(), key=lambda kv: -kv[1])[:15]
    lines = _lines(r)
    lines += [
        "",
        "## Gain and lift by decile",
        "",
        "| decile | rows | churners | churn rate | lift | cumulative gain |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {d['decile']} | {d['rows']:,} | {d['churners']:,} | {d['rate']:.1%} | {d['lift']:.2f} | {d['gain']:.1%} |"
        for d in dec
    ]
    lines += ["", "## Calibration", "", "| mean predicted | observed | rows |", "|---|---|---|"]
    lines += [f"| {a:.3f} | {b:.3f} | {c:,} |" for a, b, c in cal]
    lines += ["", "## Top features (share of split gain)", "", "| column | share |", "|---|---|"]
    lines += [f"| {c} | {v:.1%} |" for c, v in top]
    lines += ["", "## Columns left out", ""]
    if r.excluded:
        lines += ["| column | reason | single-column ROC-AUC |", "|---|---|---|"]
        lines += [
            f"| {e['column']} | {e['reason']}{' — ' + e['detail'] if e.get('detail') else ''} | "
            f"{'-' if e.get('auc') is None else format(e['auc'], '.3f')} |"
            for e in r.excluded
        ]
    else:
        lines.append("none")
    lines += ["", "## Hygiene", ""]
    lines += [f"- **{f.rule}**: {f.message}" for f in r.hygiene] or ["nothing to report"]
    lines += ["", "## Capacity search", ""]
    for i, sr in enumerate(r.searches):
        who = f"fold {i + 1}" if len(r.searches) > 1 else "model"
        lines.append(
            f"- {who}: {len(sr.trials)} of {sr.candidates} configurations in {sr.seconds:.1f} s"
            + (
                f" (budget {sr.budget_s:.0f} s{', reached' if sr.budget_reached else ''})"
                if sr.budget_s
                else ""
            )
            + f"; chosen {_params(sr.params)}"
        )
    md_path.parent.mkdir(parents=True, exist_ok=True)
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(_html(r, dec, cal, top), encoding="utf-8")
    return md_path, html_path


def _params(p: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in p.items())


def _html(r: FitTableResult, dec, cal, top) -> str:
    e = html.escape
    y, p = r.y_eval, r.p_eval
    head = _lines(r)
    items = "".join(f"<li>{e(x[2:])}</li>" for x in head if x.startswith("- "))
    warns = "".join(f'<p class="warn">⚠ {e(w)}</p>' for w in r.warnings)
    m = r.metrics
    rows = "".join(
        f"<tr><td>{k}</td><td>{m[k]:.4f}"
        + (f" ± {m[k + '_sd']:.4f}" if f"{k}_sd" in m else "")
        + "</td></tr>"
        for k in ("roc_auc", "gini", "pr_auc", "lift_5", "lift_10", "lift_20", "brier", "brier_uncorrected")
        if k in m
    )
    dec_rows = "".join(
        f"<tr><td>{d['decile']}</td><td>{d['rows']:,}</td><td>{d['churners']:,}</td><td>{d['rate']:.1%}</td>"
        f"<td>{d['lift']:.2f}</td><td>{d['gain']:.1%}</td></tr>"
        for d in dec
    )
    exc = "".join(
        f'<tr class="{"leak" if x["reason"] == "leak" else ""}"><td>{e(x["column"])}</td><td>{e(x["reason"])}'
        f"{' — ' + e(x['detail']) if x.get('detail') else ''}</td>"
        f"<td>{'-' if x.get('auc') is None else format(x['auc'], '.3f')}</td></tr>"
        for x in r.excluded
    )
    hyg = "".join(
        f'<tr class="{"leak" if f.rule == "leak" else ""}"><td>{e(f.rule)}</td><td>{e(", ".join(f.columns))}</td>'
        f"<td>{f.count:,}</td><td>{e(f.action)}</td><td>{e(f.message)}</td></tr>"
        for f in r.hygiene
    )
    searches = "".join(
        f"<li>{'fold ' + str(i + 1) if len(r.searches) > 1 else 'model'}: {len(s.trials)} of {s.candidates} "
        f"configurations in {s.seconds:.1f} s; chosen {e(_params(s.params))}</li>"
        for i, s in enumerate(r.searches)
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Churn model on {e(r.file.name)}</title>
<style>
body{{font-family:system-ui,sans-serif;max-width:1100px;margin:1.5em auto;color:#222}}
table{{border-collapse:collapse;margin:.5em 0}}td,th{{border:1px solid #ccc;padding:2px 8px;font-size:13px}}
.charts{{display:flex;flex-wrap:wrap;gap:1em}}.charts figure{{margin:0}}figcaption{{font-size:13px;font-weight:600}}
.warn{{background:#fdecea;border-left:4px solid #c0392b;padding:.4em .8em}}tr.leak td{{color:#c0392b}}
</style></head><body>
<h1>Churn model on {e(r.file.name)}</h1>
<ul>{items}</ul>{warns}
<h2>Metrics</h2><table>{rows}</table>
<div class="charts">
<figure><figcaption>Cumulative gain</figcaption>{gain_svg(y, p)}</figure>
<figure><figcaption>Lift by decile</figcaption>{lift_svg(dec)}</figure>
<figure><figcaption>Calibration (ten equal-count bins)</figcaption>{calibration_svg(cal)}</figure>
<figure><figcaption>Top features (share of split gain)</figcaption>{features_svg(top)}</figure>
</div>
<h2>Gain and lift by decile</h2>
<table><tr><th>decile</th><th>rows</th><th>churners</th><th>churn rate</th><th>lift</th><th>cumulative gain</th></tr>{dec_rows}</table>
<h2>Columns left out</h2>
{"<table><tr><th>column</th><th>reason</th><th>single-column ROC-AUC</th></tr>" + exc + "</table>" if exc else "<p>none</p>"}
<h2>Hygiene</h2>
{"<table><tr><th>rule</th><th>columns</th><th>count</th><th>action</th><th>finding</th></tr>" + hyg + "</table>" if hyg else "<p>nothing to report</p>"}
<h2>Capacity search</h2><ul>{searches}</ul>
</body></html>
"""
