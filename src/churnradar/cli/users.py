"""`churnradar users add|list|remove|token`: dashboard and API accounts in the operational store."""

from __future__ import annotations

import getpass
import os
from typing import Annotated

import typer
from rich.table import Table as RichTable

from churnradar.cli._app import JsonOption, StoreOption, app, console, emit_json
from churnradar.cli.serve import DatabaseOption

users_app = typer.Typer(help="Manage dashboard and API accounts (roles and regions).", no_args_is_help=True)
app.add_typer(users_app, name="users")

PASSWORD_ENV = "CHURNRADAR_PASSWORD"


def _engine(store, database_url):
    from churnradar.opstore import WEB_MIGRATIONS, default_url, migrate, open_engine

    engine = open_engine(database_url or default_url(store))
    migrate(engine, "web", WEB_MIGRATIONS)
    return engine


def _known_regions(store) -> set[str] | None:
    if store is None or not os.path.exists(store):
        return None
    from churnradar.api.data import AnalyticalData

    data = AnalyticalData(store)
    try:
        return data.known_regions()
    finally:
        data.close()


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="Login name.")],
    store: StoreOption,
    role: Annotated[
        str, typer.Option("--role", help="admin, analyst, regional_manager or agent.")
    ] = "analyst",
    region: Annotated[
        list[str] | None, typer.Option("--region", help="County or grid id (repeat; regional roles only).")
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Add an account; the password is read from CHURNRADAR_PASSWORD or asked for (never an argument).

    Example: `churnradar users add wang --store operator.duckdb --role regional_manager --region YC03`
    """
    from churnradar.api.auth import add_user

    password = os.environ.get(PASSWORD_ENV) or getpass.getpass(f"password for {username}: ")
    u = add_user(
        _engine(store, database_url),
        username,
        password,
        role,
        region or [],
        known_regions=_known_regions(store),
    )
    console.print(
        f"added {u['username']} ({u['role']}{': ' + ', '.join(u['regions']) if u['regions'] else ''})"
    )


@users_app.command("list")
def users_list(store: StoreOption, database_url: DatabaseOption = None, json_out: JsonOption = False) -> None:
    """List accounts with their role and regions."""
    from churnradar.api.auth import list_users

    rows = list_users(_engine(store, database_url))
    if json_out:
        emit_json(rows)
        return
    t = RichTable("username", "role", "regions", "created")
    for r in rows:
        t.add_row(r["username"], r["role"], ", ".join(r["regions"]) or "(all)", str(r["created_at"])[:19])
    console.print(t)


@users_app.command("remove")
def users_remove(
    username: Annotated[str, typer.Argument(help="Login name.")],
    store: StoreOption,
    database_url: DatabaseOption = None,
) -> None:
    """Remove an account with its sessions and API tokens."""
    from churnradar.api.auth import remove_user

    remove_user(_engine(store, database_url), username)
    console.print(f"removed {username}")


@users_app.command("token")
def users_token(
    username: Annotated[str, typer.Argument(help="Login name the token acts as.")],
    store: StoreOption,
    label: Annotated[str, typer.Option("--label", help="What the token is for.")] = "",
    database_url: DatabaseOption = None,
) -> None:
    """Create an API token for machines (printed once; send it as `Authorization: Bearer <token>`)."""
    from churnradar.api.auth import create_token

    print(create_token(_engine(store, database_url), username, label))
