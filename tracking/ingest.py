"""Deciding a batch of fixes against a courier's durable cursor: de-dup, filter, ack.

The cursor is the courier's high-water mark (`last_seq`) and last accepted fix, stored next to
the history and locked in the same transaction that writes the points. That makes three
promises hold across worker processes and restarts:

* a re-sent `seq` (at or below the mark, and found stored) is acknowledged again and stored
  once, while a *late* one (below the mark, never stored: another channel overtook it) is
  still stored;
* every `seq` up to the mark was either stored or reported rejected, so `ack.seq` can be the
  mark itself and the client may drop its buffer up to it;
* filters compare with the last fix that was really accepted, wherever it arrived.

Fixes without a `seq` (OsmAnd, OwnTracks) skip the mark and rely on the time filters.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, replace

from tracking.filters import FilterConfig, explain_fix
from tracking.fixes import Fix, Rejection

__all__ = ["Cursor", "IngestVerdict", "decide"]


@dataclass(frozen=True, slots=True)
class Cursor:
    courier_id: int
    last_seq: int = 0
    last_fix: Fix | None = None


@dataclass(slots=True)
class IngestVerdict:
    """What becomes of one courier's batch: fixes to store, refusals, duplicates, the ack."""

    courier_id: int
    accepted: list[Fix] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    duplicates: int = 0
    ack_seq: int = 0
    cursor: Cursor | None = None


def decide(cursor: Cursor, fixes: list[Fix], *, config: FilterConfig, now_s: float,
           stored_below_mark: Collection[int] | None = None) -> IngestVerdict:
    """What to store, refuse and acknowledge for `fixes` (sorted by `seq` first).

    `stored_below_mark` says which seqs at or below the cursor's mark are already stored (the
    store looks them up when a batch reaches below the mark). A seq below the mark that is
    not stored is a *late* point — sent on another channel (an offline upload over HTTP while
    the WebSocket already delivered newer points) — and goes into the history after the
    filters that need no predecessor; it does not move the cursor. `None` treats everything
    at or below the mark as re-sent.
    """
    decision = IngestVerdict(courier_id=cursor.courier_id)
    last_seq, last_fix = cursor.last_seq, cursor.last_fix
    decided: set[int] = set()
    ordered = sorted(fixes, key=lambda f: (-1 if f.seq is None else f.seq))
    for fix in ordered:
        if fix.seq is not None and fix.seq <= last_seq:
            if (stored_below_mark is None or fix.seq in stored_below_mark
                    or fix.seq in decided):
                decision.duplicates += 1
                continue
            decided.add(fix.seq)
            refused = explain_fix(fix, None, config, now_s)
            if refused is None:
                decision.accepted.append(fix)
            else:
                decision.rejected.append(Rejection(fix.seq, *refused))
            continue
        refused = explain_fix(fix, last_fix, config, now_s)
        if refused is None:
            decision.accepted.append(fix)
            last_fix = fix
        else:
            decision.rejected.append(Rejection(fix.seq, *refused))
        if fix.seq is not None:
            last_seq = fix.seq
            decided.add(fix.seq)
    decision.ack_seq = last_seq
    decision.cursor = replace(cursor, last_seq=last_seq, last_fix=last_fix)
    return decision
