"""Sequence de-duplication and the ack high-water mark (pure `tracking.ingest.decide`)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tracking.filters import FilterConfig
from tracking.fixes import Fix, Reason
from tracking.ingest import Cursor, decide

NOW_S = 1_764_331_200.0
CONFIG = FilterConfig()


def point(seq: int, dt_s: float = 0.0, **kw) -> Fix:
    return Fix(lat=41.3 + seq * 1e-5, lon=69.2, ts_s=NOW_S - 1000 + seq + dt_s, seq=seq, **kw)


def test_new_points_are_accepted_and_acked_up_to_the_highest_seq():
    decision = decide(Cursor(7), [point(1), point(2), point(3)], config=CONFIG, now_s=NOW_S)
    assert [f.seq for f in decision.accepted] == [1, 2, 3]
    assert decision.ack_seq == 3 and decision.rejected == [] and decision.duplicates == 0
    assert decision.cursor.last_seq == 3 and decision.cursor.last_fix.seq == 3


def test_resent_points_are_acked_again_and_not_stored_twice():
    first = decide(Cursor(7), [point(1), point(2)], config=CONFIG, now_s=NOW_S)
    again = decide(first.cursor, [point(1), point(2), point(3)], config=CONFIG, now_s=NOW_S)
    assert [f.seq for f in again.accepted] == [3]
    assert again.duplicates == 2 and again.ack_seq == 3


def test_a_batch_of_only_duplicates_acks_the_mark():
    first = decide(Cursor(7), [point(5)], config=CONFIG, now_s=NOW_S)
    again = decide(first.cursor, [point(5), point(4)], config=CONFIG, now_s=NOW_S)
    assert again.accepted == [] and again.duplicates == 2 and again.ack_seq == 5


def test_unsorted_batches_are_decided_in_seq_order():
    decision = decide(Cursor(7), [point(3), point(1), point(2)], config=CONFIG, now_s=NOW_S)
    assert [f.seq for f in decision.accepted] == [1, 2, 3]


def test_rejected_points_are_reported_and_covered_by_the_ack():
    decision = decide(Cursor(7), [point(1), point(2, accuracy_m=900.0), point(3)],
                      config=CONFIG, now_s=NOW_S)
    assert [(r.seq, r.reason) for r in decision.rejected] == [(2, Reason.POOR_ACCURACY)]
    assert decision.ack_seq == 3
    # Filters compare with the last *accepted* fix, not the rejected one.
    assert decision.cursor.last_fix.seq == 3


def test_points_without_seq_rely_on_the_time_filters():
    first = decide(Cursor(7), [Fix(lat=1, lon=1, ts_s=NOW_S - 5)], config=CONFIG, now_s=NOW_S)
    again = decide(first.cursor, [Fix(lat=1, lon=1, ts_s=NOW_S - 5)], config=CONFIG,
                   now_s=NOW_S)
    assert len(first.accepted) == 1 and first.ack_seq == 0
    assert [r.reason for r in again.rejected] == [Reason.DUPLICATE]


@given(st.lists(st.lists(st.integers(min_value=1, max_value=40), max_size=8), max_size=8))
def test_every_seq_is_stored_at_most_once_whatever_the_resends(batches):
    cursor = Cursor(1)
    stored: list[int] = []
    for seqs in batches:
        decision = decide(cursor, [point(s) for s in seqs], config=CONFIG, now_s=NOW_S)
        cursor = decision.cursor
        stored.extend(f.seq for f in decision.accepted)
        assert decision.ack_seq >= max(seqs, default=0)
    assert len(stored) == len(set(stored))
    assert stored == sorted(stored)


def test_late_points_below_the_mark_are_stored_when_the_store_never_saw_them():
    # Points 6-8 arrived first (say over the WebSocket); the offline upload of 1-5 comes late.
    first = decide(Cursor(7), [point(6), point(7), point(8)], config=CONFIG, now_s=NOW_S)
    late = decide(first.cursor, [point(1), point(2), point(2), point(6)], config=CONFIG,
                  now_s=NOW_S, stored_below_mark={6, 7, 8})
    assert [f.seq for f in late.accepted] == [1, 2]
    assert late.duplicates == 2  # the second 2 and the re-sent 6
    assert late.ack_seq == 8 and late.cursor.last_fix.seq == 8  # history only, cursor stays
    bad = decide(first.cursor, [point(3, accuracy_m=900.0)], config=CONFIG, now_s=NOW_S,
                 stored_below_mark=set())
    assert [(r.seq, r.reason) for r in bad.rejected] == [(3, Reason.POOR_ACCURACY)]
