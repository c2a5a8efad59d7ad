"""Per-connection limits on the courier WebSocket: message size and message rate.

A courier app sends a batch of fixes every few seconds, an offer answer now and then, and a ping.
A connection sending far more (a bug in a loop, or an attack) would take a worker's event loop
and the ingest pipeline from everyone else, so it is closed with a code the app can act on:

* 1009 "message too big" for a message above `max_message_bytes`;
* 1008 "policy violation", reason `rate_limited`, when messages arrive faster than
  `messages_per_s` on average, with bursts of up to `burst` allowed (a token bucket: an app
  catching up after a tunnel sends its backlog at once).

Pure: the caller passes the clock.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SocketLimits", "MessageBudget", "CLOSE_TOO_BIG", "CLOSE_POLICY"]

CLOSE_TOO_BIG = 1009
CLOSE_POLICY = 1008


@dataclass(frozen=True)
class SocketLimits:
    max_message_bytes: int = 256 * 1024
    messages_per_s: float = 20.0
    burst: int = 200


class MessageBudget:
    """One connection's token bucket; `admit` says why a message must close it, or None."""

    def __init__(self, limits: SocketLimits, *, now_s: float) -> None:
        self.limits = limits
        self.tokens = float(limits.burst)
        self.at_s = now_s

    def admit(self, size_bytes: int, *, now_s: float) -> tuple[int, str] | None:
        if size_bytes > self.limits.max_message_bytes:
            return CLOSE_TOO_BIG, f"message_too_big: at most {self.limits.max_message_bytes} bytes"
        elapsed = max(0.0, now_s - self.at_s)
        self.at_s = now_s
        self.tokens = min(float(self.limits.burst),
                          self.tokens + elapsed * self.limits.messages_per_s)
        if self.tokens < 1.0:
            return CLOSE_POLICY, (f"rate_limited: at most {self.limits.messages_per_s:g} "
                                  "messages/s")
        self.tokens -= 1.0
        return None
