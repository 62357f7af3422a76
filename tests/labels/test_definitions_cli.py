"""Churn definitions on the command line: silent:DAYS, zero_usage, and the usage-based default
when a store has no lifecycle events to date off-net churn."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from churnradar.cli import main
from churnradar.errors import ConfigError
from churnradar.labels.definitions import get_definition


def test_silent_days_and_zero_usage_are_definitions() -> None:
    d = get_definition("silent:45")
    assert (d.name, d.target, d.silent_days, d.silent_months) == ("silent:45", "silent", 45, 2)
    assert get_definition("zero_usage").silent_days == 30
    assert get_definition("silent:45").version != get_definition("silent").version
    with pytest.raises(ConfigError, match=r"'x' is not a number of days; e.g. silent:30"):
        get_definition("silent:x")
    with pytest.raises(ConfigError, match=r"silent_days 10 is out of range; expected 30 to 366"):
        get_definition("silent:10")
    with pytest.raises(ConfigError, match=r"expected one of offnet, .*zero_usage, silent:DAYS"):
        get_definition("offnett")


def test_dating_has_one_vocabulary_and_the_earlier_names_still_work() -> None:
    """``left`` / ``recorded`` are the metrics layer's and the reports' words; ``last_activity`` /
    ``event`` mean the same, and the versions stored with labels written before do not change."""
    offnet, recorded = get_definition("offnet"), get_definition("offnet_recorded")
    assert (offnet.dating, recorded.dating) == ("left", "recorded")
    assert offnet.with_params(dating="event") == offnet.with_params(dating="recorded")
    assert offnet.with_params(dating="last_activity") == offnet
    assert (offnet.lag_months, recorded.lag_months) == (3, 0)
    # the versions of labels written under the earlier names
    assert (offnet.version, recorded.version) == ("1.659706e0", "1.f4eacd07")
    with pytest.raises(ConfigError, match=r"dating 'moved' is not known; expected one of left, recorded"):
        offnet.with_params(dating="moved")


def test_label_uses_offnet_when_the_store_has_events(small_operator, tmp_path: Path, capsys) -> None:
    import shutil

    store = tmp_path / "s.duckdb"
    shutil.copy(small_operator.store, store)
    assert main(["label", "--store", str(store), "--as-of", "2024-06", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["definition"] == "offnet" and out["note"] is None
    assert (
        main(["label", "--store", str(store), "--as-of", "2024-06", "--definition", "silent:60", "--json"])
        == 0
    )
    assert json.loads(capsys.readouterr().out)["definition"] == "silent:60"


def test_label_says_which_usage_based_definition_it_uses_without_events(tmp_path: Path, capsys) -> None:
    from churnradar.ingest import ingest
    from churnradar.simulate import simulate
    from churnradar.simulate.dialects import write_dialect

    simulate(subscribers=200, months=4, seed=3, out=tmp_path / "_canonical", fmt="parquet")
    res = write_dialect(tmp_path / "_canonical", tmp_path / "wide", "wide-prepaid")
    store = tmp_path / "wide.duckdb"
    ingest(res.files, store, key="label-test-key-0123456789", mapping=res.mapping)
    assert main(["label", "--store", str(store), "--as-of", "2024-02", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["definition"] == "silent:30"
    assert out["note"].startswith("the store has no deregistration or port-out events")
