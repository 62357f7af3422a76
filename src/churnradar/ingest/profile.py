"""``churnradar profile``: what an operator's export holds, before anything is loaded.

For each file: rows, and per column its type, missing share, negatives, distinct values, whether it
is constant, its range and most frequent values. With a mapping file, also per canonical table it
feeds: the months covered, duplicate keys, how many codes of each code list are known (and the
foreign ones), the export columns the mapping leaves unused, and which features the table feeds
(those of tables the export lacks cannot be computed). Nothing is written to a store; raw
identifiers are never shown (columns mapped to phone, ID-card or IMEI numbers are masked).
"""

from __future__ import annotations

import contextlib
import html
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from churnradar.ingest import readers, tempfiles
from churnradar.ingest.mapping import Mapping, compile_table, load_mapping
from churnradar.ingest.pseudonymise import mask_digit_runs
from churnradar.schema import TABLES
from churnradar.store.connection import connect

TOP = 5


@dataclass
class ColumnProfile:
    name: str
    type: str
    missing: int
    missing_share: float
    distinct: int
    constant: bool
    negatives: int | None = None
    min: str | None = None
    max: str | None = None
    top: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class TableProfile:
    """A canonical table as the mapping makes it from one export file."""

    table: str
    rows: int
    months: list[str] = field(default_factory=list)
    duplicate_keys: int = 0
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)  # column -> known share, foreign values
    negatives: dict[str, int] = field(default_factory=dict)


@dataclass
class FileProfile:
    file: str
    encoding: str
    rows: int
    columns: list[ColumnProfile]
    tables: list[TableProfile] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)


@dataclass
class Profile:
    files: list[FileProfile]
    feeds: dict[str, int]  # canonical table -> number of features reading it
    missing_tables: list[str]  # canonical tables with features that no file of the export feeds
    skipped_features: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _feature_tables() -> dict[str, set[str]]:
    """Canonical tables each feature reads (directly or through its nodes)."""
    from churnradar.features.registry import FEATURES, NODES, _load_themes, dependencies

    _load_themes()
    out: dict[str, set[str]] = {}
    for name, feat in FEATURES.items():
        tables = {p for p in feat.params if p in TABLES}
        for dep in dependencies(name, {**NODES, name: feat}):
            tables |= {p for p in dep.params if p in TABLES}
        out[name] = tables
    return out


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _profile_columns(
    con: duckdb.DuckDBPyConnection, rel: str, masked: set[str]
) -> tuple[int, list[ColumnProfile]]:
    rows = con.execute(f"SELECT count(*) FROM {rel}").fetchone()[0]
    out = []
    summary = con.execute(f"SUMMARIZE SELECT * FROM {rel}").fetchall()
    for name, typ, mn, mx, uniq, *_rest, _count, null_pct in summary:
        missing = round(float(null_pct or 0) / 100 * rows)
        q = _q(name)
        # empty text is missing too
        if typ.upper() == "VARCHAR":
            missing = con.execute(
                f"SELECT count(*) FROM {rel} WHERE nullif(trim({q}), '') IS NULL"
            ).fetchone()[0]
        numeric = typ.upper().split("(")[0] in (
            "BIGINT",
            "INTEGER",
            "DOUBLE",
            "FLOAT",
            "DECIMAL",
            "SMALLINT",
            "TINYINT",
            "HUGEINT",
        )
        neg = con.execute(f"SELECT count(*) FROM {rel} WHERE {q} < 0").fetchone()[0] if numeric else None
        top = con.execute(
            f"SELECT CAST({q} AS VARCHAR) AS v, count(*) AS n FROM {rel} WHERE {q} IS NOT NULL "
            f"GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {TOP}"
        ).fetchall()
        hide = name in masked

        def shown(v: Any, hide: bool = hide) -> str | None:
            if v is None:
                return None
            text = str(v)
            return "*" * min(len(text), 8) if hide else mask_digit_runs(text)[:60]

        out.append(
            ColumnProfile(
                name=name,
                type=typ,
                missing=int(missing),
                missing_share=round(missing / rows, 4) if rows else 0.0,
                distinct=int(uniq or 0),
                constant=int(uniq or 0) <= 1 and rows > 0,
                negatives=int(neg) if neg is not None else None,
                min=shown(mn),
                max=shown(mx),
                top=[(shown(v) or "", int(n)) for v, n in top],
            )
        )
    return rows, out


def _profile_table(
    con: duckdb.DuckDBPyConnection, m: Mapping, tm: Any, src: readers.CsvSource, where: str
) -> tuple[TableProfile, set[str]]:
    compiled = compile_table(m, tm, src.header, where)
    names = [f"x{j}" for j in range(len(src.header))]
    cols = "{" + ", ".join(f"'{n}': 'VARCHAR'" for n in names) + "}"
    inner = (
        f"read_csv('{src.read_path}', columns={cols}, header=true, auto_detect=false, "
        f"delim='{src.delimiter}', quote='\"', escape='\"', ignore_errors=true)"
    )
    rel = compiled.select(inner)
    if compiled.absent:
        rel = f"(SELECT * FROM {rel} WHERE NOT _absent)"
    t = TABLES[tm.table.name]
    by_out = {name: f"c{j}" for j, name in enumerate(compiled.outputs)}
    rows = con.execute(f"SELECT count(*) FROM {rel}").fetchone()[0]
    tp = TableProfile(t.name, int(rows))
    if "month" in by_out:
        tp.months = [
            r[0]
            for r in con.execute(
                f"SELECT DISTINCT left({by_out['month']}, 7) FROM {rel} ORDER BY 1"
            ).fetchall()
            if r[0]
        ]
    keys = [by_out.get(k) or by_out.get(t.column(k).raw_name or "") for k in t.key]
    if all(keys):
        tp.duplicate_keys = int(
            con.execute(
                f"SELECT count(*) FROM (SELECT {', '.join(keys)} FROM {rel} GROUP BY ALL HAVING count(*) > 1)"  # type: ignore[arg-type]
            ).fetchone()[0]
        )
    for c in t.columns:
        col = by_out.get(c.name)
        if col is None:
            continue
        if c.enum:
            allowed = ", ".join("'" + v.replace("'", "''") + "'" for v in c.enum)
            known, total = con.execute(
                f"SELECT count(*) FILTER ({col} IN ({allowed})), count({col}) FROM {rel}"
            ).fetchone()
            foreign = con.execute(
                f"SELECT {col}, count(*) FROM {rel} WHERE {col} IS NOT NULL AND {col} NOT IN ({allowed}) "
                f"GROUP BY 1 ORDER BY 2 DESC LIMIT {TOP}"
            ).fetchall()
            tp.codes[c.name] = {
                "known_share": round(known / total, 4) if total else None,
                "foreign": [(mask_digit_runs(str(v))[:40], int(n)) for v, n in foreign],
            }
        if c.dtype in ("int", "float"):
            neg = con.execute(f"SELECT count(*) FROM {rel} WHERE TRY_CAST({col} AS DOUBLE) < 0").fetchone()[0]
            if neg:
                tp.negatives[c.name] = int(neg)
    used = set()
    for spec in tm.columns:
        for s in spec.sources:
            for key, _ym in m.months or [(None, None)]:
                used.add((s.replace("{m}", key) if key is not None else s).strip().lower())
    return tp, used


def profile(
    paths: list[str | Path], mapping: str | Path | Mapping | None = None, encoding: str | None = None
) -> Profile:
    """Profile the export files ``paths`` (CSV or Parquet), through ``mapping`` when given."""
    files = readers.discover(list(paths))
    m = mapping if isinstance(mapping, Mapping) or mapping is None else load_mapping(mapping)
    raw_names = {c.raw_name for t in TABLES.values() for c in t.columns if c.raw_name}
    work = tempfiles.workdir()
    con = connect()
    out: list[FileProfile] = []
    fed: set[str] = set()
    try:
        for path in files:
            masked: set[str] = set()
            if m is not None:
                for tm in m.tables:
                    if tm.matches(path):
                        for spec in tm.columns:
                            if spec.target in raw_names or spec.target.endswith("_hash"):
                                masked |= {
                                    s.replace("{m}", k)
                                    for s in spec.sources
                                    for k, _ in (m.months or [("", "")])
                                }
            else:
                masked = raw_names
            if readers.file_kind(path) == "parquet":
                rel = f"read_parquet('{path}')"
                rows, cols = _profile_columns(con, rel, masked)
                fp = FileProfile(str(path), "parquet", rows, cols)
                out.append(fp)
                continue
            src = readers.prepare_csv(path, work, encoding or (m.encoding if m else None))
            try:
                rel = (
                    f"read_csv('{src.read_path}', header=true, delim='{src.delimiter}', "
                    "sample_size=-1, ignore_errors=true)"
                )
                rows, cols = _profile_columns(con, rel, masked)
                fp = FileProfile(str(path), src.encoding, rows, cols)
                if m is not None:
                    used: set[str] = set()
                    for tm in m.tables:
                        if tm.matches(path):
                            tp, u = _profile_table(con, m, tm, src, str(m.path))
                            fp.tables.append(tp)
                            fed.add(tm.table.name)
                            used |= u
                    fp.unmapped = [h for h in src.header if h.strip().lower() not in used]
                else:
                    with contextlib.suppress(Exception):  # a file not named after a table feeds nothing
                        fed.add(readers.table_for(path))
                out.append(fp)
            finally:
                src.close()
        if m is not None:
            fed |= {tm.table.name for tm in m.tables if tm.rows}
    finally:
        con.close()
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    reads = _feature_tables()
    feeds: dict[str, int] = {}
    for tables in reads.values():
        for t in tables:
            feeds[t] = feeds.get(t, 0) + 1
    missing = sorted(t for t in feeds if t not in fed)
    skipped = sum(1 for tables in reads.values() if tables - fed)
    return Profile(out, dict(sorted(feeds.items())), missing, skipped)


def render_html(p: Profile, lang: str = "en") -> str:
    """A self-contained HTML page of the profile (no script, no external resource)."""
    e = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>churnradar profile</title>",
        "<style>body{font-family:system-ui,'Noto Sans CJK SC',sans-serif;margin:2em;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}"
        "td.n{text-align:right}.warn{color:#b00}h2{margin-top:2em}</style></head><body>",
        "<h1>Data profile / 数据画像</h1>",
    ]
    for f in p.files:
        parts.append(f"<h2>{e(f.file)}</h2><p>{f.rows:,} rows · encoding {e(f.encoding)}</p>")
        parts.append(
            "<table><tr><th>column</th><th>type</th><th>missing</th><th>negatives</th><th>distinct</th>"
            "<th>min</th><th>max</th><th>most frequent</th></tr>"
        )
        for c in f.columns:
            flag = " class='warn'" if c.constant or c.missing_share > 0.5 else ""
            top = ", ".join(f"{e(v)} ({n:,})" for v, n in c.top)
            parts.append(
                f"<tr{flag}><td>{e(c.name)}{' (constant)' if c.constant else ''}</td><td>{e(c.type)}</td>"
                f"<td class='n'>{c.missing_share:.1%}</td><td class='n'>{'' if c.negatives is None else f'{c.negatives:,}'}</td>"
                f"<td class='n'>{c.distinct:,}</td><td>{e(c.min or '')}</td><td>{e(c.max or '')}</td><td>{top}</td></tr>"
            )
        parts.append("</table>")
        for t in f.tables:
            parts.append(f"<h3>→ {e(t.table)}: {t.rows:,} rows</h3><ul>")
            if t.months:
                parts.append(f"<li>months {e(t.months[0])} … {e(t.months[-1])} ({len(t.months)})</li>")
            parts.append(
                f"<li{' class=warn' if t.duplicate_keys else ''}>duplicate keys: {t.duplicate_keys:,}</li>"
            )
            for col, info in t.codes.items():
                foreign = ", ".join(f"{e(v)} ({n:,})" for v, n in info["foreign"])
                share = "—" if info["known_share"] is None else f"{info['known_share']:.1%}"
                parts.append(
                    f"<li>{e(col)}: {share} known codes{'; foreign: ' + foreign if foreign else ''}</li>"
                )
            for col, n in t.negatives.items():
                parts.append(f"<li>{e(col)}: {n:,} negative values</li>")
            parts.append("</ul>")
        if f.unmapped:
            parts.append(f"<p>not mapped: {e(', '.join(f.unmapped))}</p>")
    parts.append("<h2>Features / 特征</h2><table><tr><th>table</th><th>features reading it</th></tr>")
    for t, n in p.feeds.items():
        cls = " class='warn'" if t in p.missing_tables else ""
        parts.append(
            f"<tr{cls}><td>{e(t)}{' (absent)' if t in p.missing_tables else ''}</td><td class='n'>{n}</td></tr>"
        )
    parts.append(
        f"</table><p>{p.skipped_features} features read a table the export does not feed.</p></body></html>"
    )
    return "".join(parts)


def write(p: Profile, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    (out / "profile.json").write_text(json.dumps(p.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
    (out / "profile.html").write_text(render_html(p), encoding="utf-8")
    return [out / "profile.json", out / "profile.html"]
