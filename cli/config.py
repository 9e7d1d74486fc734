"""``finpulse config show`` and ``finpulse config check [FILE] [--online]``.

In the top layer because ``--online`` asks ingest to fetch the configured sources.
"""

from __future__ import annotations

import json
import os

import click

from foundation.settings import Settings, get_settings, load_settings


@click.group()
def config() -> None:
    """Show or check the settings (TOML file + FINPULSE_* environment)."""


@config.command("show")
@click.pass_context
def show(ctx: click.Context) -> None:
    """Print the merged settings as JSON, secrets masked (see docs/configuration.md)."""
    from foundation.config_check import masked

    settings: Settings = get_settings(ctx)
    click.echo(json.dumps(masked(settings), indent=2, sort_keys=True, ensure_ascii=False))


@config.command("check")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--online", is_flag=True, help="Also fetch every enabled source once.")
@click.pass_context
def check(ctx: click.Context, file: str | None, online: bool) -> None:
    """Validate FILE (default: the --config / FINPULSE_CONFIG settings) and what it refers to.

    Checks that the file and environment validate (exit 2 when not), that every sink's
    ``secret_env`` is set, that sink and dashboard URLs parse, that a users file exists, and
    with --online that every enabled source answers. Exit status 1 when a problem is found.
    """
    from foundation.config_check import problems

    settings = load_settings(file) if file else get_settings(ctx)
    found = problems(settings, os.environ)
    checked = f"{len(settings.sinks)} sink(s)"
    if online:
        from ingest.probe import probe_sources

        results = probe_sources(settings)
        found += [f"source {name}: {why}" for name, why in results if why]
        checked += f", {len(results)} source(s) fetched"
    where = file or os.environ.get("FINPULSE_CONFIG") or "defaults + environment"
    for p in found:
        click.echo(f"problem: {p}", err=True)
    if found:
        click.echo(f"{where}: {len(found)} problem(s) ({checked})", err=True)
        ctx.exit(1)
    click.echo(f"{where}: ok ({checked})")
