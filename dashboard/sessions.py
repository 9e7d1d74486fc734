"""Server-side login sessions: the cookie holds only a random id, the server holds the rest.

So a session ends for good at logout (a copied cookie is dead too), after ``idle_s`` without
a request, and ``max_age_s`` after login, whatever the browser keeps. Sessions live in the
dashboard process (the shipped server is one process): a restart signs everyone out.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

# A bound on memory: sessions are made only by a successful login, so this is never reached
# in practice; when it is, the oldest session goes.
MAX_SESSIONS = 10_000


@dataclass
class LoginSession:
    user: str
    csrf: str
    created: float
    seen: float


class SessionStore:
    def __init__(
        self,
        max_age_s: float,
        idle_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_age_s = max_age_s
        self.idle_s = idle_s
        self._clock = clock
        self._sessions: dict[str, LoginSession] = {}
        self._lock = threading.Lock()

    def new(self, user: str) -> str:
        """Start a session for ``user``; returns its id (for the cookie)."""
        now = self._clock()
        sid = secrets.token_urlsafe(32)
        with self._lock:
            self._expire(now)
            while len(self._sessions) >= MAX_SESSIONS:
                self._sessions.pop(next(iter(self._sessions)))
            self._sessions[sid] = LoginSession(user, secrets.token_urlsafe(32), now, now)
        return sid

    def get(self, sid: str | None) -> LoginSession | None:
        """The live session ``sid`` (its idle clock restarted), or None."""
        if not sid:
            return None
        now = self._clock()
        with self._lock:
            s = self._sessions.get(sid)
            if s is None:
                return None
            if now - s.created > self.max_age_s or now - s.seen > self.idle_s:
                del self._sessions[sid]
                return None
            s.seen = now
            return s

    def revoke(self, sid: str | None) -> None:
        with self._lock:
            self._sessions.pop(sid or "", None)

    def __len__(self) -> int:
        return len(self._sessions)

    def _expire(self, now: float) -> None:
        dead = [
            k
            for k, s in self._sessions.items()
            if now - s.created > self.max_age_s or now - s.seen > self.idle_s
        ]
        for k in dead:
            del self._sessions[k]
