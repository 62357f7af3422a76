"""`churnradar serve`: the REST API and dashboard (uvicorn)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from churnradar.cli._app import StoreOption, app, console

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="Operational store URL (default: CHURNRADAR_DATABASE_URL, else a SQLite file beside the store).",
        envvar="CHURNRADAR_DATABASE_URL",
    ),
]


TargetsOption = Annotated[
    Path | None,
    typer.Option(
        "--targets",
        help="KPI targets file (CSV: kpi,period,region,target,direction); the overview's cards and "
        "county ranking show 完成率 against it. See docs/targets.md.",
        envvar="CHURNRADAR_TARGETS",
    ),
]


def run_server(
    store, database_url: str | None, host: str, port: int, workers: int = 1, targets: Path | None = None
) -> None:
    """Serve ``create_app(store, database_url)`` with uvicorn (blocking); ``targets`` is a KPI
    targets file, read and checked against the store's counties before the server starts."""
    import uvicorn

    from churnradar.api import create_app
    from churnradar.metrics.targets import read_targets

    web = create_app(store, database_url)
    if targets is not None:
        web.state.targets = read_targets(targets, counties={c for _, c in web.state.data.region_rows()})
    warm_scorer(web)
    uvicorn.run(
        web,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        # the app reads X-Forwarded-For/-Proto itself, from CHURNRADAR_TRUSTED_PROXIES only
        # (none by default); uvicorn's own handling would trust any client on 127.0.0.1
        proxy_headers=False,
    )


def warm_scorer(web) -> None:
    """Load the model that wrote the stored scores in a background thread (first what-if scores are fast)."""
    import threading

    from churnradar.api.scoring import Scorer

    web.state.scorer = Scorer(web.state.data)
    threading.Thread(target=web.state.scorer.warm, name="churnradar-warm", daemon=True).start()


@app.command()
def serve(
    store: StoreOption,
    database_url: DatabaseOption = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8000,
    targets: TargetsOption = None,
) -> None:
    """Serve the REST API (/api/, OpenAPI at /openapi.json) and the dashboard.

    Behind a reverse proxy (TLS), set CHURNRADAR_TRUSTED_PROXIES to its address (e.g. 127.0.0.1)
    so the client address and https scheme it forwards are used; without it they are ignored.

    With `--targets FILE` the overview's KPI cards and county ranking compare each figure with the
    operator's targets (完成率); the file is checked against the store's counties first.

    Example: `churnradar serve --store operator.duckdb --port 8000 --targets targets.csv`
    """
    console.print(f"serving {store} on http://{host}:{port}/ (OpenAPI at /openapi.json); Ctrl-C stops")
    run_server(store, database_url, host, port, targets=targets)


DEMO_PORT = 8000


def _port_free(host: str, port: int) -> bool:
    import socket

    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def demo_accounts(store, database_url: str | None = None) -> list[tuple[str, str, str]]:
    """(Re)create the demo's accounts with fresh random passwords: an analyst and a regional manager."""
    import contextlib
    import secrets

    from churnradar.api.auth import UserError, add_user, remove_user
    from churnradar.api.data import AnalyticalData
    from churnradar.opstore import WEB_MIGRATIONS, default_url, migrate, open_engine

    engine = open_engine(database_url or default_url(store))
    migrate(engine, "web", WEB_MIGRATIONS)
    data = AnalyticalData(store)
    try:
        county = sorted({c for _, c in data.region_rows()})[0]
    finally:
        data.close()
    accounts = []
    for name, role, regions in (("demo", "analyst", []), ("demo_manager", "regional_manager", [county])):
        password = secrets.token_urlsafe(9)
        with contextlib.suppress(UserError):
            remove_user(engine, name, actor="demo")
        add_user(engine, name, password, role, regions, actor="demo")
        accounts.append((name, password, role + (f" ({county})" if regions else "")))
    engine.dispose()
    return accounts


def _demo_segments(store) -> None:
    """Value, segment and recommended action for the scored month, when the demo did not write them
    (the risk list shows them beside the scores)."""
    from churnradar.errors import ChurnRadarError
    from churnradar.views import ReadStore
    from churnradar.views.scores import score_info

    rs = ReadStore.open(store)
    try:
        as_of, segmented = score_info(rs)["as_of"], rs.has("value_segment")
    finally:
        rs.close()
    if as_of is None or segmented:
        return
    try:
        from churnradar.retention.segments import write_segments

        write_segments(store, as_of)
    except (ChurnRadarError, ImportError) as exc:
        console.print(f"[yellow]value and segments not written:[/] {exc}", highlight=False)


def serve_demo(store, host: str = "127.0.0.1", port: int = DEMO_PORT) -> None:
    """The demo's last stage: demo logins, then the dashboard on 127.0.0.1 until Ctrl-C."""
    if not _port_free(host, port):
        import socket

        with socket.socket() as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
    _demo_segments(store)
    accounts = demo_accounts(store)
    console.print(
        f"\n[bold]Dashboard[/]: http://{host}:{port}/  (OpenAPI: http://{host}:{port}/openapi.json)"
    )
    for name, password, role in accounts:
        console.print(f"  login [bold]{name}[/] / password [bold]{password}[/]  — {role}", highlight=False)
    console.print("Ctrl-C stops the server.")
    run_server(store, None, host, port)
