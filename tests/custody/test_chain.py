"""The custody hash chain with plain values: canonical encoding, linking, and verification
that names the first entry that no longer holds."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custody.chain import (
    GENESIS_HASH,
    CustodyEntry,
    CustodyKind,
    canonical_bytes,
    chain_next,
    entry_hash,
    verify_chain,
)

T0 = datetime(2026, 11, 28, 15, 0, 0, 123456, tzinfo=UTC)


def build_chain(order_id: int = 7) -> list[CustodyEntry]:
    drafts = [
        CustodyEntry(order_id=order_id, seq=0, kind=CustodyKind.CREATED, at=T0, recorded_at=T0,
                     actor_id=1, lat=41.311, lon=69.279),
        CustodyEntry(order_id=order_id, seq=0, kind=CustodyKind.PICKED_UP,
                     at=T0 + timedelta(minutes=20), recorded_at=T0 + timedelta(minutes=20),
                     actor_id=5, courier_id=3, counterparty_id=1, lat=41.3111, lon=69.2791,
                     token_id="tokenpickup1", method="qr"),
        CustodyEntry(order_id=order_id, seq=0, kind=CustodyKind.DELIVERED,
                     at=T0 + timedelta(minutes=50), recorded_at=T0 + timedelta(hours=2),
                     actor_id=5, courier_id=3, counterparty_id=9, lat=41.3, lon=69.24,
                     token_id="tokendrop001", method="offline_qr",
                     cod_amount=Decimal("125000.50")),
    ]
    chain: list[CustodyEntry] = []
    for draft in drafts:
        chain.append(chain_next(chain[-1] if chain else None, draft))
    return chain


def test_entries_link_from_genesis():
    chain = build_chain()
    assert [e.seq for e in chain] == [1, 2, 3]
    assert chain[0].prev_hash == GENESIS_HASH
    assert chain[1].prev_hash == chain[0].hash and chain[2].prev_hash == chain[1].hash
    verdict = verify_chain(chain, order_id=7)
    assert verdict.valid and verdict.length == 3 and verdict.head_hash == chain[-1].hash
    assert verdict.first_bad_seq is None and verdict.problem is None


def test_empty_chain_is_valid():
    verdict = verify_chain([])
    assert verdict.valid and verdict.head_hash == GENESIS_HASH


def test_encoding_is_canonical_across_time_zones_and_number_forms():
    entry = build_chain()[2]
    tashkent = timezone(timedelta(hours=5))
    same = replace(entry, at=entry.at.astimezone(tashkent), cod_amount=Decimal("125000.5"),
                   lat=41.30000000001)
    assert canonical_bytes(same) == canonical_bytes(entry)
    assert b'"cod_amount":"125000.50"' in canonical_bytes(entry)
    assert b" " not in canonical_bytes(entry)


def test_naive_times_are_refused():
    with pytest.raises(ValueError):
        canonical_bytes(replace(build_chain()[0], at=datetime(2026, 1, 1)))


@pytest.mark.parametrize("field, value", [
    ("actor_id", 666), ("courier_id", 4), ("lat", 41.4), ("at", T0 + timedelta(hours=9)),
    ("cod_amount", Decimal("0.00")), ("kind", CustodyKind.FAILED), ("token_id", "forged"),
    ("method", "code"), ("counterparty_id", None),
])
def test_an_edited_field_is_pinpointed(field, value):
    chain = build_chain()
    chain[2] = replace(chain[2], **{field: value})
    verdict = verify_chain(chain, order_id=7)
    assert not verdict.valid
    assert (verdict.first_bad_seq, verdict.problem) == (3, "hash_mismatch")


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link():
    chain = build_chain()
    edited = replace(chain[1], courier_id=99)
    chain[1] = replace(edited, hash=entry_hash(edited))
    verdict = verify_chain(chain, order_id=7)
    assert (verdict.valid, verdict.first_bad_seq, verdict.problem) == (False, 3, "broken_link")


def test_a_removed_entry_is_a_sequence_gap():
    chain = build_chain()
    verdict = verify_chain([chain[0], chain[2]])
    assert (verdict.first_bad_seq, verdict.problem) == (3, "sequence_gap")


def test_entries_of_another_order_are_foreign():
    chain = build_chain(order_id=7)
    verdict = verify_chain(chain, order_id=8)
    assert (verdict.first_bad_seq, verdict.problem) == (1, "foreign_entry")


def test_the_first_bad_entry_wins_when_several_are_edited():
    chain = build_chain()
    chain[0] = replace(chain[0], lat=0.0)
    chain[2] = replace(chain[2], lat=0.0)
    assert verify_chain(chain).first_bad_seq == 1


@settings(max_examples=150, deadline=None)
@given(length=st.integers(min_value=1, max_value=12), data=st.data())
def test_any_single_edit_is_found_at_the_edited_entry(length, data):
    """Property: whatever one field of whichever entry changes, verification stops right there."""
    chain: list[CustodyEntry] = []
    for index in range(length):
        draft = CustodyEntry(order_id=3, seq=0, kind=CustodyKind.PICKED_UP,
                             at=T0 + timedelta(seconds=index), recorded_at=T0, actor_id=index,
                             lat=41.0 + index / 1000, lon=69.0, token_id=f"tok{index:09d}")
        chain.append(chain_next(chain[-1] if chain else None, draft))
    victim = data.draw(st.integers(min_value=0, max_value=length - 1))
    field, value = data.draw(st.sampled_from([
        ("actor_id", 10_000), ("lat", -1.5), ("lon", 1.5), ("token_id", "other"),
        ("at", T0 - timedelta(days=1)), ("cod_amount", Decimal("1.00")),
        ("kind", CustodyKind.DELIVERED), ("recorded_at", T0 + timedelta(days=1)),
    ]))
    chain[victim] = replace(chain[victim], **{field: value})
    verdict = verify_chain(chain, order_id=3)
    assert (verdict.valid, verdict.first_bad_seq, verdict.problem) == (
        False, victim + 1, "hash_mismatch")


def test_anchors_catch_a_rewritten_last_entry():
    chain = build_chain()
    anchors = {2: chain[1].hash, 3: chain[2].hash}
    assert verify_chain(chain, anchors=anchors).valid
    forged = replace(chain[2], cod_amount=Decimal("1.00"))
    chain[2] = replace(forged, hash=entry_hash(forged))
    assert verify_chain(chain).valid  # the chain alone cannot tell
    verdict = verify_chain(chain, anchors=anchors)
    assert (verdict.valid, verdict.first_bad_seq, verdict.problem) == (
        False, 3, "anchor_mismatch")


def test_anchors_catch_a_removed_last_entry():
    chain = build_chain()
    verdict = verify_chain(chain[:2], anchors={2: chain[1].hash, 3: chain[2].hash})
    assert (verdict.valid, verdict.first_bad_seq, verdict.problem) == (
        False, 3, "missing_entry")
