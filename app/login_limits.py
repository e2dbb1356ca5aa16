"""Failed logins limited per client address and per user name, shared by every server process.

After ``max_failures`` failed attempts within ``window_s`` seconds from one
address, or for one user name, further attempts are refused (HTTP 429) until
the oldest of those failures is ``window_s`` old. Refused attempts are not
counted, so waiting out the ``Retry-After`` time always allows another try.
The failure times live in a diskcache under the shared cache
folder (``<cache dir>/logins``), so every worker process and every server on
that folder counts the same attempts.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from pathlib import Path

import diskcache

MAX_FAILURES = 5
WINDOW_S = 60.0
STATE_BYTES = 16 * 2**20  # bounded: one small entry per recently failing address or name


class LoginLimiter:
    """Counts failed logins per address and per user name (see the module docstring).

    Args:
        folder: the diskcache folder (created when missing), shared by every process.
        max_failures: failures allowed within one window.
        window_s: the window, seconds.
        clock: the time source, seconds (wall clock: processes must agree on it).
    """

    def __init__(self, folder: str | Path, max_failures: int = MAX_FAILURES, window_s: float = WINDOW_S,
                 clock: Callable[[], float] = time.time):
        self.store = diskcache.Cache(str(folder), size_limit=STATE_BYTES)
        self.max_failures = max_failures
        self.window_s = window_s
        self.clock = clock

    @staticmethod
    def _keys(address: str, name: str) -> tuple[str, str]:
        # names come from the form: hashed, so a long one cannot make a long key
        return f"address/{address}", f"name/{hashlib.sha256(name.encode()).hexdigest()[:32]}"

    def _recent(self, key: str, now: float) -> list[float]:
        return [t for t in self.store.get(key, default=()) if now - t < self.window_s]

    def retry_after(self, address: str, name: str) -> int:
        """Whole seconds until a login from ``address`` as ``name`` may be tried; 0 when it may now."""
        now = self.clock()
        wait = 0.0
        for key in self._keys(address, name):
            recent = self._recent(key, now)
            if len(recent) >= self.max_failures:
                wait = max(wait, sorted(recent)[-self.max_failures] + self.window_s - now)
        return math.ceil(wait) if wait > 0 else 0

    def record_failure(self, address: str, name: str) -> None:
        """Count a failed login from ``address`` as ``name``."""
        now = self.clock()
        with self.store.transact():
            for key in self._keys(address, name):
                recent = self._recent(key, now)[-(self.max_failures - 1):] if self.max_failures > 1 else []
                self.store.set(key, [*recent, now], expire=self.window_s)
