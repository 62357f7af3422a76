"""Campaign creation, idempotent recording, consent and contact rules on the operational store."""

from __future__ import annotations

import multiprocessing as mp
import threading

import duckdb
import pandas as pd
import pytest
import sqlalchemy as sa

from churnradar import opstore as opst
from churnradar.retention.campaigns import OfferSpec, create_campaign, stratified_arms
from churnradar.retention.contacts import ContactRules, export_lists
from churnradar.retention.errors import CampaignError, ControlGroupError, IdempotencyConflictError
from churnradar.retention.outcomes import record_outcome, set_do_not_contact

OFFERS = [OfferSpec("tariff_discount", "outbound_call", 60.0), OfferSpec("data_bonus", "sms", 15.0)]


def consent_store(path, ids, channels=("sms", "outbound_call"), allowed=True):
    """A minimal analytical store with only a consent table (and an empty interaction table)."""
    con = duckdb.connect(str(path))
    rows = pd.DataFrame(
        [(s, c, allowed, pd.Timestamp("2024-01-01")) for s in ids for c in channels],
        columns=["subscriber_id", "channel", "allowed", "updated_at"],
    )
    con.register("rows", rows)
    con.execute("CREATE TABLE consent AS SELECT * FROM rows")
    con.execute(
        "CREATE TABLE interaction (subscriber_id VARCHAR, interaction_time TIMESTAMP, kind VARCHAR, "
        "channel VARCHAR, topic VARCHAR, resolved BOOLEAN)"
    )
    con.close()
    return path


def treated(engine, campaign_id, n=None) -> list[str]:
    """Contact ids of the campaign's treated members (control members have no outcomes)."""
    a = opst.contact_assignment
    with engine.connect() as conn:
        ids = (
            conn.execute(
                sa.select(a.c.contact_id)
                .where(a.c.campaign_id == campaign_id, ~a.c.is_control)
                .order_by(a.c.contact_id)
            )
            .scalars()
            .all()
        )
    return ids[:n]


def control(engine, campaign_id) -> list[str]:
    a = opst.contact_assignment
    with engine.connect() as conn:
        q = sa.select(a.c.contact_id).where(a.c.campaign_id == campaign_id, a.c.is_control)
        return conn.execute(q.order_by(a.c.contact_id)).scalars().all()


def count(engine, table):
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()


def test_arms_are_balanced_within_every_stratum(ops, members, tmp_path):
    store = consent_store(tmp_path / "a.duckdb", members["subscriber_id"])
    res = create_campaign(ops, members, OFFERS, name="t", as_of="2024-06", store_path=store, seed=3)
    with ops.connect() as conn:
        df = pd.DataFrame(conn.execute(sa.select(ops_table())).mappings().all())
    assert res.members == 200 and res.arms["control"] == len(df[df.is_control])
    for _, g in df.groupby(["segment", "region"]):
        assert 8 <= g.is_control.sum() <= 12  # 20% of 50, randomly rounded
        arms = g[~g.is_control].offer_id.value_counts()
        assert arms.max() - arms.min() <= 1


def ops_table():
    return opst.contact_assignment


def test_stratified_randomisation_depends_only_on_the_seed():
    import numpy as np

    s = pd.Series(["a"] * 50 + ["b"] * 50)
    a = stratified_arms(s, 3, 0.2, np.random.default_rng(5))
    b = stratified_arms(s, 3, 0.2, np.random.default_rng(5))
    assert (a == b).all() and set(a) == {-1, 0, 1, 2}


def test_same_idempotency_key_records_once(ops, members, tmp_path):
    store = consent_store(tmp_path / "a.duckdb", members["subscriber_id"])
    res = create_campaign(ops, members, OFFERS, name="t", as_of="2024-06", store_path=store, seed=1)
    cid = treated(ops, res.campaign_id)[3]
    first = record_outcome(ops, cid, key="agent7-1", accepted=True, retained=True, verified=True)
    again = record_outcome(ops, cid, key="agent7-1", accepted=True, retained=True, verified=True)
    assert first.created and not again.created
    assert count(ops, opst.outcome_record) == 1
    with ops.connect() as conn:
        audits = conn.execute(
            sa.select(sa.func.count()).where(opst.audit_log.c.action == "outcome.record")
        ).scalar()
    assert audits == 1


def test_reused_key_with_different_content_is_refused(ops, members, tmp_path):
    store = consent_store(tmp_path / "a.duckdb", members["subscriber_id"])
    res = create_campaign(ops, members, OFFERS, name="t", as_of="2024-06", store_path=store, seed=1)
    cid, other = treated(ops, res.campaign_id, 2)
    record_outcome(ops, cid, key="k", accepted=True, note="first call")
    with pytest.raises(
        IdempotencyConflictError, match=r"'k' was already used.*accepted=True.*accepted=False"
    ):
        record_outcome(ops, cid, key="k", accepted=False, note="first call")
    with pytest.raises(IdempotencyConflictError, match=r"note='first call'.*note='second call'"):
        record_outcome(ops, cid, key="k", accepted=True, note="second call")
    # the same key for another contact names neither that contact nor what was recorded
    with pytest.raises(IdempotencyConflictError, match="already used for another contact") as err:
        record_outcome(ops, other, key="k", accepted=True, note="first call")
    assert cid not in str(err.value) and "first call" not in str(err.value)


def test_outcome_of_a_control_member_is_refused(ops, members, tmp_path):
    store = consent_store(tmp_path / "a.duckdb", members["subscriber_id"])
    res = create_campaign(ops, members, OFFERS, name="t", as_of="2024-06", store_path=store, seed=1)
    ctrl = control(ops, res.campaign_id)
    assert ctrl
    with pytest.raises(ControlGroupError, match="control group"):
        record_outcome(ops, ctrl[0], key="c1", accepted=True)
    assert count(ops, opst.outcome_record) == 0


def test_outcome_for_unknown_contact_names_it(ops):
    with pytest.raises(CampaignError, match="contact 'nope' does not exist"):
        record_outcome(ops, "nope", key="k", accepted=True)


def test_do_not_contact_never_on_a_list(ops, members, tmp_path):
    store = consent_store(tmp_path / "a.duckdb", members["subscriber_id"])
    set_do_not_contact(ops, "U00000", reason="asked")
    res = create_campaign(ops, members, OFFERS, name="t", as_of="2024-06", store_path=store, seed=2)
    assert res.excluded["do_not_contact"] == 1 and res.members == 199
    # flagged after creation: dropped at export
    with ops.connect() as conn:
        treated = (
            conn.execute(
                sa.select(opst.contact_assignment.c.subscriber_id).where(
                    ~opst.contact_assignment.c.is_control
                )
            )
            .scalars()
            .all()
        )
    set_do_not_contact(ops, treated[0], reason="complaint")
    out = export_lists(ops, store, res.campaign_id, tmp_path / "lists")
    listed = pd.concat([pd.read_csv(f) for f in out["files"] if f.endswith(".csv")])
    assert "U00000" not in set(listed.subscriber_id) and treated[0] not in set(listed.subscriber_id)
    assert out["excluded"] == 1 and len(listed) == out["listed"] == len(treated) - 1
    xlsx = pd.concat([pd.read_excel(f) for f in out["files"] if f.endswith(".xlsx")])
    assert len(xlsx) == len(listed)
    assert {f.rsplit("/", 1)[-1] for f in out["files"]} >= {
        f"{res.campaign_id}_YC01_sms.csv",
        f"{res.campaign_id}_YC02_outbound_call.xlsx",
    }


def test_no_consent_on_the_offer_channel_keeps_the_arm_but_not_the_list(ops, members, tmp_path):
    store = consent_store(tmp_path / "a.duckdb", members["subscriber_id"], channels=("sms",))
    res = create_campaign(ops, members, OFFERS, name="t", as_of="2024-06", store_path=store, seed=4)
    out = export_lists(ops, store, res.campaign_id, tmp_path / "lists", formats=("csv",))
    listed = pd.concat([pd.read_csv(f) for f in out["files"]])
    assert set(listed.channel) == {"sms"}
    assert res.excluded["no_consent"] == res.arms[f"{res.campaign_id}-O1"]


def test_contact_frequency_rule_drops_recently_contacted(ops, members, tmp_path):
    store = consent_store(tmp_path / "a.duckdb", members["subscriber_id"])
    first = create_campaign(ops, members, OFFERS, name="a", as_of="2024-06", store_path=store, seed=5)
    out = export_lists(ops, store, first.campaign_id, tmp_path / "l1", formats=("csv",))
    # a second campaign for the same people the same day: at most 1 contact per 30 days
    second = create_campaign(
        ops, members, OFFERS, name="b", as_of="2024-06", store_path=store, seed=6, rules=ContactRules(1, 30)
    )
    assert second.excluded["frequency"] == out["listed"]
    assert second.members == 200 - out["listed"]


def test_bad_offer_names_the_allowed_values():
    with pytest.raises(
        CampaignError, match="offer kind 'free_phone' is unknown; expected one of tariff_discount"
    ):
        OfferSpec("free_phone", "sms", 1.0).validate()
    with pytest.raises(CampaignError, match="channel 'fax' is not a contact channel"):
        OfferSpec.parse("data_bonus:fax:1")


def _writer(url: str, contact_ids: list[str], worker: int, q) -> None:
    from churnradar.opstore import open_ops

    engine = open_ops(url=url)
    created = 0
    for i, cid in enumerate(contact_ids):
        # every key is submitted by two workers (a retried request racing the original)
        r = record_outcome(engine, cid, key=f"out-{i}", accepted=i % 2 == 0, actor=f"w{worker}")
        created += r.created
    q.put(created)


def test_concurrent_writers_lose_nothing_and_double_nothing(ops, members, tmp_path):
    store = consent_store(tmp_path / "a.duckdb", members["subscriber_id"])
    res = create_campaign(ops, members, OFFERS, name="t", as_of="2024-06", store_path=store, seed=7)
    url = str(ops.url)
    ids = treated(ops, res.campaign_id, 60)
    assert len(ids) == 60
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(url, ids, w, q)) for w in range(4)]
    for p in procs:
        p.start()
    # and two threads in this process at the same time
    tq: list[int] = []

    def thread_writer(w):
        created = 0
        for i, cid in enumerate(ids):
            created += record_outcome(ops, cid, key=f"out-{i}", accepted=i % 2 == 0, actor=f"t{w}").created
        tq.append(created)

    threads = [threading.Thread(target=thread_writer, args=(w,)) for w in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    created = sum(q.get() for _ in procs) + sum(tq)
    assert created == len(ids)
    assert count(ops, opst.outcome_record) == len(ids)
    with ops.connect() as conn:
        audits = conn.execute(
            sa.select(sa.func.count()).where(opst.audit_log.c.action == "outcome.record")
        ).scalar()
    assert audits == len(ids)
