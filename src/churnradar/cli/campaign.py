"""`churnradar campaign`: segments, create, list, export, record, dnc and evaluate retention campaigns."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table as RichTable

from churnradar.cli._app import AsOfOption, JsonOption, StoreOption, app, console, emit_json

campaign_app = typer.Typer(
    help="Retention campaigns: value × risk segments, randomised arms, contact lists, outcomes, evaluation.",
    no_args_is_help=True,
)
app.add_typer(campaign_app, name="campaign")

DbOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="Operational store URL (default: CHURNRADAR_DATABASE_URL, else <store>.ops.sqlite).",
        envvar="CHURNRADAR_DATABASE_URL",
    ),
]
ActorOption = Annotated[str, typer.Option("--actor", help="Who is recording (written to the audit log).")]


def _engine(store: Path, url: str | None):
    from churnradar.opstore import open_ops

    return open_ops(store, url)


@campaign_app.command("segments")
def segments(
    store: StoreOption,
    as_of: AsOfOption,
    value_config: Annotated[Path | None, typer.Option("--value-config", help="CVF/CLV/tier TOML.")] = None,
    policy: Annotated[Path | None, typer.Option("--policy", help="Policy table TOML.")] = None,
    json_out: JsonOption = False,
) -> None:
    """Value (CLV, CVF, 80/20 tier, switching cost), value × risk segment and recommended action for
    every open subscriber; writes `value_segment` for the month. Risk is the churn model's score of
    the month (`churnradar score --as-of` first).

    Example: `churnradar campaign segments --store operator.duckdb --as-of 2024-12`
    """
    from churnradar.retention.segments import write_segments

    res = write_segments(store, as_of, value_config=value_config, policy_path=policy)
    if json_out:
        emit_json(res)
        return
    console.print(
        f"[bold]value_segment[/] {res['as_of']}: {res['rows']:,} subscribers (risk: {res['risk_source']})"
    )
    t = RichTable(title="segments / 客户分群", title_justify="left")
    for c in ("segment", "段", "n", "action"):
        t.add_column(c)
    for r in res["segments"]:
        t.add_row(r["segment"], r["segment_zh"], f"{r['n']:,}", r["action"])
    console.print(t)


@campaign_app.command("create")
def create(
    store: StoreOption,
    as_of: AsOfOption,
    name: Annotated[str, typer.Option("--name", help="Campaign name.")],
    offer: Annotated[
        list[str],
        typer.Option("--offer", help="An offer as kind:channel:cost, e.g. data_bonus:sms:15 (repeat)."),
    ],
    segment: Annotated[
        list[str] | None,
        typer.Option("--segment", help="Only members of these segments, e.g. high×high (repeat)."),
    ] = None,
    action: Annotated[
        list[str] | None,
        typer.Option("--action", help="Only members whose recommended action is this (repeat)."),
    ] = None,
    from_target_list: Annotated[
        bool, typer.Option("--from-target-list", help="Members are the latest target_list for the month.")
    ] = False,
    limit: Annotated[
        int | None, typer.Option("--limit", help="At most this many members (highest risk first).")
    ] = None,
    control_share: Annotated[float, typer.Option("--control-share", help="Randomised control share.")] = 0.2,
    followup: Annotated[int, typer.Option("--followup", help="Follow-up window (months).")] = 3,
    max_contacts: Annotated[int, typer.Option("--max-contacts", help="At most k contacts ...")] = 2,
    per_days: Annotated[int, typer.Option("--per-days", help="... per m days.")] = 30,
    seed: Annotated[int | None, typer.Option("--seed", help="Randomisation seed.")] = None,
    database_url: DbOption = None,
    actor: ActorOption = "cli",
    json_out: JsonOption = False,
) -> None:
    """Create a campaign: members from `value_segment` (or `target_list`), offers, a control group
    randomised within segment × region; consent, do-not-contact and contact frequency are enforced.

    Example: `churnradar campaign create --store operator.duckdb --as-of 2024-12 --name "Dec trial"
    --offer tariff_discount:outbound_call:60 --offer data_bonus:sms:15 --segment mid×high`
    """
    from churnradar.retention.campaigns import OfferSpec, create_campaign
    from churnradar.retention.contacts import ContactRules
    from churnradar.retention.segments import campaign_candidates

    members = campaign_candidates(
        store, as_of, segments=segment, actions=action, from_target_list=from_target_list, limit=limit
    )
    res = create_campaign(
        _engine(store, database_url),
        members,
        [OfferSpec.parse(o) for o in offer],
        name=name,
        as_of=as_of,
        store_path=store,
        control_share=control_share,
        followup_months=followup,
        rules=ContactRules(max_contacts, per_days),
        seed=seed,
        actor=actor,
    )
    s = res.summary()
    if json_out:
        emit_json(s)
        return
    console.print(
        f"[bold]{s['campaign_id']}[/]: {s['members']:,} members, arms "
        + ", ".join(f"{k} {v:,}" for k, v in s["arms"].items())
        + f"; listable {s['listable']:,}; excluded "
        + ", ".join(f"{k} {v:,}" for k, v in s["excluded"].items())
    )


@campaign_app.command("list")
def list_(store: StoreOption, database_url: DbOption = None, json_out: JsonOption = False) -> None:
    """List the campaigns of the operational store with member, listed and outcome counts.

    Example: `churnradar campaign list --store operator.duckdb`
    """
    from churnradar.retention.campaigns import list_campaigns

    rows = list_campaigns(_engine(store, database_url))
    if json_out:
        emit_json(rows)
        return
    t = RichTable(title="campaigns / 维系活动", title_justify="left")
    for c in ("campaign_id", "name", "as_of", "status", "members", "control", "listed", "outcomes"):
        t.add_column(c)
    for r in rows:
        t.add_row(
            *(
                str(r[c])
                for c in (
                    "campaign_id",
                    "name",
                    "as_of",
                    "status",
                    "members",
                    "control",
                    "listed",
                    "outcomes",
                )
            )
        )
    console.print(t)


@campaign_app.command("export")
def export(
    store: StoreOption,
    campaign_id: Annotated[str, typer.Argument(help="Campaign id.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the lists.")] = Path("contact-lists"),
    fmt: Annotated[list[str] | None, typer.Option("--format", help="csv and/or xlsx (default both).")] = None,
    database_url: DbOption = None,
    actor: ActorOption = "cli",
    json_out: JsonOption = False,
) -> None:
    """Export contact lists per region and channel (CSV and XLSX), re-checking consent and
    do-not-contact flags.

    Example: `churnradar campaign export --store operator.duckdb CR202501-1A2B3C --out lists`
    """
    from churnradar.retention.contacts import export_lists

    res = export_lists(
        _engine(store, database_url), store, campaign_id, out, tuple(fmt or ("csv", "xlsx")), actor
    )
    if json_out:
        emit_json(res)
        return
    console.print(
        f"{res['listed']:,} listed, {res['excluded']:,} excluded at export; {len(res['files'])} files in {out}"
    )


@campaign_app.command("record")
def record(
    store: StoreOption,
    contact_id: Annotated[str, typer.Argument(help="Contact id (from the list).")],
    key: Annotated[str, typer.Option("--key", help="Idempotency key: the same key twice records once.")],
    contacted: Annotated[bool, typer.Option("--contacted/--not-reached", help="Contact made or not.")] = True,
    accepted: Annotated[
        bool | None, typer.Option("--accepted/--declined", help="Offer accepted (records an outcome).")
    ] = None,
    retained: Annotated[
        bool | None, typer.Option("--retained/--churned", help="Still with us / churned.")
    ] = None,
    verified: Annotated[bool, typer.Option("--verified", help="Verified by call-back.")] = False,
    note: Annotated[str, typer.Option("--note", help="Free note.")] = "",
    database_url: DbOption = None,
    actor: ActorOption = "cli",
    json_out: JsonOption = False,
) -> None:
    """Record a contact attempt, or with --accepted/--declined an outcome, exactly once per key.

    Example: `churnradar campaign record --store operator.duckdb CR202501-1A2B3C-0000007 --key agent7-0415-1 --accepted --verified`
    """
    from churnradar.retention.outcomes import record_contact, record_outcome

    engine = _engine(store, database_url)
    if accepted is None:
        r = record_contact(engine, contact_id, key=key, contacted=contacted, actor=actor)
    else:
        r = record_outcome(
            engine,
            contact_id,
            key=key,
            accepted=accepted,
            retained=retained,
            churned=None if retained is None else not retained,
            verified=verified,
            note=note,
            actor=actor,
        )
    if json_out:
        emit_json({"key": r.key, "created": r.created, "record": r.record})
        return
    console.print(
        ("recorded" if r.created else "already recorded (same key); nothing changed") + f": {r.key}"
    )


@campaign_app.command("dnc")
def dnc(
    store: StoreOption,
    subscriber_id: Annotated[str, typer.Argument(help="Subscriber id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why.")] = "",
    clear: Annotated[bool, typer.Option("--clear", help="Remove the flag instead.")] = False,
    database_url: DbOption = None,
    actor: ActorOption = "cli",
) -> None:
    """Set (or --clear) a do-not-contact flag; flagged subscribers are never put on a list.

    Example: `churnradar campaign dnc --store operator.duckdb U000001234 --reason "complained about calls"`
    """
    from churnradar.retention.outcomes import set_do_not_contact

    changed = set_do_not_contact(
        _engine(store, database_url), subscriber_id, reason=reason, flag=not clear, actor=actor
    )
    console.print(("cleared" if clear else "set") + (" " if changed else " (unchanged) ") + subscriber_id)


@campaign_app.command("evaluate")
def evaluate(
    store: StoreOption,
    campaign_id: Annotated[str, typer.Argument(help="Campaign id (operational or analytical store).")],
    database_url: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Retention per arm vs control with 95% intervals, uplift, incremental retained and revenue,
    cost, ROI and cost per retained, by offer, channel, segment and region.

    Example: `churnradar campaign evaluate --store operator.duckdb RC01 --json`
    """
    import warnings

    from churnradar.retention.evaluate import evaluate_campaign

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ev = evaluate_campaign(store, campaign_id, engine=_engine(store, database_url))
    s = ev.summary()
    if json_out:
        emit_json(s)
        return
    o = s["overall"]
    console.print(
        f"[bold]{campaign_id}[/] ({s['source']} store) {s['start']} … {s['window_end']}"
        + ("" if s["observed"] else " [yellow](provisional: window not fully observed)[/]")
        + f"\ntreated {o['n']:,} vs control {o['n_control']:,}: retention {o['retention']:.1%} vs "
        f"{o['control_retention']:.1%}, uplift {o['uplift']:+.2%} "
        f"[{o['uplift_ci'][0]:+.2%}, {o['uplift_ci'][1]:+.2%}]"
    )

    def show(title: str, rows: list[dict], key: str) -> None:
        t = RichTable(title=title, title_justify="left")
        for c in (
            key,
            "n",
            "retention",
            "uplift (95% CI)",
            "incr. retained",
            "incr. revenue",
            "cost",
            "ROI",
            "cost/retained",
            "reach",
            "accept",
        ):
            t.add_column(c, justify="right" if c != key else "left")

        def f(v, fmt):
            return "–" if v is None else format(v, fmt)

        for r in rows:
            t.add_row(
                str(r[key]),
                f"{r['n']:,}",
                f(r["retention"], ".1%"),
                f"{f(r['uplift'], '+.2%')} [{f(r['uplift_ci'][0], '+.1%')}, {f(r['uplift_ci'][1], '+.1%')}]",
                f(r["incremental_retained"], ".1f"),
                f(r["incremental_revenue"], ",.0f"),
                f(r["cost"], ",.0f"),
                f(r["roi"], ".2f"),
                f(r["cost_per_retained"], ",.0f"),
                f(r["reach"], ".0%"),
                f(r["acceptance"], ".0%"),
            )
        console.print(t)

    show("offer quality and contribution / 方案质量与贡献", s["offer_quality"], "arm")
    show("channel efficiency / 渠道执行效率", s["channel_efficiency"], "channel")
    show("by segment / 分群", s["by_segment"], "segment")
    show("by region / 区县", s["by_region"], "region")
    for note in s["warnings"]:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
