"""Per-source request rate: a token bucket per source name (in this process).

`take(source, rate_per_s, burst, now)` spends one token or raises SourceRefused(429) whose
`retry_after` is the whole seconds until a token is back (at least 1).
"""
from __future__ import annotations

import math
import threading

from plugin.errors import SourceRefused


class RateLimiter:
    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}   # source -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, source: str, rate_per_s: float, burst: int, now: float) -> None:
        with self._lock:
            tokens, at = self._buckets.get(source, (float(burst), now))
            tokens = min(float(burst), tokens + max(0.0, now - at) * rate_per_s)
            if tokens < 1.0:
                self._buckets[source] = (tokens, now)
                wait = max(1, math.ceil((1.0 - tokens) / rate_per_s))
                raise SourceRefused(429, "throttled", f"too many requests from this source (limit {rate_per_s:g}/s); "
                                    f"retry after {wait} s", retry_after=wait)
            self._buckets[source] = (tokens - 1.0, now)
