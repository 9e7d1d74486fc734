"""Which source kinds exist, and which sources are configured (settings or the shipped list)."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from foundation.errors import ConfigError, SourceError
from foundation.settings import Settings, SourceSettings
from foundation.toml import read_toml
from ingest.sources.base import DEFAULT_USER_AGENT, Source
from ingest.tickers import TickerIndex


def source_types() -> dict[str, type[Source]]:
    from ingest.sources.jsonl import JsonlSource
    from ingest.sources.reddit import RedditSource
    from ingest.sources.rss import RssSource
    from ingest.sources.stocktwits import StocktwitsSource

    return {
        "rss": RssSource,
        "reddit": RedditSource,
        "stocktwits": StocktwitsSource,
        "jsonl": JsonlSource,
    }


def make_source(
    settings: SourceSettings,
    *,
    user_agent: str = DEFAULT_USER_AGENT,
    tickers: TickerIndex | None = None,
) -> Source:
    try:
        cls = source_types()[settings.kind]
    except KeyError:
        raise SourceError(f"source {settings.name!r}: unknown kind {settings.kind!r}") from None
    return cls(settings, user_agent=user_agent, tickers=tickers)


def default_sources_path() -> Path:
    return Path(str(resources.files("ingest") / "default_sources.toml"))


def load_source_list(path: str | Path) -> list[SourceSettings]:
    """``[[sources]]`` tables of a TOML file as SourceSettings; ConfigError names a bad one."""
    data = read_toml(path, "source list")
    out: list[SourceSettings] = []
    for n, table in enumerate(data.get("sources", []), start=1):
        try:
            out.append(SourceSettings.model_validate(table))
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise ConfigError(
                f"{path}: source {n} ({table.get('name')!r}): {where}: {err['msg']}"
            ) from None
    return out


def configured_sources(settings: Settings, only: Sequence[str] = ()) -> list[SourceSettings]:
    """The sources to poll: settings.ingest.sources, else the shipped default list."""
    sources = list(settings.ingest.sources) or load_source_list(default_sources_path())
    names = [s.name for s in sources]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"source names must be unique; repeated: {', '.join(dupes)}")
    if only:
        unknown = sorted(set(only) - set(names))
        if unknown:
            raise ConfigError(f"unknown source(s): {', '.join(unknown)}; known: {names}")
        sources = [s for s in sources if s.name in only]
    return [s for s in sources if s.enabled]


def build_sources(settings: Settings, only: Sequence[str] = ()) -> list[Source]:
    return [
        make_source(s, user_agent=settings.ingest.user_agent)
        for s in configured_sources(settings, only)
    ]
