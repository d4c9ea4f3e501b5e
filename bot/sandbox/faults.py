"""Rate limiting and fault injection: the ways the emulated Web API says no."""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

# Methods that write messages: the default target of inject_429().
MESSAGE_METHODS = frozenset(
    {"chat.postMessage", "chat.update", "chat.postEphemeral", "chat.delete", "chat.scheduleMessage"}
)


class ChannelRateLimiter:
    """Per-channel token bucket for chat.postMessage, like Slack's "1 message per second".

    Each channel holds up to `burst` tokens and regains one every `1 / per_second` seconds; a post
    takes one token or is refused with a Retry-After (whole seconds, at least 1) after which a token
    is sure to be available again. Refused posts take no token.
    """

    def __init__(self, *, per_second: float = 1.0, burst: int = 3) -> None:
        self.per_second = per_second
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}  # channel -> (tokens, at)

    def acquire(self, channel: str, now: float) -> int | None:
        """Take a token for a post to `channel`: None if allowed, else the Retry-After seconds."""
        tokens, at = self._buckets.get(channel, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.per_second)
        if tokens >= 1.0:
            self._buckets[channel] = (tokens - 1.0, now)
            return None
        self._buckets[channel] = (tokens, now)
        return max(1, math.ceil((1.0 - tokens) / self.per_second))

    def reset(self) -> None:
        """Forget all buckets (every channel gets its full burst back)."""
        self._buckets.clear()


@dataclass
class _Countdown:
    """An injected answer for the next `times` matching calls (None = forever)."""

    methods: frozenset[str] | None
    times: int | None

    def take(self, method: str) -> bool:
        if self.methods is not None and method not in self.methods:
            return False
        if self.times is not None:
            if self.times <= 0:
                return False
            self.times -= 1
        return True


@dataclass
class _InjectedError(_Countdown):
    error: str = "internal_error"


@dataclass
class _InjectedStatus(_Countdown):
    status: int = 500


@dataclass
class _Injected429:
    ratio: float
    retry_after: tuple[int, int]
    methods: frozenset[str] | None
    rng: random.Random = field(default_factory=random.Random)

    def draw(self, method: str) -> int | None:
        """Retry-After seconds if this call is one of the unlucky fraction, else None."""
        if self.methods is not None and method not in self.methods:
            return None
        if self.rng.random() >= self.ratio:
            return None
        return self.rng.randint(*self.retry_after)


class Faults:
    """The fault-injection knobs; not thread-safe by itself (the Workspace lock guards it)."""

    def __init__(self) -> None:
        self._errors: list[_InjectedError] = []
        self._statuses: list[_InjectedStatus] = []
        self._ratelimit: _Injected429 | None = None
        # Channels whose calls are answered only once released (a Slack that hangs).
        self._stalled: dict[str, threading.Event] = {}
        self.stalled_calls = 0  # calls waiting for their answer right now

    def stall(self, channel: str) -> None:
        """Hold the answer to every call about `channel` until `release(channel)`."""
        self._stalled.setdefault(channel, threading.Event())

    def release(self, channel: str | None = None) -> None:
        """Answer the calls held for `channel` (None: every channel), and stop holding them."""
        for name in [channel] if channel is not None else list(self._stalled):
            gate = self._stalled.pop(name, None)
            if gate is not None:
                gate.set()

    def stall_for(self, channel: str | None) -> threading.Event | None:
        """What a call about `channel` must wait for before it is answered, if anything."""
        return None if channel is None else self._stalled.get(channel)

    def inject_error(self, method: str | Iterable[str], error: str, *, times: int | None) -> None:
        """Answer the next `times` calls to `method` with ok:false `error` (None: until cleared)."""
        self._errors.append(_InjectedError(_methods(method), times, error))

    def inject_http_status(
        self, status: int, *, times: int | None, methods: str | Iterable[str] | None
    ) -> None:
        """Answer the next `times` matching calls with HTTP `status` (e.g. 500, 503)."""
        self._statuses.append(_InjectedStatus(_methods(methods), times, status))

    def inject_429(
        self,
        *,
        ratio: float,
        retry_after: tuple[int, int],
        seed: int | None,
        methods: str | Iterable[str] | None,
    ) -> None:
        """Answer a random `ratio` of matching calls with 429 and a Retry-After in `retry_after`."""
        if not 0.0 <= ratio <= 1.0:
            raise ValueError(f"ratio must be within [0, 1], got {ratio}")
        low, high = retry_after
        if not 1 <= low <= high:
            raise ValueError(f"retry_after must be 1 <= low <= high, got {retry_after}")
        self._ratelimit = _Injected429(ratio, (low, high), _methods(methods), random.Random(seed))

    def clear(self) -> None:
        """Remove every injected fault."""
        self._errors.clear()
        self._statuses.clear()
        self._ratelimit = None
        self.release()

    def status_for(self, method: str) -> int | None:
        """The injected HTTP status for this call, if any."""
        return next((s.status for s in self._statuses if s.take(method)), None)

    def error_for(self, method: str) -> str | None:
        """The injected ok:false error for this call, if any."""
        return next((e.error for e in self._errors if e.take(method)), None)

    def retry_after_for(self, method: str) -> int | None:
        """The injected 429's Retry-After for this call, if it is drawn to fail."""
        return None if self._ratelimit is None else self._ratelimit.draw(method)


def _methods(methods: str | Iterable[str] | None) -> frozenset[str] | None:
    if methods is None:
        return None
    if isinstance(methods, str):
        return frozenset({methods})
    return frozenset(methods)
