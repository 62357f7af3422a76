"""Finding input files, naming their table, and preparing CSV files for DuckDB.

CSV files are read by DuckDB's ``read_csv``, which only reads UTF-8. Before that, one streaming pass
over the bytes computes the content SHA-256, checks that the text is valid UTF-8 and notes blank
lines (DuckDB skips them but counts them in its line numbers). A file that is not UTF-8 (GBK/GB18030
exports, or an explicit ``--encoding``) is transcoded line by line into a temporary UTF-8 file; a
line that does not decode is left out of the copy and reported as a bad row with its line number.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from churnradar.errors import IngestError, SchemaError
from churnradar.schema import TABLES

CSV_SUFFIXES = (".csv", ".csv.gz")
PARQUET_SUFFIXES = (".parquet",)
SUFFIXES = CSV_SUFFIXES + PARQUET_SUFFIXES
_CHUNK = 1 << 22
_DELIMITERS = (",", "|", "\t", ";")
_GB = "gb18030"


def file_kind(path: Path) -> str | None:
    """``"csv"``, ``"parquet"`` or None for files ingest does not read."""
    name = path.name.lower()
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    return None


def file_stem(path: Path) -> str:
    name = path.name
    for suffix in SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def discover(paths: list[str | Path] | str | Path) -> list[Path]:
    """The input files named by ``paths``: files as given, folders searched recursively for
    ``.csv``, ``.csv.gz`` and ``.parquet`` files, skipping folders and files whose name starts with
    ``_`` or ``.`` (such as the simulator's ``_truth/``)."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            inner: list[Path] = []
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith(("_", ".")))
                for f in sorted(files):
                    if not f.startswith(("_", ".")) and file_kind(Path(f)):
                        inner.append(Path(root) / f)
            if not inner:
                raise IngestError(f"folder {p} holds no .csv, .csv.gz or .parquet files")
            found.extend(sorted(inner))
        elif p.is_file():
            if file_kind(p) is None:
                raise IngestError(f"{p}: unsupported file type; expected .csv, .csv.gz or .parquet")
            found.append(p)
        else:
            raise IngestError(f"{p}: no such file or folder")
    seen: set[Path] = set()
    unique = []
    for f in found:
        r = f.resolve()
        if r not in seen:
            seen.add(r)
            unique.append(f)
    return unique


def table_for(path: Path, table: str | None = None) -> str:
    """The canonical table a file loads into: ``table`` when given, else the longest table name
    that the file stem equals or starts with followed by ``_``, ``-``, ``.`` or a space."""
    if table is not None:
        if table not in TABLES:
            raise SchemaError(
                f"--table {table!r} is not a canonical table; expected one of {', '.join(TABLES)}"
            )
        return table
    stem = file_stem(path).lower()
    best = None
    for name in TABLES:
        if (stem == name or (stem.startswith(name) and stem[len(name)] in "_-. ")) and (
            best is None or len(name) > len(best)
        ):
            best = name
    if best is None:
        raise SchemaError(
            f"{path}: cannot tell the table from the file name {path.name!r}; name the file after its "
            f"table (e.g. usage_monthly.csv or usage_monthly_2024-03.parquet) or pass --table; "
            f"tables are {', '.join(TABLES)}"
        )
    return best


@dataclass
class CsvSource:
    """A CSV file prepared for DuckDB."""

    path: Path  # the file as given
    read_path: Path  # what DuckDB reads (the file itself or a UTF-8 copy)
    sha256: str
    encoding: str
    header: list[str]
    delimiter: str
    #: blank lines in ``read_path``, in DuckDB's line numbering (skipped, not data rows)
    blank_lines: list[int] = field(default_factory=list)
    #: physical lines of ``path`` left out of ``read_path``: (line, reason or None for blank lines)
    dropped: list[tuple[int, str | None]] = field(default_factory=list)
    size: int = 0


def _open_bytes(path: Path) -> io.BufferedIOBase:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def _iter_chunks(f: io.BufferedIOBase) -> Iterator[bytes]:
    while True:
        chunk = f.read(_CHUNK)
        if not chunk:
            return
        yield chunk


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in _iter_chunks(f):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class _Scan:
    utf8: bool
    bom: bool
    blank_lines: list[int]
    first_line: bytes


def _scan(path: Path, progress: Callable[[int], None] | None) -> tuple[str, _Scan]:
    """One pass: content SHA-256 (of the bytes on disk), UTF-8 validity, blank lines, first line."""
    h = hashlib.sha256()
    compressed = path.name.lower().endswith(".gz")
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    utf8 = True
    blank: list[int] = []
    lines_before = 0
    prev_tail = b""
    first_line = b""
    done = 0
    with open(path, "rb") as raw:
        stream = gzip.GzipFile(fileobj=_HashingReader(raw, h)) if compressed else _HashingReader(raw, h)
        start = True
        for chunk in _iter_chunks(stream):
            done += len(chunk)
            if start:
                nl = chunk.find(b"\n")
                first_line = chunk if nl < 0 else chunk[:nl]
                start = False
            if utf8 and not (chunk.isascii() and decoder.getstate()[0] == b""):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
            # blank lines: "\n\n" or "\n\r\n" (the line after the first newline is empty)
            buf = prev_tail + chunk
            offset = len(prev_tail)
            for pattern in (b"\n\n", b"\n\r\n"):
                pos = buf.find(pattern)
                while pos >= 0:
                    if pos + len(pattern) - 1 >= offset:  # the match ends in the new chunk
                        # newline count up to and including buf[pos] gives the blank line's number - 1
                        n_before = lines_before - prev_tail.count(b"\n") + buf.count(b"\n", 0, pos + 1)
                        blank.append(n_before + 1)
                    pos = buf.find(pattern, pos + 1)
            lines_before += chunk.count(b"\n")
            prev_tail = chunk[-2:]
            if progress:
                progress(done)
        if utf8:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                utf8 = False
    bom = first_line.startswith(codecs.BOM_UTF8)
    if bom:
        first_line = first_line[len(codecs.BOM_UTF8) :]
    return h.hexdigest(), _Scan(utf8, bom, sorted(set(blank)), first_line.rstrip(b"\r"))


class _HashingReader(io.RawIOBase):
    """Reads through to ``f`` while feeding every byte into ``h``."""

    def __init__(self, f: io.BufferedIOBase, h: hashlib._Hash):
        self._f = f
        self._h = h

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[no-untyped-def]
        data = self._f.read(len(b))
        n = len(data)
        b[:n] = data
        self._h.update(data)
        return n

    def read(self, n: int = -1) -> bytes:
        data = self._f.read(n)
        self._h.update(data)
        return data


def parse_header(line: str, path: Path) -> tuple[list[str], str]:
    """Column names and delimiter of a header line (the delimiter giving most known names wins)."""
    from churnradar.schema import TABLES as _T

    known = set()
    for t in _T.values():
        for c in t.columns:
            known.add(c.name)
            if c.raw_name:
                known.add(c.raw_name)
    if not line.strip():
        raise SchemaError(f"{path}:1: the first line is empty; expected a header line naming the columns")
    best: tuple[int, int, list[str], str] | None = None
    for delim in _DELIMITERS:
        names = next(csv.reader([line], delimiter=delim, quotechar='"'))
        names = [n.strip() for n in names]
        score = (sum(n.lower() in known for n in names), len(names))
        if best is None or score > best[:2]:
            best = (*score, names, delim)
    assert best is not None
    return best[2], best[3]


def _classify_lines(path: Path) -> tuple[int, int]:
    """Count non-ASCII lines that decode as UTF-8 and lines that decode only as GB18030."""
    n_utf8 = n_gb = 0
    with _open_bytes(path) as f:
        for line in f:
            if line.isascii():
                continue
            try:
                line.decode("utf-8")
                n_utf8 += 1
                continue
            except UnicodeDecodeError:
                pass
            try:
                line.decode(_GB)
                n_gb += 1
            except UnicodeDecodeError:
                pass
    return n_utf8, n_gb


def _transcode(
    path: Path, encoding: str, out: Path, utf8_lines_suspect: bool
) -> list[tuple[int, str | None]]:
    """Copy ``path`` as UTF-8 into ``out``, leaving out blank and undecodable lines."""
    dropped: list[tuple[int, str | None]] = []
    enc_name = codecs.lookup(encoding).name
    with _open_bytes(path) as f, open(out, "wb") as w:
        for lineno, line in enumerate(f, 1):
            body = line.rstrip(b"\r\n")
            if lineno == 1 and body.startswith(codecs.BOM_UTF8) and enc_name.startswith("utf"):
                body = body[len(codecs.BOM_UTF8) :]
            if not body and lineno > 1:
                dropped.append((lineno, None))
                continue
            if body.isascii():
                w.write(body + b"\n")
                continue
            if utf8_lines_suspect:
                try:
                    body.decode("utf-8")
                    dropped.append(
                        (
                            lineno,
                            f"line is UTF-8 encoded but the file is {enc_name} (mixed encodings in one file)",
                        )
                    )
                    continue
                except UnicodeDecodeError:
                    pass
            try:
                text = body.decode(encoding)
            except UnicodeDecodeError:
                if lineno == 1:
                    raise SchemaError(
                        f"{path}:1: the header line is not valid {enc_name}; pass --encoding"
                    ) from None
                hint = (
                    " (it looks like GB18030/GBK: mixed encodings in one file)"
                    if enc_name.startswith("utf")
                    else ""
                )
                dropped.append((lineno, f"line is not valid {enc_name}{hint}"))
                continue
            w.write(text.encode("utf-8") + b"\n")
    return dropped


def prepare_csv(
    path: Path,
    workdir: Path,
    encoding: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> CsvSource:
    """Hash, check and (when needed) transcode one CSV file; parse its header."""
    size = path.stat().st_size
    if size == 0:
        raise SchemaError(f"{path}: the file is empty; expected a header line naming the columns")
    sha, scan = _scan(path, progress)
    if encoding is not None:
        try:
            enc = codecs.lookup(encoding).name
        except LookupError:
            raise IngestError(
                f"--encoding {encoding!r} is not a known encoding (e.g. utf-8, gbk, gb18030)"
            ) from None
    elif scan.utf8:
        enc = "utf-8"
    else:
        n_utf8, n_gb = _classify_lines(path)
        enc = _GB if n_gb > n_utf8 else "utf-8"
    direct = enc in ("utf-8", "utf-8-sig") and scan.utf8
    if direct:
        try:
            header_text = scan.first_line.decode("utf-8")
        except UnicodeDecodeError:  # pragma: no cover - scan said the file is UTF-8
            raise SchemaError(f"{path}:1: the header line is not valid UTF-8") from None
        header, delim = parse_header(header_text, path)
        return CsvSource(path, path, sha, enc, header, delim, blank_lines=scan.blank_lines, size=size)
    out = workdir / f"{len(os.listdir(workdir))}_{file_stem(path)}.utf8.csv"
    dropped = _transcode(path, enc, out, utf8_lines_suspect=(enc == _GB and encoding is None))
    with open(out, "rb") as f:
        first = f.readline().rstrip(b"\r\n").decode("utf-8")
    header, delim = parse_header(first, path)
    return CsvSource(path, out, sha, enc, header, delim, dropped=dropped, size=size)


def peek_csv_header(path: Path, encoding: str | None = None) -> tuple[list[str], str]:
    """Column names and delimiter from the first line only (cheap; used before reading any data)."""
    if path.stat().st_size == 0:
        raise SchemaError(f"{path}: the file is empty; expected a header line naming the columns")
    with _open_bytes(path) as f:
        first = f.readline(1 << 20).rstrip(b"\r\n")
    if first.startswith(codecs.BOM_UTF8):
        first = first[len(codecs.BOM_UTF8) :]
    for enc in [encoding] if encoding else ["utf-8", _GB]:
        try:
            return parse_header(first.decode(enc), path)
        except (UnicodeDecodeError, LookupError):
            continue
    raise SchemaError(f"{path}:1: the header line cannot be decoded; pass --encoding")
