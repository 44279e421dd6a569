"""`faceapi`: serve the API, manage keys and accounts, analyse images, show settings and models."""

from __future__ import annotations

import getpass
import importlib
import json
import logging
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import click

from faceapi.errors import FaceApiError
from faceapi.logs import configure_logging
from faceapi.services.accounts import AccountError, AccountService
from faceapi.services.keys import KeyService, parse_limits
from faceapi.services.usage import Limits, UsageService
from faceapi.settings import Settings
from faceapi.storage import (
    Access,
    AccountRecord,
    KeyLimits,
    Store,
    StoreUnavailableError,
    open_store,
    without_password,
)
from faceapi.text import moment, plain_number, visible

log = logging.getLogger("faceapi.cli")


class _LazyGroup(click.Group):
    """Imports the commands that need the web or evaluation stack only when they run.

    Loading FastAPI, the console and matplotlib took two seconds, paid by every command; key
    and account management need none of them. The engine, too, is imported only by the
    commands that run it: importing onnxruntime crashes when the arguments are long.
    """

    LAZY: ClassVar[dict[str, str]] = {
        "eval": "faceapi.cli.evaluate:evaluate",
        "bench": "faceapi.cli.evaluate:bench",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.LAZY])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.LAZY:
            module, name = self.LAZY[cmd_name].split(":")
            command: click.Command = getattr(importlib.import_module(module), name)
            return command
        return super().get_command(ctx, cmd_name)


class _Text(click.ParamType):
    """Text that can be stored: argv bytes that are not UTF-8 reach Python as lone surrogates,
    which the database driver cannot encode."""

    name = "text"

    def convert(self, value: str, param: click.Parameter | None, ctx: click.Context | None) -> str:
        try:
            value.encode()
        except UnicodeEncodeError:
            self.fail(f"{value!a} is not valid UTF-8", param, ctx)
        return value


TEXT = _Text()


def _settings(context: click.Context) -> Settings:
    return context.ensure_object(dict)["settings"]


@click.group(cls=_LazyGroup)
@click.option(
    "--config",
    type=click.Path(path_type=Path, dir_okay=False),
    help="TOML settings file (also FACEAPI_CONFIG).",
)
@click.pass_context
def main(context: click.Context, config: Path | None) -> None:
    """Self-hosted Face API: age, gender and facial expression from a photo."""
    with _reported(FileNotFoundError, ValueError):
        context.ensure_object(dict)["settings"] = Settings.load(config)


@main.command()
@click.option("--host", help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (default 8000).")
@click.option("--workers", type=int, help="Server processes (default 1).")
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Run the API server."""
    from faceapi.api import server  # the web stack and the engine: see _LazyGroup
    from faceapi.engine.manifest import ModelUnavailableError
    from faceapi.engine.pipeline import Engine

    # Options become environment variables, as --config becomes FACEAPI_CONFIG: each worker
    # process reads its settings afresh, and some (the analyses at once) depend on them.
    for name, value in {"host": host, "port": port, "workers": workers}.items():
        if value is not None:
            os.environ[f"FACEAPI_{name.upper()}"] = str(value)
    with _reported(FileNotFoundError, ValueError):
        settings = Settings.load()
    configure_logging(settings.log_level)
    # Checked once here, where each worker would otherwise fail on its own with a traceback.
    with _reported(ModelUnavailableError):
        Engine.verify_models(settings.npm_models_dir, settings.engine_options())
    with _open_store(settings, Access.CREATE) as store:
        database = store.location  # and the schema is checked and made, once for every worker
    facts = {"database": database, "workers": settings.workers}
    log.info("starting", extra={**facts, "analyses_per_worker": settings.analysis_slots()})
    server.run(settings)


@main.group()
def keys() -> None:
    """Create, list and revoke API keys, and set their limits."""


@keys.command("create")
@click.option(
    "--name", type=TEXT, required=True, help="What the key is for, e.g. the client's name."
)
@click.option(
    "--owner", type=TEXT, metavar="EMAIL", help="The console account it belongs to (default: none)."
)
@click.pass_context
def keys_create(context: click.Context, name: str, owner: str | None) -> None:
    """Create a key. It is printed once, alone on the last line; only its hash is stored."""
    with _open_store(_settings(context), Access.CREATE) as store:
        account_id = _account(store, owner).id if owner else None
        try:
            new = KeyService(store).create(name, account_id)
        except ValueError as error:
            raise click.ClickException(str(error)) from error
    click.echo(
        f"Created key {new.record.id} ({new.record.name}) in {store.location}. "
        "It will not be shown again:"
    )
    click.echo(new.secret)


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def keys_list(context: click.Context, as_json: bool) -> None:
    """List keys: id, name, prefix, owner, created, last used, status."""
    with _open_store(_settings(context), Access.READ) as store:
        records = KeyService(store).list()
        emails = {account.id: account.email for account in AccountService(store).list()}
    if as_json:  # for scripts: ISO 8601 times, and null where there is none
        _print_json(
            {
                "id": record.id,
                "name": record.name,
                "prefix": record.prefix,
                "owner": emails.get(record.account_id or ""),
                "status": "active" if record.active else "revoked",
                "created_at": _iso(record.created_at),
                "last_used_at": _iso(record.last_used_at),
                "revoked_at": _iso(record.revoked_at),
            }
            for record in records
        )
        return
    rows = [
        {
            "id": record.id,
            "name": record.name,
            "prefix": record.prefix,
            "owner": emails.get(record.account_id or "", "-"),
            "created": moment(record.created_at),
            "last_used": moment(record.last_used_at),
            "status": "active" if record.active else f"revoked {moment(record.revoked_at)}",
        }
        for record in records
    ]
    _print_table(rows, "No keys yet. Create one with: faceapi keys create --name NAME")


@keys.command("revoke")
@click.argument("key_id", type=TEXT)
@click.pass_context
def keys_revoke(context: click.Context, key_id: str) -> None:
    """Revoke a key by its id; requests with it fail from now on."""
    with _open_store(_settings(context), Access.WRITE) as store:
        if not KeyService(store).revoke(key_id):
            raise click.ClickException(f"no active key with id {key_id}")
    click.echo(f"Revoked key {key_id} in {store.location}.")


@keys.command("limits")
@click.argument("key_id", type=TEXT)
@click.option("--rate", default="", help="Requests per second; 0 means no rate limit.")
@click.option("--burst", default="", help="Requests at once before the rate applies; at least 1.")
@click.option(
    "--monthly-quota", default="", help="Requests per calendar month (UTC); 0 means no quota."
)
@click.option(
    "--clear", is_flag=True, help="Server defaults first, then only the limits given here."
)
@click.pass_context
def keys_limits(
    context: click.Context,
    key_id: str,
    rate: str,
    burst: str,
    monthly_quota: str,
    clear: bool,
) -> None:
    """Set a key's own limits (those given; the others stay) and print the limits in force."""
    try:
        asked = asdict(parse_limits(rate, burst, monthly_quota))
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    with _open_store(_settings(context), Access.WRITE) as store:
        keys = KeyService(store)
        key = keys.get(key_id)
        if key is None:
            raise click.ClickException(f"no key with id {key_id}")
        own = replace(
            KeyLimits() if clear else key.limits,
            **{name: value for name, value in asked.items() if value is not None},
        )
        try:
            keys.set_limits(key.id, own)
        except ValueError as error:
            raise click.ClickException(str(error)) from error
        usage = UsageService(store, _settings(context).default_limits())
        in_force = usage.limits_for(replace(key, limits=own))
    click.echo(f"Limits in force for key {key.id} ({visible(key.name)}) in {store.location}:")
    _print_table(_limit_rows(own, in_force), empty="")


def _limit_rows(own: KeyLimits, in_force: Limits) -> list[dict[str, str]]:
    rate, quota = in_force.rate_per_second, in_force.monthly_quota
    limits = [
        ("rate", own.rate_per_second, f"{plain_number(rate)} per second" if rate > 0 else "none"),
        ("burst", own.burst, str(in_force.burst)),
        ("monthly quota", own.monthly_quota, f"{quota:,} a month" if quota > 0 else "none"),
    ]
    return [
        {
            "limit": name,
            "in force": text,
            "set by": "server default" if value is None else "this key",
        }
        for name, value, text in limits
    ]


@main.group()
def users() -> None:
    """Create, list, disable and enable console accounts, and set their passwords."""


@users.command("create")
@click.argument("email", type=TEXT)
@click.option("--admin", is_flag=True, help="An administrator: sees every account and key.")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)
@click.pass_context
def users_create(context: click.Context, email: str, admin: bool, password_stdin: bool) -> None:
    """Create a console account; the password is asked for (never given as an argument)."""
    password = _new_password(password_stdin)
    with _open_store(_settings(context), Access.CREATE) as store, _reported(AccountError):
        account = AccountService(store).create(email, password, admin=admin)
    click.echo(f"Created {account.role} account {account.email} in {store.location}.")


@users.command("set-password")
@click.argument("email", type=TEXT)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)
@click.pass_context
def users_set_password(context: click.Context, email: str, password_stdin: bool) -> None:
    """Set an account's password without the current one, e.g. when it is forgotten; the
    account's console sessions end."""
    with _open_store(_settings(context), Access.WRITE) as store, _reported(AccountError):
        account = _account(store, email)
        AccountService(store).reset_password(account, _new_password(password_stdin))
    click.echo(
        f"Set a new password for {account.email} in {store.location}; "
        "its console sessions have ended."
    )


def _new_password(from_stdin: bool) -> str:
    """The first line of stdin, or what is typed twice at the terminal."""
    try:
        password = sys.stdin.readline().rstrip("\r\n") if from_stdin else _typed_password()
        password.encode()  # bytes that are not UTF-8 arrive as lone surrogates
    except UnicodeError as error:
        raise click.ClickException("the password is not valid UTF-8 text") from error
    return password


def _typed_password() -> str:
    # Without a terminal, getpass warns and reads stdin with the typing shown: refuse instead.
    with warnings.catch_warnings():
        warnings.simplefilter("error", getpass.GetPassWarning)
        try:
            return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
        except getpass.GetPassWarning as error:
            raise click.ClickException(
                "there is no terminal to ask for the password; pipe it in with --password-stdin"
            ) from error


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def users_list(context: click.Context, as_json: bool) -> None:
    """List accounts: email, role, created, status."""
    with _open_store(_settings(context), Access.READ) as store:
        accounts = AccountService(store).list()
    if as_json:  # for scripts: ISO 8601 times, and null where there is none
        _print_json(
            {
                "email": account.email,
                "role": account.role,
                "status": "active" if account.active else "disabled",
                "created_at": _iso(account.created_at),
                "disabled_at": _iso(account.disabled_at),
            }
            for account in accounts
        )
        return
    rows = [
        {
            "email": account.email,
            "role": account.role,
            "created": moment(account.created_at),
            "status": "active" if account.active else f"disabled {moment(account.disabled_at)}",
        }
        for account in accounts
    ]
    _print_table(rows, "No accounts yet. Create one with: faceapi users create --admin EMAIL")


@users.command("disable")
@click.argument("email", type=TEXT)
@click.pass_context
def users_disable(context: click.Context, email: str) -> None:
    """Disable an account: its sessions end and its keys are refused from now on."""
    account, location = _change_account(
        context, email, AccountService.disable, "is already disabled"
    )
    click.echo(f"Disabled {account.email} in {location}.")


@users.command("enable")
@click.argument("email", type=TEXT)
@click.pass_context
def users_enable(context: click.Context, email: str) -> None:
    """Enable a disabled account: it can sign in again, and its keys work again."""
    account, location = _change_account(context, email, AccountService.enable, "is not disabled")
    click.echo(
        f"Enabled {account.email} in {location}. Its keys work again, except those revoked one "
        "by one."
    )


def _change_account(
    context: click.Context,
    email: str,
    change: Callable[[AccountService, str], bool],
    refusal: str,
) -> tuple[AccountRecord, str]:
    """Apply `change` to the account (it answers False when there was nothing to change,
    and `refusal` says so); returns the account, as stored, and where the database is."""
    with _open_store(_settings(context), Access.WRITE) as store:
        account = _account(store, email)
        if not change(AccountService(store), account.id):
            raise click.ClickException(f"{account.email} {refusal}")
    return account, store.location


@main.command()
@click.argument(
    "images", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True, dir_okay=False)
)
@click.option(
    "--endpoint",
    type=click.Choice(["age", "gender", "expression", "all"]),
    default="all",
    help="Which endpoint's answer to print (default: all three).",
)
@click.pass_context
def analyze(context: click.Context, images: tuple[Path, ...], endpoint: str) -> None:
    """Analyse images locally with the server's engine; print the JSON the API would send."""
    from faceapi.api.contract import ENDPOINTS  # the web stack and the engine: see _LazyGroup
    from faceapi.api.envelope import error_body, ok_body
    from faceapi.engine.manifest import ModelUnavailableError
    from faceapi.engine.pipeline import Engine

    settings = _settings(context)
    with _reported(ModelUnavailableError):
        engine = Engine.load(settings.npm_models_dir, settings.engine_options())
    chosen = [e for e in ENDPOINTS if endpoint in ("all", e.task.value)]
    failed = False
    for image in images:
        try:
            analysis = engine.analyze(image.read_bytes(), frozenset(e.task for e in chosen))
            answers = {e.name: ok_body(e.data(analysis)) for e in chosen}
        except FaceApiError as error:
            failed = True
            answers = {e.name: error_body(error) for e in chosen}
        click.echo(json.dumps({"image": str(image), **answers}))
    sys.exit(1 if failed else 0)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def models(context: click.Context, as_json: bool) -> None:
    """The models in use: source, version, licence, preprocessing, SHA-256 (verified)."""
    from faceapi.engine.manifest import ModelUnavailableError  # the engine: see _LazyGroup
    from faceapi.engine.pipeline import Engine

    settings = _settings(context)
    with _reported(ModelUnavailableError):
        engine = Engine.load(settings.npm_models_dir, settings.engine_options())
    described = engine.describe_models()
    if as_json:
        click.echo(json.dumps(described, indent=2))
        return
    for model in described:
        click.echo(f"{model['id']}: {model['title']}")
        for field in ("task", "registry", "package", "version", "licence", "preprocessing"):
            if model.get(field):
                click.echo(f"    {field:14s}{model[field]}")
        for file in model["files"]:
            click.echo(f"    {'file':14s}{file['path']}  sha256 {file['sha256']}")


@main.command()
@click.argument("destination", type=click.Path(path_type=Path, dir_okay=False))
@click.pass_context
def backup(context: click.Context, destination: Path) -> None:
    """Copy the SQLite database to a new file, safely while the server runs."""
    with _open_store(_settings(context), Access.READ) as store, _reported(StoreUnavailableError):
        store.backup(destination)
        source = store.location
    size = destination.stat().st_size
    click.echo(f"Backed up {source} to {destination} ({size:,} bytes, integrity checked).")


@main.command()
@click.pass_context
def config(context: click.Context) -> None:
    """Print the effective settings (defaults, config file, environment)."""
    shown = _settings(context).model_dump(mode="json")
    shown["database_url"] = without_password(shown["database_url"])  # as secret_key is masked
    for name, value in shown.items():
        click.echo(f"{name} = {json.dumps(value)}")


@contextmanager
def _reported(*errors: type[Exception]) -> Iterator[None]:
    """`errors` end the command with their one-line message, not a traceback."""
    try:
        yield
    except errors as error:
        raise click.ClickException(str(error)) from error


@contextmanager
def _open_store(settings: Settings, access: Access) -> Iterator[Store]:
    with _reported(StoreUnavailableError):
        store = open_store(settings.database_url, access=access)
        try:
            if store.in_memory:  # a key made there would be printed, then lost at once
                raise StoreUnavailableError(
                    f"{store.location} is an in-memory database, gone when this command ends; "
                    "set database_url to the server's database file"
                )
            yield store
        finally:
            store.close()


def _account(store: Store, email: str) -> AccountRecord:
    account = AccountService(store).find(email)
    if account is None:
        raise click.ClickException(f"there is no account {visible(email)}")
    return account


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def _print_json(records: Iterable[dict[str, str | None]]) -> None:
    click.echo(json.dumps(list(records), indent=2))


def _print_table(rows: list[dict[str, str]], empty: str) -> None:
    """A table with a header and aligned columns, or `empty` when there are no rows."""
    if not rows:
        click.echo(empty)
        return
    # Rows written before names were checked may hold characters that rewrite a terminal.
    rows = [{column: visible(value) for column, value in row.items()} for row in rows]
    widths = {column: max(len(column), *(len(row[column]) for row in rows)) for column in rows[0]}
    click.echo("  ".join(column.ljust(width) for column, width in widths.items()))
    for row in rows:
        click.echo("  ".join(row[column].ljust(width) for column, width in widths.items()))
