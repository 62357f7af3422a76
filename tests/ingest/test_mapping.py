"""Mapping files: an operator's export loaded through a TOML description gives the same canonical
rows as the canonical files, with errors naming the export's file, line and column."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from tests.ingest._data import csv_text, dataset, parent_sizes, write_csv_dataset
from tests.ingest.conftest import snapshot

from churnradar.cli import main
from churnradar.errors import ConfigError, IngestError
from churnradar.ingest import ingest
from churnradar.ingest.mapping import load_mapping

KEY = b"mapping-test-key-0123456789abcdef"
SUBS = 6
MONTHS = {"1": "2024-01", "2": "2024-02", "3": "2024-03"}

#: the Chinese column names of a BSS export of subscriptions
SUBSCRIPTION_ZH = {
    "subscriber_id": "用户标识",
    "customer_id": "客户标识",
    "msisdn": "手机号码",
    "brand": "品牌",
    "package_id": "套餐编码",
    "payment_type": "付费类型",
    "activation_date": "入网日期",
    "channel_id": "渠道编码",
    "contract_end": "合约到期日",
    "subsidy_end": "补贴到期日",
    "family_group_id": "家庭网标识",
    "grid_id": "网格编码",
}


def write(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> Path:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    path.write_text(buf.getvalue(), encoding=encoding)
    return path


@pytest.fixture
def data() -> dict[str, tuple[list[str], list[list[str]]]]:
    return dataset({**parent_sizes(SUBS), "usage_monthly": SUBS * len(MONTHS)})


def canonical_store(tmp_path: Path, data: dict) -> Path:
    folder = tmp_path / "canonical"
    folder.mkdir()
    for name, (header, body) in data.items():
        (folder / f"{name}.csv").write_text(csv_text(header, body))
    store = tmp_path / "canonical.duckdb"
    ingest([folder], store, key=KEY)
    return store


def exports(tmp_path: Path, data: dict) -> tuple[Path, Path]:
    """A folder of exports: the dimension and customer tables as they are, subscriptions with
    Chinese column names in GBK, usage as one wide row per subscriber; and their mapping."""
    folder = tmp_path / "exports"
    folder.mkdir()
    for name in ("region", "package", "channel", "customer"):
        header, body = data[name]
        write(folder / f"{name}.csv", header, body)
    header, body = data["subscription"]
    write(folder / "用户资料.csv", [SUBSCRIPTION_ZH[h] for h in header], body, encoding="gbk")
    uh, ub = data["usage_monthly"]
    measures = [h for h in uh if h not in ("subscriber_id", "month")]
    by_sub: dict[str, dict[str, list[str]]] = {}
    for r in ub:
        by_sub.setdefault(r[0], {})[r[1]] = r
    wide_header = ["SUB_ID"] + [f"{h.upper()}_{m}" for m in MONTHS for h in measures]
    wide_rows = []
    for sub, months in by_sub.items():
        row = [sub]
        for ym in MONTHS.values():
            r = months[ym]
            row += [r[uh.index(h)] for h in measures]
        wide_rows.append(row)
    write(folder / "usage_wide.csv", wide_header, wide_rows)
    lines = [
        "[settings]",
        "months = { " + ", ".join(f'"{m}" = "{ym}"' for m, ym in MONTHS.items()) + " }",
        "",
        "[tables.region]",
        'files = ["region.csv"]',
        "[tables.region.columns]",
        *[f'{h} = "{h}"' for h in data["region"][0]],
        "[tables.package]",
        'files = ["package.csv"]',
        "[tables.package.columns]",
        *[f'{h} = "{h}"' for h in data["package"][0]],
        "[tables.channel]",
        'files = ["channel.csv"]',
        "[tables.channel.columns]",
        *[f'{h} = "{h}"' for h in data["channel"][0]],
        "[tables.customer]",
        'files = ["customer.csv"]',
        "[tables.customer.columns]",
        *[f'{h} = "{h}"' for h in data["customer"][0]],
        "[tables.subscription]",
        'files = ["用户资料*.csv"]',
        "[tables.subscription.columns]",
        *[f'{h} = "{SUBSCRIPTION_ZH[h]}"' for h in header],
        "[tables.usage_monthly]",
        'files = ["usage_wide.csv"]',
        "[tables.usage_monthly.columns]",
        'subscriber_id = "SUB_ID"',
        'month = "{month}"',
        *[f'{h} = "{h.upper()}_{{m}}"' for h in measures],
    ]
    mapping = tmp_path / "map.toml"
    mapping.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder, mapping


def test_an_export_through_its_mapping_loads_the_same_rows_as_canonical_files(
    tmp_path: Path, data: dict
) -> None:
    canonical = canonical_store(tmp_path, data)
    folder, mapping = exports(tmp_path, data)
    result = ingest([folder], tmp_path / "mapped.duckdb", key=KEY, mapping=mapping)
    assert result.read == result.loaded == sum(len(b) for _, b in data.values())
    a, b = snapshot(canonical, with_batches=False), snapshot(tmp_path / "mapped.duckdb", with_batches=False)
    assert a == b


def test_a_bad_value_in_a_wide_export_names_its_line_and_column(tmp_path: Path, data: dict) -> None:
    folder, mapping = exports(tmp_path, data)
    wide = folder / "usage_wide.csv"
    lines = wide.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[3].split(",")
    cells[header.index("SMS_COUNT_2")] = "many"
    lines[3] = ",".join(cells)
    wide.write_text("\n".join(lines) + "\n")
    with pytest.raises(IngestError) as exc:
        ingest([folder], tmp_path / "s.duckdb", key=KEY, mapping=mapping)
    (err,) = exc.value.result.errors  # type: ignore[attr-defined]
    assert (Path(err.file).name, err.line, err.column, err.value) == (
        "usage_wide.csv",
        4,
        "sms_count (SMS_COUNT_{m})",
        "many",
    )
    res = exc.value.result  # type: ignore[attr-defined]
    assert res.tables["usage_monthly"].read == SUBS * len(MONTHS) and res.bad_rows == 1


def write_map(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "m.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_mapping_mistakes_are_named_with_a_suggestion(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError,
        match=r"names 'subscribr_id', not a column of subscription \(did you mean 'subscriber_id'\?\)",
    ):
        load_mapping(write_map(tmp_path, '[tables.subscription.columns]\nsubscribr_id = "a"\n'))
    with pytest.raises(
        ConfigError,
        match=r"\[tables.usage_montly\] is not a canonical table \(did you mean 'usage_monthly'\?\)",
    ):
        load_mapping(write_map(tmp_path, '[tables.usage_montly.columns]\nmonth = "a"\n'))
    with pytest.raises(ConfigError, match=r"uses \{m\} or \{month\} but \[settings\] has no months"):
        load_mapping(write_map(tmp_path, '[tables.usage_monthly.columns]\nsms_count = "sms_{m}"\n'))
    with pytest.raises(ConfigError, match=r"has unknown key 'factr' \(did you mean 'factor'\?\)"):
        load_mapping(
            write_map(tmp_path, '[tables.billing_monthly.columns]\nrevenue = { column = "a", factr = 2 }\n')
        )


def test_an_export_column_the_mapping_names_but_the_file_lacks_is_refused(tmp_path: Path, data: dict) -> None:
    folder, mapping = exports(tmp_path, data)
    text = mapping.read_text(encoding="utf-8").replace('"SMS_COUNT_{m}"', '"SMS_CNT_{m}"')
    mapping.write_text(text, encoding="utf-8")
    with pytest.raises(
        ConfigError,
        match=r"maps export column 'SMS_CNT_1', which the export does not have \(did you mean 'SMS_COUNT_1'\?\)",
    ):
        ingest([folder], tmp_path / "s.duckdb", key=KEY, mapping=mapping)


def test_value_maps_units_dates_and_constant_rows(tmp_path: Path) -> None:
    """An export without dimension tables: codes mapped (others to unknown), money converted,
    dates in the operator's format, age on network in days, and constant dimension rows."""
    export = write(
        tmp_path / "prepaid.csv",
        ["msisdn", "aon", "brand_code", "plan", "last_date", "arpu_1", "arpu_2"],
        [
            ["13800138001", "400", "QQT", "P1", "15/01/2024", "10.5", "-2"],
            ["13800138002", "30", "SZX", "P1", "20/01/2024", "", "7"],
            ["13800138003", "1000", "XYZ", "P1", "01/02/2024", "3", "4"],
        ],
    )
    region = "{ grid_id = 'G0', grid_name = '未知网格', county_id = 'C0', county_name = '未知', county_name_en = 'unknown', city = '未知', area_type = 'unknown' }"
    package = "{ package_id = 'P1', package_name = '未知套餐', package_name_en = 'unknown', brand = 'unknown', payment_type = 'prepaid', monthly_fee = 0, data_gb = 0, voice_min = 0, is_5g = false, is_promotion = false }"
    channel = (
        "{ channel_id = 'CH0', channel_name = '未知', channel_name_en = 'unknown', channel_type = 'unknown' }"
    )
    mapping = write_map(
        tmp_path,
        f"""
[settings]
months = {{ "1" = "2024-01", "2" = "2024-02" }}

[tables.region]
rows = [{region}]
[tables.package]
rows = [{package}]
[tables.channel]
rows = [{channel}]

[tables.customer.columns]
customer_id = {{ column = "msisdn", pseudonymise = true }}
certificate_hash = {{ value = "{"0" * 64}" }}
customer_group = {{ value = "unknown" }}
customer_type = {{ value = "unknown" }}
is_local = {{ value = "true" }}
has_contact_info = {{ value = "true" }}

[tables.subscription.columns]
subscriber_id = {{ column = "msisdn", pseudonymise = true }}
customer_id = {{ column = "msisdn", pseudonymise = true }}
msisdn = "msisdn"
brand = {{ column = "brand_code", map = {{ "QQT" = "premium", "SZX" = "budget", "*" = "unknown" }} }}
package_id = "plan"
payment_type = {{ value = "prepaid" }}
activation_date = {{ column = "aon", days_before = "2024-02-29" }}
channel_id = {{ value = "CH0" }}
grid_id = {{ value = "G0" }}
contract_end = {{ column = "last_date", date_format = "%d/%m/%Y" }}

[tables.billing_monthly.columns]
subscriber_id = {{ column = "msisdn", pseudonymise = true }}
month = "{{month}}"
package_id = "plan"
revenue = {{ column = "arpu_{{m}}", factor = 2, empty_as_zero = true }}
arrears = {{ value = "0" }}
balance = {{ value = "0" }}
recharge_count = {{ value = "0" }}
recharge_amount = {{ value = "0" }}
overage = {{ value = "0" }}
""",
    )
    store = tmp_path / "s.duckdb"
    result = ingest([export], store, key=KEY, mapping=mapping)
    assert result.rejected == 0 and result.tables["billing_monthly"].loaded == 6
    import duckdb

    con = duckdb.connect(str(store), read_only=True)
    try:
        brands = dict(con.execute("SELECT subscriber_id, brand FROM subscription").fetchall())
        assert sorted(brands.values()) == ["budget", "premium", "unknown"]
        act = con.execute("SELECT min(activation_date), max(contract_end) FROM subscription").fetchone()
        assert str(act[0]) == "2021-06-04" and str(act[1]) == "2024-02-01"
        rev = sorted(r[0] for r in con.execute("SELECT revenue FROM billing_monthly").fetchall())
        assert rev == [-4.0, 0.0, 6.0, 8.0, 14.0, 21.0]
        assert con.execute("SELECT count(*) FROM region").fetchone()[0] == 1
        # the raw phone number was hashed, never stored
        assert (
            con.execute("SELECT count(*) FROM subscription WHERE msisdn_hash LIKE '138%'").fetchone()[0] == 0
        )
    finally:
        con.close()


def test_the_cli_ingests_with_a_mapping(tmp_path: Path, data: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    folder, mapping = exports(tmp_path, data)
    monkeypatch.setenv("CHURNRADAR_HMAC_KEY", KEY.decode())
    code = main(
        ["ingest", str(folder), "--mapping", str(mapping), "--store", str(tmp_path / "s.duckdb"), "--json"]
    )
    assert code == 0


def test_every_export_file_needs_a_section(tmp_path: Path, data: dict) -> None:
    folder, mapping = exports(tmp_path, data)
    (folder / "extra.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ConfigError, match=r"extra.csv: no \[tables.\*\] section of .* maps this file"):
        ingest([folder], tmp_path / "s.duckdb", key=KEY, mapping=mapping)


def test_parents_load_with_canonical_files_beside_a_mapping_free_batch(tmp_path: Path) -> None:
    """Without --mapping nothing changes: file names still choose the tables."""
    folder = tmp_path / "in"
    write_csv_dataset(folder, parent_sizes(3))
    assert ingest([folder], tmp_path / "s.duckdb", key=KEY).rejected == 0


def test_map_init_places_the_columns_of_a_bss_and_a_wide_export(tmp_path: Path, data: dict) -> None:
    """The draft places every column the shipped mapping maps (Chinese names, month suffixes)."""
    from churnradar.ingest.draft import draft, render
    from churnradar.ingest.mapping import parse_mapping

    folder, mapping = exports(tmp_path, data)
    shipped = load_mapping(mapping)
    files = [folder / "用户资料.csv", folder / "usage_wide.csv"]
    d = draft(files)
    got = parse_mapping(__import__("tomllib").loads(render(d)))
    want = {
        (tm.table.name, c.target): c.source
        for tm in shipped.tables
        if tm.table.name in ("subscription", "usage_monthly")
        for c in tm.columns
    }
    have = {(tm.table.name, c.target): c.source for tm in got.tables for c in tm.columns}
    right = sum(have.get(k) == v for k, v in want.items())
    assert right / len(want) >= 0.9, sorted(set(want.items()) - set(have.items()))
    assert d.months == list(MONTHS)


def test_map_init_writes_a_draft_that_ingest_accepts_after_the_months_are_set(
    tmp_path: Path, data: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, _ = exports(tmp_path, data)
    out = tmp_path / "draft.toml"
    assert (
        main(["map", "init", str(folder / "用户资料.csv"), str(folder / "usage_wide.csv"), "--out", str(out)])
        == 0
    )
    text = out.read_text(encoding="utf-8")
    assert "# TODO: the month each suffix stands for" in text
    text = text.replace('"1" = "2024-01"', '"1" = "2024-01"')  # the guess is right here
    out.write_text(text, encoding="utf-8")
    parents = tmp_path / "parents"
    parents.mkdir()
    for name in ("region", "package", "channel", "customer"):
        h, b = data[name]
        write(parents / f"{name}.csv", h, b)
    store = tmp_path / "s.duckdb"
    ingest([parents], store, key=KEY)
    result = ingest([folder / "用户资料.csv", folder / "usage_wide.csv"], store, key=KEY, mapping=out)
    assert result.rejected == 0 and result.tables["usage_monthly"].loaded == SUBS * len(MONTHS)


def test_an_id_made_of_a_phone_number_is_stored_as_its_digest_or_refused(tmp_path: Path) -> None:
    text = (
        "[tables.usage_monthly.columns]\n"
        'msisdn = "phone"\n'
        "[tables.subscription.columns]\n"
        'subscriber_id = "phone"\n'
        'msisdn = "phone"\n'
    )
    with pytest.raises(
        ConfigError,
        match=r"subscription.subscriber_id maps export column 'phone', which holds raw identifiers \(msisdn\)",
    ):
        load_mapping(
            write_map(tmp_path, text.replace('[tables.usage_monthly.columns]\nmsisdn = "phone"\n', ""))
        )
    ok = load_mapping(
        write_map(
            tmp_path,
            '[tables.subscription.columns]\nsubscriber_id = { column = "phone", pseudonymise = true }\nmsisdn = "phone"\n',
        )
    )
    assert ok.tables[0].columns[0].pseudonymise


def test_pseudonymised_ids_are_digests_and_join_their_children(canonical_free_tmp: Path) -> None:
    """The wide prepaid export identifies lines by phone number: the store holds only digests."""
    from churnradar.ingest import hmac_hex
    from churnradar.simulate import simulate
    from churnradar.simulate.dialects import write_dialect

    root = canonical_free_tmp
    simulate(subscribers=150, months=3, seed=9, out=root / "_canonical", fmt="parquet")
    res = write_dialect(root / "_canonical", root / "wide", "wide-prepaid")
    store = root / "w.duckdb"
    ingest(res.files, store, key=KEY, mapping=res.mapping)
    import duckdb

    con = duckdb.connect(str(store), read_only=True)
    try:
        ids = [r[0] for r in con.execute("SELECT subscriber_id FROM subscription").fetchall()]
        pairs = con.execute("SELECT subscriber_id, msisdn_hash FROM subscription LIMIT 5").fetchall()
        orphans = con.execute(
            "SELECT count(*) FROM usage_monthly u ANTI JOIN subscription s USING (subscriber_id)"
        ).fetchone()[0]
    finally:
        con.close()
    assert all(len(i) == 64 and i == i.lower() for i in ids)
    assert all(a == b for a, b in pairs) and orphans == 0
    first = res.files[0].read_text().splitlines()[1].split(",")[0]
    assert hmac_hex(KEY, first) in ids


@pytest.fixture
def canonical_free_tmp(tmp_path: Path) -> Path:
    return tmp_path
