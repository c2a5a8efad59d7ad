"""Deciding a batch of fixes against a courier's durable cursor: de-dup, filter, ack.

The cursor is the courier's high-water mark (`last_seq`) and last accepted fix, stored next to
the history and locked in the same transaction that writes the points. That makes three
promises hold across worker processes and restarts:

* a re-sent `seq` (at or below the mark) is acknowledged again and stored once;
* every `seq` up to the mark was either stored or reported rejected, so `ack.seq` can be the
  mark itself and the client may drop its buffer up to it;
* filters compare with the last fix that was really accepted, wherever it arrived.

Fixes without a `seq` (OsmAnd, OwnTracks) skip the mark and rely on the time filters.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from tracking.filters import FilterConfig, check_fix
from tracking.fixes import Fix, Rejection

__all__ = ["Cursor", "Decision", "decide"]


@dataclass(frozen=True, slots=True)
class Cursor:
    courier_id: int
    last_seq: int = 0
    last_fix: Fix | None = None


@dataclass(slots=True)
class Decision:
    courier_id: int
    accepted: list[Fix] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    duplicates: int = 0
    ack_seq: int = 0
    cursor: Cursor | None = None


def decide(cursor: Cursor, fixes: list[Fix], *, config: FilterConfig, now_s: float) -> Decision:
    """What to store, refuse and acknowledge for `fixes` (sorted by `seq` first)."""
    decision = Decision(courier_id=cursor.courier_id)
    last_seq, last_fix = cursor.last_seq, cursor.last_fix
    ordered = sorted(fixes, key=lambda f: (-1 if f.seq is None else f.seq))
    for fix in ordered:
        if fix.seq is not None and fix.seq <= last_seq:
            decision.duplicates += 1
            continue
        reason = check_fix(fix, last_fix, config, now_s)
        if reason is None:
            decision.accepted.append(fix)
            last_fix = fix
        else:
            decision.rejected.append(Rejection(fix.seq, reason))
        if fix.seq is not None:
            last_seq = fix.seq
    decision.ack_seq = last_seq
    decision.cursor = replace(cursor, last_seq=last_seq, last_fix=last_fix)
    return decision
