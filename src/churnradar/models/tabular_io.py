"""Reading flat tables for ``fit-table``: CSV (UTF-8, GBK/GB18030), Excel (xlsx) and Parquet.

CSV cells are read as text, exactly as written, so that missing-value markers (``?``, ``NA``, empty,
…) and numbers written as text are recognised and counted by :mod:`churnradar.models.hygiene`
instead of being guessed by the CSV reader. Column names are trimmed of surrounding whitespace;
``resolve_column`` finds a column by its trimmed or case-folded name and suggests close names.
"""

from __future__ import annotations

import csv
import difflib
import io
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from churnradar.errors import ConfigError

EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
PARQUET_SUFFIXES = {".parquet", ".pq"}


@dataclass
class TableFile:
    """A table read from a file, with how it was read."""

    frame: pd.DataFrame
    path: Path
    format: str  # csv, xlsx, parquet
    encoding: str | None = None  # CSV only: utf-8 or gb18030
    renamed: dict[str, str] = field(default_factory=dict)  # original name → trimmed name


def decode_text(data: bytes) -> tuple[str, str]:
    """The text of a CSV file and its encoding: UTF-8 (BOM allowed), else GB18030 (a superset of GBK)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"cannot decode the file as UTF-8 or GBK/GB18030 (byte {exc.start}); save it as UTF-8"
        ) from None


def _separator(text: str) -> str:
    head = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(head, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def read_table(path: Path | str, sheet: str | None = None) -> TableFile:
    """Read a CSV, xlsx or Parquet file; CSV cells stay text. Column names are trimmed."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such file")
    suffix = path.suffix.lower()
    encoding = None
    if suffix in EXCEL_SUFFIXES:
        fmt = "xlsx"
        try:
            import openpyxl  # noqa: F401
        except ImportError:  # pragma: no cover - openpyxl is a dependency
            raise ConfigError("reading xlsx files needs openpyxl: pip install openpyxl") from None
        try:
            frame = pd.read_excel(path, sheet_name=sheet if sheet is not None else 0, engine="openpyxl")
        except ValueError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        except Exception as exc:
            raise ConfigError(f"{path}: cannot read as xlsx: {exc}") from None
    elif suffix == ".xls":
        raise ConfigError(f"{path}: the old .xls format is not read; save the sheet as .xlsx or CSV")
    elif suffix in PARQUET_SUFFIXES:
        fmt = "parquet"
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:
            raise ConfigError(f"{path}: cannot read as Parquet: {exc}") from None
    else:
        fmt = "csv"
        if sheet is not None:
            raise ConfigError("--sheet applies to xlsx files only")
        raw = path.read_bytes()
        if raw[:4] == b"PAR1":
            return _parquet_bytes(path, raw)
        if raw[:2] == b"PK":
            raise ConfigError(f"{path}: this looks like an xlsx workbook; name it .xlsx")
        text, encoding = decode_text(raw)
        try:
            frame = pd.read_csv(
                io.StringIO(text),
                sep=_separator(text),
                dtype=str,
                keep_default_na=False,
                skipinitialspace=False,
            )
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise ConfigError(f"{path}: cannot read as CSV: {exc}") from None
    frame, renamed = trim_names(frame)
    return TableFile(frame=frame, path=path, format=fmt, encoding=encoding, renamed=renamed)


def _parquet_bytes(path: Path, raw: bytes) -> TableFile:
    frame = pd.read_parquet(io.BytesIO(raw))
    frame, renamed = trim_names(frame)
    return TableFile(frame=frame, path=path, format="parquet", renamed=renamed)


def trim_names(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Column names without surrounding whitespace (a name kept as is when trimming would collide)."""
    names = [str(c) for c in frame.columns]
    trimmed = [n.strip() for n in names]
    out, renamed = [], {}
    for n, t in zip(names, trimmed, strict=True):
        if t != n and trimmed.count(t) == 1 and t not in names:
            renamed[n] = t
            out.append(t)
        else:
            out.append(n)
    frame = frame.copy(deep=False)
    frame.columns = out
    return frame, renamed


def resolve_column(name: str, columns: list[str], what: str) -> str:
    """The column called ``name``: exactly, after trimming, or ignoring case; else an error with
    the closest names ("did you mean")."""
    if name in columns:
        return name
    key = name.strip()
    if key in columns:
        return key
    folded = [c for c in columns if c.strip().casefold() == key.casefold()]
    if len(folded) == 1:
        return folded[0]
    lower = {c.casefold(): c for c in columns}
    close = difflib.get_close_matches(key.casefold(), list(lower), n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(lower[c]) for c in close)}?" if close else ""
    shown = ", ".join(repr(c) for c in columns[:40]) + (", …" if len(columns) > 40 else "")
    raise ConfigError(f"{what} column {name!r} is not in the file{hint} (columns: {shown})")
