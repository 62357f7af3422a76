"""Pseudonymisation: the SQL HMAC equals Python's, raw identifiers never reach the store, keys are
required, taken from the environment or a file outside the store, and never silently changed."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.ingest._data import dataset, parent_sizes, raw_identifier, write_csv_dataset
from tests.ingest.conftest import KEY, snapshot

from churnradar.errors import IngestError, PseudonymisationKeyError
from churnradar.ingest import hmac_hex, ingest
from churnradar.ingest.batch import _Batch
from churnradar.ingest.pseudonymise import hmac_sql, key_fingerprint
from churnradar.schema import TABLES
from churnradar.store import Store

_CON = duckdb.connect()


@settings(max_examples=60, deadline=None)
@given(
    key=st.binary(min_size=16, max_size=150),
    values=st.lists(st.text(min_size=0, max_size=80), min_size=1, max_size=8),
)
def test_sql_hmac_equals_python_hmac(key: bytes, values: list[str]) -> None:
    values = [v.replace("\x00", "") for v in values]
    got = _CON.execute(
        f"SELECT {hmac_sql('v', key)} FROM (SELECT unnest(?::VARCHAR[]) AS v, generate_subscripts(?::VARCHAR[], 1) AS i) ORDER BY i",
        [values, values],
    ).fetchall()
    assert [g[0] for g in got] == [hmac.new(key, v.encode(), hashlib.sha256).hexdigest() for v in values]


def test_sql_hmac_of_null_is_null() -> None:
    assert _CON.execute(f"SELECT {hmac_sql('CAST(NULL AS VARCHAR)', KEY)}").fetchone()[0] is None


def _all_text(store: Path) -> str:
    """Every VARCHAR value of every table of the store, as one text."""
    con = duckdb.connect(str(store), read_only=True)
    try:
        parts = []
        cols = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE data_type = 'VARCHAR'"
        ).fetchall()
        for table, col in cols:
            parts += [str(r[0]) for r in con.execute(f'SELECT "{col}" FROM "{table}"').fetchall()]
        return "\n".join(parts)
    finally:
        con.close()


def test_raw_identifiers_never_reach_the_store_its_rejects_or_the_messages(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    sizes = {**parent_sizes(20), "usage_monthly": 40, "call_edge": 30}
    write_csv_dataset(folder, sizes)
    # bad rows that carry raw identifiers: they must be reported masked
    sub = folder / "subscription.csv"
    lines = sub.read_text().splitlines(keepends=True)
    header = lines[0].strip().split(",")
    cells = lines[3].strip().split(",")
    cells[header.index("brand")] = "gold"
    lines[3] = ",".join(cells) + "\n"
    sub.write_text("".join(lines))
    cust = folder / "customer.csv"
    lines = cust.read_text().splitlines(keepends=True)
    bad = raw_identifier("certificate", 4)
    bad = bad[:-1] + ("1" if bad[-1] != "1" else "2")  # a certificate whose check character is wrong
    lines[5] = lines[5].replace(raw_identifier("certificate", 4), bad)
    cust.write_text("".join(lines))
    store = tmp_path / "s.duckdb"
    result = ingest([folder], store, on_error="quarantine", key=KEY)
    assert result.rejected >= 2
    raws = [raw_identifier(kind, i) for kind in ("msisdn", "certificate", "imei") for i in range(40)]
    with Store.open(store) as st_:
        st_.connection.execute("CHECKPOINT")
        rejects = st_.rejects()
        expected = hmac_hex(KEY, raw_identifier("msisdn", 0))
        assert (
            st_.connection.execute(
                "SELECT msisdn_hash FROM subscription WHERE subscriber_id = 'SUB000000'"
            ).fetchone()[0]
            == expected
        )
        assert (
            st_.connection.execute(
                "SELECT count(*) FROM usage_monthly WHERE imei_hash = ?",
                [hmac_hex(KEY, raw_identifier("imei", 0))],
            ).fetchone()[0]
            == 1
        )
    assert any(r["column_name"] == "certificate_no" for r in rejects)
    text = _all_text(store)
    messages = "\n".join(str(e) for e in result.errors) + repr(result.to_dict())
    data = store.read_bytes() + (
        Path(str(store) + ".wal").read_bytes() if Path(str(store) + ".wal").exists() else b""
    )
    for raw in raws:
        assert raw not in text, raw
        assert raw not in messages, raw
        assert raw.encode() not in data, raw
    # the check itself can fail: the same raw values are found when they are there
    assert raw_identifier("msisdn", 1) in (folder / "subscription.csv").read_text()


def test_a_bad_digest_column_is_reported_masked(tmp_path: Path, store_path: Path) -> None:
    header, body = dataset({**parent_sizes(20), "usage_monthly": 3})["usage_monthly"]
    i = header.index("imei")
    header[i] = "imei_hash"
    body[0][i] = hmac_hex(KEY, "860000000000000")
    body[1][i] = "861234567890123"  # a raw IMEI put into the digest column by mistake
    body[2][i] = hmac_hex(KEY, "860000000000002").upper()  # upper-case hex is fine
    f = tmp_path / "usage_monthly.csv"
    f.write_text("\n".join(",".join(r) for r in [header, *body]) + "\n")
    result = ingest([f], store_path, on_error="quarantine")  # digests only: no key needed
    assert (result.loaded, result.rejected) == (2, 1)
    (err,) = result.errors
    assert err.value == "861****0123" and "861234567890123" not in str(err)
    assert "is not an HMAC-SHA256 digest" in err.reason


def test_raw_identifiers_without_a_key_refuse_the_whole_batch(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    write_csv_dataset(folder, parent_sizes(5))
    store = tmp_path / "s.duckdb"
    Store.open(store).close()
    before = snapshot(store)
    with pytest.raises(PseudonymisationKeyError) as exc:
        ingest([folder], store)
    msg = str(exc.value)
    assert "CHURNRADAR_HMAC_KEY" in msg and "--key-file" in msg and "customer.csv" in msg
    assert snapshot(store) == before


def test_the_key_comes_from_env_key_file_or_env_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "in"
    write_csv_dataset(folder, parent_sizes(3))
    key_file = tmp_path / "secrets" / "hmac.key"
    key_file.parent.mkdir()
    key_file.write_bytes(KEY + b"\n")
    digests = []
    for how in ("env", "file", "env_file"):
        store = tmp_path / f"{how}.duckdb"
        if how == "env":
            monkeypatch.setenv("CHURNRADAR_HMAC_KEY", KEY.decode())
            ingest([folder], store)
            monkeypatch.delenv("CHURNRADAR_HMAC_KEY")
        elif how == "file":
            ingest([folder], store, key_file=key_file)
        else:
            monkeypatch.setenv("CHURNRADAR_HMAC_KEY_FILE", str(key_file))
            ingest([folder], store)
            monkeypatch.delenv("CHURNRADAR_HMAC_KEY_FILE")
        with Store.open(store) as s:
            digests.append(s.connection.execute("SELECT msisdn_hash FROM subscription ORDER BY 1").fetchall())
            assert s.meta()["key_fingerprint"] == key_fingerprint(KEY)
        assert KEY.decode() not in _all_text(store)
    assert digests[0] == digests[1] == digests[2]
    assert digests[0][0][0] in {hmac_hex(KEY, raw_identifier("msisdn", i)) for i in range(3)}


def test_bad_keys_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    write_csv_dataset(folder, parent_sizes(3))
    store = tmp_path / "s.duckdb"
    with pytest.raises(PseudonymisationKeyError, match="at least 16"):
        ingest([folder], store, key=b"short")
    with pytest.raises(PseudonymisationKeyError, match="outside the store"):
        ingest([folder], store, key_file=store)
    with pytest.raises(PseudonymisationKeyError, match="cannot read key file"):
        ingest([folder], store, key_file=tmp_path / "nope.key")


def test_a_different_key_than_earlier_batches_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    write_csv_dataset(folder, parent_sizes(3))
    store = tmp_path / "s.duckdb"
    ingest([folder], store, key=KEY)
    before = snapshot(store)
    with pytest.raises(PseudonymisationKeyError, match="differs from the key"):
        ingest([folder], store, key=b"another-key-0123456789")
    assert snapshot(store) == before


def test_digest_input_needs_no_key_and_loads_as_given(tmp_path: Path) -> None:
    header, body = dataset({"region": 2, "package": 2, "channel": 2, "customer": 2})["customer"]
    i = header.index("certificate_no")
    header[i] = "certificate_hash"
    for r in body:
        r[i] = hmac_hex(KEY, r[i])
    folder = tmp_path / "in"
    write_csv_dataset(folder, {"region": 2})
    (folder / "customer.csv").write_text("\n".join(",".join(r) for r in [header, *body]) + "\n")
    result = ingest([folder], tmp_path / "s.duckdb")
    assert result.tables["customer"].loaded == 2
    with Store.open(tmp_path / "s.duckdb") as s:
        got = sorted(r[0] for r in s.connection.execute("SELECT certificate_hash FROM customer").fetchall())
    assert got == sorted(r[i] for r in body)


def test_pii_columns_are_declared_in_the_schema() -> None:
    kinds = {c.pii for t in TABLES.values() for c in t.columns if c.pii}
    assert kinds == {"msisdn", "certificate", "imei"}


@pytest.mark.parametrize("mode", ["fail", "quarantine"])
def test_reports_of_bad_rows_mask_identifiers_in_both_modes(tmp_path: Path, mode: str) -> None:
    folder = tmp_path / "in"
    write_csv_dataset(folder, parent_sizes(3))
    cust = folder / "customer.csv"
    lines = cust.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace(raw_identifier("certificate", 0), raw_identifier("certificate", 0) + "X")
    lines[1] = lines[1].replace("mass", "vip", 1).replace("key_account", "vip", 1)
    cust.write_text("".join(lines))
    raw = raw_identifier("certificate", 0)
    try:
        result = ingest([folder], tmp_path / "s.duckdb", on_error=mode, key=KEY)
    except IngestError as exc:
        assert mode == "fail" and raw not in str(exc)
        result = exc.result  # type: ignore[attr-defined]
    assert result.rejected >= 1 and raw not in repr(result.to_dict())


@pytest.mark.parametrize("on_hash", [True, False], ids=["join-on-hash", "join-on-text"])
def test_every_stored_digest_is_the_hmac_of_its_raw_identifier_in_and_outside_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, on_hash: bool
) -> None:
    """Identifiers outside a key (imei, msisdn, certificate) are joined to their digests when
    published, identifiers in a key (call_edge.peer_msisdn) too (the duplicate-key check compares the
    raw values, equal exactly when their digests are; ids checked against the store are replaced
    before the checks); both give
    the HMAC of the raw value, an empty identifier stays NULL, and a duplicate key on a raw
    identifier is reported with its digest. The publication join matches on the identifiers' 64-bit
    hash, or on their text when two of them share a hash; both give the same store."""
    monkeypatch.setattr(_Batch, "match_pii_on_hash", on_hash)
    folder = tmp_path / "in"
    sizes = {**parent_sizes(20), "usage_monthly": 40, "call_edge": 30}
    write_csv_dataset(folder, sizes)
    usage = folder / "usage_monthly.csv"
    lines = usage.read_text().splitlines(keepends=True)
    imei_col = lines[0].strip().split(",").index("imei")
    cells = lines[2].rstrip("\n").split(",")
    blank_sub, blank_month = cells[0], cells[1]
    cells[imei_col] = ""
    lines[2] = ",".join(cells) + "\n"
    usage.write_text("".join(lines))
    calls = folder / "call_edge.csv"
    lines = calls.read_text().splitlines(keepends=True)
    lines.append(lines[5])  # a duplicate key (month, subscriber_id, peer_msisdn)
    calls.write_text("".join(lines))
    store = tmp_path / "s.duckdb"
    result = ingest([folder], store, on_error="quarantine", key=KEY)
    (dup,) = [e for e in result.errors if "duplicates the key" in e.reason]
    raw_peer = lines[5].strip().split(",")[lines[0].strip().split(",").index("peer_msisdn")]
    assert hmac_hex(KEY, raw_peer) in (dup.value or "")
    assert raw_peer not in repr(result.to_dict())
    want = {
        hmac_hex(KEY, raw_identifier(kind, i))
        for kind in ("msisdn", "certificate", "imei")
        for i in range(40)
    }
    with Store.open(store) as st_:
        con = st_.connection
        for table, col in [
            ("usage_monthly", "imei_hash"),
            ("subscription", "msisdn_hash"),
            ("customer", "certificate_hash"),
            ("call_edge", "peer_hash"),
        ]:
            got = [r[0] for r in con.execute(f'SELECT "{col}" FROM "{table}"').fetchall()]
            assert got and all(v is None or v in want for v in got), (table, col)
        assert con.execute(
            "SELECT imei_hash IS NULL FROM usage_monthly WHERE subscriber_id = ? AND strftime(month, '%Y-%m') = ?",
            [blank_sub, blank_month[:7]],
        ).fetchone() == (True,)
        n_null = con.execute("SELECT count(*) FROM usage_monthly WHERE imei_hash IS NULL").fetchone()[0]
        assert n_null == 1
