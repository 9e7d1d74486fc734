"""The one settings object: embedded defaults, overridden by a TOML file, then FINPULSE_* env.

Precedence (highest first): explicit keyword arguments, environment variables
(``FINPULSE_`` prefix, nested with ``__``, e.g. ``FINPULSE_BROKER__URL``), the TOML file named
by ``FINPULSE_CONFIG`` (or passed to :func:`load_settings`), then the defaults below.
Secrets (webhook keys, passwords) are read from the environment or a secrets file only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from foundation import paths
from foundation.errors import ConfigError
from foundation.http import USER_AGENT
from foundation.schemas import ScopeKind

CONFIG_ENV = "FINPULSE_CONFIG"


class Section(BaseModel):
    # A misspelt key is an error, never a silent fallback to the default.
    model_config = ConfigDict(extra="forbid")


class BrokerSettings(Section):
    # None means "start the embedded broker" (demo, tests); a kafka:// or host:port list for a
    # real cluster.
    url: str | None = None
    topic_prefix: str = "finpulse"
    partitions: int = Field(4, ge=1)
    replication_factor: int = Field(1, ge=1)
    # Tansu mis-reports end offsets for multi-record batches (docs/operations.md),
    # so it needs producer_max_batch_size=1; real Kafka keeps the client default.
    embedded: bool = True

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}.{name}"


class StoreSettings(Section):
    # Unset: SQLite under data_dir (Settings fills it in).
    url: str = paths.store_url(paths.DEFAULT_DATA_DIR)
    # PostgreSQL connection pool per process. A worker holds about 3 connections at once
    # (store sink, aggregation, notifier); 8 workers + ingest + dashboard at 4 + 4 stay
    # under PostgreSQL's default max_connections=100.
    pool_size: int = Field(4, ge=1, le=100)
    max_overflow: int = Field(4, ge=0, le=100)
    pool_timeout_s: float = Field(30.0, gt=0)
    # Transient errors (connection lost, deadlock, serialization failure, SQLite busy) are
    # retried this many times with jittered back-off; a store that is still starting is
    # waited for up to connect_timeout_s.
    retries: int = Field(5, ge=0, le=20)
    connect_timeout_s: float = Field(60.0, ge=0)


class ModelSettings(Section):
    # None: the shipped model (models/weights/default). A folder written by `finpulse train`,
    # or "baseline" for the lexicon baseline.
    path: str | None = None
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Literal["auto", "fp32", "fp16", "bf16"] = "auto"
    quantize: Literal["none", "int8"] = "none"
    max_batch_size: int = Field(64, ge=1, le=4096)
    max_wait_ms: float = Field(25.0, ge=0)
    max_length: int = Field(64, ge=8, le=512)
    # Languages the model handles; documents in others are archived and counted, not scored.
    languages: list[str] = ["en"]


class WindowSettings(Section):
    size_s: int = Field(300, ge=10)
    allowed_lateness_s: int = Field(900, ge=0)


class RuleSettings(Section):
    name: str = "negative_surge"
    scopes: list[ScopeKind] = [
        "topic",
        "ticker",
        "sector",
        "all",
    ]
    min_count: int = Field(8, ge=1)
    # Baseline over the last day of windows (EWMA half-life, in windows).
    baseline_halflife_windows: float = Field(36.0, gt=0)
    # One-sided significance of the share test and the volume test.
    share_z: float = Field(3.0, gt=0)
    volume_z: float = Field(3.0, gt=0)
    min_share_lift: float = Field(0.15, ge=0)
    persistence_k: int = Field(2, ge=1)
    persistence_n: int = Field(3, ge=1)
    resolve_after_windows: int = Field(3, ge=1)
    # negative_share: share test (+ negative-volume test when require_volume);
    # volume: window count against its baseline only (see monitor/core/detection.py).
    # negative_count / attention: count surges against the scope's rate (monitor/core/surges.py).
    kind: Literal["negative_share", "volume", "negative_count", "attention", "story"] = (
        "negative_share"
    )
    # The tests judge the sum of the last span_windows windows (a rolling span).
    span_windows: int = Field(12, ge=1)
    require_volume: bool = True
    # Windows of history a scope needs before it can alert (12 x 5 min = 1 h).
    min_baseline_windows: int = Field(12, ge=0)
    # The baseline share is shrunk towards prior_share with prior_docs pseudo-documents.
    prior_share: float = Field(0.2, ge=0, le=1)
    prior_docs: float = Field(20.0, ge=0)
    # Count rules (negative_count, attention): hot when -log10 of the tail probability reaches
    # `surprise`, with at least `min_negative` negatives in the span; a scope seen for the first
    # time expects `prior_rate_per_day` documents a day, with the weight of `prior_days` days.
    surprise: float = Field(5.0, gt=0)
    # attention only: the negatives of the span must be unusual at this lower bar too.
    evidence_surprise: float = Field(1.3, ge=0)
    min_negative: int = Field(4, ge=0)
    prior_rate_per_day: float = Field(1.0, gt=0)
    prior_days: float = Field(0.25, gt=0)

    @model_validator(mode="after")
    def _persistence(self) -> RuleSettings:
        if self.persistence_k > self.persistence_n:
            raise ValueError("persistence_k must be <= persistence_n")
        return self


# The count rules judge six hours (72 x 5 min): the news of one name arrives over hours, not
# minutes, and a rolling sum still fires as soon as a fast burst is large enough. Their
# baseline has a one-day half-life: "usual attention" for a name is a daily notion.
COUNT_SPAN_WINDOWS = 72
COUNT_HALFLIFE_WINDOWS = 288.0


def default_rules() -> list[RuleSettings]:
    """The shipped rules (docs/alerts.md explains each default): the share test on broad
    scopes, and the two count rules (monitor/core/surges.py) on named things."""
    return [
        RuleSettings(),
        RuleSettings(
            name="negative_count",
            kind="negative_count",
            scopes=["entity", "ticker", "watchlist"],
            baseline_halflife_windows=COUNT_HALFLIFE_WINDOWS,
            min_baseline_windows=0,
        ),
        RuleSettings(
            name="attention",
            kind="attention",
            scopes=["entity", "ticker", "watchlist"],
            span_windows=COUNT_SPAN_WINDOWS,
            baseline_halflife_windows=COUNT_HALFLIFE_WINDOWS,
            min_baseline_windows=0,
            min_negative=1,
            surprise=4.0,
        ),
        # Adverse events per name, counted per outlet (monitor/core/stories.py): six hours
        # like attention; at least three outlets (independent confirmation). A story is
        # rare by construction, so its prior is one story a few days (0.25 a day) with the
        # weight of four days (a Gamma of shape 1, the widest predictive the count rules
        # allow); the surprise bar is log10 of its tests a month (~30 active stories a day x
        # 120 six-hour spans = 10^3.6; docs/alerts.md#stories).
        RuleSettings(
            name="story",
            kind="story",
            scopes=["story"],
            span_windows=COUNT_SPAN_WINDOWS,
            baseline_halflife_windows=COUNT_HALFLIFE_WINDOWS,
            min_baseline_windows=0,
            min_count=3,
            min_negative=1,
            surprise=3.6,
            prior_rate_per_day=0.25,
            prior_days=4.0,
        ),
    ]


class EmergingSettings(Section):
    """Emerging entities (monitor/core/emerging.py): unlisted names whose count jumps."""

    enabled: bool = True
    min_docs: int = Field(4, ge=1)
    min_sources: int = Field(2, ge=1)
    span_windows: int = Field(12, ge=1)
    idle_windows: int = Field(288, ge=1)
    capacity: int = Field(5000, ge=10)


class StorySettings(Section):
    """Story scopes (monitor/core/stories.py): a name and an adverse event, per outlet."""

    enabled: bool = True
    # An outlet counts once per story within this many windows (6 h at 5 min).
    source_gap_windows: int = Field(72, ge=1)
    capacity: int = Field(20000, ge=10)


class AlertSettings(Section):
    rules: list[RuleSettings] = Field(default_factory=default_rules)
    repeat_interval_s: int = Field(4 * 3600, ge=0)
    evidence_docs: int = Field(5, ge=0, le=50)
    dashboard_url: str = "http://127.0.0.1:8050"
    emerging: EmergingSettings = EmergingSettings()
    stories: StorySettings = StorySettings()
    # Alerts of one story (shared evidence, overlapping time) form one incident
    # (monitor/core/incidents.py); an alert joins an incident that ended at most this long ago.
    incident_gap_s: int = Field(24 * 3600, ge=0)
    # Delivery (outbox, monitor/stream/delivery.py): how often each sink's loop looks for
    # work it was not woken for (another process's rows, re-queued dead letters), and how long
    # a process holds a sink (only the holder sends to it; longer than any sink's timeout_s).
    delivery_poll_s: float = Field(5.0, gt=0)
    delivery_lease_s: float = Field(60.0, gt=0)
    # Named scope lists for silences (`watchlist=banks`): "kind:scope" items, e.g.
    # banks = ["ticker:SIVB", "ticker:FRC", "sector:financials"].
    watchlists: dict[str, list[str]] = {}


class WatchlistSettings(Section):
    """An analyst's scope: documents naming any alias (whole words, case-insensitive) or
    matching ``pattern`` (a regular expression), or carrying one of ``tickers``, count in
    ``watchlist:<name>``. ``thresholds`` override fields of every rule that judges
    ``watchlist`` scopes, for this watchlist only (e.g. ``{surprise = 4, min_negative = 2}``)."""

    name: str = Field(min_length=1)
    aliases: list[str] = []
    pattern: str | None = None
    tickers: list[str] = []
    thresholds: dict[str, float | int | bool] = {}

    @model_validator(mode="after")
    def _check(self) -> WatchlistSettings:
        import re

        if not (self.aliases or self.pattern or self.tickers):
            raise ValueError(f"watchlist {self.name!r} needs aliases, a pattern or tickers")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"watchlist {self.name!r}: bad pattern: {exc}") from None
        unknown = set(self.thresholds) - set(RuleSettings.model_fields) - {"name"}
        bad = unknown | ({"name", "kind", "scopes"} & set(self.thresholds))
        if bad:
            raise ValueError(f"watchlist {self.name!r}: not a rule threshold: {sorted(bad)}")
        return self


class SinkSettings(Section):
    name: str
    # alertmanager: Alertmanager's webhook payload (v4) to ``url``; alertmanager_api: the
    # alerts to Alertmanager's own API, ``url`` being its base (http://alertmanager:9093).
    kind: Literal["webhook", "alertmanager", "slack", "pagerduty", "alertmanager_api"]
    url: str
    # Name of the environment variable holding the HMAC key / routing key (never the value).
    secret_env: str | None = None
    max_per_minute: int = Field(60, ge=1)
    # Unset: retry until max_age_s (the age limit) and nothing else; a number also stops
    # after that many attempts.
    max_retries: int | None = Field(None, ge=0)
    timeout_s: float = Field(10.0, gt=0)
    # A notification is retried (capped exponential backoff, foundation.retry) until it is
    # max_age_s old, then it is a dead letter (re-driven when the sink is healthy again).
    max_age_s: float = Field(24 * 3600.0, gt=0)
    backoff_base_s: float = Field(1.0, gt=0)
    backoff_max_s: float = Field(300.0, gt=0)
    # alertmanager_api: firing alerts are posted again every resend_s with endsAt 4 x resend_s
    # ahead (as Prometheus does), so Alertmanager resolves them itself if finpulse stops.
    resend_s: float = Field(60.0, gt=0)
    # Routing (like Alertmanager routes): empty = everything; otherwise only alerts whose scope
    # kind is listed, or (for watchlist scopes) whose watchlist is listed.
    scope_kinds: list[ScopeKind] = []
    watchlists: list[str] = []
    # incident: one notification when an incident opens (re-flares) and one when it closes
    # (PagerDuty: dedup_key = incident id; the alertmanager_api kind keeps its member alerts,
    # labelled incident=<id>, for Alertmanager's group_by); alert: one per alert group of one
    # evaluation, as before. docs/alerts.md "Notifications per incident".
    notify: Literal["incident", "alert"] = "incident"


class SourceSettings(Section):
    name: str
    kind: Literal["rss", "reddit", "stocktwits", "jsonl"] = "rss"
    url: str
    interval_s: float = Field(300.0, gt=0)
    timeout_s: float = Field(15.0, gt=0)
    max_bytes: int = Field(5_000_000, gt=0)
    language: str | None = None
    # Added by ingest: error backoff (jittered exponential, capped) and an on/off switch.
    backoff_base_s: float = Field(30.0, gt=0)
    backoff_max_s: float = Field(3600.0, gt=0)
    enabled: bool = True
    # SSRF guard (ingest/url_guard.py): an intranet feed may be fetched from a loopback or
    # private address only when marked so; file:// URLs and paths only from a local source.
    allow_private: bool = False
    local: bool = False


class IngestSettings(Section):
    # Empty: the shipped default list (ingest/default_sources.toml).
    sources: list[SourceSettings] = []
    archive_dir: str = paths.archive_dir(paths.DEFAULT_DATA_DIR)  # unset: under data_dir
    user_agent: str = USER_AGENT
    dedup_capacity: int = Field(50_000, ge=1000)  # ~40 MB; a month of ~190 feeds
    # Networks every source may connect to although not public (e.g. ["10.2.0.0/16"]).
    allow_networks: list[str] = []


class DashboardSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8050, ge=1, le=65535)
    refresh_s: float = Field(5.0, gt=0)
    # Path of a TOML/JSON secrets file with {"users": {"name": "pbkdf2 hash"}}; users may also
    # come from FINPULSE_DASHBOARD__USERS (JSON). Empty: no login, bind 127.0.0.1 only.
    users_file: str | None = None
    users: dict[str, SecretStr] = {}
    secret_key: SecretStr | None = None
    # Login hardening (dashboard/auth.py, docs/reliability.md#security). A session ends at
    # logout, after session_idle_s without a request, and session_max_age_s after login.
    session_max_age_s: float = Field(8 * 3600.0, gt=0)
    session_idle_s: float = Field(3600.0, gt=0)
    # Failed sign-ins within login_window_s: max_failures for one user name, or
    # max_failures_per_client from one client address, lock that name/address for lockout_s.
    login_max_failures: int = Field(5, ge=1)
    login_max_failures_per_client: int = Field(20, ge=1)
    login_window_s: float = Field(900.0, gt=0)
    login_lockout_s: float = Field(900.0, gt=0)
    # Behind a reverse proxy: take the client address and scheme (https -> Secure cookies)
    # from X-Forwarded-For / X-Forwarded-Proto. Only when the proxy sets them, never directly
    # exposed, since a client can send those headers itself.
    trust_proxy: bool = False


class StreamSettings(Section):
    """The stream worker's batching and event-time handling (docs/performance.md)."""

    # Records per batch taken by the aggregation and store agents (1 turns batching off).
    batch_size: int = Field(500, ge=1, le=100_000)
    batch_within_ms: float = Field(500.0, gt=0)
    # A documents partition that sent nothing for this long (by record timestamps) stops
    # holding the event-time watermark back (monitor/core/watermarks.py).
    idle_partition_s: float = Field(30.0, gt=0)
    # A document this far ahead of its partition's event clock is held until jump_confirm
    # documents in a row confirm the jump; one back in range makes it an outlier.
    max_jump_s: float = Field(6 * 3600.0, gt=0)
    jump_confirm: int = Field(3, ge=1, le=100)


class MetricsSettings(Section):
    # Prometheus exporters: one HTTP port per process role; loopback unless opened up (a
    # container sets host 0.0.0.0 so Prometheus can reach it). Port 0: any free port, logged.
    enabled: bool = True
    host: str = "127.0.0.1"
    worker_port: int = Field(9464, ge=0, le=65535)
    ingest_port: int = Field(9465, ge=0, le=65535)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="FINPULSE_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    data_dir: str = paths.DEFAULT_DATA_DIR
    log_level: str = "INFO"
    broker: BrokerSettings = BrokerSettings()
    store: StoreSettings = StoreSettings()
    model: ModelSettings = ModelSettings()
    windows: WindowSettings = WindowSettings()
    alerts: AlertSettings = AlertSettings()
    sinks: list[SinkSettings] = []
    ingest: IngestSettings = IngestSettings()
    dashboard: DashboardSettings = DashboardSettings()
    stream: StreamSettings = StreamSettings()
    metrics: MetricsSettings = MetricsSettings()
    watchlists: list[WatchlistSettings] = []

    @field_validator("log_level")
    @classmethod
    def _level(cls, v: str) -> str:
        v = v.upper()
        if v not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return v

    @model_validator(mode="after")
    def _under_data_dir(self) -> Settings:
        # The store and the archive default to data_dir, wherever data_dir is set; a value
        # given explicitly (TOML, environment, code) is kept as given.
        if "url" not in self.store.model_fields_set:
            self.store.url = paths.store_url(self.data_dir)
        if "archive_dir" not in self.ingest.model_fields_set:
            self.ingest.archive_dir = paths.archive_dir(self.data_dir)
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = os.environ.get(CONFIG_ENV)
        if path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(path)))
        sources.append(file_secret_settings)
        return tuple(sources)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    def silence_lists(self) -> dict[str, list[str]]:
        """The named lists a ``watchlist=NAME`` silence matcher can name: every analyst
        watchlist (``[[watchlists]]``, whose alerts have the scope ``watchlist:NAME``) and the
        plain ``kind:scope`` lists of ``alerts.watchlists`` (which win on a shared name)."""
        lists = {w.name: [f"watchlist:{w.name}"] for w in self.watchlists}
        lists.update(self.alerts.watchlists)
        return lists


def load_settings(config: str | Path | None = None, **overrides: Any) -> Settings:
    """Build and validate settings; a bad field raises ConfigError naming it."""
    if config is not None:
        path = Path(config)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        os.environ[CONFIG_ENV] = str(path)
    elif (env_path := os.environ.get(CONFIG_ENV)) and not Path(env_path).is_file():
        raise ConfigError(f"{CONFIG_ENV} points to a missing file: {env_path}")
    check_environment(os.environ)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from None
    except ValueError as exc:  # malformed TOML
        raise ConfigError(f"invalid config file: {exc}") from None
    except RecursionError:  # arrays nested thousands deep
        raise ConfigError("invalid config file: nested too deeply") from None


def get_settings(ctx: Any) -> Settings:
    """The validated Settings for a CLI subcommand (loaded once by the root click group)."""
    settings: Settings = ctx.find_root().obj["settings"]
    return settings


ENV_PREFIX = "FINPULSE_"


def check_environment(environ: Mapping[str, str]) -> None:
    """Refuse ``FINPULSE_<SECTION>__...`` variables whose section is not a setting.

    pydantic-settings reads only the names it knows, so ``FINPULSE_MODLE__PATH`` would be
    ignored silently. Only the nested form (with ``__``) is checked: single-level
    ``FINPULSE_*`` names are also used for other things (``FINPULSE_CONFIG``, secrets named
    by a sink's ``secret_env``, test hooks)."""
    known = set(Settings.model_fields)
    bad = sorted(
        name
        for name in environ
        if name.upper().startswith(ENV_PREFIX)
        and "__" in name
        and name[len(ENV_PREFIX) :].split("__", 1)[0].lower() not in known
    )
    if bad:
        raise ConfigError(
            f"unknown settings section in environment variable(s) {', '.join(bad)}: "
            f"the part before '__' must be one of {', '.join(sorted(known))}"
        )
