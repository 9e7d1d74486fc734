"""The ``finpulse`` command line: one entry point, subcommands imported only when used."""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

import click

from foundation.errors import FinpulseError
from foundation.redact import redact

# name -> "module:attribute"; each package owns its commands' module.
COMMANDS: dict[str, str] = {
    "demo": "monitor.commands:demo",
    "broker": "monitor.commands:broker",
    "worker": "monitor.commands:worker",
    "replay": "ingest.replay_command:replay",
    "ingest": "ingest.commands:ingest",
    "feeds": "ingest.commands:feeds",
    "backtest": "dashboard.commands:backtest",
    "classify": "models.commands:classify",
    "train": "models.commands:train",
    "evaluate": "models.commands:evaluate",
    "dashboard": "dashboard.commands:dashboard",
    "corrections": "dashboard.commands:corrections",
    "db": "foundation.store.commands:db",
    "alerts": "monitor.alerts_commands:alerts",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            reason = f"command {name!r} is unavailable: {exc}"

            @click.command(name=name, help=f"(unavailable: {exc})")
            def unavailable() -> None:
                raise click.ClickException(reason)

            return unavailable

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FinpulseError as exc:
            # A FinpulseError carries what the user needs; no traceback.
            click.echo(f"error: {redact(str(exc))}", err=True)
            sys.exit(2)
        except OSError as exc:
            # A file or folder in the way (read-only data dir, a file where a folder should
            # be): the path and the reason are what the user needs, not a traceback.
            if exc.filename is None:
                raise
            click.echo(f"error: cannot use {exc.filename}: {exc.strerror or exc}", err=True)
            sys.exit(2)


@click.group(cls=LazyGroup)
@click.option("--config", type=click.Path(dir_okay=False), default=None, help="TOML settings file.")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
@click.pass_context
def main(ctx: click.Context, config: str | None, verbose: bool) -> None:
    """finpulse: streaming financial sentiment monitor."""
    from foundation.logs import setup_logging
    from foundation.redact import register_settings_secrets
    from foundation.settings import load_settings

    ctx.ensure_object(dict)
    try:
        settings = load_settings(config)
    except FinpulseError as exc:
        click.echo(f"error: {redact(str(exc))}", err=True)
        sys.exit(2)
    register_settings_secrets(settings)
    setup_logging("DEBUG" if verbose else settings.log_level)
    ctx.obj["settings"] = settings


if __name__ == "__main__":  # pragma: no cover
    logging.captureWarnings(True)
    main()
