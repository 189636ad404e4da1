"""``kubeai keys create|list|revoke``: API keys for the HTTP API and the MCP server (docs/api.md)."""

from __future__ import annotations

import json

import typer

from app.cli._context import config as load
from app.keys import KeyStore, parse_scope
from knowledge.catalog import demo_catalog_path, load_catalog
from kubeai.errors import ConfigError

__all__ = ["app"]

app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)


def _store(ctx: typer.Context) -> KeyStore:
    return KeyStore.in_data_dir(load(ctx).data_dir)


@app.command("create")
def create(
    ctx: typer.Context,
    user: str = typer.Option(..., "--user", help="Who the key is for; threads belong to users."),
    scope: list[str] = typer.Option(
        [], "--scope", help="dimension=value the user may see (repeatable), e.g. region=华东; none: every row."
    ),
) -> None:
    """Create a key and print its secret once (only a hash is kept).

    A malformed ``--scope`` or ``--user`` (not ``dimension=value``, a dimension the catalog lacks, an empty user) is
    a usage error: one sentence and exit status 2, as Typer's own usage errors.
    """
    cfg = load(ctx)
    try:
        parsed = parse_scope(scope)
        catalog = load_catalog(cfg.warehouse.catalog or demo_catalog_path()) if parsed else None
        key, secret = _store(ctx).create(user, parsed, catalog=catalog)
    except ConfigError as exc:
        if not (exc.field or "").startswith(("scope", "user")):
            raise
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from None
    shown = ", ".join(f"{k}={'|'.join(v)}" for k, v in key.scope.items()) or "every row"
    typer.echo(f"key {key.id} for {key.user} (scope: {shown}); the secret is shown this once:", err=True)
    typer.echo(secret)


@app.command("list")
def list_keys(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Every key: id, user, scope, created, revoked."""
    keys = _store(ctx).list()
    if as_json:
        typer.echo(json.dumps([k.to_json() for k in keys], ensure_ascii=False, indent=2))
        return
    if not keys:
        typer.echo("no API keys; create one with `kubeai keys create --user NAME`")
    for key in keys:
        scope = ", ".join(f"{k}={'|'.join(v)}" for k, v in key.scope.items()) or "every row"
        state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
        typer.echo(f"{key.id}  {key.user:<16} {state:<24} created {key.created_at:%Y-%m-%d %H:%M}  scope: {scope}")


@app.command("revoke")
def revoke(ctx: typer.Context, key_id: str = typer.Argument(..., help="The key's id (`kubeai keys list`).")) -> None:
    """Revoke a key; its secret stops working at once."""
    key = _store(ctx).revoke(key_id)
    typer.echo(f"revoked key {key.id} of {key.user}")
