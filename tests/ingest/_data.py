"""Small valid input files generated from the schema (tests build their own data; the simulator is
not needed). Every value is derived from the column's type and constraints, so a schema change
keeps these inputs valid."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb

from churnradar.schema import TABLES, Table
from churnradar.schema.model import Column

#: the tables a usage file needs in the store or the batch, in load order
USAGE_PARENTS = ("region", "package", "channel", "customer", "subscription")
ZH_NAMES = ["城关镇", "新区街道", "工业园区", "河西乡", "东湖路", "火车站片区", "开发区", "南山村"]


def raw_identifier(kind: str, i: int) -> str:
    """A fictitious but well-formed raw identifier (never a real person's)."""
    if kind == "msisdn":
        return f"1380013{i:04d}"
    if kind == "certificate":
        return resident_id(f"11010119{i:09d}")
    return f"8600000{i:08d}"


def resident_id(body17: str) -> str:
    """An 18-character resident ID number: 17 digits and their GB 11643 check character."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body17 + "10X98765432"[sum(int(d) * w for d, w in zip(body17, weights, strict=True)) % 11]


def _value(table: Table, c: Column, i: int, n_parent: int, parents: dict[str, list[str]]) -> str:
    key_pos = table.key.index(c.name) if c.name in table.key else -1
    cycle = i // max(n_parent, 1)
    if c.pii:
        return raw_identifier(c.pii, i)
    if c.references and c.references in parents and parents[c.references]:
        vals = parents[c.references]
        return vals[i % len(vals)]
    if c.references and c.nullable:
        return ""  # the parent table is not part of this dataset
    if c.enum:
        return c.enum[i % len(c.enum)]
    if c.dtype == "string":
        if key_pos == 0 or (key_pos >= 0 and len(table.key) == 1):
            return f"{table.name[:3].upper()}{i:06d}"
        if c.name.endswith("_name") or c.name == "city":
            return ZH_NAMES[i % len(ZH_NAMES)]
        return f"{c.name}-{i % 5}"
    if c.dtype == "int":
        lo = int(c.min) if c.min is not None else 0
        hi = int(c.max) if c.max is not None else lo + 1000
        return str(lo + i % (min(hi, lo + 30) - lo + 1))
    if c.dtype == "float":
        lo = max(c.min, -100.0) if c.min is not None else 0.0  # revenue may be negative (refunds)
        hi = c.max if c.max is not None else lo + 100
        return f"{lo + (min(hi, lo + 100) - lo) * ((i % 7) / 7):.3f}"
    if c.dtype == "bool":
        return ("true", "false")[i % 2]
    if c.dtype == "date":
        return (date(2023, 1, 1) + timedelta(days=i % 365)).isoformat()
    if c.dtype == "month":
        y, m = divmod(2024 * 12 + cycle, 12)
        return f"{y:04d}-{m + 1:02d}"
    if c.dtype == "timestamp":
        return (datetime(2024, 1, 1) + timedelta(minutes=i)).isoformat(sep=" ")
    raise AssertionError(c.dtype)


def rows(table: Table, n: int, parents: dict[str, list[str]]) -> tuple[list[str], list[list[str]]]:
    """Header (raw identifier names) and ``n`` valid rows of ``table``."""
    header = [c.raw_name if c.pii else c.name for c in table.columns]
    first_ref = next((c.references for c in table.columns if c.references and c.name in table.key), None)
    n_parent = len(parents.get(first_ref, [])) if first_ref else n
    body = [[_value(table, c, i, n_parent, parents) for c in table.columns] for i in range(n)]
    return header, body


def csv_text(header: list[str], body: list[list[str]], delimiter: str = ",") -> str:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    w.writerow(header)
    w.writerows(body)
    return buf.getvalue()


def dataset(sizes: dict[str, int]) -> dict[str, tuple[list[str], list[list[str]]]]:
    """Valid rows for the tables in ``sizes`` (load order), children referring to their parents."""
    parents: dict[str, list[str]] = {}
    out = {}
    for name, table in TABLES.items():
        if name not in sizes:
            continue
        header, body = rows(table, sizes[name], parents)
        out[name] = (header, body)
        for k in table.key:
            idx = header.index(k) if k in header else -1
            if idx >= 0 and len(table.key) == 1:
                parents[f"{name}.{k}"] = [r[idx] for r in body]
    return out


def write_csv_dataset(folder: Path, sizes: dict[str, int], encoding: str = "utf-8") -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, (header, body) in dataset(sizes).items():
        p = folder / f"{name}.csv"
        p.write_text(csv_text(header, body), encoding=encoding)
        paths[name] = p
    return paths


def csv_to_parquet(src: Path, dst: Path) -> Path:
    """Parquet with native (sniffed) types from a CSV file."""
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * FROM read_csv('{src}', header=true)) TO '{dst}' (FORMAT parquet)")
    con.close()
    return dst


def parent_sizes(subscribers: int = 20) -> dict[str, int]:
    return {"region": 4, "package": 3, "channel": 3, "customer": subscribers, "subscription": subscribers}


def files_holding(root: Path, needles: set[bytes]) -> list[str]:
    """Files under ``root`` that hold any of ``needles`` (raw identifiers: runs of 11 or more letters
    and digits), with how many they hold."""
    import os
    import re

    token = re.compile(rb"[0-9A-Za-z]{11,}")

    found = []
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            p = Path(dirpath) / name
            try:
                data = p.read_bytes()
            except OSError:
                continue  # removed while we looked
            hits = len(set(token.findall(data)) & needles)
            if hits:
                found.append(f"{p}: {hits} raw identifiers")
    return found
