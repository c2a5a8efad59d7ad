"""What a decision still does once orders changed under it (`dispatch.effects`), plain values."""

from datetime import UTC, datetime

from dispatch.effects import OrderVersion, resolve_effects, touched_orders
from dispatch.planning import Decision, PlannedStopOut

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
T1 = datetime(2026, 1, 1, 12, 0, 5, tzinfo=UTC)


def v(status: str, courier: int | None = None, at: datetime = T0) -> OrderVersion:
    return OrderVersion(status, courier, at)


def decision() -> Decision:
    d = Decision()
    d.offers = [(1, 10), (2, 10)]
    d.reassignments = [(3, 11, 10)]
    d.broadcasts = {4: [10, 11, 12]}
    d.unservable = {5: "too large for every vehicle", 6: "too large for every vehicle"}
    d.planned_orders = {1, 2, 3}
    d.routes = {10: (PlannedStopOut(1, "pickup", 0, 0, 60), PlannedStopOut(2, "pickup", 0, 0, 90),
                     PlannedStopOut(3, "pickup", 0, 0, 120))}
    return d


def test_unchanged_orders_get_every_effect():
    loaded = {1: v("pending"), 2: v("pending"), 3: v("assigned", 11), 4: v("pending"),
              5: v("pending"), 6: v("pending")}
    effects = resolve_effects(decision(), loaded_versions=loaded, current=dict(loaded),
                              auto_accept=False)
    assert effects.skipped_changed == []
    assert effects.offers == [(1, 10), (2, 10)]
    assert effects.reassignments == [(3, 11, 10)]
    assert effects.broadcasts == [(4, [10, 11, 12], True)]
    assert set(effects.unservable) == {5, 6}
    assert [s.order_id for s in effects.routes[10]] == [1, 2, 3]


def test_orders_that_changed_since_the_load_are_left_alone():
    loaded = {1: v("pending"), 2: v("pending"), 3: v("assigned", 11), 4: v("pending"),
              5: v("pending"), 6: v("pending")}
    current = dict(loaded)
    current[2] = v("cancelled", at=T1)          # the seller cancelled
    current[3] = v("picked_up", 11, at=T1)      # the courier picked it up meanwhile
    del current[6]                              # gone altogether
    effects = resolve_effects(decision(), loaded_versions=loaded, current=current,
                              auto_accept=False)
    assert effects.skipped_changed == [2, 3, 6]
    assert effects.offers == [(1, 10)]
    assert effects.reassignments == []
    assert set(effects.unservable) == {5}
    assert [s.order_id for s in effects.routes[10]] == [1]
    assert effects.planned == {1}


def test_a_same_status_with_a_new_timestamp_counts_as_changed():
    loaded = {1: v("pending")}
    d = Decision(offers=[(1, 10)])
    effects = resolve_effects(d, loaded_versions=loaded, current={1: v("pending", at=T1)},
                              auto_accept=False)
    assert effects.offers == [] and effects.skipped_changed == [1]


def test_auto_accept_turns_a_broadcast_into_one_plain_offer():
    loaded = {4: v("pending")}
    d = Decision(broadcasts={4: [12, 10]})
    effects = resolve_effects(d, loaded_versions=loaded, current=dict(loaded), auto_accept=True)
    assert effects.broadcasts == [(4, [12], False)]


def test_only_pending_orders_are_offered_or_flagged_and_only_assigned_ones_move():
    loaded = {1: v("offered", 10), 3: v("pending"), 5: v("assigned", 10)}
    d = Decision(offers=[(1, 11)], reassignments=[(3, 10, 11)],
                 unservable={5: "no vehicle can reach its time windows"})
    effects = resolve_effects(d, loaded_versions=loaded, current=dict(loaded),
                              auto_accept=False)
    assert effects.offers == [] and effects.reassignments == [] and effects.unservable == {}


def test_touched_orders_cover_every_part_of_a_decision():
    assert touched_orders(decision()) == {1, 2, 3, 4, 5, 6}
