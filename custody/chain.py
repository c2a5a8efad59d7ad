"""The custody ledger as a pure hash chain: who held an order's parcel, from when, and where.

Each entry is encoded canonically (JSON, sorted keys, no spaces, every value a string, an
integer or null, times as UTC ISO 8601 with microseconds, coordinates with 7 decimals, money
with 2) and its SHA-256 covers that encoding, which includes the previous entry's hash. The
first entry of an order links to `GENESIS_HASH`. Changing any stored field of an entry breaks
its own hash; recomputing that hash breaks the link from the next entry; and each handoff's
hash is also written into the order's append-only event log when it happens, which catches a
rewritten or removed last entry. So `verify_chain` names the first entry that no longer
holds, which is what settles a dispute.

No I/O here: `custody.store` reads and writes the rows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum

__all__ = [
    "GENESIS_HASH",
    "CustodyKind",
    "CustodyEntry",
    "ChainVerdict",
    "canonical_bytes",
    "entry_hash",
    "chain_next",
    "verify_chain",
]

GENESIS_HASH = "0" * 64


class CustodyKind(StrEnum):
    CREATED = "created"
    PICKED_UP = "picked_up"
    DELIVERED = "delivered"
    FAILED = "failed"
    RETURNED = "returned"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class CustodyEntry:
    """One link: `actor_id` did `kind` (a courier scanning, a seller creating...) at `at`.

    `counterparty_id` is the user on the other side of the handoff (the seller at pickup, the
    buyer at dropoff); `token_id` is the handoff token's `jti`; `method` is how the handoff
    was proven (`qr`, `code`, `offline_qr`, or `system` for entries without a scan).
    """

    order_id: int
    seq: int
    kind: CustodyKind
    at: datetime
    recorded_at: datetime
    actor_id: int | None = None
    courier_id: int | None = None
    counterparty_id: int | None = None
    lat: float | None = None
    lon: float | None = None
    token_id: str | None = None
    method: str = "system"
    cod_amount: Decimal | None = None
    prev_hash: str = GENESIS_HASH
    hash: str = ""


def _time(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("custody times must carry a time zone")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _coordinate(value: float | None) -> str | None:
    return None if value is None else f"{float(value):.7f}"


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{Decimal(value):.2f}"


def canonical_bytes(entry: CustodyEntry) -> bytes:
    """The exact bytes the entry's hash covers (everything but the hash itself)."""
    fields = {
        "order_id": entry.order_id,
        "seq": entry.seq,
        "kind": CustodyKind(entry.kind).value,
        "at": _time(entry.at),
        "recorded_at": _time(entry.recorded_at),
        "actor_id": entry.actor_id,
        "courier_id": entry.courier_id,
        "counterparty_id": entry.counterparty_id,
        "lat": _coordinate(entry.lat),
        "lon": _coordinate(entry.lon),
        "token_id": entry.token_id,
        "method": entry.method,
        "cod_amount": _money(entry.cod_amount),
        "prev_hash": entry.prev_hash,
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def entry_hash(entry: CustodyEntry) -> str:
    return hashlib.sha256(canonical_bytes(entry)).hexdigest()


def chain_next(previous: CustodyEntry | None, entry: CustodyEntry) -> CustodyEntry:
    """`entry` placed after `previous` (or first): its `seq`, `prev_hash` and `hash` set."""
    seq = 1 if previous is None else previous.seq + 1
    prev_hash = GENESIS_HASH if previous is None else previous.hash
    linked = replace(entry, seq=seq, prev_hash=prev_hash, hash="")
    return replace(linked, hash=entry_hash(linked))


@dataclass(frozen=True, slots=True)
class ChainVerdict:
    """The result of checking a chain; `first_bad_seq` pinpoints where it stops holding."""

    valid: bool
    length: int
    head_hash: str
    first_bad_seq: int | None = None
    #: `hash_mismatch` (the entry was edited), `broken_link` (it does not follow the previous
    #: entry: one was edited with its hash recomputed, or removed), `sequence_gap`,
    #: `foreign_entry` (belongs to another order), `anchor_mismatch` (differs from the hash
    #: the order log recorded for it), `missing_entry` (the log names an entry that is gone).
    problem: str | None = None


def verify_chain(entries: Sequence[CustodyEntry], *, order_id: int | None = None,
                 anchors: Mapping[int, str] | None = None) -> ChainVerdict:
    """Checks every entry in `seq` order; stops at the first one that does not hold.

    `anchors` maps `seq` to the hash recorded elsewhere when the entry was written (the order's
    append-only event log keeps it for handoffs). The chain alone cannot notice its last entry
    being rewritten with a recomputed hash, or removed; an anchor can.
    """
    anchors = anchors or {}
    previous_hash = GENESIS_HASH
    for position, entry in enumerate(entries, start=1):
        problem = None
        if order_id is not None and entry.order_id != order_id:
            problem = "foreign_entry"
        elif entry.seq != position:
            problem = "sequence_gap"
        elif entry.prev_hash != previous_hash:
            problem = "broken_link"
        elif entry_hash(entry) != entry.hash:
            problem = "hash_mismatch"
        elif entry.seq in anchors and anchors[entry.seq] != entry.hash:
            problem = "anchor_mismatch"
        if problem is not None:
            return ChainVerdict(valid=False, length=len(entries), head_hash=previous_hash,
                                first_bad_seq=entry.seq, problem=problem)
        previous_hash = entry.hash
    missing = sorted(seq for seq in anchors if seq > len(entries))
    if missing:
        return ChainVerdict(valid=False, length=len(entries), head_hash=previous_hash,
                            first_bad_seq=missing[0], problem="missing_entry")
    return ChainVerdict(valid=True, length=len(entries), head_hash=previous_hash)
