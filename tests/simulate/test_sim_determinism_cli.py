"""Same seed → byte-identical files; the CLI writes them and rejects bad arguments in one line."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from churnradar.cli import main
from churnradar.errors import ConfigError
from churnradar.schema import TABLES, TRUTH_TABLES
from churnradar.simulate import SimConfig, simulate
from churnradar.simulate.config import parameter_table

ARGS = {"subscribers": 1_000, "months": 4, "start": "2024-12"}


def digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_same_seed_gives_byte_identical_files(tmp_path, fmt):
    a = simulate(seed=21, out=tmp_path / "a", fmt=fmt, **ARGS)
    b = simulate(seed=21, out=tmp_path / "b", fmt=fmt, **ARGS)
    c = simulate(seed=22, out=tmp_path / "c", fmt=fmt, **ARGS)
    da, db, dc = digests(tmp_path / "a"), digests(tmp_path / "b"), digests(tmp_path / "c")
    assert len(da) == len(TABLES) + len(TRUTH_TABLES)
    assert da == db
    assert a.rows == b.rows
    differing = {k for k in da if da[k] != dc[k]}
    assert {"subscription." + fmt, "usage_monthly." + fmt, "_truth/churn_truth." + fmt} <= differing
    assert c.rows != a.rows


def test_result_lists_paths_and_row_counts(tmp_path):
    r = simulate(seed=1, out=tmp_path, **ARGS)
    assert r.first_month == "2024-12" and r.last_month == "2025-03"
    assert r.paths["churn_truth"] == tmp_path / "_truth" / "churn_truth.parquet"
    assert all(p.exists() for p in r.paths.values())
    assert r.rows["subscription"] > 1_000 and r.rows["usage_monthly"] > 4 * 900


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"subscribers": 10}, "subscribers 10 is out of range"),
        ({"subscribers": 2.5}, "subscribers 2.5 is out of range"),
        ({"months": 0}, "months 0 is out of range; expected an integer from 1"),
        ({"seed": -3}, "seed -3 is not valid"),
        ({"fmt": "xlsx"}, "format 'xlsx' is not supported; expected one of parquet, csv"),
        ({"start": "2024/01"}, "start month '2024/01' is not a month; expected YYYY-MM"),
        ({"start": "1990-01"}, "start month '1990-01' is out of range"),
        ({"config": SimConfig(prepaid_share=1.5)}, "SimConfig.prepaid_share = 1.5 is not a probability"),
        ({"config": SimConfig(competitor_pushes=((9, 0, 1, 2),))}, "competitor_pushes entry"),
    ],
)
def test_bad_arguments_raise_config_error(tmp_path, kwargs, message):
    args = {"subscribers": 500, "months": 2, "seed": 1, "out": tmp_path / "x", **kwargs}
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        simulate(**args)
    assert not (tmp_path / "x").exists()


def test_every_parameter_is_documented_with_a_source():
    lines = parameter_table().splitlines()[2:]
    assert len(lines) > 60
    for line in lines:
        assert any(tag in line for tag in ("[sourced]", "[derived]", "[assumption]")), line


def test_cli_writes_the_files(tmp_path, capsys):
    out = tmp_path / "cli"
    code = main(
        [
            "simulate",
            "--subscribers",
            "400",
            "--months",
            "2",
            "--seed",
            "3",
            "--out",
            str(out),
            "--format",
            "csv",
            "--start",
            "2024-06",
        ]
    )
    assert code == 0
    assert (out / "subscription.csv").exists() and (out / "_truth" / "churn_truth.csv").exists()
    assert "subscriptions, 2024-06 … 2024-07" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--subscribers", "0"], "subscribers 0 is out of range"),
        (["--months", "0"], "months 0 is out of range"),
        (["--format", "xml"], "format 'xml' is not supported"),
        (["--start", "2024-13"], "start month '2024-13' is not a month"),
    ],
)
def test_cli_bad_argument_is_one_clear_line(tmp_path, capsys, argv, message):
    base = {"--subscribers": "400", "--months": "2", "--seed": "3", "--out": str(tmp_path / "o")}
    base.update(dict(zip(argv[::2], argv[1::2], strict=True)))
    args = ["simulate"] + [x for kv in base.items() for x in kv]
    assert main(args) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("error:") and message in err


def test_docs_describe_every_mechanism_and_current_parameters():
    from churnradar.simulate import MECHANISMS

    doc = (Path(__file__).resolve().parents[2] / "docs" / "simulator.md").read_text(encoding="utf-8")
    assert parameter_table() in doc, "docs/simulator.md is stale: paste parameter_table() at its end"
    for m in MECHANISMS:
        assert f"`{m.name}`" in doc, m.name


def test_docs_example_command_runs(tmp_path):
    doc = (Path(__file__).resolve().parents[2] / "docs" / "simulator.md").read_text(encoding="utf-8")
    line = next(x for x in doc.splitlines() if x.startswith("churnradar simulate") and "--format csv" in x)
    argv = line.split()[1:]
    argv[argv.index("--out") + 1] = str(tmp_path / "doc")
    argv[argv.index("--subscribers") + 1] = "300"  # same command, smaller
    assert main(argv) == 0
    assert (tmp_path / "doc" / "_truth" / "churn_truth.csv").exists()
