"""Finding input files, naming their table, and preparing CSV files for DuckDB.

CSV files are read by DuckDB's ``read_csv``, which only reads UTF-8 (reading GBK would need an
extension downloaded at run time). DuckDB reports lines that are not valid UTF-8; when there are
such lines and no encoding was given, the file is classified line by line, and a GBK/GB18030 export
(or any file with an explicit non-UTF-8 ``--encoding``) is transcoded in one streaming pass into a
temporary UTF-8 copy; a line that does not decode is left out of the copy and reported as a bad row
with its line number.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import os
from collections.abc import Iterator
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
    """SHA-256 of the file's bytes as stored (hashlib releases the GIL: runs beside DuckDB)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in _iter_chunks(f):
            h.update(chunk)
    return h.hexdigest()


def blank_lines(path: Path) -> list[int]:
    """Line numbers of the empty lines of a (possibly gzipped) text file.

    DuckDB skips them but counts them in its line numbers; only needed to place errors.
    """
    out: list[int] = []
    lines_before = 0
    prev_tail = b""
    with _open_bytes(path) as f:
        for chunk in _iter_chunks(f):
            buf = prev_tail + chunk
            offset = len(prev_tail)
            found: set[int] = set()
            for pattern in (b"\n\n", b"\n\r\n"):
                pos = buf.find(pattern)
                while pos >= 0:
                    if pos + len(pattern) - 1 >= offset:  # the match ends in the new chunk
                        # newlines up to and including buf[pos] = the blank line's number - 1
                        found.add(lines_before - prev_tail.count(b"\n") + buf.count(b"\n", 0, pos + 1) + 1)
                    pos = buf.find(pattern, pos + 1)
            out.extend(sorted(found))
            lines_before += chunk.count(b"\n")
            prev_tail = chunk[-2:]
    return sorted(set(out))


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
        try:
            names = next(csv.reader([line], delimiter=delim, quotechar='"'), [])
        except csv.Error as exc:
            raise SchemaError(f"{path}:1: the header line cannot be parsed ({exc})") from None
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


def prepare_csv(path: Path, workdir: Path, encoding: str | None = None) -> CsvSource:
    """Parse the header of one CSV file; transcode it to UTF-8 when ``encoding`` is not UTF-8.

    Without ``encoding`` the file is first read as UTF-8 (DuckDB reports lines that are not valid
    UTF-8); :func:`transcode_csv` is the second chance when it turns out not to be.
    """
    size = path.stat().st_size
    enc = codecs.lookup(encoding).name if encoding else "utf-8"
    if enc in ("utf-8", "utf-8-sig"):
        header, delim = peek_csv_header(path, "utf-8")
        return CsvSource(path, path, "", "utf-8", header, delim, size=size)
    return transcode_csv(path, workdir, enc, suspect_utf8=False)


def detect_encoding(path: Path) -> str:
    """For a file that is not valid UTF-8: GB18030 when more non-ASCII lines decode only as GB18030
    than as UTF-8, else UTF-8 (the file is then UTF-8 with some bad lines)."""
    n_utf8, n_gb = _classify_lines(path)
    return _GB if n_gb > n_utf8 else "utf-8"


def transcode_csv(path: Path, workdir: Path, encoding: str, suspect_utf8: bool) -> CsvSource:
    """A UTF-8 copy of ``path`` decoded from ``encoding``; lines that do not decode are left out and
    listed in ``dropped``; with ``suspect_utf8`` (auto-detected GB18030), non-ASCII lines that are
    valid UTF-8 are left out too (mixed encodings)."""
    out = workdir / f"{len(os.listdir(workdir))}_{file_stem(path)}.utf8.csv"
    dropped = _transcode(path, encoding, out, utf8_lines_suspect=suspect_utf8)
    with open(out, "rb") as f:
        first = f.readline().rstrip(b"\r\n").decode("utf-8")
    header, delim = parse_header(first, path)
    return CsvSource(
        path, out, "", codecs.lookup(encoding).name, header, delim, dropped=dropped, size=path.stat().st_size
    )


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
