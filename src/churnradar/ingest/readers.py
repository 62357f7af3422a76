"""Finding input files, naming their table, and preparing CSV files for DuckDB.

CSV files are read by DuckDB's ``read_csv``, which only reads UTF-8 (reading GBK would need an
extension downloaded at run time). DuckDB reports lines that are not valid UTF-8; when there are
such lines and no encoding was given, the file is classified line by line, and a GBK/GB18030 export
(or any file with an explicit non-UTF-8 ``--encoding``) is transcoded in one streaming pass into a
temporary UTF-8 copy; a line that does not decode is left out of the copy and reported as a bad row
with its line number. The copy has no name on disk (:mod:`churnradar.ingest.tempfiles`).

Before DuckDB reads anything, the encoding is sniffed from the first mebibyte: a UTF-16/UTF-32
byte-order mark, or GBK text whose bytes happen to be valid UTF-8 (read as UTF-8 it would load as
mojibake). A gzip file is read to its end and its checksums verified (:func:`scan_file`): a
truncated or corrupt one is refused with the byte offset, never loaded in part.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from churnradar.errors import IngestError, SchemaError
from churnradar.ingest.tempfiles import AnonymousFile
from churnradar.schema import TABLES

CSV_SUFFIXES = (".csv", ".csv.gz")
PARQUET_SUFFIXES = (".parquet",)
SUFFIXES = CSV_SUFFIXES + PARQUET_SUFFIXES
_CHUNK = 1 << 22
_GZ_CHUNK = 1 << 18
_DELIMITERS = (",", "|", "\t", ";")
_GB = "gb18030"
#: Python codec names of the Chinese national encodings (GB18030 reads GBK and GB2312 text).
GB_FAMILY = ("gb18030", "gbk", "gb2312")
_SNIFF_BYTES = 1 << 20
#: byte-order marks of the encodings DuckDB cannot read, longest first
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
#: control characters that never belong in a CSV text line (tab, CR and LF do)
_CONTROL = bytes(c for c in range(32) if c not in (9, 10, 13)) + b"\x7f"


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
    copy: AnonymousFile | None = None  # the UTF-8 copy, kept open while DuckDB may read it
    #: a mapping file's SQL turning this export into canonical columns (mapping.Compiled)
    mapping: Any = None

    @property
    def columns(self) -> list[str]:
        """The column names the staging reads: the header, or the mapped canonical columns."""
        return self.mapping.outputs if self.mapping is not None else self.header

    def close(self) -> None:
        if self.copy is not None:
            self.copy.close()


def is_gzip(path: Path) -> bool:
    return path.name.lower().endswith(".gz")


def _not_gzip(path: Path, exc: BaseException) -> SchemaError:
    return SchemaError(
        f"{path}: cannot be read as gzip ({exc}); a .gz file must be gzip-compressed (rename a plain "
        "CSV file to .csv)"
    )


def _open_bytes(path: Path) -> io.BufferedIOBase:
    if is_gzip(path):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def _iter_chunks(f: io.BufferedIOBase, size: int = _CHUNK) -> Iterator[bytes]:
    while True:
        chunk = f.read(size)
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


@dataclass(frozen=True)
class FileScan:
    """What one pass over a file's bytes tells: their SHA-256, whether a data line (any line after
    the first) holds an underscore (DuckDB's CSV number parser reads ``1_000`` as 1000) and whether
    the file holds binary data (control characters other than tab, CR and LF)."""

    sha256: str
    underscore: bool
    binary: bool = False


class _Underscores:
    """Looks for ``_`` after the first line of a stream of chunks, and for control characters."""

    def __init__(self) -> None:
        self.header_done = False
        self.found = False
        self.binary = False

    def feed(self, data: bytes) -> None:
        if not data:
            return
        if not self.binary:
            self.binary = len(data.translate(None, _CONTROL)) != len(data)
        if self.found:
            return
        if not self.header_done:
            i = data.find(b"\n")
            if i < 0:
                return
            self.header_done = True
            data = data[i + 1 :]
        self.found = b"_" in data


def scan_file(path: Path) -> FileScan:
    """Hash a file and look for underscores in its data lines; a gzip file is decompressed to its
    end with its checksums verified, and a truncated, corrupt or not-gzip file is refused with a
    :class:`SchemaError` naming the file and the byte offset."""
    h = hashlib.sha256()
    under = _Underscores()
    with open(path, "rb") as f:
        if not is_gzip(path):
            for chunk in _iter_chunks(f):
                h.update(chunk)
                under.feed(chunk)
            return FileScan(h.hexdigest(), under.found, under.binary)
        size = os.fstat(f.fileno()).st_size
        offset = 0  # compressed bytes consumed before ``data``
        d: zlib._Decompress | None = None
        members = 0
        padding = False
        for chunk in _iter_chunks(f, _GZ_CHUNK):
            h.update(chunk)
            data = chunk
            while data:
                if padding:
                    if data.strip(b"\0"):
                        raise SchemaError(
                            f"{path}: unexpected bytes after the end of the gzip data at byte {offset:,}; "
                            "the file is damaged"
                        )
                    offset += len(data)
                    break
                if d is None:
                    if members and data[:1] == b"\0":
                        padding = True
                        continue
                    if offset == 0 and len(data) >= 2 and data[:2] != b"\x1f\x8b":
                        raise SchemaError(
                            f"{path}: not a gzip file (it begins with bytes {data[:4].hex(' ')}); a .gz "
                            "file must be gzip-compressed (rename a plain CSV file to .csv)"
                        )
                    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
                try:
                    under.feed(d.decompress(data))
                except zlib.error as exc:
                    raise SchemaError(
                        f"{path}: corrupt gzip data after compressed byte {offset:,} ({exc}); the file "
                        "cannot be read to its end, so none of it is loaded"
                    ) from None
                if d.eof:
                    rest = d.unused_data
                    offset += len(data) - len(rest)
                    data = rest
                    d = None
                    members += 1
                else:
                    offset += len(data)
                    data = b""
        if d is not None or members == 0:
            raise SchemaError(
                f"{path}: the gzip data end at byte {size:,} before the end of the compressed stream "
                "(the file is truncated); none of it is loaded"
            )
    return FileScan(h.hexdigest(), under.found, under.binary)


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


_CONTROL_RE = re.compile(b"[" + re.escape(_CONTROL) + b"]")


def _binary_reason(body: bytes) -> str | None:
    """Why a line is binary data rather than text (a control character), or None."""
    m = _CONTROL_RE.search(body)
    if m is None:
        return None
    return f"line holds binary data (control character 0x{body[m.start()]:02x} at byte {m.start() + 1}); expected text"


def _skipped(path: Path, lineno: int, body: bytes, dropped: list[tuple[int, str | None]]) -> bool:
    """Whether a line is left out of a UTF-8 copy (blank, or binary data: recorded in ``dropped``)."""
    if not body and lineno > 1:
        dropped.append((lineno, None))
        return True
    reason = _binary_reason(body)
    if reason is None:
        return False
    if lineno == 1:
        raise SchemaError(f"{path}:1: the header line holds binary data; expected text")
    dropped.append((lineno, reason))
    return True


def _transcode_wide(path: Path, encoding: str, w: io.BufferedIOBase) -> list[tuple[int, str | None]]:
    """UTF-16/UTF-32 (with a byte-order mark) into UTF-8, line by line."""
    dropped: list[tuple[int, str | None]] = []
    lineno = 0
    try:
        with _open_bytes(path) as raw, io.TextIOWrapper(raw, encoding=encoding, newline="") as f:  # type: ignore[type-var]
            for lineno, line in enumerate(f, 1):
                body = line.rstrip("\r\n").encode("utf-8")
                if not _skipped(path, lineno, body, dropped):
                    w.write(body + b"\n")
    except UnicodeDecodeError as exc:
        raise SchemaError(
            f"{path}:{lineno + 1}: the file is not valid {encoding} ({exc.reason}); save it as UTF-8 or "
            "GB18030, or pass the right --encoding"
        ) from None
    return dropped


def _transcode(
    path: Path, encoding: str, w: io.BufferedIOBase, utf8_lines_suspect: bool
) -> list[tuple[int, str | None]]:
    """Copy ``path`` as UTF-8 into ``w``, leaving out blank, binary and undecodable lines.

    Blocks of whole lines are decoded at once when that cannot change the result: no blank line, no
    control character, no lone CR, the whole block decodes, and (with ``utf8_lines_suspect``) no
    line to tell apart as UTF-8. Any other block goes line by line, which reports every line.
    """
    enc_name = codecs.lookup(encoding).name
    if enc_name.startswith(("utf-16", "utf-32")):
        return _transcode_wide(path, enc_name, w)
    dropped: list[tuple[int, str | None]] = []
    with _open_bytes(path) as f:
        first = f.readline()
        _transcode_line(path, 1, first, encoding, enc_name, w, utf8_lines_suspect, dropped)
        lineno = 1
        rest = b""
        while True:
            chunk = f.read(_CHUNK)
            buf = rest + chunk
            if not buf:
                break
            cut = buf.rfind(b"\n") + 1 if chunk else len(buf)
            if cut == 0:
                rest = buf
                continue
            block, rest = buf[:cut], buf[cut:]
            lines = block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
            if not _transcode_block(block, encoding, w, utf8_lines_suspect):
                parts = block.split(b"\n")
                if parts[-1] == b"":
                    parts.pop()
                for k, line in enumerate(parts, lineno + 1):  # LF only, as a file's lines are read
                    _transcode_line(path, k, line, encoding, enc_name, w, utf8_lines_suspect, dropped)
            lineno += lines
            if not chunk:
                break
    return dropped


def _transcode_block(block: bytes, encoding: str, w: io.BufferedIOBase, utf8_lines_suspect: bool) -> bool:
    """Write a block of whole lines decoded at once; False (nothing written) when it must go line by line."""
    if (
        b"\n\n" in block
        or b"\n\r\n" in block
        or block.startswith((b"\n", b"\r\n"))
        or block.count(b"\r") != block.count(b"\r\n")
        or len(block.translate(None, _CONTROL)) != len(block)
    ):
        return False
    if utf8_lines_suspect and not block.isascii():
        return False  # non-ASCII lines are each checked for being UTF-8 (mixed encodings)
    try:
        text = block.decode(encoding)
    except UnicodeDecodeError:
        return False
    out = text.replace("\r\n", "\n").encode("utf-8")
    w.write(out if out.endswith(b"\n") else out + b"\n")
    return True


def _transcode_line(
    path: Path,
    lineno: int,
    line: bytes,
    encoding: str,
    enc_name: str,
    w: io.BufferedIOBase,
    utf8_lines_suspect: bool,
    dropped: list[tuple[int, str | None]],
) -> None:
    body = line.rstrip(b"\r\n")
    if lineno == 1 and body.startswith(codecs.BOM_UTF8):
        # a UTF-8 byte-order mark, also before a GBK header (some tools add one to any file)
        body = body[len(codecs.BOM_UTF8) :]
    if _skipped(path, lineno, body, dropped):
        return
    if body.isascii():
        w.write(body + b"\n")
        return
    if utf8_lines_suspect:
        try:
            body.decode("utf-8")
            dropped.append(
                (lineno, f"line is UTF-8 encoded but the file is {enc_name} (mixed encodings in one file)")
            )
            return
        except UnicodeDecodeError:
            pass
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError:
        if lineno == 1:
            raise SchemaError(f"{path}:1: the header line is not valid {enc_name}; pass --encoding") from None
        hint = (
            " (it looks like GB18030/GBK: mixed encodings in one file)" if enc_name.startswith("utf") else ""
        )
        dropped.append((lineno, f"line is not valid {enc_name}{hint}"))
        return
    w.write(text.encode("utf-8") + b"\n")


def prepare_csv(path: Path, workdir: Path, encoding: str | None = None) -> CsvSource:
    """Parse the header of one CSV file; transcode it to UTF-8 when ``encoding`` (or, without one,
    the encoding sniffed from the file's start) is not UTF-8.

    Without ``encoding`` the file is otherwise first read as UTF-8 (DuckDB reports lines that are
    not valid UTF-8); :func:`transcode_csv` is the second chance when it turns out not to be.
    """
    size = path.stat().st_size
    enc = codecs.lookup(encoding).name if encoding else sniff_encoding(path)
    if enc in ("utf-8", "utf-8-sig"):
        header, delim = peek_csv_header(path, "utf-8")
        return CsvSource(path, path, "", "utf-8", header, delim, size=size)
    if enc in GB_FAMILY and _ascii_after_header(path):
        # only the header is Chinese (column names), given or sniffed: DuckDB reads the ASCII lines
        # as they are and skips the header by position; a GBK line further on is found as invalid
        # UTF-8 and the file is then transcoded after all
        header, delim = peek_csv_header(path, enc)
        return CsvSource(path, path, "", enc, header, delim, size=size)
    return transcode_csv(path, workdir, enc, suspect_utf8=False)


def _ascii_after_header(path: Path) -> bool:
    """Whether the lines after the first of the file's first mebibyte are all ASCII."""
    head = _head(path)
    return head[head.find(b"\n") + 1 :].isascii()


def _common_share(text: str) -> float:
    """Share of the non-ASCII characters of ``text`` that are common Chinese: GB2312 level-1 hanzi
    (the 3,755 most used) or CJK punctuation and full-width forms."""
    n = common = 0
    for ch in text:
        o = ord(ch)
        if o < 128:
            continue
        n += 1
        if 0x3000 <= o <= 0x303F or 0xFF01 <= o <= 0xFF5E:
            common += 1
            continue
        try:
            b = ch.encode("gb2312")
        except UnicodeEncodeError:
            continue
        common += len(b) == 2 and 0xB0 <= b[0] <= 0xD7
        if n >= 20_000:
            break
    return common / n if n else 0.0


def _head(path: Path, n: int = _SNIFF_BYTES) -> bytes:
    try:
        with _open_bytes(path) as f:
            return f.read(n)
    except (OSError, EOFError, zlib.error) as exc:
        if is_gzip(path):
            scan_file(path)  # raises the precise error: not gzip, truncated or corrupt at an offset
        raise _not_gzip(path, exc) from None


def sniff_encoding(path: Path) -> str:
    """The encoding to read a CSV file in when none was given, from its first mebibyte:

    - ``utf-16``/``utf-32`` for a file that begins with their byte-order mark;
    - ``gb18030`` for GBK/GB18030 text whose bytes are also valid UTF-8 (short Chinese texts can be):
      read as UTF-8 it would load as mojibake, so the reading giving common Chinese characters wins;
    - otherwise ``utf-8`` (a GBK file that is not valid UTF-8 is found when DuckDB reads it).
    """
    head = _head(path)
    for bom, enc in _WIDE_BOMS:
        if head.startswith(bom):
            return enc
    if head.isascii() or head.startswith(codecs.BOM_UTF8):
        return "utf-8"
    first = head.split(b"\n", 1)[0]
    try:
        first.decode("utf-8")
    except UnicodeDecodeError:
        try:
            first.decode(_GB)
            return _GB  # a GBK header (Chinese column names): the file is GBK
        except UnicodeDecodeError:
            pass
    if len(head) == _SNIFF_BYTES and b"\n" in head:
        head = head[: head.rindex(b"\n")]
    try:
        as_utf8 = head.decode("utf-8")
        as_gb = head.decode(_GB)
    except UnicodeDecodeError:
        return "utf-8"
    gb, u8 = _common_share(as_gb), _common_share(as_utf8)
    return _GB if gb >= 0.5 and gb > u8 + 0.25 else "utf-8"


def detect_encoding(path: Path) -> str:
    """For a file that is not valid UTF-8: GB18030 when more non-ASCII lines decode only as GB18030
    than as UTF-8, else UTF-8 (the file is then UTF-8 with some bad lines)."""
    n_utf8, n_gb = _classify_lines(path)
    return _GB if n_gb > n_utf8 else "utf-8"


def transcode_csv(path: Path, workdir: Path, encoding: str, suspect_utf8: bool) -> CsvSource:
    """A UTF-8 copy of ``path`` decoded from ``encoding``, without a name on disk; lines that do not
    decode and lines of binary data are left out and listed in ``dropped``; with ``suspect_utf8``
    (auto-detected GB18030), non-ASCII lines that are valid UTF-8 are left out too (mixed
    encodings)."""
    copy = AnonymousFile(workdir)
    try:
        dropped = _transcode(path, encoding, copy.file, utf8_lines_suspect=suspect_utf8)
        copy.file.flush()
        copy.file.seek(0)
        first = copy.file.readline().rstrip(b"\r\n").decode("utf-8")
        header, delim = parse_header(first, path)
    except BaseException:
        copy.close()
        raise
    return CsvSource(
        path,
        copy.path,
        "",
        codecs.lookup(encoding).name,
        header,
        delim,
        dropped=dropped,
        size=path.stat().st_size,
        copy=copy,
    )


def peek_csv_header(path: Path, encoding: str | None = None) -> tuple[list[str], str]:
    """Column names and delimiter from the first line only (cheap; used before reading any data)."""
    if path.stat().st_size == 0:
        raise SchemaError(f"{path}: the file is empty; expected a header line naming the columns")
    head = _head(path, 1 << 20)
    if encoding is None:
        for bom, enc in _WIDE_BOMS:
            if head.startswith(bom):
                encoding = enc
                break
    if encoding and codecs.lookup(encoding).name.startswith(("utf-16", "utf-32")):
        try:
            text = head.decode(codecs.lookup(encoding).name, errors="strict")
        except UnicodeDecodeError:
            # the read may have cut a character or the file is not what was said: decode the lines
            text = head[: len(head) - len(head) % 4].decode(codecs.lookup(encoding).name, errors="replace")
        return parse_header(text.splitlines()[0] if text else "", path)
    first = head.split(b"\n", 1)[0].rstrip(b"\r")
    if first.startswith(codecs.BOM_UTF8):
        first = first[len(codecs.BOM_UTF8) :]
    if _binary_reason(first) is not None:
        raise SchemaError(
            f"{path}:1: the header line holds binary data; expected a text header naming the columns "
            "(a UTF-16 file needs its byte-order mark, or pass --encoding utf-16)"
        )
    for enc in [encoding] if encoding else ["utf-8", _GB]:
        try:
            return parse_header(first.decode(enc), path)
        except (UnicodeDecodeError, LookupError):
            continue
    raise SchemaError(f"{path}:1: the header line cannot be decoded; pass --encoding")
