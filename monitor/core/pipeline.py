"""Windows -> detection -> alert lifecycle, in one pure object shared by stream and backtest.

``AlertPipeline.add(doc)`` applies a scored document to its windows; ``advance()`` closes the
windows behind the watermark and evaluates every window boundary it passed, for every tracked
scope (empty windows included, so a quiet scope's baseline decays and a firing alert can
resolve), and returns the window stats and alerts produced.

A *dormant* scope (too few documents in every rule's span to be hot, no hot window in the
persistence memory, no alert state) cannot raise an alert on empty windows: it is not
evaluated at each boundary. A window with documents that leaves its spans below what a hot
verdict needs is only noted (``ScopeState.pending``). When its spans could turn hot, or a
restored alert wakes it, its detectors first catch up on the windows it skipped, empty and
pending ones, through the very ``step`` the eager loop ran, so baselines and alerts are
bit-identical; a scope that stays dormant until it expires is never caught up. Most tracked
scopes (one-off tickers, entities, sectors of quiet hours) are dormant most of the time.

``finish()`` does the same for the end of a finite archive. The Faust shell
(``monitor.stream.alerts``) and the backtest call exactly these methods; the state
round-trips through plain dicts for Faust tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from foundation.schemas import Alert, Evidence, ScoredDocument, WindowStat
from foundation.sectors import SectorLookup
from foundation.settings import RuleSettings, Settings
from monitor.core.detection import DetectorState, step
from monitor.core.emerging import EmergingTracker, default_common_words
from monitor.core.incidents import IncidentTracker
from monitor.core.lifecycle import (
    AlertState,
    Window,
    latest_per_fingerprint,
    states_from_alerts,
    transition,
)
from monitor.core.stories import StoryTracker, default_cues
from monitor.core.surges import COUNT_KINDS
from monitor.core.watchlists import WatchlistScopes, rules_for
from monitor.core.windowing import (
    ClosedWindow,
    WindowAcc,
    WindowAggregator,
    from_epoch,
    scope_key,
    split_scope_key,
)

# A tracked scope that saw no document for this many windows (and is not firing) is dropped,
# which bounds memory for one-off tickers and sources (576 x 5 min = 2 days).
IDLE_EXPIRY_WINDOWS = 576
META_KEY = "__meta__"


@dataclass(slots=True)
class ScopeState:
    detectors: dict[str, DetectorState] = field(default_factory=dict)
    alerts: dict[str, AlertState] = field(default_factory=dict)
    last_active: int = 0  # start of the last window with documents
    # Evidence of the recent closed windows (start -> most negative documents), for alerts
    # judged on a span of windows.
    evidence: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    # Start of the last window folded into the detectors; None: up to date (a new scope).
    # Behind the pipeline's clock only while the scope is dormant (module docstring).
    upto: int | None = None
    # Windows with documents after ``upto`` not folded into the detectors yet (start ->
    # (count, negative)): a dormant scope whose spans with them still cannot turn hot.
    pending: dict[int, tuple[int, int]] = field(default_factory=dict)

    def firing(self) -> bool:
        return any(a.status == "firing" for a in self.alerts.values())


@dataclass(slots=True)
class PipelineOutput:
    updated: list[WindowStat] = field(default_factory=list)  # changed open windows
    closed: list[WindowStat] = field(default_factory=list)  # final windows
    alerts: list[Alert] = field(default_factory=list)

    def extend(self, other: PipelineOutput) -> None:
        self.updated.extend(other.updated)
        self.closed.extend(other.closed)
        self.alerts.extend(other.alerts)


class AlertPipeline:
    def __init__(
        self,
        settings: Settings,
        *,
        track_updates: bool = True,
        sectors: SectorLookup | None = None,
        known_names: frozenset[str] = frozenset(),
        keep_incidents: bool = False,
        skip_dormant: bool = True,
        closed_stats: bool = True,
    ) -> None:
        """``known_names``: lower-cased tokens of the listed names
        (``ingest.tickers.default_index().name_tokens()``), never emerging entities.
        ``skip_dormant`` False evaluates every scope at every boundary (the reference the
        tests hold the default to). ``closed_stats`` False leaves ``PipelineOutput.closed``
        empty, for a caller that already sent every window from ``updated``."""
        self.settings = settings
        self.size_s = settings.windows.size_s
        self.rules: list[RuleSettings] = list(settings.alerts.rules)
        em = settings.alerts.emerging
        self.emerging: EmergingTracker | None = None
        if em.enabled and any("entity" in r.scopes for r in self.rules):
            self.emerging = EmergingTracker(
                size_s=self.size_s,
                min_docs=em.min_docs,
                min_sources=em.min_sources,
                span_windows=em.span_windows,
                idle_windows=em.idle_windows,
                capacity=em.capacity,
                common=default_common_words(),
                known=known_names,
            )
        st = settings.alerts.stories
        self.stories: StoryTracker | None = None
        if st.enabled and any("story" in r.scopes for r in self.rules):
            self.stories = StoryTracker(
                size_s=self.size_s,
                source_gap_windows=st.source_gap_windows,
                capacity=st.capacity,
                cues=default_cues(),
            )
        # keep_incidents: remember every incident (a finite backtest lists them all).
        self.incidents = IncidentTracker(
            settings.alerts.incident_gap_s, keep_history=keep_incidents
        )
        self.watchlists = WatchlistScopes(settings.watchlists)
        self._watch_rules = rules_for(self.rules, settings.watchlists)
        self.agg = WindowAggregator(
            settings.windows.size_s,
            settings.windows.allowed_lateness_s,
            settings.alerts.evidence_docs,
            track=track_updates,
            sectors=sectors,
            extra_scopes=self._extra_scopes
            if self.emerging is not None or self.watchlists.lists or self.stories is not None
            else None,
        )
        self.track_updates = track_updates
        self.scopes: dict[str, ScopeState] = {}
        self.next_eval: int | None = None
        # First window judged (event time): the count rules wait one span after it.
        self.first_eval: int | None = None
        self._detected_kinds = {k for r in self.rules for k in r.scopes}
        self._span = max((r.span_windows for r in self.rules), default=1)
        self.changed: set[str] = set()  # scope keys whose state changed since last dump
        self.dropped: set[str] = set()
        # Scopes evaluated at every boundary; the others in self.scopes are dormant, listed
        # in _expiry under the boundary at which they expire unless woken before.
        self._live: set[str] = set()
        self._expiry: dict[int, set[str]] = {}
        self._rules_of: dict[str, list[RuleSettings]] = {}  # scope kind -> its rules
        self._skip_dormant = skip_dormant
        self._closed_stats = closed_stats

    # -- input ---------------------------------------------------------------------------
    def add(self, doc: ScoredDocument) -> str:
        return self.agg.add(doc)

    def _extra_scopes(self, doc: ScoredDocument) -> list[str]:
        keys = self.emerging.scopes(doc) if self.emerging is not None else []
        if self.watchlists.lists:
            keys.extend(self.watchlists.scopes(doc))
        if self.stories is not None:
            d = doc.document
            names = [t.strip().upper() for t in d.tickers if t.strip()]
            names.extend(d.entities)
            # Listed names only: an emerging name may be a person, a place or a product, and
            # an adverse event attached to a person ("protesters heckle Biden") is politics,
            # not a firm's risk. Emerging names keep their entity: scopes and count rules.
            keys.extend(self.stories.scopes(doc, list(dict.fromkeys(names))))
        return keys

    def _rules(self, kind: str, scope: str) -> list[RuleSettings]:
        if kind == "watchlist":
            return self._watch_rules.get(scope, [])
        rules = self._rules_of.get(kind)
        if rules is None:
            rules = self._rules_of[kind] = [r for r in self.rules if kind in r.scopes]
        return rules

    # -- evaluation ----------------------------------------------------------------------
    def advance(self) -> PipelineOutput:
        wm = self.agg.watermark
        out = PipelineOutput()
        if self.track_updates:
            out.updated = self.agg.updates()
            self.changed.update(k for k in (s.scope_kind + ":" + s.scope for s in out.updated))
        if wm is None:
            return out
        closed = self.agg.close_ready()
        # A closed window leaves its scope's state: the table must forget it too.
        self.changed.update(c.key for c in closed)
        self._evaluate(closed, wm, out)
        return out

    def finish(self) -> PipelineOutput:
        """Close every window and evaluate up to the end of the last one (archive end)."""
        out = PipelineOutput()
        if self.track_updates:
            out.updated = self.agg.updates()
        closed = self.agg.close_all()
        if closed:
            self._evaluate(closed, max(c.acc.start for c in closed) + self.size_s, out)
        return out

    def _evaluate(self, closed: list[ClosedWindow], until: float, out: PipelineOutput) -> None:
        size = self.size_s
        stories = self.stories
        by_start: dict[int, list[ClosedWindow]] = {}
        for c in closed:
            if self._closed_stats:
                # Story windows are stored with their documents, as the stream publishes them.
                out.closed.append(c.acc.to_stat(c.key, size))
            if stories is not None and c.key.startswith("story:"):
                # What the story rule judges: new outlets, counted here in close order (start,
                # key), so arrival order does not matter. A window rebuilt from stored stats
                # has no outlets and is judged on its documents.
                c = ClosedWindow(c.key, stories.close(c.key, c.acc))
            by_start.setdefault(c.acc.start, []).append(c)
        if self.next_eval is None:
            if not closed:
                return
            self.next_eval = min(by_start)
        ws = self.next_eval
        starts = sorted(s for s in by_start if s >= ws)
        i = 0
        while ws + size <= until:
            if not self.scopes and ws not in by_start:
                # Nothing tracked and nothing closed here: evaluating changes nothing, so go
                # straight to the next closed window. Bounded work for any jump of the
                # watermark (a year-9999 document used to wedge the worker here).
                while i < len(starts) and starts[i] < ws:
                    i += 1
                last = ws + int((until - size - ws) // size) * size
                ws = starts[i] if i < len(starts) and starts[i] <= last else last + size
                continue
            self._evaluate_boundary(ws, by_start.get(ws, []), out)
            ws += size
        self.next_eval = ws

    def _evaluate_boundary(self, ws: int, closed: list[ClosedWindow], out: PipelineOutput) -> None:
        size = self.size_s
        accs: dict[str, WindowAcc] = {}
        for c in closed:
            kind, _ = split_scope_key(c.key)
            if kind in self._detected_kinds:
                accs[c.key] = c.acc
                st = self.scopes.get(c.key)
                if st is None:
                    st = self.scopes[c.key] = ScopeState(upto=ws - size)
                # A story window with no new outlet is not activity (the story's outlets
                # were counted already), as if the window had never opened.
                if c.acc.count or kind != "story":
                    st.last_active = ws
                if c.key in self._live or not self._stays_dormant(c.key, st, c.acc, ws):
                    self._live.add(c.key)
        idle = IDLE_EXPIRY_WINDOWS * size
        for key in self._expiry.pop(ws, ()):
            # A dormant scope idle for the expiry time: dropped as the eager loop dropped it
            # (a woken one has a later last_active, and an entry of its own if dormant again).
            st = self.scopes.get(key)
            if st is not None and key not in self._live and st.last_active + idle == ws:
                del self.scopes[key]
                self.dropped.add(key)
        start, end = from_epoch(ws), from_epoch(ws + size)
        per_day = 86400 / size
        if self.first_eval is None:
            self.first_eval = ws
        judged = (ws - self.first_eval) // size  # windows judged so far in this run
        # The alerts of this boundary, filed into incidents together (their transitions).
        raised: list[tuple[Alert, list[str], set[str]]] = []
        for key in sorted(self._live):
            st = self.scopes[key]
            acc = accs.get(key)
            kind, scope = split_scope_key(key)
            rules = self._rules(kind, scope)
            if st.upto is not None and st.upto < ws - size:
                self._catch_up(st, rules, ws)
            st.upto = ws
            count = acc.count if acc else 0
            negative = acc.negative if acc else 0
            if acc is not None and acc.evidence:
                st.evidence[ws] = acc.evidence
            for old in [s for s in st.evidence if s <= ws - self._span * size]:
                del st.evidence[old]
            for rule in rules:
                det = st.detectors.get(rule.name)
                if det is None:
                    det = st.detectors[rule.name] = DetectorState()
                decision = step(rule, det, count, negative, per_day, warming=judged < _warmup(rule))
                astate = st.alerts.get(rule.name)
                if astate is None:
                    if not decision.persistent:
                        continue  # inactive, nothing starts: transition would change nothing
                    astate = AlertState()
                evidence = (
                    self._evidence(st, ws - (rule.span_windows - 1) * size) if decision.hot else ()
                )
                new_state, alert = transition(
                    astate,
                    decision,
                    Window(rule.name, kind, scope, start, end),
                    end,
                    self.settings.alerts,
                    resolve_after_windows=rule.resolve_after_windows,
                    evidence=evidence,
                )
                if new_state.status == "inactive":
                    st.alerts.pop(rule.name, None)
                else:
                    st.alerts[rule.name] = new_state
                if alert is not None:
                    span_start = ws - (rule.span_windows - 1) * size
                    span_ev = [e for t, evs in st.evidence.items() if t >= span_start for e in evs]
                    links = [e["id"] for e in span_ev]
                    names = {n for e in span_ev for n in e.get("names", ())}
                    raised.append((alert, links, names))
            self.changed.add(key)
            if ws - st.last_active >= idle and not st.firing():
                del self.scopes[key]
                self._live.discard(key)
                self.dropped.add(key)
            elif self._skip_dormant and not st.alerts and _cannot_heat(st, rules, ws, size):
                self._live.discard(key)
                self._expiry.setdefault(st.last_active + idle, set()).add(key)
        out.alerts.extend(self.incidents.file(raised))

    def _stays_dormant(self, key: str, st: ScopeState, acc: WindowAcc, ws: int) -> bool:
        """For a dormant (or new) scope with documents in the window closing at ``ws``:
        when its spans with them still cannot turn hot, the window joins ``st.pending``
        and the scope stays dormant (True); else it is evaluated from here on (False)."""
        if not self._skip_dormant or st.alerts:
            return False
        size = self.size_s
        rules = self._rules(*split_scope_key(key))
        st.pending[ws] = (acc.count, acc.negative)
        if len(st.pending) > self._span and st.upto is not None and self.first_eval is not None:
            # Windows before the longest span only feed the baselines: fold them into the
            # detectors, so a scope with a steady trickle holds at most a span's number of
            # them (it held every one for as long as it lived). Not at every window: most
            # dormant scopes expire with a few, and are never caught up at all.
            self._catch_up(st, rules, ws - (self._span - 1) * size)
        if not _cannot_heat(st, rules, ws, size):
            del st.pending[ws]
            return False
        if acc.evidence:
            st.evidence[ws] = acc.evidence
        for old in [s for s in st.evidence if s <= ws - self._span * size]:
            del st.evidence[old]
        self._expiry.setdefault(ws + IDLE_EXPIRY_WINDOWS * size, set()).add(key)
        self.changed.add(key)
        return True

    def _catch_up(self, st: ScopeState, rules: list[RuleSettings], ws: int) -> None:
        """Fold the windows a dormant scope skipped (after ``st.upto``, before ``ws``: empty
        ones and its pending ones) into its detectors, exactly as evaluating them at their
        boundaries did. Nothing else happened in them: a dormant scope's verdict was never
        hot and its alert state stayed inactive (see ``_cannot_heat``)."""
        assert st.upto is not None and self.first_eval is not None
        size = self.size_s
        per_day = 86400 / size
        w = st.upto + size
        while w < ws:
            judged = (w - self.first_eval) // size
            count, negative = st.pending.pop(w, (0, 0))
            for rule in rules:
                det = st.detectors.get(rule.name)
                if det is None:
                    det = st.detectors[rule.name] = DetectorState()
                decision = step(rule, det, count, negative, per_day, warming=judged < _warmup(rule))
                assert not decision.hot, "a dormant scope cannot turn hot"
            w += size
        st.upto = ws - size

    def scope_state(self, key: str) -> ScopeState | None:
        """The state of a tracked scope, its detectors brought up to the last boundary
        evaluated (a dormant scope's lag behind on the empty windows it skipped)."""
        st = self.scopes.get(key)
        if st is None or st.upto is None or self.next_eval is None:
            return st
        if st.upto < self.next_eval - self.size_s:
            self._catch_up(st, self._rules(*split_scope_key(key)), self.next_eval)
        return st

    def _evidence(self, st: ScopeState, since: int) -> tuple[Evidence, ...]:
        items = [e for start, evs in st.evidence.items() if start >= since for e in evs]
        items.sort(key=lambda e: (e["sentiment_probs"].get("negative", 0.0), e["id"]), reverse=True)
        seen: set[str] = set()
        out: list[Evidence] = []
        for e in items:
            if e["id"] not in seen and len(out) < self.settings.alerts.evidence_docs:
                seen.add(e["id"])
                out.append(Evidence.model_validate(e))
        return tuple(out)

    # -- state for Faust tables / restarts -------------------------------------------------
    def dump_meta(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "max_ts": self.agg.max_ts,
            "next_eval": self.next_eval,
            "late_total": self.agg.late_total,
            "first_eval": self.first_eval,
        }
        if self.emerging is not None:
            out["emerging"] = self.emerging.to_dict()
        if self.stories is not None:
            out["stories"] = self.stories.to_dict()
        out["incidents"] = self.incidents.to_dict()
        return out

    def dump_scope(self, key: str) -> dict[str, Any] | None:
        """Everything about one scope (open windows, detectors, alert states); None when the
        scope holds nothing any more."""
        windows = self.agg.windows.get(key, {})
        st = self.scopes.get(key)
        if not windows and st is None:
            return None
        out: dict[str, Any] = {"w": [acc.to_dict() for acc in windows.values()]}
        if st is not None:
            out["d"] = {r: d.to_dict() for r, d in st.detectors.items()}
            out["a"] = {r: a.to_dict() for r, a in st.alerts.items()}
            out["last"] = st.last_active
            out["e"] = [[start, evs] for start, evs in sorted(st.evidence.items())]
            if st.upto is not None:
                out["u"] = st.upto
            if st.pending:
                out["p"] = [[w, c, k] for w, (c, k) in sorted(st.pending.items())]
        return out

    def take_changes(self) -> dict[str, dict[str, Any] | None]:
        """Dumps of every scope changed since the last call (None: delete the key)."""
        keys = set(self.changed) | self.dropped
        keys.update(k for k, _ in self.agg.touched)
        self.changed.clear()
        self.dropped.clear()
        return {k: self.dump_scope(k) for k in sorted(keys)}

    def load(self, meta: dict[str, Any] | None, scopes: dict[str, dict[str, Any]]) -> None:
        """Restore from dumps (the inverse of dump_meta + dump_scope)."""
        if meta:
            self.agg.max_ts = meta.get("max_ts")
            self.next_eval = meta.get("next_eval")
            self.agg.late_total = int(meta.get("late_total", 0))
            self.first_eval = meta.get("first_eval")
            self.incidents.load(meta.get("incidents"))
            if self.emerging is not None:
                self.emerging.load(meta.get("emerging"))
            if self.stories is not None:
                self.stories.load(meta.get("stories"))
        # Dumps without "u" (older versions) were evaluated up to the last boundary.
        caught_up = None if self.next_eval is None else int(self.next_eval) - self.size_s
        idle = IDLE_EXPIRY_WINDOWS * self.size_s
        for key, d in scopes.items():
            if key == META_KEY or not d:
                continue
            if d.get("w"):
                self.agg.windows[key] = {int(w["start"]): WindowAcc.from_dict(w) for w in d["w"]}
            if "d" in d:
                upto = d.get("u", caught_up)
                st = self.scopes[key] = ScopeState(
                    detectors={r: DetectorState.from_dict(v) for r, v in d["d"].items()},
                    alerts={r: AlertState.from_dict(v) for r, v in d.get("a", {}).items()},
                    last_active=int(d.get("last", 0)),
                    evidence={int(start): evs for start, evs in d.get("e", [])},
                    upto=None if upto is None else int(upto),
                    pending={int(w): (int(c), int(k)) for w, c, k in d.get("p", [])},
                )
                if st.alerts or not self._skip_dormant:
                    self._live.add(key)
                elif st.pending or (caught_up is not None and (st.upto or 0) < caught_up):
                    # Dormant when dumped: only dormant scopes lag or hold pending windows.
                    self._expiry.setdefault(st.last_active + idle, set()).add(key)
                elif caught_up is not None and _cannot_heat(
                    st, self._rules(*split_scope_key(key)), caught_up, self.size_s
                ):
                    self._expiry.setdefault(st.last_active + idle, set()).add(key)
                else:
                    self._live.add(key)

    def rebuild(self, stats: Iterable[WindowStat], alerts: Iterable[Alert]) -> int:
        """Rebuild detector state from stored closed windows and re-arm stored firing alerts,
        for a worker whose tables were lost (the embedded broker keeps no data across a
        restart; the store does). Alerts the replay produces are dropped: they were sent the
        first time. Returns how many stored alerts were re-armed."""
        by_start: dict[int, list[ClosedWindow]] = {}
        for s in sorted(stats, key=lambda s: (s.window_start, s.scope_kind, s.scope)):
            acc = WindowAcc(
                start=int(s.window_start.timestamp()),
                count=s.count,
                negative=s.negative,
                neutral=s.neutral,
                positive=s.positive,
                score_sum=s.score_sum,
            )
            by_start.setdefault(acc.start, []).append(
                ClosedWindow(scope_key(s.scope_kind, s.scope), acc)
            )
        if by_start:
            closed = [c for start in sorted(by_start) for c in by_start[start]]
            self._evaluate(closed, max(by_start) + self.size_s, PipelineOutput())
            self.agg.max_ts = max(self.agg.max_ts or 0.0, float(max(by_start) + self.size_s))
        return self.restore_alerts(alerts)

    def restore_alerts(self, alerts: Iterable[Alert]) -> int:
        """Re-arm alerts still firing in an external record (the store) that the state lost
        (e.g. the embedded broker was restarted, taking the changelogs with it), so they are
        not fired a second time. Returns how many were restored."""
        rules = {r.name for r in self.rules}
        latest = latest_per_fingerprint(alerts)
        states = states_from_alerts(latest.values())
        n = 0
        for a in latest.values():
            if a.fingerprint not in states or a.rule not in rules:
                continue
            key = scope_key(a.scope_kind, a.scope)
            st = self.scopes.get(key)
            if st is None:
                st = self.scopes[key] = ScopeState(last_active=self.next_eval or 0)
            if a.rule not in st.alerts:
                st.alerts[a.rule] = states[a.fingerprint]
                self.incidents.restore(a)  # its resolve closes the stored incident
                self._live.add(key)  # a dormant scope catches up at its next boundary
                self.changed.add(key)
                n += 1
        return n


def _cannot_heat(st: ScopeState, rules: list[RuleSettings], ws: int, size: int) -> bool:
    """Whether no run of empty windows after ``ws`` can make any rule of the scope hot,
    from its detectors (folded up to ``st.upto``) and pending windows. Empty windows only
    take documents out of a span, so it holds when each span ending at ``ws`` already lacks
    what a hot verdict needs: ``min_count`` documents for the share and volume tests,
    ``min_negative`` negatives for the count rules (and ``min_count`` outlets for a story;
    or no document at all: the share
    test's Wilson bound of nothing is 0, the volume z of nothing at most 0, a count rule's
    surprise at 0 documents 0). With no hot window in the persistence memory, nothing can
    become persistent either. A rule kind this does not know keeps the scope evaluated."""
    for rule in rules:
        det = st.detectors.get(rule.name)
        if rule.persistence_k < 1 or (det is not None and (st.upto is None or any(det.recent))):
            return False
        first = ws - (rule.span_windows - 1) * size  # the oldest window of the span
        n = k = 0
        if det is not None and st.upto is not None and st.upto >= first:
            # det.span[-1] is the window at st.upto, det.span[-2] the one before, ...
            for c, x in det.span[-((st.upto - first) // size + 1) :]:
                n += c
                k += x
        for w, (c, x) in st.pending.items():
            if w >= first:
                n += c
                k += x
        if rule.kind in ("negative_share", "volume"):
            if n >= rule.min_count and not (
                n == 0 and (rule.kind == "negative_share" or rule.volume_z > 0)
            ):
                return False
        elif rule.kind == "story":
            # Hot needs min_count outlets and min_negative negative readings.
            if n >= rule.min_count and k >= rule.min_negative and n > 0:
                return False
        elif rule.kind in COUNT_KINDS:
            if k >= rule.min_negative and not (n == 0 and rule.surprise > 0):
                return False
        else:
            return False
    return True


def _warmup(rule: RuleSettings) -> float:
    """Windows of event time a run judges before its count rules may fire: a span and a
    baseline half-life (at the start of a run every scope looks new; after one half-life the
    baseline carries half of its eventual weight)."""
    return max(rule.span_windows, rule.baseline_halflife_windows)
