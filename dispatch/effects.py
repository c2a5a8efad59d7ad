"""What a policy's decision may still do once the world has moved on: pure rules, both stores.

A cycle decides from a snapshot, and by the time it applies the decision some orders have
changed (a courier declined, a seller cancelled, a parcel was picked up). `resolve_effects`
compares each touched order's version at load time with its version now and keeps only what
still holds:

* an order whose `(status, courier, updated_at)` changed since the load is left alone this
  cycle (`skipped_changed`); the next cycle sees the new state;
* a reassignment applies only to an order still `assigned`;
* offers, broadcasts and "unservable" flags apply only to orders still `pending`; with
  auto-accept a broadcast goes to its first courier only, as a plain offer;
* routes keep the stops of live orders only.

The PostgreSQL store (`dispatch.sql_store`) and the in-memory store of the simulator
(`dispatch.memory_store`) both execute exactly these effects, so a simulation applies decisions
by the rules the service applies them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from dispatch.lifecycle import OrderStatus
from dispatch.planning import Decision, PlannedStopOut

__all__ = ["OrderVersion", "CycleEffects", "touched_orders", "resolve_effects"]


@dataclass(frozen=True, slots=True)
class OrderVersion:
    """What tells whether an order changed between a cycle's load and its apply."""

    status: str
    courier_id: int | None
    updated_at: datetime


@dataclass
class CycleEffects:
    """The writes a decision still amounts to, in the order the stores perform them."""

    skipped_changed: list[int] = field(default_factory=list)
    #: `(order_id, from_courier_id, to_courier_id)` for orders still assigned.
    reassignments: list[tuple[int, int, int]] = field(default_factory=list)
    #: `(order_id, courier_id)` for orders still pending.
    offers: list[tuple[int, int]] = field(default_factory=list)
    #: `(order_id, courier_ids, broadcast)`: several couriers at once unless auto-accept.
    broadcasts: list[tuple[int, list[int], bool]] = field(default_factory=list)
    #: Pending orders flagged unservable, with the reason.
    unservable: dict[int, str] = field(default_factory=dict)
    #: Live orders the plan serves (a stale "unservable" flag on them is cleared).
    planned: set[int] = field(default_factory=set)
    #: Courier id -> its stops, live orders only (every planned courier gets a route).
    routes: dict[int, tuple[PlannedStopOut, ...]] = field(default_factory=dict)


def touched_orders(decision: Decision) -> set[int]:
    """Every order the decision reads or writes (the SQL store locks them, in id order)."""
    touched = set(decision.unservable) | set(decision.planned_orders) | set(decision.broadcasts)
    touched |= {o for o, _ in decision.offers} | {o for o, _, _ in decision.reassignments}
    for stops in decision.routes.values():
        touched |= {s.order_id for s in stops}
    return touched


def resolve_effects(decision: Decision, *, loaded_versions: Mapping[int, OrderVersion],
                    current: Mapping[int, OrderVersion], auto_accept: bool) -> CycleEffects:
    """The effects of `decision` given the touched orders' versions at load and now.

    `current` holds every touched order that still exists; an order missing from it is gone
    and counts as changed.
    """
    touched = touched_orders(decision)
    changed = {oid for oid, version in current.items() if loaded_versions.get(oid) != version}
    changed |= touched - set(current)
    live = {oid: version for oid, version in current.items() if oid not in changed}
    effects = CycleEffects(skipped_changed=sorted(changed))

    for order_id, from_courier, to_courier in decision.reassignments:
        version = live.get(order_id)
        if version is not None and version.status == OrderStatus.ASSIGNED:
            effects.reassignments.append((order_id, from_courier, to_courier))
    effects.offers = [(o, c) for o, c in decision.offers
                      if o in live and live[o].status == OrderStatus.PENDING]
    for order_id, couriers in decision.broadcasts.items():
        version = live.get(order_id)
        if version is None or version.status != OrderStatus.PENDING or not couriers:
            continue
        effects.broadcasts.append((order_id, list(couriers[:1] if auto_accept else couriers),
                                   not auto_accept))
    effects.unservable = {o: reason for o, reason in decision.unservable.items()
                          if o in live and live[o].status == OrderStatus.PENDING}
    effects.planned = {o for o in decision.planned_orders if o in live}
    effects.routes = {courier_id: tuple(s for s in stops if s.order_id in live)
                      for courier_id, stops in decision.routes.items()}
    return effects
