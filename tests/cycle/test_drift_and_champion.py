"""Model monitoring on a simulated operator with an injected drift, and champion/challenger.

The operator: 3,000 subscribers × 14 months (2023-09 … 2024-10, seed 11). A competitor launches in
both city districts (YC01 and YC02, 38% of lines) in 2024-10, the last month (the simulator's
``competitor_launches``). The model is trained as of 2024-03 on the months before; it scores every
month after with no retraining. The months 2024-04 … 2024-09 are quiet (the default market's
competitor push in YC01 in 2024-05 … 2024-07, a black spot repaired, 30- and 31-day months and a
90-day quarter included): monitoring must raise no alert in any of them, and raise it in 2024-10.

Champion/challenger: a second, deliberately weak model (two trees of two leaves) trained as of
2024-04 with its newest outcome month held out, so both models are judged on the outcome of
2024-04, which neither learnt.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from churnradar.cycle.champion import challenge
from churnradar.cycle.monitor import monitor
from churnradar.models.registry import champions, current_champion, load_model, set_champion
from churnradar.periods import parse_month
from churnradar.simulate import SimConfig

#: the monitoring and champion/challenger checks the monthly-cycle issue asks CI to run (a 14-month
#: operator, two trainings, a score per month): CI's ``-m ci`` stage, with the two longest of them
pytestmark = [pytest.mark.ci, pytest.mark.slow]

SIM = {"subscribers": 3_000, "months": 14, "seed": 11, "start": "2023-09"}
LAUNCH = SimConfig(competitor_launches=((0, 1, 13, 13), (1, 1, 13, 13)))
REFERENCE = "2024-03"
QUIET = ("2024-04", "2024-05", "2024-06", "2024-07", "2024-08", "2024-09")
LAUNCH_MONTH = "2024-10"
SETTLED = parse_month("2024-07")  # data to 2024-10, off-net outcomes confirmed three months later
WEAK = {"n_estimators": 2, "num_leaves": 2, "min_child_samples": 20}


def _score(store: Path, model_id: str, months: tuple[str, ...]) -> None:
    from churnradar.features import write_snapshot
    from churnradar.models.pipeline import score_store

    for m in months:
        write_snapshot(store, m, "core")
        score_store(store, m, model_id=model_id, memory=None)


@pytest.fixture(scope="module")
def operator(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """The operator with the strong model (as of 2024-03) and the weak one (as of 2024-04, one
    month held out), the reference month's and the last two months' snapshots and scores."""
    from tests.conftest import WHOLE_PACKAGE, build_operator, cached_build

    def build(folder: Path) -> None:
        from churnradar.models.pipeline import train_store

        op = build_operator(folder / "op", **SIM, config=LAUNCH)
        store = folder / "store.duckdb"
        shutil.copy(op.store, store)
        strong = train_store(store, REFERENCE, definition="offnet", memory=None).model_id
        weak = train_store(
            store, "2024-04", definition="offnet", memory=None, gap_months=1, history_months=3, params=WEAK
        ).model_id
        _score(store, strong, ("2024-09", LAUNCH_MONTH))
        monitor(store, parse_month(LAUNCH_MONTH))  # writes the reference and training snapshots
        (folder / "models.json").write_text(json.dumps({"strong": strong, "weak": weak}))

    # trains, scores and monitors: rebuilt when any part of the package changes
    key = "drift-launch-" + "-".join(str(v) for v in SIM.values())
    cached = cached_build(key, build, WHOLE_PACKAGE, also=(Path(__file__),))
    store = tmp_path_factory.mktemp("drift") / "store.duckdb"
    shutil.copy(cached / "store.duckdb", store)
    return store, json.loads((cached / "models.json").read_text())


def test_the_launch_raises_the_alert_in_its_month_and_a_quiet_month_does_not(operator) -> None:
    store, _ = operator
    quiet = monitor(store, parse_month("2024-09"))
    assert quiet.alerts == []
    assert quiet.summary()["checks_judged"] > 500  # every feature over all lines and in each county
    launch = monitor(store, parse_month(LAUNCH_MONTH))
    assert launch.alert
    drifted = launch.summary()["drifted"]
    # what moved is where the launch is: the two city districts, and nowhere else
    assert drifted and {d["county"] for d in drifted} <= {"YC01", "YC02"}
    assert any(d["feature"].startswith(("data_", "mou_", "competitor_")) for d in drifted)
    assert "beyond the model's training months" in launch.alerts[0]
    # grid features: one value per grid, so their observations are the store's 27 grids, too few
    # to judge; their PSI is large from month to month, which is why they are not judged
    grid = {k: c for k, c in quiet.checks.items() if k.startswith("grid_")}
    assert grid and all(c.unit == "grid" and c.status == "too few" for c in grid.values())
    assert max(c.psi for c in grid.values()) > 0.25
    assert all(c.unit == "line" for k, c in quiet.checks.items() if k.startswith("mou_"))


def test_no_alert_in_six_quiet_months_then_the_alert_in_the_launch_month(operator) -> None:
    store, ids = operator
    _score(store, ids["strong"], QUIET[:-1])
    for m in QUIET:
        res = monitor(store, parse_month(m))
        assert res.alerts == [], (m, res.alerts)
    assert monitor(store, parse_month(LAUNCH_MONTH)).alert


def test_a_better_challenger_becomes_the_champion_and_scores(operator, tmp_path) -> None:
    store = tmp_path / "store.duckdb"
    shutil.copy(operator[0], store)
    ids = operator[1]
    set_champion(store, ids["weak"], "named by the test")
    decided = challenge(store, ids["strong"], "offnet", SETTLED)
    assert decided.promoted and decided.winner == ids["strong"]
    assert decided.judged_month == parse_month("2024-04")
    strong, weak = decided.figures[ids["strong"]], decided.figures[ids["weak"]]
    assert strong["log_loss"] < weak["log_loss"] and strong["roc_auc"] >= weak["roc_auc"]
    assert strong["rows"] == weak["rows"] > 2_000 and strong["churners"] >= 30
    assert decided.reason.startswith(f"the new model {ids['strong']} beats champion {ids['weak']}")
    named = current_champion(store, "offnet")
    assert named is not None and named.model_id == ids["strong"]
    assert named.evidence["judged_month"] == "2024-04"
    # score's model (load_model without an id) is the champion, although the weak model is newer
    assert load_model(store, as_of=parse_month(LAUNCH_MONTH))[0].model_id == ids["strong"]


def test_a_worse_challenger_leaves_the_champion_in_place_and_says_why(operator, tmp_path) -> None:
    store = tmp_path / "store.duckdb"
    shutil.copy(operator[0], store)
    ids = operator[1]
    first = challenge(store, ids["strong"], "offnet", SETTLED)
    assert first.promoted and first.reason.startswith("no champion of churn definition offnet yet")
    decided = challenge(store, ids["weak"], "offnet", SETTLED)
    assert not decided.promoted and decided.winner == ids["strong"]
    assert decided.reason.startswith(
        f"champion {ids['strong']} stays; the new model {ids['weak']} is not better"
    )
    assert "log-loss" in decided.reason and "churn in 2024-04" in decided.reason
    assert [c.model_id for c in champions(store, "offnet")] == [ids["strong"]]
    assert load_model(store, as_of=parse_month(LAUNCH_MONTH))[0].model_id == ids["strong"]
    assert load_model(store, as_of=parse_month(LAUNCH_MONTH), champion=False)[0].model_id == ids["weak"]


def test_a_challenger_with_no_settled_month_to_judge_it_on_leaves_the_champion(operator, tmp_path) -> None:
    store = tmp_path / "store.duckdb"
    shutil.copy(operator[0], store)
    ids = operator[1]
    set_champion(store, ids["weak"], "named by the test")
    decided = challenge(store, ids["strong"], "offnet", parse_month("2024-03"))
    assert decided.winner == ids["weak"] and not decided.promoted
    assert "no settled month after it to judge it on" in decided.reason


def test_a_champion_whose_features_changed_gives_way_without_a_comparison(operator, tmp_path) -> None:
    import duckdb

    store = tmp_path / "store.duckdb"
    shutil.copy(operator[0], store)
    ids = operator[1]
    set_champion(store, ids["weak"], "named by the test")
    with duckdb.connect(str(store)) as con:  # as if trained before the feature set last changed
        con.execute(
            "UPDATE model SET feature_set_version = 'an-older-version' WHERE model_id = ?", [ids["weak"]]
        )
    decided = challenge(store, ids["strong"], "offnet", SETTLED)
    assert decided.promoted and decided.figures == {}
    assert f"replaces champion {ids['weak']}, which can no longer score" in decided.reason
    assert "an-older-version" in decided.reason
    assert current_champion(store, "offnet").model_id == ids["strong"]


def test_the_cycle_trains_a_challenger_judges_it_and_scores_with_the_winner(operator, tmp_path) -> None:
    from churnradar.cycle import run_cycle

    store = tmp_path / "store.duckdb"
    shutil.copy(operator[0], store)
    ids = operator[1]
    set_champion(store, ids["strong"], "named by the test")
    # the newest model (the weak one, as of 2024-04) is three months older than 2024-07: retrain
    first = run_cycle(store, LAUNCH_MONTH).to_dict()
    train = next(s for s in first["stages"] if s["name"] == "train")
    assert train["status"] == "ran" and train["detail"]["held_out_months"] == 1
    decided = first["champion"]
    assert (
        decided["challenger"] == train["detail"]["model_id"] and decided["champion_before"] == ids["strong"]
    )
    assert decided["judged_month"] == "2024-07"  # the training month, held out of the challenger
    assert set(decided["figures"]) == {ids["strong"], decided["challenger"]}
    score = next(s for s in first["stages"] if s["name"] == "score")
    assert score["detail"]["model_id"] == decided["champion"] == current_champion(store, "offnet").model_id
    assert first["alert"]  # the launch month, whichever model scores it
    again = run_cycle(store, LAUNCH_MONTH).to_dict()
    assert {s["status"] for s in again["stages"]} == {"skipped"} and again["champion"] is None
