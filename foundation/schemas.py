"""Every record on the wire: frozen, versioned (``schema_version``), timestamps UTC.

These models are the single source of truth for Kafka payloads (JSON bytes), the archive
format and the store. ``to_bytes``/``from_bytes`` are the only (de)serialisers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from foundation.errors import FinpulseError

SCHEMA_VERSION = 1


def _utc(v: datetime) -> datetime:
    # Naive datetimes are taken as UTC (feeds without a zone); aware ones are converted.
    return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)


UTCDateTime = Annotated[datetime, AfterValidator(_utc)]


def utcnow() -> datetime:
    return datetime.now(UTC)


def isoformat(dt: datetime) -> str:
    """ISO-8601 UTC with a ``Z`` suffix, the archive's and the payloads' time format."""
    return _utc(dt).isoformat().replace("+00:00", "Z")


class SchemaError(FinpulseError):
    """A payload does not match its schema."""


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, data: bytes | str) -> Self:
        try:
            return cls.model_validate_json(data)
        except ValidationError as exc:
            raise SchemaError(f"invalid {cls.__name__}: {exc.errors()[0]}") from None


# Field limits of a Document, enforced wherever one is built or read (ingest, replay, the
# worker's topic payloads): generous next to what normalisation keeps (titles 500, summaries
# 1,000 characters), so they only refuse hostile or broken input. ID_MAX is the store's key.
ID_MAX = 64
SOURCE_MAX = 200
TITLE_MAX = 2_000
SUMMARY_MAX = 10_000
LINK_MAX = 2_048


class Document(Record):
    """One news item or social post, normalised by ingest (archive line format)."""

    schema_version: int = SCHEMA_VERSION
    id: str = Field(min_length=1, max_length=ID_MAX)
    source: str = Field(max_length=SOURCE_MAX)
    title: str = Field(max_length=TITLE_MAX)
    summary: str = Field("", max_length=SUMMARY_MAX)
    link: str = Field("", max_length=LINK_MAX)
    published: UTCDateTime
    feed_url: str | None = Field(None, max_length=LINK_MAX)
    language: str | None = None
    tickers: tuple[str, ...] = ()
    # Companies without a listed ticker found in the text (crypto exchanges and lenders such
    # as "FTX"), by their name in ingest/data/tickers.csv; they count in their sector only.
    # Additive, with a default: older records read as "none found" and older readers ignore
    # it (extra="ignore"), so schema_version stays 1.
    entities: tuple[str, ...] = ()
    author: str | None = None
    kind: Literal["news", "social"] = "news"
    # Problems found while normalising (e.g. "published:missing"), kept for operators.
    flags: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """What the classifier reads: the headline, or the post body for social items."""
        return self.title if self.title else self.summary


class ScoredDocument(Record):
    """A document with the classifier's output. ``scored`` is False for unsupported languages."""

    schema_version: int = SCHEMA_VERSION
    document: Document
    scored: bool = True
    topic: str | None = None
    topic_probs: dict[str, float] = {}
    sentiment: str | None = None
    sentiment_probs: dict[str, float] = {}
    model: str = ""
    scored_at: UTCDateTime = Field(default_factory=utcnow)
    skip_reason: str | None = None

    @property
    def id(self) -> str:
        return self.document.id

    @property
    def score(self) -> float:
        """p(positive) - p(negative), in [-1, 1]; 0 when not scored."""
        p = self.sentiment_probs
        return float(p.get("positive", 0.0) - p.get("negative", 0.0))


# entity: a named company without a ticker (ingest/data/entities.csv, tickers.csv rows without
# a ticker) or an emerging name (monitor/core/emerging.py); watchlist: an analyst's TOML list.
ScopeKind = Literal["topic", "ticker", "sector", "source", "all", "entity", "watchlist", "story"]


class WindowStat(Record):
    """Aggregate of one event-time tumbling window for one scope."""

    schema_version: int = SCHEMA_VERSION
    scope_kind: ScopeKind
    scope: str
    window_start: UTCDateTime
    window_end: UTCDateTime
    count: int = 0
    negative: int = 0
    neutral: int = 0
    positive: int = 0
    score_sum: float = 0.0
    late: int = 0

    @property
    def negative_share(self) -> float:
        return self.negative / self.count if self.count else 0.0

    @property
    def mean_score(self) -> float:
        return self.score_sum / self.count if self.count else 0.0


class Evidence(Record):
    id: str
    title: str
    source: str
    link: str
    published: UTCDateTime
    sentiment_probs: dict[str, float] = {}


class IncidentMember(Record):
    """One member alert of an incident, as an incident notification lists it."""

    fingerprint: str
    rule: str
    scope_kind: ScopeKind
    scope: str
    starts_at: UTCDateTime  # its latest episode's start
    firing: bool


class Headline(Record):
    """One evidence headline of an incident (its most negative documents, first seen)."""

    title: str
    source: str
    link: str
    published: UTCDateTime


class IncidentNotice(Record):
    """An incident transition, carried by the alert that caused it (monitor/core/incidents.py):
    ``opened`` (its first member fired), ``reflared`` (a member fired again after all had
    resolved, within the incident's gap), ``closed`` (its last firing member resolved). What
    a sink in incident mode is told; members and evidence as of the end of that evaluation."""

    id: str
    event: Literal["opened", "reflared", "closed"]
    status: Literal["firing", "resolved"]
    starts_at: UTCDateTime  # the incident's start (its earliest member's)
    ends_at: UTCDateTime | None = None  # set when closed
    # When this firing episode of the incident began (its open or re-flare): the firing
    # notification's time, so a resolved can name the firing it closes.
    episode_at: UTCDateTime
    opener: str  # fingerprint of the alert that opened the incident (silences match it)
    members: tuple[IncidentMember, ...] = ()
    evidence: tuple[Headline, ...] = ()


class Alert(Record):
    """A firing or resolved alert; ``fingerprint`` is stable for rule + scope."""

    schema_version: int = SCHEMA_VERSION
    fingerprint: str
    rule: str
    scope_kind: ScopeKind
    scope: str
    status: Literal["firing", "resolved"]
    starts_at: UTCDateTime
    ends_at: UTCDateTime | None = None
    updated_at: UTCDateTime
    # The window and baseline figures that triggered it (negative_share, baseline_share,
    # count, z scores, ...), and the peak figures seen while firing.
    figures: dict[str, float] = {}
    peak: dict[str, float] = {}
    evidence: tuple[Evidence, ...] = ()
    dashboard_url: str = ""
    summary: str = ""
    # The incident (monitor/core/incidents.py) this alert belongs to: alerts of one story share
    # it. Additive with a default, so schema_version stays 1.
    incident: str = ""
    # Set on the alert whose evaluation opened, re-flared or closed its incident (else None):
    # what incident-mode sinks are sent. Additive with a default, like ``incident``.
    incident_notice: IncidentNotice | None = None


class DeadLetterRecord(Record):
    """A notification that a sink never accepted before its age limit (finpulse.alerts.dead):
    the alert, where it was going, why it failed and how often it was tried."""

    schema_version: int = SCHEMA_VERSION
    sink: str
    error: str
    attempts: int
    alert: Alert
    at: UTCDateTime = Field(default_factory=utcnow)
