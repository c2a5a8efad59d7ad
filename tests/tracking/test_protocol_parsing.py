"""Parsing what real apps send: our batches, OsmAnd/Traccar Client (query, form, JSON) and
OwnTracks HTTP mode, with messages shaped like recorded traffic from those apps."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from tracking.batches import parse_batch
from tracking.exceptions import MalformedMessage
from tracking.fixes import KMH_TO_MPS, KNOTS_TO_MPS, Reason
from tracking.osmand import parse_osmand_fields, parse_osmand_json
from tracking.owntracks import owntracks_device_hints, parse_owntracks
from tracking.timestamps import parse_timestamp_s

NOW_S = 1_764_331_200.0  # 2025-11-28T12:00:00Z

# Traccar Client (Android 8.x) GET request, as logged by a reverse proxy.
OSMAND_QUERY = ("/?id=k7m2pq9xw3ab4cd5ef6g&timestamp=1764331195&lat=41.311081&lon=69.240562"
                "&speed=10.6911&bearing=87.5&altitude=455.0&accuracy=4.8&batt=76.0")
# Traccar Client 9 JSON body (transistorsoft background-geolocation SDK format).
OSMAND_JSON = {
    "location": {
        "timestamp": "2025-11-28T11:59:55.000Z",
        "coords": {"latitude": 41.311081, "longitude": 69.240562, "accuracy": 4.8,
                   "speed": 5.5, "heading": 87.5, "altitude": 455, "speed_accuracy": 0.6},
        "is_moving": True, "odometer": 12034.5, "event": "motionchange",
        "battery": {"level": 0.76, "is_charging": False},
        "activity": {"type": "on_bicycle"}, "extras": {},
    },
    "device_id": "k7m2pq9xw3ab4cd5ef6g",
}
# OwnTracks Android 2.4 location message in HTTP mode.
OWNTRACKS_LOCATION = {
    "_type": "location", "acc": 12, "alt": 452, "batt": 81, "bs": 1, "cog": 270,
    "conn": "m", "created_at": 1764331196, "lat": 41.299496, "lon": 69.240074, "m": 1,
    "tid": "cr", "tst": 1764331195, "vac": 3, "vel": 18,
    "topic": "owntracks/courier7/k7m2pq9xw3ab4cd5ef6g",
}


def test_batch_reads_points_in_si_units():
    fixes, rejected = parse_batch({"type": "positions", "points": [
        {"seq": 1, "lat": 41.3, "lon": 69.2, "ts": NOW_S, "acc": 5, "speed": 3.5,
         "heading": 90}]})
    assert rejected == []
    (fix,) = fixes
    assert (fix.seq, fix.lat, fix.lon, fix.ts_s, fix.accuracy_m, fix.speed_mps,
            fix.heading_deg) == (1, 41.3, 69.2, NOW_S, 5.0, 3.5, 90.0)


def test_batch_refuses_unreadable_points_one_by_one():
    fixes, rejected = parse_batch({"type": "positions", "points": [
        {"seq": 1, "lat": 41.3, "lon": 69.2, "ts": NOW_S},
        {"seq": 2, "lat": "north", "lon": 69.2, "ts": NOW_S},
        {"seq": 3, "lat": 41.3, "lon": 69.2},
        {"lat": 41.3, "lon": 69.2, "ts": NOW_S},
        "garbage",
    ]})
    assert [f.seq for f in fixes] == [1]
    assert [(r.seq, r.reason) for r in rejected] == [
        (2, Reason.MALFORMED), (3, Reason.MALFORMED), (None, Reason.MALFORMED),
        (None, Reason.MALFORMED)]


@pytest.mark.parametrize("message", [[], {"type": "positions"}, {"type": "hello", "points": []},
                                     {"points": "x"}])
def test_batch_that_is_not_a_batch_is_an_error(message):
    with pytest.raises(MalformedMessage):
        parse_batch(message)


def test_batch_size_is_bounded():
    with pytest.raises(MalformedMessage) as info:
        parse_batch({"points": [{}] * 11}, max_points=10)
    assert info.value.code == "batch_too_large"


@pytest.mark.parametrize(("value", "expected"), [
    (1764331195, 1764331195.0), ("1764331195", 1764331195.0),
    (1764331195123, 1764331195.123), ("1764331195123", 1764331195.123),
    ("2025-11-28T11:59:55Z", 1764331195.0), ("2025-11-28T11:59:55.500+00:00", 1764331195.5),
    ("2025-11-28T16:59:55+05:00", 1764331195.0), ("2025-11-28 11:59:55", 1764331195.0),
])
def test_timestamps_in_seconds_milliseconds_and_iso(value, expected):
    assert parse_timestamp_s(value) == pytest.approx(expected)


@pytest.mark.parametrize("value", ["yesterday", None, True, float("nan"), [1]])
def test_unreadable_timestamps(value):
    with pytest.raises(ValueError):
        parse_timestamp_s(value)


def test_osmand_query_string_speed_in_knots():
    fields = dict(parse_qsl(urlsplit(OSMAND_QUERY).query))
    parsed = parse_osmand_fields(fields, now_s=NOW_S)
    assert parsed.device_key == "k7m2pq9xw3ab4cd5ef6g"
    fix = parsed.fix
    assert (fix.lat, fix.lon, fix.ts_s) == (41.311081, 69.240562, 1764331195.0)
    assert fix.speed_mps == pytest.approx(10.6911 * KNOTS_TO_MPS)
    assert fix.speed_mps == pytest.approx(5.5, abs=0.01)
    assert (fix.heading_deg, fix.accuracy_m, fix.battery_pct) == (87.5, 4.8, 76.0)


def test_osmand_form_variant_with_deviceid_location_and_milliseconds():
    fields = {"deviceid": "abc", "location": "41.3,69.2", "timestamp": "1764331195000",
              "heading": "12", "speed": "0", "valid": "true"}
    parsed = parse_osmand_fields(fields, now_s=NOW_S)
    assert parsed.device_key == "abc"
    assert (parsed.fix.lat, parsed.fix.lon, parsed.fix.ts_s) == (41.3, 69.2, 1764331195.0)
    assert parsed.fix.heading_deg == 12.0 and parsed.fix.speed_mps == 0.0


def test_osmand_speed_unit_is_configurable_and_time_defaults_to_now():
    parsed = parse_osmand_fields({"id": "a", "lat": "1", "lon": "2", "speed": "36"},
                                 now_s=NOW_S, speed_unit="kmh")
    assert parsed.fix.speed_mps == pytest.approx(10.0)
    assert parsed.fix.ts_s == NOW_S


def test_osmand_invalid_flag_and_missing_position():
    assert parse_osmand_fields({"id": "a", "lat": "1", "lon": "2", "valid": "false"},
                               now_s=NOW_S).invalid
    assert parse_osmand_fields({"id": "a", "batt": "50"}, now_s=NOW_S).fix is None


@pytest.mark.parametrize(("fields", "code"), [
    ({"lat": "1", "lon": "2"}, "device_id_missing"),
    ({"id": "a", "lat": "x", "lon": "2"}, "malformed_message"),
    ({"id": "a", "lat": "1", "lon": "2", "timestamp": "soon"}, "invalid_timestamp"),
])
def test_osmand_errors(fields, code):
    with pytest.raises(MalformedMessage) as info:
        parse_osmand_fields(fields, now_s=NOW_S)
    assert info.value.code == code


def test_osmand_json_speed_in_metres_per_second_and_iso_time():
    parsed = parse_osmand_json(OSMAND_JSON, now_s=NOW_S)
    fix = parsed.fix
    assert parsed.device_key == "k7m2pq9xw3ab4cd5ef6g"
    assert (fix.lat, fix.lon, fix.ts_s) == (41.311081, 69.240562, 1764331195.0)
    assert fix.speed_mps == 5.5 and fix.heading_deg == 87.5 and fix.accuracy_m == 4.8
    assert fix.battery_pct == pytest.approx(76.0)


def test_osmand_json_unknown_speed_and_heading_are_none():
    body = {"device_id": "a", "location": {"timestamp": "2025-11-28T11:59:55Z", "coords": {
        "latitude": 1, "longitude": 2, "speed": -1, "heading": -1}}}
    fix = parse_osmand_json(body, now_s=NOW_S).fix
    assert fix.speed_mps is None and fix.heading_deg is None


def test_owntracks_location_velocity_in_kmh():
    fix = parse_owntracks(OWNTRACKS_LOCATION)
    assert (fix.lat, fix.lon, fix.ts_s) == (41.299496, 69.240074, 1764331195.0)
    assert fix.speed_mps == pytest.approx(18 * KMH_TO_MPS)
    assert (fix.accuracy_m, fix.heading_deg, fix.battery_pct) == (12.0, 270.0, 81.0)
    assert owntracks_device_hints(OWNTRACKS_LOCATION) == ["k7m2pq9xw3ab4cd5ef6g"]


@pytest.mark.parametrize("body", [
    {"_type": "lwt", "tst": 1764331195},
    {"_type": "transition", "event": "enter", "desc": "Home", "tst": 1764331195,
     "lat": 1, "lon": 2},
    {"_type": "status", "android": {}},
    None, {},
])
def test_owntracks_messages_without_a_fix(body):
    assert parse_owntracks(body) is None


@pytest.mark.parametrize("body", [{"_type": "location", "lat": 1, "tst": 1},
                                  {"_type": "location", "lat": 1, "lon": 2},
                                  {"_type": "location", "lat": "x", "lon": 2, "tst": 1}, [1]])
def test_owntracks_broken_locations(body):
    with pytest.raises(MalformedMessage):
        parse_owntracks(body)
