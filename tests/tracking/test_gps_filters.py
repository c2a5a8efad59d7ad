"""Every filter, each with its reason code, and each one switchable off."""

from __future__ import annotations

import math

import pytest

from tracking.filters import FilterConfig, ServiceBounds, check_fix, explain_fix
from tracking.fixes import Fix, Reason

NOW_S = 1_764_331_200.0
CONFIG = FilterConfig()
LAST = Fix(lat=41.3, lon=69.2, ts_s=NOW_S - 10)


def fix(**changes) -> Fix:
    values = {"lat": 41.3001, "lon": 69.2001, "ts_s": NOW_S, "accuracy_m": 5.0}
    values.update(changes)
    return Fix(**values)


def test_a_good_fix_passes():
    assert check_fix(fix(), LAST, CONFIG, NOW_S) is None
    assert check_fix(fix(), None, CONFIG, NOW_S) is None


@pytest.mark.parametrize(("changes", "reason", "off"), [
    ({"lat": 91.0}, Reason.INVALID_COORDINATES, {"reject_invalid": False}),
    ({"lon": -180.5}, Reason.INVALID_COORDINATES, {"reject_invalid": False}),
    ({"lat": math.nan}, Reason.INVALID_COORDINATES, {"reject_invalid": False}),
    ({"lat": 0.0, "lon": 0.0}, Reason.ZERO_COORDINATES, {"reject_zero": False}),
    ({"ts_s": NOW_S + 301}, Reason.FUTURE_TIMESTAMP, {"max_future_s": None}),
    ({"ts_s": NOW_S - 8 * 86_400}, Reason.PAST_TIMESTAMP, {"max_past_s": None}),
    ({"accuracy_m": 500.0}, Reason.POOR_ACCURACY, {"max_accuracy_m": None}),
    ({"ts_s": LAST.ts_s}, Reason.DUPLICATE, {"reject_duplicate": False}),
    ({"ts_s": LAST.ts_s - 1}, Reason.OUT_OF_ORDER, {"reject_out_of_order": False}),
    # 2 km in 10 s is 200 m/s.
    ({"lat": 41.318}, Reason.IMPOSSIBLE_SPEED, {"max_speed_mps": None}),
])
def test_each_filter_names_its_reason_and_can_be_switched_off(changes, reason, off):
    assert check_fix(fix(**changes), LAST, CONFIG, NOW_S) == reason
    relaxed = FilterConfig(**off)
    if reason is Reason.PAST_TIMESTAMP:
        # Switching "past" off lets the out-of-order filter speak instead.
        assert check_fix(fix(**changes), None, relaxed, NOW_S) is None
    else:
        assert check_fix(fix(**changes), LAST, relaxed, NOW_S) != reason


def test_fix_without_accuracy_is_not_poor():
    assert check_fix(fix(accuracy_m=None), LAST, CONFIG, NOW_S) is None


def test_speed_is_not_checked_after_a_long_gap():
    far = fix(lat=42.3, ts_s=NOW_S)
    old = Fix(lat=41.3, lon=69.2, ts_s=NOW_S - 3600)
    assert check_fix(far, old, CONFIG, NOW_S) is None


def test_small_jumps_are_jitter_not_impossible_speed():
    # 40 m in 0.1 s is 400 m/s, but below the minimum jump the filter ignores.
    jitter = fix(lat=41.30036, lon=69.2, ts_s=LAST.ts_s + 0.1)
    assert check_fix(jitter, LAST, CONFIG, NOW_S) is None


TASHKENT = ServiceBounds(((41.25, 69.20, 41.36, 69.36),))


def test_a_fix_without_a_recent_predecessor_is_held_against_the_service_area():
    config = FilterConfig(service_area=TASHKENT)
    caspian = fix(lat=41.0, lon=51.0)
    reason, details = explain_fix(caspian, None, config, NOW_S)
    assert reason is Reason.FAR_OUTSIDE_SERVICE_AREA
    assert details["field"] == "lat,lon" and details["limit"] == 50_000.0
    assert details["distance_m"] > 1_000_000
    # Just outside town is fine; so is anything with no zones known or the filter off.
    assert explain_fix(fix(lat=41.40, lon=69.30), None, config, NOW_S) is None
    assert explain_fix(caspian, None, FilterConfig(), NOW_S) is None
    assert explain_fix(caspian, None, FilterConfig(service_area=TASHKENT,
                                                   first_fix_max_distance_m=None), NOW_S) is None
    # After a long gap the last fix says nothing: the area does.
    old = Fix(lat=41.3, lon=69.2, ts_s=NOW_S - 3600)
    assert explain_fix(caspian, old, config, NOW_S)[0] is Reason.FAR_OUTSIDE_SERVICE_AREA


def test_every_refusal_names_its_field_value_and_limit():
    for changes in ({"lat": 91.0}, {"ts_s": NOW_S + 301}, {"accuracy_m": 500.0},
                    {"ts_s": LAST.ts_s}, {"lat": 41.318}):
        reason, details = explain_fix(fix(**changes), LAST, CONFIG, NOW_S)
        assert {"field", "value", "limit"} <= set(details), reason
    _, speed = explain_fix(fix(lat=41.318), LAST, CONFIG, NOW_S)
    assert speed["field"] == "speed" and speed["value"] > speed["limit"] == 70.0
