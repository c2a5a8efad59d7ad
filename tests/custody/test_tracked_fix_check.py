"""The online cross-check of a handoff claim against the courier's tracked GPS (pure)."""

from __future__ import annotations

import pytest

from custody.errors import ArrivalTrackFar, HandoffTrackFar
from custody.service import (
    ScanPolicy,
    TrackedFix,
    check_tracked_fix,
    track_allowance_m,
)
from dispatch.locations import LatLon
from geodata.points import haversine_m

POINT = LatLon(41.311, 69.279)
POLICY = ScanPolicy(radius_m=150.0, max_speed_mps=20.0, max_fix_accuracy_m=100.0)


def fix_north_of_point(metres: float, *, at_s: float, accuracy_m: float | None = None
                       ) -> TrackedFix:
    return TrackedFix(POINT.lat + metres / 111_195.0, POINT.lon, at_s, accuracy_m)


def test_the_reported_case_754_m_five_seconds_before_is_refused():
    fix = fix_north_of_point(754, at_s=995.0)
    with pytest.raises(HandoffTrackFar) as caught:
        check_tracked_fix(fix, POINT, at_s=1000.0, policy=POLICY, what="pickup scan")
    details = caught.value.details
    assert details["distance_m"] == pytest.approx(754, abs=1)
    assert details["allowed_m"] == pytest.approx(150 + 20 * 5)
    assert details["fix_age_s"] == 5.0


def test_a_fix_at_the_point_or_within_reach_passes():
    check_tracked_fix(fix_north_of_point(40, at_s=998.0), POINT, at_s=1000.0, policy=POLICY,
                      what="pickup scan")
    # 60 s earlier and 1.2 km away: a car could have covered it (150 + 20 * 60 = 1350 m).
    check_tracked_fix(fix_north_of_point(1200, at_s=940.0), POINT, at_s=1000.0, policy=POLICY,
                      what="pickup scan")


def test_no_recent_fix_is_no_evidence():
    check_tracked_fix(None, POINT, at_s=1000.0, policy=POLICY, what="pickup scan")


def test_a_fix_after_the_claim_counts_the_same_way():
    with pytest.raises(HandoffTrackFar):
        check_tracked_fix(fix_north_of_point(3000, at_s=1010.0), POINT, at_s=1000.0,
                          policy=POLICY, what="pickup scan")


def test_accuracy_widens_the_allowance_but_only_up_to_its_cap():
    fix = fix_north_of_point(0, at_s=1000.0, accuracy_m=5000.0)
    assert track_allowance_m(fix, at_s=1000.0, policy=POLICY) == 150 + 100
    fix = fix_north_of_point(0, at_s=1000.0, accuracy_m=30.0)
    assert track_allowance_m(fix, at_s=1000.0, policy=POLICY) == 180
    # 220 m away with a 30 m fix passes only because of the accuracy.
    check_tracked_fix(fix_north_of_point(175, at_s=1000.0, accuracy_m=30.0), POINT,
                      at_s=1000.0, policy=POLICY, what="pickup scan")
    with pytest.raises(HandoffTrackFar):
        check_tracked_fix(fix_north_of_point(175, at_s=1000.0), POINT, at_s=1000.0,
                          policy=POLICY, what="pickup scan")


def test_arrivals_raise_their_own_error():
    with pytest.raises(ArrivalTrackFar) as caught:
        check_tracked_fix(fix_north_of_point(2000, at_s=1000.0), POINT, at_s=1000.0,
                          policy=POLICY, what="arrive_pickup report", error=ArrivalTrackFar)
    assert caught.value.code == "arrival_track_far"


def test_fix_helper_places_points_where_it_says():
    assert haversine_m(LatLon(*_latlon(fix_north_of_point(754, at_s=0))), POINT) == \
        pytest.approx(754, abs=1)


def _latlon(fix: TrackedFix) -> tuple[float, float]:
    return fix.lat, fix.lon
