"""`faceapi`: serve the API, manage keys, analyse images locally, show settings and models."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click
import uvicorn
from fastapi import FastAPI

from faceapi.api import create_app
from faceapi.api.contract import ENDPOINTS
from faceapi.api.envelope import error_body, ok_body
from faceapi.cli.evaluate import bench, evaluate
from faceapi.engine.pipeline import Engine
from faceapi.errors import FaceApiError
from faceapi.logs import configure_logging
from faceapi.services.keys import KeyService
from faceapi.settings import Settings
from faceapi.storage import open_store


def _settings(context: click.Context) -> Settings:
    return context.ensure_object(dict)["settings"]


@click.group()
@click.option(
    "--config",
    type=click.Path(path_type=Path, dir_okay=False),
    help="TOML settings file (also FACEAPI_CONFIG).",
)
@click.pass_context
def main(context: click.Context, config: Path | None) -> None:
    """Self-hosted Face API: age, gender and facial expression from a photo."""
    try:
        context.ensure_object(dict)["settings"] = Settings.load(config)
    except (FileNotFoundError, ValueError) as error:
        raise click.ClickException(str(error)) from error


@main.command()
@click.option("--host", help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (default 8000).")
@click.option("--workers", type=int, help="Server processes (default 1).")
@click.pass_context
def serve(context: click.Context, host: str | None, port: int | None, workers: int | None) -> None:
    """Run the API server."""
    base = _settings(context)
    settings = base.model_copy(
        update={
            key: value
            for key, value in {"host": host, "port": port, "workers": workers}.items()
            if value is not None
        }
    )
    configure_logging(settings.log_level)
    uvicorn.run(
        "faceapi.cli.main:_app_from_environment",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_config=None,
        access_log=False,
    )


def _app_from_environment() -> FastAPI:
    """Factory each server process calls: settings come from FACEAPI_* and FACEAPI_CONFIG."""
    settings = Settings.load()
    configure_logging(settings.log_level)
    return create_app(settings)


@main.group()
def keys() -> None:
    """Create, list and revoke API keys."""


@keys.command("create")
@click.option("--name", required=True, help="What the key is for, e.g. the client's name.")
@click.pass_context
def keys_create(context: click.Context, name: str) -> None:
    """Create a key. It is printed once, alone on the last line; only its hash is stored."""
    with _key_service(context) as service:
        try:
            new = service.create(name)
        except ValueError as error:
            raise click.ClickException(str(error)) from error
    click.echo(f"Created key {new.record.id} ({new.record.name}). It will not be shown again:")
    click.echo(new.secret)


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def keys_list(context: click.Context, as_json: bool) -> None:
    """List keys: id, name, prefix, created, last used, status."""
    with _key_service(context) as service:
        records = service.list()
    rows = [
        {
            "id": record.id,
            "name": record.name,
            "prefix": record.prefix,
            "created": _when(record.created_at),
            "last_used": _when(record.last_used_at),
            "status": "active" if record.active else f"revoked {_when(record.revoked_at)}",
        }
        for record in records
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("No keys yet. Create one with: faceapi keys create --name NAME")
        return
    widths = {column: max(len(column), *(len(row[column]) for row in rows)) for column in rows[0]}
    click.echo("  ".join(column.ljust(width) for column, width in widths.items()))
    for row in rows:
        click.echo("  ".join(row[column].ljust(width) for column, width in widths.items()))


@keys.command("revoke")
@click.argument("key_id")
@click.pass_context
def keys_revoke(context: click.Context, key_id: str) -> None:
    """Revoke a key by its id; requests with it fail from now on."""
    with _key_service(context) as service:
        if not service.revoke(key_id):
            raise click.ClickException(f"no active key with id {key_id}")
    click.echo(f"Revoked key {key_id}.")


@main.command()
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@click.option(
    "--endpoint",
    type=click.Choice(["age", "gender", "expression", "all"]),
    default="all",
    help="Which endpoint's answer to print (default: all three).",
)
@click.pass_context
def analyze(context: click.Context, images: tuple[Path, ...], endpoint: str) -> None:
    """Analyse images locally with the server's engine; print the JSON the API would send."""
    settings = _settings(context)
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
    settings = _settings(context)
    described = Engine.load(settings.npm_models_dir, settings.engine_options()).describe_models()
    if as_json:
        click.echo(json.dumps(described, indent=2))
        return
    for model in described:
        click.echo(f"{model['id']}: {model['title']}")
        for field in ("task", "package", "version", "file", "licence", "preprocessing", "sha256"):
            if model.get(field):
                click.echo(f"    {field:14s}{model[field]}")


@main.command()
@click.pass_context
def config(context: click.Context) -> None:
    """Print the effective settings (defaults, config file, environment)."""
    settings = _settings(context)
    for name, value in settings.model_dump(mode="json").items():
        click.echo(f"{name} = {json.dumps(value)}")


@contextmanager
def _key_service(context: click.Context) -> Iterator[KeyService]:
    store = open_store(_settings(context).database_url)
    try:
        yield KeyService(store)
    finally:
        store.close()


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "never"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


main.add_command(evaluate)
main.add_command(bench)
