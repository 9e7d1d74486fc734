"""Sign-in rate limits: too many failures for one user name, or from one client, lock it.

Failures are counted in a sliding window; reaching the limit locks the key (``user:NAME`` or
``client:ADDR``) for ``lockout_s``, during which even the right password is refused, so a
guessing run learns nothing. Unknown user names are counted like known ones (no enumeration
through the lockout). A success clears the user's count, not the client's, so an attacker
with one account of their own cannot reset the limit on their address.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

# Bound on the keys remembered (one per name or address tried); beyond it the stalest go.
MAX_KEYS = 50_000


@dataclass
class _Key:
    failures: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0
    touched: float = 0.0


class LoginLimiter:
    def __init__(
        self,
        *,
        max_failures: int,
        max_failures_per_client: int,
        window_s: float,
        lockout_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.max_failures_per_client = max_failures_per_client
        self.window_s = window_s
        self.lockout_s = lockout_s
        self._clock = clock
        self._keys: dict[str, _Key] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _names(user: str, client: str) -> tuple[str, str]:
        return f"user:{user[:200]}", f"client:{client}"

    def locked_for(self, user: str, client: str) -> float:
        """Seconds until ``user`` from ``client`` may try again; 0 when not locked."""
        now = self._clock()
        with self._lock:
            waits = [
                k.locked_until - now
                for name in self._names(user, client)
                if (k := self._keys.get(name)) is not None
            ]
        return max([0.0, *waits])

    def failure(self, user: str, client: str) -> None:
        now = self._clock()
        user_key, client_key = self._names(user, client)
        with self._lock:
            if len(self._keys) >= MAX_KEYS:
                self._prune(now)
            for name, limit in (
                (user_key, self.max_failures),
                (client_key, self.max_failures_per_client),
            ):
                k = self._keys.setdefault(name, _Key())
                k.touched = now
                while k.failures and now - k.failures[0] > self.window_s:
                    k.failures.popleft()
                k.failures.append(now)
                if len(k.failures) >= limit:
                    k.locked_until = now + self.lockout_s
                    k.failures.clear()

    def success(self, user: str, client: str) -> None:
        with self._lock:
            self._keys.pop(self._names(user, client)[0], None)

    def _prune(self, now: float) -> None:
        stale = [
            n
            for n, k in self._keys.items()
            if k.locked_until <= now and (not k.failures or now - k.failures[-1] > self.window_s)
        ]
        for n in stale:
            del self._keys[n]
        if len(self._keys) >= MAX_KEYS:  # still full: drop the least recently touched half
            for n in sorted(self._keys, key=lambda n: self._keys[n].touched)[: MAX_KEYS // 2]:
                del self._keys[n]
