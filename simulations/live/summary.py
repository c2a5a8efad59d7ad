"""What a live run counts, and its summary as JSON and as text.

Counters only grow; latencies keep a bounded reservoir sample (the percentiles of a long soak
stay honest without keeping every sample). `findings` names what an honest fleet should never
see: a 5xx, a lost acknowledgement, a refused point, scan or arrival.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Latency", "Summary", "percentile"]


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (`q` in [0, 100]) of already sorted values."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass
class Latency:
    """Seconds per sample; at most `capacity` samples kept (reservoir sampling)."""

    capacity: int = 100_000
    count: int = 0
    max_s: float = 0.0
    samples: list[float] = field(default_factory=list)
    _rng: random.Random = field(default_factory=lambda: random.Random(0), repr=False)

    def add(self, seconds: float) -> None:
        self.count += 1
        self.max_s = max(self.max_s, seconds)
        if len(self.samples) < self.capacity:
            self.samples.append(seconds)
        else:
            j = self._rng.randrange(self.count)
            if j < self.capacity:
                self.samples[j] = seconds

    def to_json(self) -> dict[str, Any]:
        ordered = sorted(self.samples)

        def ms(value: float | None) -> float | None:
            return None if value is None else round(value * 1000.0, 1)

        return {"count": self.count, "p50_ms": ms(percentile(ordered, 50)),
                "p99_ms": ms(percentile(ordered, 99)),
                "max_ms": ms(self.max_s) if self.count else None}


def _counter() -> Counter[str]:
    return Counter()


@dataclass
class Summary:
    """Everything one run counts. Mutated by the agents; read at the end."""

    points_sent: int = 0
    #: Points the service acknowledged as stored (each seq once, however often re-sent).
    points_acked: int = 0
    points_rejected: Counter[str] = field(default_factory=_counter)
    #: Sent, never acknowledged nor refused by the end of the run.
    points_unacked: int = 0
    ack_timeouts: int = 0
    ws_connects: int = 0
    ws_reconnects: int = 0
    ws_errors: Counter[str] = field(default_factory=_counter)
    orders_created: int = 0
    orders_create_failed: Counter[str] = field(default_factory=_counter)
    orders_picked_up: int = 0
    orders_delivered: int = 0
    orders_failed: int = 0
    orders_returned: int = 0
    #: Orders this run created, by their status when it ended.
    orders_final_status: Counter[str] = field(default_factory=_counter)
    #: Orders taken away from a courier (reassigned or released) while it held them.
    orders_withdrawn: int = 0
    offers_received: int = 0
    offers_accepted: int = 0
    offers_declined: int = 0
    #: Offers left unanswered, or answered after they ran out.
    offers_expired: int = 0
    #: Offers withdrawn by the service before the answer (another courier took the order).
    offers_closed: int = 0
    scans_ok: Counter[str] = field(default_factory=_counter)
    scans_refused: Counter[str] = field(default_factory=_counter)
    arrivals_ok: int = 0
    arrivals_refused: Counter[str] = field(default_factory=_counter)
    #: `"METHOD /path/{template}"` -> status (or `transport`) -> count.
    http_errors: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    http_requests: int = 0
    #: Calls sent again after a transport failure or a 5xx.
    http_retries: int = 0
    ack_rtt: Latency = field(default_factory=Latency)
    order_create: Latency = field(default_factory=Latency)
    scan: Latency = field(default_factory=Latency)
    notes: list[str] = field(default_factory=list)

    @property
    def offers_unanswered(self) -> int:
        """Offers still waiting for the courier's answer when the run ended."""
        return max(0, self.offers_received - self.offers_accepted - self.offers_declined
                   - self.offers_expired - self.offers_closed)

    def http_error(self, endpoint: str, status: int | str) -> None:
        self.http_errors[endpoint][str(status)] += 1

    def note(self, message: str, *, limit: int = 200) -> None:
        """A line worth reading after the run (the first `limit` are kept)."""
        if len(self.notes) < limit:
            self.notes.append(message)

    def findings(self) -> list[str]:
        """What an honest fleet on a healthy service should never meet."""
        out = []
        server_errors = {f"{endpoint} {status}": n
                         for endpoint, statuses in sorted(self.http_errors.items())
                         for status, n in sorted(statuses.items())
                         if status.startswith("5") or status == "transport"}
        for what, n in server_errors.items():
            out.append(f"{n} x {what}")
        if self.points_unacked:
            out.append(f"{self.points_unacked} points never acknowledged")
        if self.ack_timeouts:
            out.append(f"{self.ack_timeouts} acknowledgements late (reconnected to re-send)")
        for reason, n in sorted(self.points_rejected.items()):
            out.append(f"{n} points rejected: {reason}")
        for code, n in sorted(self.scans_refused.items()):
            out.append(f"{n} scans refused: {code}")
        for code, n in sorted(self.arrivals_refused.items()):
            out.append(f"{n} arrivals refused: {code}")
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "points": {"sent": self.points_sent, "acknowledged": self.points_acked,
                       "rejected": dict(sorted(self.points_rejected.items())),
                       "unacknowledged": self.points_unacked,
                       "ack_timeouts": self.ack_timeouts},
            "websocket": {"connects": self.ws_connects, "reconnects": self.ws_reconnects,
                          "errors": dict(sorted(self.ws_errors.items()))},
            "orders": {"created": self.orders_created,
                       "create_failed": dict(sorted(self.orders_create_failed.items())),
                       "picked_up": self.orders_picked_up,
                       "delivered": self.orders_delivered, "failed": self.orders_failed,
                       "returned": self.orders_returned, "withdrawn": self.orders_withdrawn,
                       "final_status": dict(sorted(self.orders_final_status.items()))},
            "offers": {"received": self.offers_received, "accepted": self.offers_accepted,
                       "declined": self.offers_declined, "expired": self.offers_expired,
                       "closed": self.offers_closed, "unanswered": self.offers_unanswered},
            "scans": {"ok": dict(sorted(self.scans_ok.items())),
                      "refused": dict(sorted(self.scans_refused.items()))},
            "arrivals": {"ok": self.arrivals_ok,
                         "refused": dict(sorted(self.arrivals_refused.items()))},
            "http": {"requests": self.http_requests, "retries": self.http_retries,
                     "errors": {endpoint: dict(sorted(statuses.items()))
                                for endpoint, statuses in sorted(self.http_errors.items())}},
            "latency": {"ack_rtt": self.ack_rtt.to_json(),
                        "order_create": self.order_create.to_json(),
                        "scan": self.scan.to_json()},
            "findings": self.findings(),
            "notes": list(self.notes),
        }

    def render(self, meta: dict[str, Any] | None = None) -> str:
        """The summary as a few lines of text."""
        data = self.to_json()
        lat = data["latency"]

        def latency(name: str) -> str:
            d = lat[name]
            if not d["count"]:
                return f"{name} -"
            return f"{name} p50 {d['p50_ms']:.0f} ms / p99 {d['p99_ms']:.0f} ms (n={d['count']})"

        def counts(values: dict[str, int]) -> str:
            return ", ".join(f"{k} {v}" for k, v in values.items()) or "none"

        p, o, f = data["points"], data["orders"], data["offers"]
        lines = []
        if meta:
            lines.append("live run: " + ", ".join(f"{k} {v}" for k, v in meta.items()))
        lines += [
            f"points    sent {p['sent']}, acknowledged {p['acknowledged']}, "
            f"rejected {sum(p['rejected'].values())} ({counts(p['rejected'])}), "
            f"unacknowledged {p['unacknowledged']}, ack timeouts {p['ack_timeouts']}",
            f"websocket connects {data['websocket']['connects']}, reconnects "
            f"{data['websocket']['reconnects']}, errors {counts(data['websocket']['errors'])}",
            f"orders    created {o['created']}, picked up {o['picked_up']}, delivered "
            f"{o['delivered']}, failed {o['failed']}, returned {o['returned']}, withdrawn "
            f"{o['withdrawn']}; at the end: {counts(o['final_status'])}",
            f"offers    received {f['received']}, accepted {f['accepted']}, declined "
            f"{f['declined']}, expired {f['expired']}, closed {f['closed']}, unanswered at "
            f"the end {f['unanswered']}",
            f"scans     ok {counts(data['scans']['ok'])}; refused "
            f"{counts(data['scans']['refused'])}",
            f"arrivals  ok {data['arrivals']['ok']}; refused "
            f"{counts(data['arrivals']['refused'])}",
            f"http      {data['http']['requests']} requests, {data['http']['retries']} "
            "retried; errors: "
            + ("none" if not data["http"]["errors"] else "; ".join(
                f"{endpoint} {counts(statuses)}"
                for endpoint, statuses in data["http"]["errors"].items())),
            "latency   " + "; ".join(latency(n) for n in ("ack_rtt", "order_create", "scan")),
        ]
        findings = data["findings"]
        lines.append("findings  " + ("none" if not findings else ""))
        lines += [f"  - {line}" for line in findings]
        return "\n".join(lines)
