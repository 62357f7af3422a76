"""`churnradar serve`: the REST API and dashboard (uvicorn)."""

from __future__ import annotations

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


def run_server(store, database_url: str | None, host: str, port: int, workers: int = 1) -> None:
    """Serve ``create_app(store, database_url)`` with uvicorn (blocking)."""
    import uvicorn

    from churnradar.api import create_app

    web = create_app(store, database_url)
    warm_scorer(web)
    uvicorn.run(
        web,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        proxy_headers=True,  # X-Forwarded-Proto from a local TLS proxy → Secure cookies
        forwarded_allow_ips="127.0.0.1",
    )


def warm_scorer(web) -> None:
    """Load the model and encode the stored features in a background thread (first scores are fast)."""
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
) -> None:
    """Serve the REST API (/api/, OpenAPI at /openapi.json) and the dashboard.

    Example: `churnradar serve --store operator.duckdb --port 8000`
    """
    console.print(f"serving {store} on http://{host}:{port}/ (API docs at /api/docs); Ctrl-C stops")
    run_server(store, database_url, host, port)
