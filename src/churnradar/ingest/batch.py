"""One ingest batch: inspect, read, validate, pseudonymise and publish a set of files.

Steps (all set-wise in DuckDB SQL; Python only touches file headers and, for non-UTF-8 CSV, the
transcoding pass):

1. inspect every file's header and map its columns to the canonical table (file-level problems
   such as unknown or missing columns stop the batch with a :class:`SchemaError`); when any file
   carries raw identifiers, an HMAC key must be configured or the whole batch is refused;
2. read, type and check each file in one pass into a TEMP staging table in file order (CSV: as
   text, structural errors captured by DuckDB's ``store_rejects``; Parquet: native types), with a
   ``_bad`` flag computed from the schema's checks and, for bad CSV rows, the input text;
3. hash each distinct raw identifier once (HMAC); identifiers in a key are replaced in the staging
   table, the others are joined to their digests when published;
4. per table, in load order: duplicate keys within the batch, then foreign keys against the store
   plus the good rows of the same batch;
5. compute the file line of every problem and the counts (``loaded + rejected == read``);
6. publish all tables in one transaction (``fail``: only when no row is bad).
"""

from __future__ import annotations

import codecs
import contextlib
import dataclasses
import hashlib
import logging
import re
import secrets
import shutil
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from churnradar.errors import ConfigError, IngestError, PseudonymisationKeyError, SchemaError
from churnradar.ingest import readers, tempfiles
from churnradar.ingest.mapping import Mapping, TableMapping, compile_table, load_mapping, rows_csv
from churnradar.ingest.pseudonymise import (
    HOW_TO_SET_KEY,
    key_fingerprint,
    mask_digit_runs,
    mask_digit_runs_sql,
    resolve_key,
)
from churnradar.ingest.publish import publish
from churnradar.ingest.validate import (
    ColumnSource,
    bad_rows_select,
    lit,
    map_columns,
    pii_map_select,
    q,
    read_as_number,
    reasons_select,
    stage_select,
    typed_select,
)
from churnradar.schema import TABLES, Table
from churnradar.store import Store
from churnradar.store.connection import duckdb_out_of_memory, set_memory_limit

log = logging.getLogger("churnradar.ingest")

ON_ERROR = ("fail", "quarantine")
MAX_ERRORS = 100
ProgressFn = Callable[..., None]

_STRUCTURAL_REASON = {
    "MISSING COLUMNS": "line has fewer fields than the header",
    "TOO MANY COLUMNS": "line has more fields than the header",
    "UNQUOTED VALUE": "line has an unterminated or stray quote (a quoted field never closed; the rest of "
    "the file may be part of it)",
    "LINE SIZE OVER MAXIMUM": "line is longer than the 2 MB limit",
    "INVALID ENCODING": "line is not valid UTF-8",
    "INVALID STATE": "line cannot be parsed as CSV",
    "CAST": "line cannot be parsed as CSV",
}


@dataclass(frozen=True)
class RowError:
    """One problem of one input row: where, which column, what value and what was expected."""

    file: str
    line: int | None
    column: str | None
    value: str | None
    reason: str

    def __str__(self) -> str:
        loc = f"{self.file}:{self.line}" if self.line is not None else self.file
        if self.column is None:
            return f"{loc}: {self.reason}"
        return f"{loc}:{self.column}: value '{self.value or ''}' {self.reason}"


@dataclass
class Counts:
    read: int = 0
    loaded: int = 0
    rejected: int = 0
    #: loaded rows that replaced a row of the same key already in the store (an upsert)
    replaced: int = 0

    def add(self, other: Counts) -> None:
        self.read += other.read
        self.loaded += other.loaded
        self.rejected += other.rejected
        self.replaced += other.replaced


@dataclass
class FileReport:
    file: str
    table: str
    format: str
    sha256: str
    encoding: str | None
    read: int = 0
    loaded: int = 0
    rejected: int = 0


@dataclass
class IngestResult:
    """What a batch did. ``loaded + rejected == read`` in total, per table and per file.

    In ``fail`` mode a batch with any bad row is not published: then ``published`` is False,
    ``loaded`` is 0 and every row read counts as rejected; ``bad_rows`` says how many were bad.
    """

    batch_id: str
    published: bool
    on_error: str
    read: int
    loaded: int
    rejected: int
    bad_rows: int
    tables: dict[str, Counts]
    files: list[FileReport]
    errors: list[RowError]
    error_count: int
    #: loaded rows that replaced rows of the same key already in the store
    replaced: int = 0
    #: what the batch did not check or fill, in plain words (e.g. a reference to an absent table)
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, Any]:
        """Totals and per-table counts: ``read``, ``loaded``, ``rejected``, ``replaced``, ``tables``."""
        return {
            "read": self.read,
            "loaded": self.loaded,
            "rejected": self.rejected,
            "replaced": self.replaced,
            "tables": {k: asdict(v) for k, v in self.tables.items()},
        }

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` output."""
        return {
            "batch_id": self.batch_id,
            "published": self.published,
            "on_error": self.on_error,
            **self.counts(),
            "bad_rows": self.bad_rows,
            "error_count": self.error_count,
            "errors": [{**asdict(e), "message": str(e)} for e in self.errors],
            "files": [asdict(f) for f in self.files],
            "notes": list(self.notes),
        }


@dataclass
class _File:
    file_id: int
    path: Path
    display: str
    table: Table
    kind: str
    sources: list[ColumnSource] = field(default_factory=list)
    csv: readers.CsvSource | None = None
    sha256: str = ""
    encoding: str | None = None
    header_line: int = 1
    good_raw: int = 0  # rows parsed into the raw table (CSV) or read (Parquet)
    structural: int = 0  # lines DuckDB could not parse
    undecodable: int = 0  # lines left out by transcoding
    deferred_pii: list[str] = field(default_factory=list)  # raw identifiers hashed by the publish join
    key_pii: list[str] = field(default_factory=list)  # raw identifiers of the key, replaced in the stage
    ordered: bool = False  # the staging table is in file order (its rowid is the row's ordinal)
    attempts: int = 0  # read_csv passes made (each has its own rejects tables)
    mapping: TableMapping | None = None  # the mapping file's section this export feeds
    per_line: int = 1  # canonical rows made from each line (a wide export: one per month)
    in_place: bool = False  # a Parquet file read in place: its stage is a view, see _stage_parquet
    marked: bool = False  # rows of an in-place file were marked bad after its checks (_ing_bad_<id>)
    stat: tuple[int, int] | None = None  # size and mtime of an in-place file when it was checked

    @property
    def stage(self) -> str:
        return f"_ing_stg_{self.file_id}"

    @property
    def marks(self) -> str:
        """The table of the row numbers refused in a file read in place."""
        return f"_ing_bad_{self.file_id}"

    @property
    def rows_in_place(self) -> str:
        """The rows of a Parquet file with their row numbers (``file_row_number``)."""
        return f"read_parquet({lit(str(self.path))}, file_row_number=true)"


def _has_repeat(hashes: Any) -> bool:
    """Whether a value repeats in a numpy array (sorted; numpy releases the GIL while it sorts)."""
    import numpy as np

    h = np.sort(np.asarray(hashes))
    return bool((h[1:] == h[:-1]).any())


def _csv_reader(src: readers.CsvSource, types: dict[str, str], options: str = "") -> str:
    """``read_csv`` of ``src`` in its dialect, the columns named ``c0``, ``c1``… by position and typed
    by ``types`` (VARCHAR where not named); ``options`` are more ``read_csv`` options. An export read
    through a mapping file is read as text (``x0``, ``x1``…) and turned into the canonical ``c0``…"""
    prefix = "x" if src.mapping is not None else "c"
    names = [f"{prefix}{j}" for j in range(len(src.header))]
    cols = "{" + ", ".join(f"{lit(n)}: {lit(types.get(n, 'VARCHAR'))}" for n in names) + "}"
    reader = (
        f"read_csv({lit(str(src.read_path))}, columns={cols}, header=true, auto_detect=false, "
        f"delim={lit(src.delimiter)}, quote='\"', escape='\"'{', ' + options if options else ''})"
    )
    return src.mapping.select(reader) if src.mapping is not None else reader


_KEY_PAD = re.compile(r"'[0-9a-f]{128}'")


def _redact(sql: str) -> str:
    """SQL or a DuckDB message with the HMAC pads (derived from the key) replaced and long digit runs
    (raw identifiers a value may hold) masked, for logs and messages."""
    return mask_digit_runs(_KEY_PAD.sub("'…'", sql))


def _new_batch_id(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)


def _replaced_first(t: Table, name: str, hashed: bool) -> bool:
    """Whether raw column ``name`` of ``t`` is replaced by its digests in the staging table before the
    checks (they compare it with digests in the store: a foreign key, a column other tables refer to,
    or a pseudonymised id that may be either); other raw identifiers are hashed by the publication
    join."""
    target = f"{t.name}.{name}"
    return (
        hashed
        or any(c.name == name and c.references for c in t.columns)
        or any(c.references == target for other in TABLES.values() for c in other.columns)
    )


def ingest(
    paths: Iterable[str | Path] | str | Path,
    store: Store | str | Path,
    on_error: str = "fail",
    encoding: str | None = None,
    table: str | None = None,
    key: bytes | str | None = None,
    progress: ProgressFn | None = None,
    *,
    key_file: str | Path | None = None,
    max_errors: int = MAX_ERRORS,
    mapping: str | Path | Mapping | None = None,
    memory: Any = None,
) -> IngestResult:
    """Validate, pseudonymise and publish the files named by ``paths`` into ``store`` as one batch.

    ``paths`` are files or folders (``.csv``, ``.csv.gz``, ``.parquet``; folders are searched,
    skipping names starting with ``_`` or ``.``). The table comes from the file name or ``table``.
    ``on_error="fail"`` publishes nothing when any row is bad and raises :class:`IngestError`
    (its ``result`` attribute holds the :class:`IngestResult`); ``"quarantine"`` publishes the good
    rows and writes the bad ones to ``_rejects``. ``key`` (bytes or text) or ``key_file`` give the
    HMAC key; otherwise ``CHURNRADAR_HMAC_KEY`` or ``CHURNRADAR_HMAC_KEY_FILE``. ``progress`` is
    called as ``progress(task, done, total)``.

    ``mapping`` (a mapping file or a parsed :class:`~churnradar.ingest.mapping.Mapping`) describes an
    operator's export: which canonical tables each file feeds and how (see
    :mod:`churnradar.ingest.mapping`); the same checks, hashing and atomic publish apply.

    ``memory`` is a budget (``"16GB"``, ``"50%"``, ``"default"``: 60% of the machine; None: DuckDB's
    own default): DuckDB's ``memory_limit`` for the batch, which spills to the batch's private
    temporary folder beyond it.
    """
    if on_error not in ON_ERROR:
        raise ConfigError(f"on_error {on_error!r} is not allowed; expected one of {', '.join(ON_ERROR)}")
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ConfigError(
                f"encoding {encoding!r} is not known; expected e.g. utf-8, gbk or gb18030"
            ) from None
    budget = None
    if memory is not None:
        from churnradar.models.memory import MemoryBudget

        budget = MemoryBudget.resolve(memory)
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files = readers.discover(list(paths))
    m: Mapping | None = None
    if mapping is not None:
        m = mapping if isinstance(mapping, Mapping) else load_mapping(mapping)
        plan = _mapped_plan(m, files)
        encoding = encoding or m.encoding
    else:
        plan = [(f, TABLES[readers.table_for(f, table)], None) for f in files]
    own = not isinstance(store, Store)
    st = Store.open(store) if own else store
    try:
        batch = _Batch(st, on_error, encoding, progress, max_errors, m)
        batch.memory = budget
        try:
            return batch.run(plan, key, key_file)
        except duckdb.Error as exc:
            from churnradar.models.memory import format_bytes

            if not duckdb_out_of_memory(exc):
                raise
            limit = (
                f"--memory {format_bytes(budget.total)} (DuckDB {format_bytes(budget.duckdb_alone)})"
                if budget is not None
                else "DuckDB's default memory limit"
            )
            raise IngestError(
                f"the batch needs more memory than {limit} allows; nothing was published. Give a larger "
                "--memory, or load the large tables in batches of their own"
            ) from None
    finally:
        if own:
            st.close()


PlanItem = tuple[Path, Table, TableMapping | None]


def _mapped_plan(m: Mapping, files: list[Path]) -> list[PlanItem]:
    """Each export file with the tables its mapping sections feed, in load order; a section of
    constant rows is planned with the mapping file itself as its path."""
    plan: list[PlanItem] = []
    used: set[Path] = set()
    for tm in sorted(m.tables, key=lambda x: list(TABLES).index(x.table.name)):
        if tm.rows:
            plan.append((m.path or Path("mapping.toml"), tm.table, tm))
            continue
        matched = [f for f in files if tm.matches(f)]
        if not matched:
            raise ConfigError(
                f"{m.path}: [tables.{tm.table.name}] files {list(tm.files)} match none of the files given "
                f"({', '.join(f.name for f in files)})"
            )
        for f in matched:
            if readers.file_kind(f) != "csv":
                raise ConfigError(
                    f"{f}: a mapping file maps CSV exports; this file is {readers.file_kind(f)}"
                )
            plan.append((f, tm.table, tm))
            used.add(f)
    unused = [f for f in files if f not in used]
    if unused:
        raise ConfigError(
            f"{unused[0]}: no [tables.*] section of {m.path} maps this file (its files patterns do not "
            "match its name)"
        )
    return plan


class _Batch:
    #: tests shuffle the unordered staging tables to show that no report depends on their order
    shuffle_unordered = False
    #: tests turn this off to run the publication join on the identifiers' text, the fallback taken
    #: when two identifiers of a batch share a 64-bit hash
    match_pii_on_hash = True
    #: a CSV file is first read with its numeric columns parsed by DuckDB's CSV reader (see
    #: :meth:`_stage_csv_numeric`); tests turn this off to hold both readings to the same results
    numeric_csv = True
    #: a Parquet file is read in place (see :meth:`_stage_parquet`); tests and the ingest benchmark
    #: turn this off to copy it into a staging table instead, and hold both to the same results
    parquet_in_place = True

    def __init__(
        self,
        store: Store,
        on_error: str,
        encoding: str | None,
        progress: ProgressFn | None,
        max_errors: int,
        mapping: Mapping | None = None,
    ):
        self.store = store
        self.mapping = mapping
        self.con: duckdb.DuckDBPyConnection = store.connection
        self.on_error = on_error
        self.encoding = encoding
        self.progress = progress
        self.max_errors = max_errors
        self.notes: list[str] = []
        self.memory: Any = None  # a MemoryBudget: DuckDB's memory_limit during the batch
        self.files: list[_File] = []
        self.temp: list[str] = []
        self.views: list[str] = []
        self.pii_by_hash = False  # the publication join matches identifiers on hash(v), see _pseudonymise
        self.key_repeats: dict[str, Future[bool]] = {}  # per table: a key hash repeats, see _sort_key_hashes
        self.copies: list[readers.CsvSource] = []  # UTF-8 copies made, closed when the batch ends

    # -- helpers ---------------------------------------------------------------------------
    def _tick(self, f: _File, done: float) -> None:
        if self.progress is not None:
            self.progress(f.display, done, 4)

    def _x(self, sql: str, params: list[Any] | None = None) -> duckdb.DuckDBPyConnection:
        if not log.isEnabledFor(logging.DEBUG):
            return self.con.execute(sql, params or [])
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            return self.con.execute(sql, params or [])
        finally:
            log.debug(
                "%.3fs (cpu %.3fs) %s",
                time.perf_counter() - t0,
                time.process_time() - c0,
                _redact(" ".join(sql.split()))[:160],
            )

    def _one(self, sql: str, params: list[Any] | None = None) -> Any:
        return self._x(sql, params).fetchone()[0]

    def _temp(self, name: str, ddl: str) -> None:
        self._x(f"CREATE OR REPLACE TEMP TABLE {q(name)} {ddl}")
        if name not in self.temp:
            self.temp.append(name)

    # -- the batch -------------------------------------------------------------------------
    def run(self, plan: list[PlanItem], key: bytes | str | None, key_file: str | Path | None) -> IngestResult:
        now = datetime.now()
        batch_id = _new_batch_id(now)
        workdir = tempfiles.workdir()
        self.pool = ThreadPoolExecutor(max_workers=1)
        old_tmp = self._one("SELECT current_setting('temp_directory')")
        old_limit = self._one("SELECT current_setting('memory_limit')")
        self.old_order = bool(self._one("SELECT current_setting('preserve_insertion_order')"))
        if self.memory is not None:
            set_memory_limit(self.con, self.memory.duckdb_alone)
        try:
            # spills of raw identifiers go to our private folder, removed afterwards, not beside the store
            try:
                self._x(f"SET temp_directory = {lit(str(workdir / 'duckdb'))}")
            except duckdb.Error as exc:  # the connection has spilled before: keep its folder
                log.warning("temporary folder of the store kept (%s)", str(exc).splitlines()[0])
            raw_key = self._inspect(plan, key, key_file)
            self.setup()
            for f in self.files:
                self._read(f, workdir)
            self._sort_key_hashes()  # in the worker thread, beside the HMAC pass
            if raw_key is not None:
                self._pseudonymise(raw_key)
            self._check_tables()
            if self._one("SELECT count(*) FROM _ing_errs"):
                self._lines()
            return self._finish(batch_id, now, raw_key)
        finally:
            for name in reversed(self.views):
                self._x(f"DROP VIEW IF EXISTS {q(name)}")
            for name in reversed(self.temp):
                self._x(f"DROP TABLE IF EXISTS {q(name)}")
            with contextlib.suppress(duckdb.Error):
                self._x(f"SET temp_directory = {lit(old_tmp)}")
            if self.memory is not None:
                with contextlib.suppress(duckdb.Error):
                    # DuckDB prints the limit rounded: the default comes back exactly with RESET
                    self._x("RESET memory_limit")
                    if self._one("SELECT current_setting('memory_limit')") != old_limit:
                        self._x(f"SET memory_limit = {lit(old_limit)}")
            with contextlib.suppress(duckdb.Error):
                self._x(f"SET preserve_insertion_order = {str(self.old_order).lower()}")
            self.pool.shutdown(wait=True, cancel_futures=True)
            for f in self.files:
                if f.csv is not None:
                    f.csv.close()
            for src in self.copies:
                src.close()
            shutil.rmtree(workdir, ignore_errors=True)

    def _inspect(
        self, plan: list[PlanItem], key: bytes | str | None, key_file: str | Path | None
    ) -> bytes | None:
        raw_pii: list[tuple[_File, ColumnSource]] = []
        for i, (path, table, tm) in enumerate(plan):
            kind = readers.file_kind(path) or "csv"
            if tm is not None and tm.rows:
                f = _File(i, path, f"{path} [tables.{table.name}.rows]", table, "csv", mapping=tm)
                f.sources = map_columns(table, rows_csv(tm).split("\n", 1)[0].split(","), f.display)
            elif tm is not None:
                f = _File(i, path, str(path), table, kind, mapping=tm)
                header, _ = readers.peek_csv_header(path, self.encoding)
                assert self.mapping is not None
                compiled = compile_table(self.mapping, tm, header, str(self.mapping.path))
                f.per_line = compiled.per_line
                f.sources = self._map_columns(f, None, compiled)
            elif kind == "csv":
                f = _File(i, path, str(path), table, kind)
                names, _ = readers.peek_csv_header(path, self.encoding)
                f.sources = map_columns(table, names, f.display)
            else:
                f = _File(i, path, str(path), table, kind)
                try:
                    desc = self._x(f"DESCRIBE SELECT * FROM read_parquet({lit(str(path))})").fetchall()
                except duckdb.Error as exc:
                    raise SchemaError(f"{path}: not a readable Parquet file ({exc})") from None
                f.sources = map_columns(table, [d[0] for d in desc], f.display, [d[1] for d in desc])
            raw_pii += [(f, cs) for cs in f.sources if cs.to_hash]
            self.files.append(f)
        need_key = bool(raw_pii)
        resolved = (
            resolve_key(key, key_file, self.store.path) if (need_key or key is not None or key_file) else None
        )
        if need_key and resolved is None:
            f, cs = raw_pii[0]
            raise PseudonymisationKeyError(
                f"{f.display} holds raw identifiers (column {cs.input_name}); the batch is refused because "
                f"no HMAC key is configured: {HOW_TO_SET_KEY}"
            )
        if need_key and resolved is not None:
            stored = self.store.meta().get("key_fingerprint")
            if stored is not None and stored != key_fingerprint(resolved):
                raise PseudonymisationKeyError(
                    f"the HMAC key differs from the key this store was loaded with (fingerprint {stored}); "
                    "digests would not match earlier batches. Use the same key, or a new store"
                )
        return resolved if need_key else None

    def _read(self, f: _File, workdir: Path) -> None:
        self._tick(f, 0)
        stage = q(f.stage)
        scan: Future[readers.FileScan] = Future()
        if f.mapping is not None and f.mapping.rows:
            scan.set_result(readers.FileScan(hashlib.sha256(rows_csv(f.mapping).encode()).hexdigest(), False))
        elif readers.is_gzip(f.path):
            # read to its end and checked before anything is staged: DuckDB stops silently at the
            # end of a truncated stream
            scan.set_result(readers.scan_file(f.path))
        else:
            scan = self.pool.submit(readers.scan_file, f.path)  # beside DuckDB's work
        if f.kind == "csv":
            src = self._with_mapping(f, self._copy(self._prepare(f, workdir)))
            self._tick(f, 1)
            rej = self._stage_csv_or_copy(f, src, workdir)
            if rej is None:  # DuckDB could not read it at all: read a copy without its binary lines
                enc = self.encoding or readers.detect_encoding(f.path)
                src = self._transcoded(f, workdir, enc, suspect_utf8=enc != "utf-8")
                rej = self._stage_csv(f, src)
            elif (
                self.encoding is None or (src.copy is None and src.encoding in readers.GB_FAMILY)
            ) and self._one(
                f"SELECT count(*) FROM {q(rej)} WHERE upper(CAST(error_type AS VARCHAR)) = 'INVALID ENCODING'"
            ):
                # read directly (UTF-8, or GBK whose first mebibyte is ASCII after the header), yet
                # not UTF-8 further on: a GBK/GB18030 export, read again through a UTF-8 copy
                enc = self.encoding or readers.detect_encoding(f.path)
                if enc != "utf-8":
                    src = self._transcoded(f, workdir, enc, suspect_utf8=self.encoding is None)
                    rej = self._stage_csv(f, src)
            if scan.result().binary and src.copy is None:
                # lines of binary data: read a copy without them, so each is one rejected line with
                # its number (DuckDB may fail on them, or read a stray quote as a field spanning lines)
                enc = self.encoding or src.encoding
                if enc == "utf-8" and self.encoding is None:
                    enc = readers.detect_encoding(f.path)
                src = self._transcoded(f, workdir, enc, suspect_utf8=enc != "utf-8")
                rej = self._stage_csv(f, src)
            if scan.result().underscore and self._numbers_with_underscore(f, src):
                rej = self._stage_csv(f, src, ordered=False, numeric=False)
            f.csv, f.encoding = src, src.encoding
            # structural problems: one per line, in DuckDB's line numbering of the file it read
            cases = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in _STRUCTURAL_REASON.items())
            self._x(
                f"INSERT INTO _ing_errs (file_id, rec, col_idx, reason) SELECT {f.file_id}, line, -1, "
                f"CASE upper(CAST(min(error_type) AS VARCHAR)) {cases} ELSE 'line cannot be parsed as CSV' END "
                f"FROM {q(rej)} GROUP BY line"
            )
            f.structural = self._one(f"SELECT count(DISTINCT line) FROM {q(rej)}")
            self._x(f"INSERT INTO _ing_skips SELECT DISTINCT {f.file_id}, line FROM {q(rej)}")
            if src.dropped:
                self.con.executemany(
                    "INSERT INTO _ing_drops VALUES (?, ?)", [(f.file_id, n) for n, _ in src.dropped]
                )
                bad = [(f.file_id, n, r) for n, r in src.dropped if r is not None]
                if bad:
                    self.con.executemany(
                        "INSERT INTO _ing_errs (file_id, line, col_idx, reason) VALUES (?, ?, -1, ?)", bad
                    )
                f.undecodable = len(bad)
            names = [f"c{j}" for j in range(len(src.columns))]
            bad_rel = (
                "(SELECT rowid AS _row, "
                + ", ".join(f"_orig[{j + 1}] AS {n}" for j, n in enumerate(names))
                + f" FROM {stage} WHERE _bad)"
            )
        else:
            self._tick(f, 1)
            try:
                self._stage_parquet(f)
            except duckdb.Error as exc:
                msg = _redact(str(exc).splitlines()[0])
                raise SchemaError(
                    f"{f.display}: its columns cannot be converted to table {f.table.name} "
                    f"(Parquet types: {', '.join(f'{cs.source} {cs.source_type}' for cs in f.sources if cs.source)}): "
                    f"{msg}"
                ) from None
            bad_rel = (
                f"(SELECT file_row_number AS _row, * EXCLUDE (file_row_number) FROM {f.rows_in_place} "
                f"WHERE file_row_number IN (SELECT rowid FROM {stage} WHERE _bad))"
            )
        self._tick(f, 2)
        # absent rows (NULL) are not rows
        f.good_raw, n_bad = self._x(f"SELECT count(_bad), count(*) FILTER (_bad) FROM {stage}").fetchone()
        if n_bad:
            self._ensure_ordered(f)
            sql = reasons_select(f.sources, bad_rel, f.file_id)
            if sql:
                self._x(f"INSERT INTO _ing_errs (file_id, row, col_idx, column_name, value, reason) {sql}")
        f.sha256 = scan.result().sha256
        self._tick(f, 3)

    def _prepare(self, f: _File, workdir: Path) -> readers.CsvSource:
        """The CSV source of a file: the file itself or a UTF-8 copy; for a mapping section of
        constant rows, a copy holding them as canonical CSV."""
        if f.mapping is not None and f.mapping.rows:
            text = rows_csv(f.mapping)
            copy = tempfiles.AnonymousFile(workdir)
            copy.file.write(text.encode("utf-8"))
            copy.file.flush()
            header, delim = readers.parse_header(text.split("\n", 1)[0], f.path)
            return readers.CsvSource(f.path, copy.path, "", "utf-8", header, delim, copy=copy)
        return readers.prepare_csv(f.path, workdir, self.encoding)

    def _transcoded(self, f: _File, workdir: Path, encoding: str, suspect_utf8: bool) -> readers.CsvSource:
        src = readers.transcode_csv(f.path, workdir, encoding, suspect_utf8=suspect_utf8)
        return self._with_mapping(f, self._copy(src))

    def _with_mapping(self, f: _File, src: readers.CsvSource) -> readers.CsvSource:
        """``src`` with the mapping file's SQL of its section, compiled against its header."""
        if f.mapping is None or f.mapping.rows:
            return src
        assert self.mapping is not None
        compiled = compile_table(self.mapping, f.mapping, src.header, str(self.mapping.path))
        return dataclasses.replace(src, mapping=compiled)

    def _map_columns(
        self, f: _File, src: readers.CsvSource | None, compiled: Any = None
    ) -> list[ColumnSource]:
        """The canonical columns of a CSV file or of a mapped export (named as the mapping shows them)."""
        comp = compiled if compiled is not None else (src.mapping if src is not None else None)
        if comp is None:
            assert src is not None
            return map_columns(f.table, src.header, f.display)
        out = map_columns(f.table, comp.outputs, f.display)
        return [
            dataclasses.replace(
                cs,
                shown=comp.shown[int(cs.source[1:])],
                hashed=bool(comp.hashed and comp.hashed[int(cs.source[1:])]),
            )
            if cs.source is not None
            else cs
            for cs in out
        ]

    def _copy(self, src: readers.CsvSource) -> readers.CsvSource:
        if src.copy is not None:
            self.copies.append(src)
        return src

    def _stage_csv_or_copy(self, f: _File, src: readers.CsvSource, workdir: Path) -> str | None:
        """:meth:`_stage_csv`, or None when DuckDB cannot read the file as it is (binary garbage
        that puts its CSV parser in an invalid state) and a cleaned copy may be read instead."""
        try:
            return self._stage_csv(f, src)
        except SchemaError:
            if src.copy is not None:
                raise  # a copy has no binary lines left: nothing more to try
            log.debug("%s: read through a copy without its binary lines", f.display)
            return None

    def _numbers_with_underscore(self, f: _File, src: readers.CsvSource) -> bool:
        """Whether a number column of a CSV file staged by DuckDB's number parser holds an
        underscore (it reads ``1_000`` as 1000; the text path refuses it)."""
        numeric = [cs.source for cs in f.sources if cs.source is not None and cs.source_type == "DOUBLE"]
        if not numeric:
            return False
        reader = _csv_reader(src, {}, "ignore_errors=true")
        cond = " OR ".join(f"contains({q(c)}, '_')" for c in numeric)
        return bool(self._one(f"SELECT count(*) FROM {reader} WHERE {cond}"))

    def _stage_csv(
        self, f: _File, src: readers.CsvSource, ordered: bool = False, numeric: bool = True
    ) -> str:
        """Parse, type and check one CSV file in one pass into its staging table.

        With ``ordered`` the staging table keeps file order, so its rowid is the row's ordinal among
        the parsed rows (see :meth:`_create_stage`). Returns the name of the table holding DuckDB's
        structural rejects.
        """
        if not ordered and numeric and self.numeric_csv and self._stage_csv_numeric(f, src):
            rej = f"_ing_rej_{f.file_id}_{f.attempts}"
            f.attempts += 1
            self.temp.append(rej)
            self._temp(rej, "(line BIGINT, error_type VARCHAR)")  # no structural problem: none to report
            return rej
        attempt = f.attempts
        f.attempts += 1
        f.sources = self._map_columns(f, src)
        names = [f"c{j}" for j in range(len(src.columns))]
        rej, scan = f"_ing_rej_{f.file_id}_{attempt}", f"_ing_rejscan_{f.file_id}_{attempt}"
        self.temp += [rej, scan]
        reader = _csv_reader(
            src, {}, f"store_rejects=true, rejects_table={lit(rej)}, rejects_scan={lit(scan)}"
        )
        try:
            absent = src.mapping is not None and src.mapping.absent
            self._create_stage(
                f, stage_select(f.table, f.sources, reader, keep_text=names, absent=absent), ordered
            )
        except duckdb.Error as exc:
            raise SchemaError(
                f"{f.display}: cannot be read as CSV: {_redact(str(exc).splitlines()[0])}"
            ) from None
        return rej

    def _stage_csv_numeric(self, f: _File, src: readers.CsvSource) -> bool:
        """Stage a clean CSV file with its number columns parsed by DuckDB's CSV reader, not read as
        text and cast: the cheaper reading, used only when it gives exactly what the text path would.

        The reader runs strict (no rejects table, no skipped lines): any line it cannot split or any
        number it cannot parse stops it, and the file is staged as text instead, where every such cell
        gets its reason. It parses every number the text path's casts accept to the same value; where
        they differ, it refuses (blank cells of spaces, hexadecimal), except that it rounds a fraction
        read as an integer, so integer columns are read as DOUBLE and checked to be whole numbers like
        a Parquet column of doubles (only where the column's limits keep the value exact in a double).
        Returns False (nothing staged) when the file has no such column or the reader refused it.
        """
        if src.mapping is not None:
            return False  # an export is read as text and mapped
        sources = [
            dataclasses.replace(cs, source_type="DOUBLE") if read_as_number(cs) else cs for cs in f.sources
        ]
        if not any(cs.source_type == "DOUBLE" for cs in sources):
            return False
        reader = _csv_reader(src, {cs.source: cs.source_type for cs in sources if cs.source is not None})
        select = f"SELECT *, CAST(NULL AS VARCHAR[]) AS _orig FROM ({stage_select(f.table, sources, reader)})"
        try:
            self._create_stage(f, select, ordered=False)
        except duckdb.Error as exc:
            log.debug("%s: staged as text (%s)", f.display, _redact(str(exc).splitlines()[0]))
            return False
        f.sources = sources
        return True

    def _stage_parquet(self, f: _File, ordered: bool = False) -> None:
        """Check a Parquet file in one pass and make its stage a view over the file, not a copy.

        The pass keeps only the row numbers of the rows that fail a check (``_ing_bad_<id>``); the
        view converts the file's values again on each read, and a query that needs a few columns (a
        key's hash, the identifiers to pseudonymise, a foreign key) reads only those from the file.
        Copying the file into a temporary table instead took about three times the file's size in
        memory or spill (Parquet is compressed, a staging table is not). The view is in file order:
        its ``rowid`` is the file's row number. The file's size and modification time are kept, and
        the batch is not published when they change before the commit (:meth:`_check_unchanged`)."""
        if not self.parquet_in_place:
            select = stage_select(f.table, f.sources, f"read_parquet({lit(str(f.path))})")
            self._create_stage(f, select, ordered)
            return
        st = f.path.stat()
        f.stat = (st.st_size, st.st_mtime_ns)
        self._temp(f.marks, "AS " + bad_rows_select(f.sources, f.rows_in_place, "file_row_number"))
        f.in_place = f.ordered = True
        f.marked = bool(self._one(f"SELECT count(*) FROM {q(f.marks)}"))
        self._define_view(f)

    def _define_view(self, f: _File) -> None:
        """(Re)define the stage view of a file read in place: the typed columns, ``_bad`` from the
        rows marked bad, and the raw identifiers replaced first (``f.key_pii``) joined to their
        digests."""
        bad = f"rowid IN (SELECT row FROM {q(f.marks)})" if f.marked else "FALSE"
        typed = typed_select(f.table, f.sources, f.rows_in_place, "file_row_number")
        sql = f"SELECT *, {bad} AS _bad FROM ({typed})"
        if f.key_pii:
            cols = ", ".join(f"coalesce(m{j}.h, s.{q(c)}) AS {q(c)}" for j, c in enumerate(f.key_pii))
            joins = "".join(f" LEFT JOIN _ing_pii m{j} ON s.{q(c)} = m{j}.v" for j, c in enumerate(f.key_pii))
            sql = f"SELECT s.* REPLACE ({cols}) FROM ({sql}) s{joins}"
        self._x(f"CREATE OR REPLACE TEMP VIEW {q(f.stage)} AS {sql}")
        if f.stage not in self.views:
            self.views.append(f.stage)

    def _check_unchanged(self) -> None:
        """Refuse the batch when a file read in place changed while it was being loaded: its checks
        and the rows to publish would come from different contents."""
        for f in self.files:
            if f.in_place and f.stat is not None:
                try:
                    st = f.path.stat()
                    now: tuple[int, int] | None = (st.st_size, st.st_mtime_ns)
                except OSError:
                    now = None
                if now != f.stat:
                    raise IngestError(
                        f"{f.display}: the file changed (or went away) while it was being loaded; "
                        "nothing was published. Load it again once it is complete"
                    )

    def _create_stage(self, f: _File, select: str, ordered: bool) -> None:
        """Materialise a file's staging table. Unordered by default: without the order of the file to
        keep, DuckDB's threads append as they go (about 10% less CPU for the staging pass). Row
        ordinals are needed only where a row is reported (line numbers, the first of duplicate
        keys); :meth:`_ensure_ordered` stages the file again in file order before that happens."""
        if not ordered and self.shuffle_unordered:
            select += " ORDER BY random()"
        self._x(f"SET preserve_insertion_order = {'true' if ordered else 'false'}")
        try:
            self._temp(f.stage, "AS " + select)
        finally:
            self._x(f"SET preserve_insertion_order = {str(self.old_order).lower()}")
        f.ordered = ordered

    def _ensure_ordered(self, f: _File) -> None:
        """Stage ``f`` again in file order when its staging table is not, before any of its rows is
        reported. Only the row-level checks are in the new table: call it before marking rows bad."""
        if f.ordered:
            return
        log.debug("%s: staged again in file order (rows to report)", f.display)
        if f.kind == "csv":
            assert f.csv is not None
            self._stage_csv(f, f.csv, ordered=True)
        else:  # a copy of a Parquet file (a file read in place is in file order)
            self._stage_parquet(f, ordered=True)
        for name in f.key_pii:
            self._replace_key_pii(f, name)

    def _replace_key_pii(self, f: _File, name: str) -> None:
        """Swap the raw identifiers of column ``name`` of ``f``'s staging table for their digests.

        The table is written again through a join rather than updated in place: DuckDB keeps an
        in-place update of a large table in memory, while a join and a write spill to disk within
        the memory limit. A staging table in file order keeps its order (its row ids are line
        ordinals). The column is recorded in ``f.key_pii``; the view of a file read in place is
        defined again with the column joined to its digests."""
        if name not in f.key_pii:
            f.key_pii.append(name)
        if f.in_place:
            self._define_view(f)
            return
        stage, new = q(f.stage), q(f.stage + "_h")
        col = q(name)
        order = " ORDER BY s.rowid" if f.ordered else ""
        self._x(f"SET preserve_insertion_order = {'true' if f.ordered else 'false'}")
        try:
            self._x(
                f"CREATE OR REPLACE TEMP TABLE {new} AS SELECT s.* REPLACE (coalesce(m.h, s.{col}) AS {col}) "
                f"FROM {stage} s LEFT JOIN _ing_pii m ON s.{col} = m.v{order}"
            )
            self._x(f"DROP TABLE {stage}")
            self._x(f"ALTER TABLE {new} RENAME TO {stage}")
        finally:
            self._x(f"SET preserve_insertion_order = {str(self.old_order).lower()}")

    def _pseudonymise(self, key: bytes) -> None:
        """Hash every distinct raw identifier of the batch once into ``_ing_pii (v, h)``.

        Identifiers that the checks compare with the store (a foreign key, or an id the mapping
        pseudonymises, which may be one) are replaced in the staging tables at once; the others,
        a raw number in a table's key included, are swapped for their digests by the join in the
        publication view (:meth:`_publish_view`), which costs less than rewriting a column of the
        staging table and keeps the staged text short (a digest is 64 characters: rewriting the
        called numbers of ``call_edge`` took more temporary disk than staging every file). The
        duplicate-key check may compare the raw values: two values are equal exactly when their
        digests are, and its messages mask digit runs. Either way only digests leave the temporary
        tables.
        """
        cols = [(f, cs.column.name, cs.hashed) for f in self.files for cs in f.sources if cs.to_hash]
        if not cols:
            return
        values = [f"SELECT {q(name)} AS v FROM {q(f.stage)}" for f, name, _ in cols]
        self._temp("_ing_pii", "AS " + pii_map_select(values, key))
        # matching on the 64-bit hash is exact when no two identifiers of the batch share a hash and
        # none shares the hash of NULL (a missing identifier then matches nothing, as with the text)
        self.pii_by_hash = self.match_pii_on_hash and bool(
            self._one(
                "SELECT count(DISTINCT hv) = count(*) AND count(*) FILTER (hv = hash(CAST(NULL AS VARCHAR))) = 0 "
                "FROM _ing_pii"
            )
        )
        for f, name, hashed in cols:
            if _replaced_first(f.table, name, hashed):
                self._replace_key_pii(f, name)
            else:
                f.deferred_pii.append(name)

    def _publish_view(self, t: Table) -> str:
        """A TEMP view of the rows of table ``t`` as they are published: ``_bad``, the key columns and
        the canonical columns, raw identifiers not yet replaced joined to their digests."""
        name = f"_ing_pub_{t.name}"
        parts = []
        for f in self.files:
            if f.table is not t:
                continue
            cols, joins = [], []
            for c in t.column_names:
                if c in f.deferred_pii:
                    alias = f"p{len(joins)}"
                    on = f"hash(s.{q(c)}) = {alias}.hv" if self.pii_by_hash else f"s.{q(c)} = {alias}.v"
                    joins.append(f" LEFT JOIN _ing_pii {alias} ON {on}")
                    cols.append(f"{alias}.h AS {q(c)}")
                else:
                    cols.append(f"s.{q(c)}")
            parts.append(f"SELECT s._bad, {', '.join(cols)} FROM {q(f.stage)} s{''.join(joins)}")
        self._x(f"CREATE OR REPLACE TEMP VIEW {q(name)} AS {' UNION ALL '.join(parts)}")
        if name not in self.views:
            self.views.append(name)
        return name

    def _table_view(self, t: Table) -> str:
        """A TEMP view over the staged files of table ``t``: ``_file, _row, _bad`` and the columns."""
        name = f"_ing_tbl_{t.name}"
        parts = []
        for f in self.files:
            if f.table is t:
                drop = " EXCLUDE (_orig)" if f.kind == "csv" else " EXCLUDE (rowid)" if f.in_place else ""
                parts.append(f"SELECT {f.file_id} AS _file, rowid AS _row, *{drop} FROM {q(f.stage)}")
        self._x(f"CREATE OR REPLACE TEMP VIEW {q(name)} AS {' UNION ALL '.join(parts)}")
        if name not in self.views:
            self.views.append(name)
        return name

    def _check_tables(self) -> None:
        tables = [t for t in TABLES.values() if any(f.table is t for f in self.files)]
        in_batch = {t.name for t in tables}
        for t in tables:
            stage = q(self._table_view(t))
            # duplicate keys within the batch: the first occurrence (file order) wins
            keys = ", ".join(q(k) for k in t.key)
            if (
                self._may_have_duplicates(t)
                and self._ordered(t)
                and self._one(
                    f"SELECT count(*) FROM (SELECT {keys} FROM {stage} WHERE NOT _bad GROUP BY ALL HAVING count(*) > 1)"
                )
            ):
                shown = ", ".join(t.key)
                # a raw identifier of the key not replaced yet is shown by its digest
                raw = {c for f in self.files if f.table is t for c in f.deferred_pii}
                value = (
                    "concat_ws(', ', "
                    + ", ".join(
                        f"(SELECT m.h FROM _ing_pii m WHERE m.v = {q(k)})"
                        if k in raw
                        else f"CAST({q(k)} AS VARCHAR)"
                        for k in t.key
                    )
                    + ")"
                )
                self._x(
                    f"""INSERT INTO _ing_errs (file_id, row, col_idx, column_name, value, reason, ref_file, ref_row)
                    SELECT _file, _row, -1, {lit(shown)}, {mask_digit_runs_sql(f"left({value}, 200)")},
                           {lit(f"duplicates the key ({shown}) given earlier in this batch at ")}, ff, fr
                    FROM (SELECT *, first_value(_file) OVER w AS ff, first_value(_row) OVER w AS fr,
                                 row_number() OVER w AS rn
                          FROM {stage} WHERE NOT _bad
                          WINDOW w AS (PARTITION BY {keys} ORDER BY _file, _row))
                    WHERE rn > 1"""
                )
                self._mark_bad(t)
            # foreign keys against the store and the good rows of this batch
            for idx, c in enumerate(t.columns):
                if not c.references:
                    continue
                ptable, pcol = c.references.split(".")
                if ptable not in in_batch and not self._one(
                    f"SELECT count(*) FROM (SELECT 1 FROM main.{q(ptable)} LIMIT 1)"
                ):
                    # an optional table the operator does not supply: its codes are kept, unchecked
                    if self._one(
                        f"SELECT count(*) FROM (SELECT 1 FROM {stage} WHERE {q(c.name)} IS NOT NULL LIMIT 1)"
                    ):
                        self.notes.append(
                            f"{t.name}.{c.name} not checked against {c.references}: the store has no {ptable} rows"
                        )
                    continue
                parent = f"SELECT {q(pcol)} AS k FROM main.{q(ptable)}"
                if ptable in in_batch:
                    parent += f" UNION ALL SELECT {q(pcol)} FROM {q(f'_ing_tbl_{ptable}')} WHERE NOT _bad"
                reason = lit(f"is not a known {c.references} (neither in the store nor in this batch)")
                sql = f"""INSERT INTO _ing_errs (file_id, row, col_idx, column_name, value, reason)
                    SELECT s._file, s._row, {idx}, {lit(c.name)},
                           {mask_digit_runs_sql(f"left(CAST(s.{q(c.name)} AS VARCHAR), 100)")},
                           {reason}
                    FROM {stage} s ANTI JOIN ({parent}) p ON s.{q(c.name)} = p.k
                    WHERE NOT s._bad AND s.{q(c.name)} IS NOT NULL"""
                n = self._x(sql).fetchone()[0]
                if n and not all(f.ordered for f in self.files if f.table is t):
                    # the rows were numbered in an unordered staging table: number them again
                    ids = ", ".join(str(f.file_id) for f in self.files if f.table is t)
                    self._x(
                        f"DELETE FROM _ing_errs WHERE file_id IN ({ids}) AND col_idx = {idx} AND reason = {reason}"
                    )
                    self._ordered(t)
                    n = self._x(sql).fetchone()[0]
                if n and ptable in in_batch:
                    self._blame_refused_parents(t, idx, c.name, ptable, pcol, reason)
                if n:
                    self._mark_bad(t)

    def _blame_refused_parents(
        self, t: Table, idx: int, column: str, ptable: str, pcol: str, reason: str
    ) -> None:
        """Foreign-key errors whose parent row is in this batch but was refused: the parent's
        problem is the root cause, so the child says so and points at it (``parent refused at
        FILE:LINE``; the line is filled in by :meth:`_lines`)."""
        self._ordered(TABLES[ptable])
        blame = lit(f"refers to a {ptable} row refused in this batch: parent refused at ")
        self._x(
            f"""UPDATE _ing_errs SET reason = {blame}, ref_file = c.pf, ref_row = c.pr
                FROM (SELECT s._file, s._row, r.pf, r.pr
                      FROM {q(self._table_view(t))} s JOIN (
                        SELECT {q(pcol)} AS k, arg_min(_file, [_file, _row]) AS pf,
                               arg_min(_row, [_file, _row]) AS pr
                        FROM {q(f"_ing_tbl_{ptable}")} WHERE _bad GROUP BY 1) r ON s.{q(column)} = r.k) c
                WHERE _ing_errs.file_id = c._file AND _ing_errs.row = c._row
                  AND _ing_errs.col_idx = {idx} AND _ing_errs.reason = {reason}"""
        )

    def _ordered(self, t: Table) -> bool:
        """Stage the files of table ``t`` again in file order where needed (before any of its rows is
        reported or marked bad); True, for use in a condition."""
        for f in self.files:
            if f.table is t:
                self._ensure_ordered(f)
        return True

    def _key_hashes(self, t: Table) -> Any:
        """One 64-bit hash of the key of every good row of table ``t`` (a numpy array)."""
        keys = ", ".join(q(k) for k in t.key)
        return self._x(f"SELECT hash({keys}) AS h FROM {q(self._table_view(t))} WHERE NOT _bad").fetchnumpy()[
            "h"
        ]

    def _sort_key_hashes(self) -> None:
        """Start the duplicate-key pre-check of each table whose key holds no raw identifier in the
        worker thread: numpy sorts without the GIL, on the core DuckDB's HMAC pass leaves idle at
        times. Rows marked bad later only shrink the set, so "no repeat" stays true; a repeat only
        costs the exact check."""
        for t in {f.table.name: f.table for f in self.files}.values():
            if any(
                cs.to_hash and cs.column.name in t.key and _replaced_first(t, cs.column.name, cs.hashed)
                for f in self.files
                if f.table is t
                for cs in f.sources
            ):
                continue  # the key's identifiers are replaced by their digests first
            self.key_repeats[t.name] = self.pool.submit(_has_repeat, self._key_hashes(t))

    def _may_have_duplicates(self, t: Table) -> bool:
        """False when no two good rows of table ``t`` share a key: sorting one 64-bit hash of the key per
        row (numpy) is several times cheaper than grouping by the key columns in DuckDB. Equal keys
        have equal hashes, so this never misses a duplicate; a hash collision only costs the exact
        check."""
        t0, c0 = time.perf_counter(), time.process_time()
        pending = self.key_repeats.pop(t.name, None)
        found = pending.result() if pending is not None else _has_repeat(self._key_hashes(t))
        log.debug(
            "%.3fs (cpu %.3fs) key hashes sorted%s: %s",
            time.perf_counter() - t0,
            time.process_time() - c0,
            " (waited for the worker)" if pending is not None else "",
            "a repeated hash, exact check follows" if found else "no duplicate key",
        )
        return found

    def _mark_bad(self, t: Table) -> None:
        for f in self.files:
            if f.table is t and f.in_place:
                marks = q(f.marks)
                self._x(
                    f"""INSERT INTO {marks} SELECT DISTINCT row FROM _ing_errs
                        WHERE file_id = {f.file_id} AND row IS NOT NULL AND row NOT IN (SELECT row FROM {marks})"""
                )
                if not f.marked:
                    f.marked = True
                    self._define_view(f)
            elif f.table is t:
                self._x(
                    f"""UPDATE {q(f.stage)} SET _bad = TRUE WHERE NOT _bad AND rowid IN
                        (SELECT row FROM _ing_errs WHERE file_id = {f.file_id} AND row IS NOT NULL)"""
                )

    def _lines(self) -> None:
        """Turn row ordinals and DuckDB line numbers into line numbers of the input files.

        A CSV row's line is 1 (header) + its ordinal + the number of skipped lines (unparsable or
        blank) before it; lines left out by transcoding shift later lines once more. A quoted field
        spanning several lines counts as one line, so later line numbers are low by the extra lines.
        For Parquet the "line" is the 1-based row number.
        """
        with_rows = {
            r[0]
            for r in self._x(
                "SELECT file_id FROM _ing_errs WHERE row IS NOT NULL "
                "UNION SELECT ref_file FROM _ing_errs WHERE ref_row IS NOT NULL"
            ).fetchall()
        }
        for f in self.files:
            if f.file_id in with_rows and f.csv is not None and f.csv.read_path == f.path:
                blanks = readers.blank_lines(f.path)  # transcoded copies have none
                if blanks:
                    self.con.executemany(
                        "INSERT INTO _ing_skips VALUES (?, ?)", [(f.file_id, n) for n in blanks]
                    )
        self._temp(
            "_ing_linemap",
            """AS SELECT file_id, k, max(j) AS n FROM (
                 SELECT file_id, line - j - 1 AS k, j FROM (
                   SELECT file_id, line, row_number() OVER (PARTITION BY file_id ORDER BY line) AS j
                   FROM (SELECT DISTINCT file_id, line FROM _ing_skips)))
               GROUP BY ALL""",
        )
        self._temp(
            "_ing_dropmap",
            """AS SELECT file_id, k, max(j) AS n FROM (
                 SELECT file_id, line - (j - 1) AS k, j FROM (
                   SELECT file_id, line, row_number() OVER (PARTITION BY file_id ORDER BY line) AS j
                   FROM (SELECT DISTINCT file_id, line FROM _ing_drops)))
               GROUP BY ALL""",
        )
        parquet = ", ".join(str(f.file_id) for f in self.files if f.kind == "parquet") or "-1"
        self._temp(
            "_ing_rowline",
            f"""AS WITH r AS (
                  SELECT DISTINCT file_id, row FROM _ing_errs WHERE row IS NOT NULL
                  UNION SELECT DISTINCT ref_file, ref_row FROM _ing_errs WHERE ref_row IS NOT NULL),
                o AS (SELECT r.file_id, r.row, r.row // f.per_line AS ord
                      FROM r JOIN _ing_files f ON r.file_id = f.file_id),
                a AS (SELECT o.file_id, o.row, 2 + o.ord + coalesce(m.n, 0) AS rec
                      FROM o ASOF LEFT JOIN _ing_linemap m ON o.file_id = m.file_id AND o.ord >= m.k)
                SELECT a.file_id, a.row,
                       CASE WHEN a.file_id IN ({parquet}) THEN a.row + 1 ELSE a.rec + coalesce(d.n, 0) END AS line
                FROM a ASOF LEFT JOIN _ing_dropmap d ON a.file_id = d.file_id AND a.rec >= d.k""",
        )
        self._x(
            """UPDATE _ing_errs SET line = rl.line FROM _ing_rowline rl
               WHERE _ing_errs.row = rl.row AND _ing_errs.file_id = rl.file_id"""
        )
        self._x(
            """UPDATE _ing_errs SET line = rec + coalesce(
                 (SELECT max(d.n) FROM _ing_dropmap d WHERE d.file_id = _ing_errs.file_id AND d.k <= _ing_errs.rec), 0)
               WHERE row IS NULL AND rec IS NOT NULL"""
        )
        self._x(
            """UPDATE _ing_errs SET reason = reason || f.display || ':' || CAST(rl.line AS VARCHAR)
               FROM _ing_rowline rl, _ing_files f
               WHERE _ing_errs.ref_row = rl.row AND _ing_errs.ref_file = rl.file_id AND f.file_id = rl.file_id"""
        )

    def _finish(self, batch_id: str, now: datetime, key: bytes | None) -> IngestResult:
        reports: list[FileReport] = []
        tables: dict[str, Counts] = {}
        bad_per_file = dict(
            self._x(
                "SELECT file_id, count(*) FROM (SELECT DISTINCT file_id, row FROM _ing_errs WHERE row IS NOT NULL) "
                "GROUP BY file_id"
            ).fetchall()
        )
        for f in self.files:
            bad = bad_per_file.get(f.file_id, 0)
            lost = (f.structural + f.undecodable) * f.per_line  # lines that never became rows
            read = f.good_raw + lost
            rejected = bad + lost
            rep = FileReport(
                f.display, f.table.name, f.kind, f.sha256, f.encoding, read, read - rejected, rejected
            )
            reports.append(rep)
            tables.setdefault(f.table.name, Counts()).add(Counts(rep.read, rep.loaded, rep.rejected))
        tables = {name: tables[name] for name in TABLES if name in tables}  # load order
        total = Counts()
        for c in tables.values():
            total.add(c)
        error_count = self._one("SELECT count(*) FROM _ing_errs")
        rows = self._x(
            """SELECT f.display, e.line, e.column_name, e.value, e.reason FROM _ing_errs e
               JOIN _ing_files f USING (file_id)
               ORDER BY f.load_rank, e.file_id, e.line NULLS FIRST, e.col_idx LIMIT ?""",
            [self.max_errors],
        ).fetchall()
        errors = [RowError(*r) for r in rows]
        bad_rows = total.rejected
        publishable = self.on_error == "quarantine" or total.rejected == 0
        if not publishable:
            for rep in reports:
                rep.loaded, rep.rejected = 0, rep.read
            tables = {k: Counts(v.read, 0, v.read) for k, v in tables.items()}
            total = Counts(total.read, 0, total.read)
        result = IngestResult(
            batch_id=batch_id,
            published=False,
            on_error=self.on_error,
            read=total.read,
            loaded=total.loaded,
            rejected=total.rejected,
            bad_rows=bad_rows,
            tables=tables,
            files=reports,
            errors=errors,
            error_count=error_count,
            notes=self.notes,
        )
        if not publishable:
            shown = "; ".join(str(e) for e in errors[:3])
            err = IngestError(
                f"batch refused, nothing was published: {bad_rows:,} of {total.read:,} rows are bad "
                f"({error_count:,} problems; first: {shown}). Fix them, or load the good rows with "
                "--on-error quarantine"
            )
            err.result = result  # type: ignore[attr-defined]
            raise err
        staged = [(t, self._publish_view(t)) for t in TABLES.values() if t.name in tables]
        rejects_sql = None
        if error_count:
            rejects_sql = (
                "SELECT f.table_name, f.display AS file, e.line, e.column_name, e.value, e.reason "
                "FROM _ing_errs e JOIN _ing_files f USING (file_id)"
            )
        if self.progress is not None:
            self.progress("publish", 0, 1)
        replaced = publish(
            self.con,
            staged,
            batch_id=batch_id,
            created_at=now,
            on_error=self.on_error,
            totals=asdict(total),
            tables={k: asdict(v) for k, v in tables.items()},
            files=[asdict(r) for r in reports],
            rejects_sql=rejects_sql,
            before_commit=self._check_unchanged,
            meta={"key_fingerprint": key_fingerprint(key)} if key is not None else None,
        )
        for name, n in replaced.items():
            result.tables[name].replaced = n
        result.replaced = sum(replaced.values())
        if self.progress is not None:
            self.progress("publish", 1, 1)
            for f in self.files:
                self._tick(f, 4)
        result.published = True
        return result

    def setup(self) -> None:
        self._temp(
            "_ing_errs",
            """(file_id INTEGER, row BIGINT, rec BIGINT, line BIGINT, col_idx INTEGER, column_name VARCHAR,
                value VARCHAR, reason VARCHAR, ref_file INTEGER, ref_row BIGINT)""",
        )
        self._temp("_ing_skips", "(file_id INTEGER, line BIGINT)")
        self._temp("_ing_drops", "(file_id INTEGER, line BIGINT)")
        self._temp(
            "_ing_files",
            "(file_id INTEGER, display VARCHAR, table_name VARCHAR, kind VARCHAR, load_rank INTEGER, "
            "per_line INTEGER)",
        )
        rank = {name: i for i, name in enumerate(TABLES)}
        self.con.executemany(
            "INSERT INTO _ing_files VALUES (?, ?, ?, ?, ?, ?)",
            [
                (f.file_id, f.display, f.table.name, f.kind, rank[f.table.name], f.per_line)
                for f in self.files
            ],
        )
