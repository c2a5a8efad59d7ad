"""The adversarial suite for signed QR handoffs over the real app, PostGIS and Redis.

Every refusal is checked for its own error code and for leaving the order's status, its event
log and its custody ledger exactly as they were.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest
import segno
from joserfc import jwt as joserfc_jwt
from joserfc.jwk import KeySet
from order_support import add_track_point
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from custody.chain import CustodyEntry, CustodyKind
from custody.state_store import RedisHandoffState
from custody.store import append_entry
from custody.tokens import HandoffClaims, Leg, new_token_id, sign_handoff_token
from tests.conftest import INSIDE, INSIDE_2, Actor, order_body

pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")

API = "/api/v1"
FAR = {"lat": 41.33, "lon": 69.30}  # about 2.8 km from the pickup point


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


@dataclass
class Cast:
    """The people around one set of test orders (made once per module: passwords are slow)."""

    seller: Actor
    other_seller: Actor
    buyer: Actor
    courier: Actor
    other_courier: Actor
    dispatcher: Actor
    admin: Actor


@dataclass
class Case:
    order_id: int
    cast: Cast


@pytest.fixture(scope="module")
async def cast(actors) -> Cast:
    return Cast(
        seller=await actors.make("seller"), other_seller=await actors.make("seller"),
        buyer=await actors.make("buyer"),
        courier=await actors.make("courier", capacity=500),
        other_courier=await actors.make("courier", capacity=500),
        dispatcher=await actors.make("dispatcher"), admin=await actors.make("admin"))


@pytest.fixture
def new_case(client, cast):
    """An order of `cast.seller` for `cast.buyer`, assigned to `cast.courier`."""

    async def make(*, assign: bool = True, cod_amount: str | None = "125000.50") -> Case:
        body = order_body(buyer_id=cast.buyer.id, cod_amount=cod_amount)
        response = await client.post(f"{API}/orders", json=body, headers=cast.seller.headers)
        assert response.status_code == 201, response.text
        order_id = response.json()["id"]
        if assign:
            response = await client.post(f"{API}/orders/{order_id}/assign",
                                         json={"courier_id": cast.courier.courier_id},
                                         headers=cast.dispatcher.headers)
            assert response.status_code == 200, response.text
        return Case(order_id, cast)

    return make


async def issue(client, case: Case, leg: str, actor: Actor | None = None) -> dict:
    actor = actor or (case.cast.seller if leg == "pickup" else case.cast.buyer)
    response = await client.post(f"{API}/orders/{case.order_id}/handoff-tokens",
                                 json={"leg": leg}, headers=actor.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def scan(client, courier: Actor, token: str, *, at: dict = INSIDE,
               scanned_at: datetime | float | None = None, **extra):
    body = {"token": token, **at, **extra}
    if scanned_at is not None:
        body["scanned_at"] = scanned_at.isoformat() if isinstance(scanned_at, datetime) \
            else scanned_at
    return await client.post(f"{API}/handoffs/scan", json=body, headers=courier.headers)


async def snapshot(app, order_id: int) -> tuple:
    """Everything a refusal must leave alone: status, events, custody chain."""
    async with app.state.sessionmaker() as session:
        status = await session.scalar(text("SELECT status FROM orders WHERE id = :o"),
                                      {"o": order_id})
        events = (await session.execute(text(
            "SELECT id, type FROM order_events WHERE order_id = :o ORDER BY id"),
            {"o": order_id})).all()
        chain = (await session.execute(text(
            "SELECT seq, kind, hash FROM custody_entries WHERE order_id = :o ORDER BY seq"),
            {"o": order_id})).all()
    return status, tuple(events), tuple(chain)


def assert_error(response, status_code: int, code: str) -> dict:
    assert response.status_code == status_code, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    return error


def forge(app, case: Case, *, leg: Leg = Leg.PICKUP, issued_at_s: int | None = None,
          ttl_s: int = 900, courier_id: int | None = None, order_id: int | None = None) -> str:
    """A token properly signed with the server's own key but with chosen claims (times...)."""
    issued_at_s = int(time.time()) if issued_at_s is None else issued_at_s
    ring = app.state.handoff_keys.ring(now_s=int(time.time()))
    return sign_handoff_token(HandoffClaims(
        order_id=order_id or case.order_id, leg=leg,
        courier_id=courier_id or case.cast.courier.courier_id, token_id=new_token_id(),
        issued_at_s=issued_at_s, expires_at_s=issued_at_s + ttl_s), ring)


# --- the happy path ----------------------------------------------------------------------------

async def test_pickup_then_dropoff_moves_the_order_and_chains_the_ledger(client, new_case):
    case = await new_case()
    pickup = await issue(client, case, "pickup")
    assert pickup["expires_at_s"] > time.time() + 800 and pickup["expires_at"].endswith("Z")
    response = await scan(client, case.cast.courier, pickup["token"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["leg"], body["offline"]) == ("picked_up", "pickup", False)
    assert body["custody_entry"]["token_id"] == pickup["token_id"]

    dropoff = await issue(client, case, "dropoff")
    response = await scan(client, case.cast.courier, dropoff["token"], at=INSIDE_2,
                          scanned_at=datetime.now(UTC))
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "delivered"
    assert [e["type"] for e in response.json()["order"]["events"]] == [
        "created", "assign", "handoff_pickup", "handoff_dropoff"]

    ledger = (await client.get(f"{API}/orders/{case.order_id}/custody",
                               headers=case.cast.buyer.headers)).json()
    assert [e["kind"] for e in ledger["entries"]] == ["created", "picked_up", "delivered"]
    created, picked, delivered = ledger["entries"]
    assert created["actor_id"] == case.cast.seller.id
    assert picked["courier_id"] == case.cast.courier.courier_id
    assert picked["counterparty_id"] == case.cast.seller.id
    assert delivered["counterparty_id"] == case.cast.buyer.id
    assert delivered["cod_amount"] == "125000.50" and picked["cod_amount"] is None
    assert delivered["prev_hash"] == picked["hash"]
    assert ledger["verification"] == {"valid": True, "length": 3,
                                      "head_hash": delivered["hash"], "first_bad_seq": None,
                                      "problem": None}


async def test_scan_accepts_unix_seconds_and_the_order_hint(client, new_case):
    case = await new_case()
    token = (await issue(client, case, "pickup"))["token"]
    response = await scan(client, case.cast.courier, token, scanned_at=time.time(),
                          order_id=case.order_id, leg="pickup")
    assert response.status_code == 200, response.text


async def test_jwks_lets_a_standard_library_verify_a_live_token(client, new_case):
    case = await new_case()
    token = (await issue(client, case, "pickup"))["token"]
    jwks = (await client.get(f"{API}/handoffs/keys")).json()
    assert all(k["kty"] == "OKP" and k["crv"] == "Ed25519" and "d" not in k for k in jwks["keys"])
    decoded = joserfc_jwt.decode(token, KeySet.import_key_set(jwks), algorithms=["EdDSA"])
    assert decoded.claims["o"] == case.order_id and decoded.claims["l"] == "p"
    assert decoded.claims["c"] == case.cast.courier.courier_id


# --- signature and algorithm -------------------------------------------------------------------

async def test_tampered_payload_is_refused_and_changes_nothing(client, app, new_case):
    case, other = await new_case(), await new_case()
    header, payload, signature = (await issue(client, other, "pickup"))["token"].split(".")
    claims = json.loads(unb64(payload)) | {"o": case.order_id}
    before = await snapshot(app, case.order_id)
    response = await scan(client, case.cast.courier,
                          f"{header}.{b64(json.dumps(claims).encode())}.{signature}")
    assert_error(response, 422, "handoff_token_bad_signature")
    assert await snapshot(app, case.order_id) == before


async def test_swapped_signature_is_refused(client, app, new_case):
    case, other = await new_case(), await new_case()
    mine = (await issue(client, case, "pickup"))["token"].split(".")
    theirs = (await issue(client, other, "pickup"))["token"].split(".")
    before = await snapshot(app, case.order_id)
    response = await scan(client, case.cast.courier, f"{mine[0]}.{mine[1]}.{theirs[2]}")
    assert_error(response, 422, "handoff_token_bad_signature")
    assert await snapshot(app, case.order_id) == before


@pytest.mark.parametrize("alg", ["none", "HS256"])
async def test_alg_none_and_hmac_are_refused(client, app, new_case, alg):
    case = await new_case()
    _, payload, signature = (await issue(client, case, "pickup"))["token"].split(".")
    header = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    before = await snapshot(app, case.order_id)
    for forged in (f"{header}.{payload}.", f"{header}.{payload}.{signature}"):
        response = await scan(client, case.cast.courier, forged)
        assert_error(response, 422, "handoff_token_algorithm_refused")
    assert await snapshot(app, case.order_id) == before


async def test_garbage_token_is_malformed(client, new_case):
    case = await new_case()
    response = await scan(client, case.cast.courier, "definitely-not-a-jws")
    assert_error(response, 422, "handoff_token_malformed")


# --- time ----------------------------------------------------------------------------------------

async def test_expired_token_is_refused(client, app, new_case):
    case = await new_case()
    token = forge(app, case, issued_at_s=int(time.time()) - 2000, ttl_s=900)
    before = await snapshot(app, case.order_id)
    assert_error(await scan(client, case.cast.courier, token), 410, "handoff_token_expired")
    assert await snapshot(app, case.order_id) == before


async def test_scan_time_in_the_future_is_refused(client, new_case):
    case = await new_case()
    token = (await issue(client, case, "pickup"))["token"]
    response = await scan(client, case.cast.courier, token,
                          scanned_at=datetime.now(UTC) + timedelta(hours=1))
    assert_error(response, 422, "handoff_scan_time_in_future")


# --- order, leg, courier, place ----------------------------------------------------------------

async def test_token_of_another_order_is_refused(client, app, new_case):
    case, other = await new_case(), await new_case()
    foreign = (await issue(client, other, "pickup"))["token"]
    before = await snapshot(app, case.order_id)
    response = await scan(client, case.cast.courier, foreign, order_id=case.order_id)
    assert_error(response, 409, "handoff_order_mismatch")
    assert await snapshot(app, case.order_id) == before


async def test_token_of_an_order_assigned_to_someone_else_is_refused(client, app, new_case, cast):
    theirs = await new_case()
    await client.post(f"{API}/orders/{theirs.order_id}/assign",
                      json={"courier_id": cast.other_courier.courier_id},
                      headers=cast.dispatcher.headers)
    token = (await issue(client, theirs, "pickup"))["token"]
    before = await snapshot(app, theirs.order_id)
    response = await scan(client, cast.courier, token)
    assert_error(response, 403, "handoff_wrong_courier")
    assert await snapshot(app, theirs.order_id) == before


async def test_token_of_the_other_leg_is_refused(client, app, new_case):
    case = await new_case()
    dropoff = (await issue(client, case, "dropoff"))["token"]  # issued early, passed on
    before = await snapshot(app, case.order_id)
    response = await scan(client, case.cast.courier, dropoff)
    assert_error(response, 409, "handoff_leg_mismatch")
    assert_error(await scan(client, case.cast.courier, dropoff, leg="pickup"), 409,
                 "handoff_leg_mismatch")
    assert await snapshot(app, case.order_id) == before


async def test_scan_by_another_courier_is_refused(client, app, new_case, cast):
    case = await new_case()
    token = (await issue(client, case, "pickup"))["token"]
    before = await snapshot(app, case.order_id)
    assert_error(await scan(client, cast.other_courier, token), 403, "handoff_wrong_courier")
    assert_error(await scan(client, cast.seller, token), 403, "handoff_wrong_courier")
    assert await snapshot(app, case.order_id) == before
    assert (await scan(client, cast.courier, token)).status_code == 200


async def test_token_naming_a_previous_courier_is_refused_after_reassignment(
        client, app, new_case, cast):
    case = await new_case()
    token = (await issue(client, case, "pickup"))["token"]
    await client.post(f"{API}/orders/{case.order_id}/assign",
                      json={"courier_id": cast.other_courier.courier_id},
                      headers=cast.dispatcher.headers)
    assert_error(await scan(client, cast.other_courier, token), 403, "handoff_wrong_courier")


async def test_scan_far_from_the_pickup_point_is_refused(client, app, new_case):
    case = await new_case()
    token = (await issue(client, case, "pickup"))["token"]
    before = await snapshot(app, case.order_id)
    error = assert_error(await scan(client, case.cast.courier, token, at=FAR), 422,
                         "handoff_too_far")
    assert error["details"]["distance_m"] > 2000 and error["details"]["radius_m"] == 150
    assert await snapshot(app, case.order_id) == before


# --- the app's word against the tracked GPS (online scans and arrivals) -----------------------

@pytest.fixture
def tracked_case(client, actors, cast):
    """An order assigned to a courier of its own, whose track no other test touches."""

    async def make() -> tuple[Case, Actor]:
        courier = await actors.make("courier", capacity=10)
        body = order_body(buyer_id=cast.buyer.id)
        response = await client.post(f"{API}/orders", json=body, headers=cast.seller.headers)
        order_id = response.json()["id"]
        response = await client.post(f"{API}/orders/{order_id}/assign",
                                     json={"courier_id": courier.courier_id},
                                     headers=cast.dispatcher.headers)
        assert response.status_code == 200, response.text
        return Case(order_id, cast), courier

    return make


async def test_online_scan_refused_when_the_tracked_fix_5_s_before_was_754_m_away(
        client, app, tracked_case):
    case, courier = await tracked_case()
    token = (await issue(client, case, "pickup"))["token"]
    now = datetime.now(UTC)
    away = {"lat": INSIDE["lat"] + 754 / 111_195.0, "lon": INSIDE["lon"]}
    await add_track_point(app, courier.courier_id, away, now - timedelta(seconds=5))
    before = await snapshot(app, case.order_id)
    response = await client.post(f"{API}/handoffs/scan", json={"token": token, **INSIDE},
                                 headers=courier.headers)
    error = assert_error(response, 422, "handoff_track_far")
    assert 740 < error["details"]["distance_m"] < 770
    assert error["details"]["allowed_m"] < 400
    assert await snapshot(app, case.order_id) == before
    # The same scan once the courier's tracked GPS has reached the seller goes through.
    await add_track_point(app, courier.courier_id, INSIDE, datetime.now(UTC))
    response = await client.post(f"{API}/handoffs/scan", json={"token": token, **INSIDE},
                                 headers=courier.headers)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "picked_up"


async def test_online_scan_refused_when_tracked_3_km_away(client, app, tracked_case):
    case, courier = await tracked_case()
    token = (await issue(client, case, "pickup"))["token"]
    await add_track_point(app, courier.courier_id, FAR, datetime.now(UTC) - timedelta(seconds=20))
    response = await client.post(f"{API}/handoffs/scan", json={"token": token, **INSIDE},
                                 headers=courier.headers)
    assert_error(response, 422, "handoff_track_far")


async def test_online_scan_without_a_recent_fix_is_judged_on_the_claim(client, app,
                                                                        tracked_case):
    case, courier = await tracked_case()
    token = (await issue(client, case, "pickup"))["token"]
    # A fix far away but ten minutes old says nothing about where the courier is now.
    await add_track_point(app, courier.courier_id, FAR, datetime.now(UTC) - timedelta(minutes=10))
    response = await client.post(f"{API}/handoffs/scan", json={"token": token, **INSIDE},
                                 headers=courier.headers)
    assert response.status_code == 200, response.text


async def test_fallback_code_is_cross_checked_too(client, app, tracked_case):
    case, courier = await tracked_case()
    code = (await issue(client, case, "pickup"))["fallback_code"]
    await add_track_point(app, courier.courier_id, FAR, datetime.now(UTC) - timedelta(seconds=3))
    response = await client.post(f"{API}/handoffs/code", json={
        "order_id": case.order_id, "leg": "pickup", "code": code, **INSIDE},
        headers=courier.headers)
    assert_error(response, 422, "handoff_track_far")


async def test_arrival_refused_when_the_tracked_fix_is_elsewhere(client, app, tracked_case):
    case, courier = await tracked_case()
    await add_track_point(app, courier.courier_id, FAR, datetime.now(UTC) - timedelta(seconds=10))
    before = await snapshot(app, case.order_id)
    response = await client.post(f"{API}/orders/{case.order_id}/status",
                                 json={"action": "arrive_pickup", **INSIDE},
                                 headers={**courier.headers, "Accept-Language": "ru"})
    error = assert_error(response, 422, "arrival_track_far")
    assert "курьера" in error["message"]
    assert await snapshot(app, case.order_id) == before
    await add_track_point(app, courier.courier_id, INSIDE, datetime.now(UTC))
    response = await client.post(f"{API}/orders/{case.order_id}/status",
                                 json={"action": "arrive_pickup", **INSIDE},
                                 headers=courier.headers)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "at_pickup"


# --- single use ----------------------------------------------------------------------------------

async def test_replayed_token_is_refused(client, app, new_case):
    case = await new_case()
    token = (await issue(client, case, "pickup"))["token"]
    assert (await scan(client, case.cast.courier, token)).status_code == 200
    before = await snapshot(app, case.order_id)
    assert_error(await scan(client, case.cast.courier, token), 409, "handoff_token_used")
    assert await snapshot(app, case.order_id) == before


async def test_two_simultaneous_scans_exactly_one_wins(client, app, new_case):
    for _ in range(3):
        case = await new_case()
        token = (await issue(client, case, "pickup"))["token"]
        responses = await asyncio.gather(*[scan(client, case.cast.courier, token)
                                           for _ in range(4)])
        codes = sorted(r.status_code for r in responses)
        assert codes == [200, 409, 409, 409], [r.text for r in responses]
        assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {
            "handoff_token_used"}
        status, events, chain = await snapshot(app, case.order_id)
        assert status == "picked_up"
        assert [kind for _, kind, _ in chain] == ["created", "picked_up"]
        assert [t for _, t in events].count("handoff_pickup") == 1


@pytest.fixture(scope="module")
async def second_worker(settings):
    """Another instance of the service on the same database, Redis and key directory: what a
    second `courier serve` worker process is."""
    import httpx

    from api.app import create_app

    other = create_app(settings)
    async with other.router.lifespan_context(other):
        transport = httpx.ASGITransport(app=other)
        async with httpx.AsyncClient(transport=transport, base_url="http://worker-2") as http:
            yield http


async def test_simultaneous_scans_on_two_workers_exactly_one_wins(client, second_worker, app,
                                                                   new_case):
    for _ in range(3):
        case = await new_case()
        token = (await issue(client, case, "pickup"))["token"]
        responses = await asyncio.gather(scan(client, case.cast.courier, token),
                                         scan(second_worker, case.cast.courier, token),
                                         scan(second_worker, case.cast.courier, token),
                                         scan(client, case.cast.courier, token))
        assert sorted(r.status_code for r in responses) == [200, 409, 409, 409], \
            [r.text for r in responses]
        _, _, chain = await snapshot(app, case.order_id)
        assert [kind for _, kind, _ in chain] == ["created", "picked_up"]


async def test_a_failed_write_releases_the_single_use_claim(client, app, new_case, monkeypatch):
    """If recording the handoff fails after the Redis claim, the claim is released, nothing is
    written, and the honest retry succeeds."""
    import custody.service

    case = await new_case()
    token = (await issue(client, case, "pickup"))["token"]
    before = await snapshot(app, case.order_id)

    async def broken_append(*args, **kwargs):
        raise ConnectionError("database went away")

    import httpx

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as tolerant:
        with monkeypatch.context() as patch:
            patch.setattr(custody.service, "append_entry", broken_append)
            response = await scan(tolerant, case.cast.courier, token)
    assert response.status_code >= 500
    assert await snapshot(app, case.order_id) == before
    assert (await scan(client, case.cast.courier, token)).status_code == 200


async def test_redis_single_use_claim_is_atomic_across_connections(app, settings):
    from redis.asyncio import Redis

    token_id = new_token_id()
    clients = [Redis.from_url(settings.redis_url) for _ in range(8)]
    try:
        states = [RedisHandoffState(c, settings.redis_prefix) for c in clients]
        won = await asyncio.gather(*[s.claim_token(token_id, ttl_s=60) for s in states])
        assert sum(won) == 1
    finally:
        for c in clients:
            await c.aclose()


async def test_database_holds_single_use_even_without_redis(app, new_case):
    """Two sessions record the same token id at once: the unique constraint lets one through."""
    first, second = await new_case(), await new_case()
    token_id = new_token_id()
    now = datetime.now(UTC)

    async def record(order_id: int) -> str:
        async with app.state.sessionmaker() as session:
            try:
                await append_entry(session, CustodyEntry(
                    order_id=order_id, seq=0, kind=CustodyKind.PICKED_UP, at=now,
                    recorded_at=now, token_id=token_id, method="qr"))
                await asyncio.sleep(0.05)
                await session.commit()
                return "ok"
            except IntegrityError:
                return "refused"

    outcomes = await asyncio.gather(record(first.order_id), record(second.order_id))
    assert sorted(outcomes) == ["ok", "refused"]


# --- keys ----------------------------------------------------------------------------------------

async def test_token_signed_before_a_key_rotation_still_scans(client, new_case, cast):
    case = await new_case()
    old = await issue(client, case, "pickup")
    old_kid = json.loads(unb64(old["token"].split(".")[0]))["kid"]
    rotated = await client.post(f"{API}/handoffs/keys/rotate", headers=cast.admin.headers)
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["signing_kid"] != old_kid
    kids = {k["kid"] for k in (await client.get(f"{API}/handoffs/keys")).json()["keys"]}
    assert {old_kid, rotated.json()["signing_kid"]} <= kids
    new = await issue(client, await new_case(), "pickup")
    assert json.loads(unb64(new["token"].split(".")[0]))["kid"] == rotated.json()["signing_kid"]
    assert (await scan(client, case.cast.courier, old["token"])).status_code == 200


async def test_only_an_admin_rotates_keys(client, cast):
    response = await client.post(f"{API}/handoffs/keys/rotate", headers=cast.seller.headers)
    assert_error(response, 403, "forbidden")


async def test_token_signed_by_an_unknown_key_is_refused(client, app, new_case):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from custody.tokens import KeyRing, SigningKey

    case = await new_case()
    stranger = KeyRing((SigningKey.from_private(Ed25519PrivateKey.generate()),))
    now_s = int(time.time())
    token = sign_handoff_token(HandoffClaims(
        order_id=case.order_id, leg=Leg.PICKUP, courier_id=case.cast.courier.courier_id,
        token_id=new_token_id(), issued_at_s=now_s, expires_at_s=now_s + 900), stranger)
    assert_error(await scan(client, case.cast.courier, token), 422, "handoff_token_unknown_key")


# --- offline scans -------------------------------------------------------------------------------

async def own_courier_case(tracked_case) -> Case:
    """A case whose courier is its own: the offline checks read the stored track around the
    scan time, and other tests' points on a shared courier (at -30 min, ...) would count."""
    case, courier = await tracked_case()
    return Case(case.order_id, replace(case.cast, courier=courier))


async def test_offline_scan_inside_the_window_with_a_matching_track(client, app, tracked_case):
    case = await own_courier_case(tracked_case)
    scanned_at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=40)
    token = forge(app, case, issued_at_s=int(scanned_at.timestamp()) - 120)
    await add_track_point(app, case.cast.courier.courier_id,
                          {"lat": INSIDE["lat"] + 0.0003, "lon": INSIDE["lon"]},
                          scanned_at - timedelta(seconds=40))
    response = await scan(client, case.cast.courier, token, scanned_at=scanned_at)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["offline"] is True and body["custody_entry"]["method"] == "offline_qr"
    assert body["custody_entry"]["at"].startswith(scanned_at.strftime("%Y-%m-%dT%H:%M:%S"))


async def test_offline_scan_without_a_matching_track_is_refused(client, app, tracked_case):
    case = await own_courier_case(tracked_case)
    scanned_at = datetime.now(UTC) - timedelta(minutes=30)
    token = forge(app, case, issued_at_s=int(scanned_at.timestamp()) - 60)
    # The courier's stored track was elsewhere at the time, and near the point only later.
    await add_track_point(app, case.cast.courier.courier_id, FAR, scanned_at)
    await add_track_point(app, case.cast.courier.courier_id, INSIDE,
                          scanned_at + timedelta(minutes=20))
    before = await snapshot(app, case.order_id)
    response = await scan(client, case.cast.courier, token, scanned_at=scanned_at)
    assert_error(response, 422, "handoff_track_not_near")
    assert await snapshot(app, case.order_id) == before


async def test_offline_scan_uploaded_after_the_window_is_refused(client, app, tracked_case):
    case = await own_courier_case(tracked_case)
    scanned_at = datetime.now(UTC) - timedelta(hours=7)
    token = forge(app, case, issued_at_s=int(scanned_at.timestamp()) - 60)
    await add_track_point(app, case.cast.courier.courier_id, INSIDE, scanned_at)
    before = await snapshot(app, case.order_id)
    response = await scan(client, case.cast.courier, token, scanned_at=scanned_at)
    assert_error(response, 422, "handoff_offline_window_exceeded")
    assert await snapshot(app, case.order_id) == before


async def test_offline_scan_after_the_token_expired_is_refused(client, app, tracked_case):
    case = await own_courier_case(tracked_case)
    scanned_at = datetime.now(UTC) - timedelta(minutes=30)
    token = forge(app, case, issued_at_s=int(scanned_at.timestamp()) - 1200, ttl_s=900)
    await add_track_point(app, case.cast.courier.courier_id, INSIDE,
                          scanned_at + timedelta(seconds=1))
    response = await scan(client, case.cast.courier, token, scanned_at=scanned_at)
    assert_error(response, 410, "handoff_token_expired")


# --- numeric fallback code -----------------------------------------------------------------------

async def enter_code(client, case: Case, code: str, *, leg: str = "pickup",
                     courier: Actor | None = None, at: dict = INSIDE):
    return await client.post(f"{API}/handoffs/code", headers=(courier or case.cast.courier).headers,
                             json={"order_id": case.order_id, "leg": leg, "code": code, **at})


async def test_fallback_code_completes_the_pickup(client, new_case):
    case = await new_case()
    issued = await issue(client, case, "pickup")
    wrong = "000000" if issued["fallback_code"] != "000000" else "111111"
    error = assert_error(await enter_code(client, case, wrong), 422, "handoff_code_invalid")
    assert error["details"]["attempts_left"] == 4
    response = await enter_code(client, case, issued["fallback_code"])
    assert response.status_code == 200, response.text
    assert response.json()["custody_entry"]["method"] == "code"
    assert response.json()["custody_entry"]["token_id"] == issued["token_id"]


async def test_fallback_code_locks_after_too_many_attempts(client, app, new_case, cast):
    case = await new_case()
    issued = await issue(client, case, "pickup")
    wrong = "000000" if issued["fallback_code"] != "000000" else "111111"
    # A courier not on the order cannot even try (and so cannot burn the attempts).
    response = await enter_code(client, case, wrong, courier=cast.other_courier)
    assert response.status_code == 404
    for _ in range(5):
        assert_error(await enter_code(client, case, wrong), 422, "handoff_code_invalid")
    before = await snapshot(app, case.order_id)
    assert_error(await enter_code(client, case, issued["fallback_code"]), 429,
                 "handoff_code_locked")
    assert await snapshot(app, case.order_id) == before
    fresh = await issue(client, case, "pickup")  # a new code starts a new count
    assert (await enter_code(client, case, fresh["fallback_code"])).status_code == 200


async def test_wrong_codes_count_against_the_courier_across_orders(client, app, actors, cast):
    """Five tries per code would let a courier guess on order after order: wrong codes also
    count per courier, and past the limit even a right code is refused for a while."""
    courier = await actors.make("courier", capacity=500)
    limit = app.state.settings.handoff_fallback_max_courier_failures
    cases = []
    for _ in range(limit // 5 + 1):
        made = await client.post(f"{API}/orders", headers=cast.seller.headers,
                                 json=order_body(buyer_id=cast.buyer.id))
        assert made.status_code == 201, made.text
        assigned = await client.post(f"{API}/orders/{made.json()['id']}/assign",
                                     json={"courier_id": courier.courier_id},
                                     headers=cast.dispatcher.headers)
        assert assigned.status_code == 200, assigned.text
        cases.append(Case(made.json()["id"], cast))
    for case in cases[:-1]:
        issued = await issue(client, case, "pickup")
        wrong = "000000" if issued["fallback_code"] != "000000" else "111111"
        for _ in range(5):
            assert_error(await enter_code(client, case, wrong, courier=courier), 422,
                         "handoff_code_invalid")
    last = cases[-1]
    issued = await issue(client, last, "pickup")
    before = await snapshot(app, last.order_id)
    error = assert_error(await enter_code(client, last, issued["fallback_code"], courier=courier),
                         429, "handoff_code_locked")
    assert error["details"]["scope"] == "courier"
    assert await snapshot(app, last.order_id) == before
    # another courier's codes are not affected
    case = await new_case_for(client, cast)
    assert (await enter_code(client, case, (await issue(client, case, "pickup"))["fallback_code"])
            ).status_code == 200


async def new_case_for(client, cast: Cast) -> Case:
    made = await client.post(f"{API}/orders", headers=cast.seller.headers,
                             json=order_body(buyer_id=cast.buyer.id))
    assert made.status_code == 201, made.text
    assigned = await client.post(f"{API}/orders/{made.json()['id']}/assign",
                                 json={"courier_id": cast.courier.courier_id},
                                 headers=cast.dispatcher.headers)
    assert assigned.status_code == 200, assigned.text
    return Case(made.json()["id"], cast)


async def test_fallback_code_still_checks_the_place(client, new_case):
    case = await new_case()
    issued = await issue(client, case, "pickup")
    assert_error(await enter_code(client, case, issued["fallback_code"], at=FAR), 422,
                 "handoff_too_far")


async def test_fallback_code_without_a_live_token(client, new_case):
    case = await new_case()
    assert_error(await enter_code(client, case, "123456"), 404, "handoff_code_unavailable")


# --- issuing -------------------------------------------------------------------------------------

async def test_who_may_issue_which_leg(client, new_case, cast):
    case = await new_case()
    url = f"{API}/orders/{case.order_id}/handoff-tokens"
    for actor, leg, expected in [
        (cast.seller, "pickup", 201), (cast.admin, "pickup", 201),
        (cast.buyer, "dropoff", 201), (cast.seller, "dropoff", 201),
        (cast.buyer, "pickup", 403), (cast.courier, "pickup", 403),
        (cast.dispatcher, "dropoff", 403), (cast.other_seller, "pickup", 404),
        (cast.other_courier, "dropoff", 404),
    ]:
        response = await client.post(url, json={"leg": leg}, headers=actor.headers)
        assert response.status_code == expected, (actor.role, leg, response.text)
        if expected == 403:
            assert response.json()["error"]["code"] in ("handoff_not_allowed", "forbidden")


async def test_no_pickup_code_after_pickup_and_the_error_names_the_statuses(
        client, new_case, cast):
    case = await new_case()
    assert (await scan(client, cast.courier, (await issue(client, case, "pickup"))["token"])
            ).status_code == 200
    response = await client.post(f"{API}/orders/{case.order_id}/handoff-tokens",
                                 json={"leg": "pickup"}, headers=cast.seller.headers)
    error = assert_error(response, 409, "handoff_leg_mismatch")
    assert error["details"]["issuable_statuses"] == ["pending", "offered", "assigned",
                                                     "at_pickup"]
    assert "pending or offered or assigned or at_pickup" in error["message"]
    response = await client.post(f"{API}/orders/{case.order_id}/handoff-tokens",
                                 json={"leg": "sideways"}, headers=cast.seller.headers)
    assert_error(response, 422, "validation_error")


# --- codes minted before a courier is assigned (the seller labels the parcel when packing) -------

async def test_codes_are_minted_as_soon_as_the_order_exists(client, new_case, cast):
    case = await new_case(assign=False)
    pickup = await issue(client, case, "pickup")
    dropoff = await issue(client, case, "dropoff")
    assert "c" not in json.loads(unb64(pickup["token"].split(".")[1]))  # names no courier
    # Scanned while nobody is assigned: the leg is not due, and the error says what it waits for.
    error = assert_error(await scan(client, cast.courier, pickup["token"]), 409,
                         "handoff_leg_mismatch")
    assert error["details"]["due_statuses"] == ["assigned", "at_pickup"]
    assert "assigned or at_pickup" in error["message"]
    response = await client.post(f"{API}/handoffs/scan", json={"token": pickup["token"], **INSIDE},
                                 headers={**cast.courier.headers, "Accept-Language": "ru"})
    assert "assigned или at_pickup" in response.json()["error"]["message"]
    # Once a courier is assigned, that courier (and nobody else) takes the parcel with it.
    await client.post(f"{API}/orders/{case.order_id}/assign",
                      json={"courier_id": cast.courier.courier_id},
                      headers=cast.dispatcher.headers)
    assert_error(await scan(client, cast.other_courier, pickup["token"]), 403,
                 "handoff_wrong_courier")
    # The drop-off code is not due before the pickup.
    error = assert_error(await scan(client, cast.courier, dropoff["token"], at=INSIDE_2), 409,
                         "handoff_leg_mismatch")
    assert error["details"]["due_statuses"] == ["picked_up", "at_dropoff"]
    response = await scan(client, cast.courier, pickup["token"])
    assert response.status_code == 200, response.text
    response = await scan(client, cast.courier, dropoff["token"], at=INSIDE_2)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "delivered"


async def test_an_unnamed_token_serves_the_courier_assigned_at_scan_time(client, new_case, cast):
    case = await new_case(assign=False)
    token = (await issue(client, case, "pickup"))["token"]
    for courier in (cast.other_courier, cast.courier):  # reassigned before the scan
        response = await client.post(f"{API}/orders/{case.order_id}/assign",
                                      json={"courier_id": courier.courier_id},
                                      headers=cast.dispatcher.headers)
        assert response.status_code == 200, response.text
    assert_error(await scan(client, cast.other_courier, token), 403, "handoff_wrong_courier")
    response = await scan(client, cast.courier, token)
    assert response.status_code == 200, response.text
    assert response.json()["custody_entry"]["courier_id"] == cast.courier.courier_id


async def test_a_token_minted_after_assignment_still_names_its_courier(client, new_case, cast):
    case = await new_case()
    token = (await issue(client, case, "pickup"))["token"]
    assert json.loads(unb64(token.split(".")[1]))["c"] == cast.courier.courier_id


async def test_qr_images_show_the_live_token(client, new_case, cast):
    case = await new_case()
    svg = await client.get(f"{API}/orders/{case.order_id}/handoff-tokens/pickup.svg",
                           headers=cast.seller.headers)
    assert svg.status_code == 200, svg.text
    assert svg.headers["content-type"].startswith("image/svg+xml") and b"<svg" in svg.content
    png = await client.get(f"{API}/orders/{case.order_id}/handoff-tokens/pickup.png",
                           headers=cast.seller.headers)
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert png.headers["x-handoff-token-id"] == svg.headers["x-handoff-token-id"]
    assert (await client.get(f"{API}/orders/{case.order_id}/handoff-tokens/pickup.svg",
                             headers=cast.buyer.headers)).status_code == 403
    token = (await issue(client, case, "pickup"))["token"]
    assert segno.make(token, error="m", micro=False).version <= 12
    assert (await scan(client, cast.courier, token)).status_code == 200
    after_pickup = await client.get(f"{API}/orders/{case.order_id}/handoff-tokens/pickup.svg",
                                    headers=cast.seller.headers)
    assert_error(after_pickup, 409, "handoff_leg_mismatch")  # no stale pickup code is shown


# --- the ledger ----------------------------------------------------------------------------------

async def test_ledger_detects_an_entry_edited_behind_the_trigger(client, app, new_case, cast):
    case = await new_case()
    token = (await issue(client, case, "pickup"))["token"]
    assert (await scan(client, cast.courier, token)).status_code == 200
    async with app.state.sessionmaker() as session:
        with pytest.raises(Exception, match="append-only"):
            await session.execute(text(
                "UPDATE custody_entries SET lat = 0 WHERE order_id = :o"), {"o": case.order_id})
        await session.rollback()
    async with app.state.sessionmaker() as session:  # a superuser bypassing the trigger
        await session.execute(text("ALTER TABLE custody_entries DISABLE TRIGGER "
                                   "custody_entries_append_only"))
        await session.execute(text("UPDATE custody_entries SET cod_amount = 1, lat = 41.0 "
                                   "WHERE order_id = :o AND seq = 2"), {"o": case.order_id})
        await session.execute(text("ALTER TABLE custody_entries ENABLE TRIGGER "
                                   "custody_entries_append_only"))
        await session.commit()
    ledger = (await client.get(f"{API}/orders/{case.order_id}/custody",
                               headers=cast.seller.headers)).json()
    assert ledger["verification"]["valid"] is False
    assert ledger["verification"]["first_bad_seq"] == 2
    assert ledger["verification"]["problem"] == "hash_mismatch"


async def test_ledger_detects_a_rewritten_or_removed_delivery(client, app, new_case, cast):
    """The last entry rewritten with a recomputed hash, then removed: the order log's anchors
    (written with each handoff event) still tell."""
    from dataclasses import replace

    from custody.chain import entry_hash
    from custody.store import load_chain

    case = await new_case()
    assert (await scan(client, cast.courier, (await issue(client, case, "pickup"))["token"])
            ).status_code == 200
    assert (await scan(client, cast.courier, (await issue(client, case, "dropoff"))["token"],
                       at=INSIDE_2)).status_code == 200
    async with app.state.sessionmaker() as session:
        delivered = (await load_chain(session, case.order_id))[-1]
        forged = replace(delivered, cod_amount=delivered.cod_amount / 2)
        await session.execute(text("ALTER TABLE custody_entries DISABLE TRIGGER "
                                   "custody_entries_append_only"))
        await session.execute(text(
            "UPDATE custody_entries SET cod_amount = :cod, hash = :hash "
            "WHERE order_id = :o AND seq = :seq"),
            {"cod": forged.cod_amount, "hash": entry_hash(forged), "o": case.order_id,
             "seq": delivered.seq})
        await session.execute(text("ALTER TABLE custody_entries ENABLE TRIGGER "
                                   "custody_entries_append_only"))
        await session.commit()
    url = f"{API}/orders/{case.order_id}/custody"
    verdict = (await client.get(url, headers=cast.buyer.headers)).json()["verification"]
    assert (verdict["valid"], verdict["first_bad_seq"], verdict["problem"]) == (
        False, delivered.seq, "anchor_mismatch")
    async with app.state.sessionmaker() as session:
        await session.execute(text("ALTER TABLE custody_entries DISABLE TRIGGER "
                                   "custody_entries_append_only"))
        await session.execute(text("DELETE FROM custody_entries WHERE order_id = :o AND "
                                   "seq = :seq"), {"o": case.order_id, "seq": delivered.seq})
        await session.execute(text("ALTER TABLE custody_entries ENABLE TRIGGER "
                                   "custody_entries_append_only"))
        await session.commit()
    verdict = (await client.get(url, headers=cast.buyer.headers)).json()["verification"]
    assert (verdict["valid"], verdict["first_bad_seq"], verdict["problem"]) == (
        False, delivered.seq, "missing_entry")


async def test_cancellation_is_on_the_ledger_and_custody_is_private(client, new_case, cast):
    case = await new_case()
    response = await client.post(f"{API}/orders/{case.order_id}/cancel",
                                 headers=cast.seller.headers)
    assert response.status_code == 200, response.text
    ledger = (await client.get(f"{API}/orders/{case.order_id}/custody",
                               headers=cast.seller.headers)).json()
    assert [e["kind"] for e in ledger["entries"]] == ["created", "cancelled"]
    assert ledger["verification"]["valid"] is True
    response = await client.get(f"{API}/orders/{case.order_id}/custody",
                                headers=cast.other_seller.headers)
    assert response.status_code == 404


async def test_refusals_are_translated(client, new_case):
    case = await new_case()
    token = (await issue(client, case, "pickup"))["token"]
    response = await client.post(f"{API}/handoffs/scan", json={"token": token, **FAR},
                                 headers={**case.cast.courier.headers, "Accept-Language": "ru"})
    assert_error(response, 422, "handoff_too_far")
    assert "далеко" in response.json()["error"]["message"]


async def test_a_failed_delivery_returns_to_the_seller_with_a_return_code(client, new_case, cast):
    case = await new_case()
    assert (await scan(client, cast.courier, (await issue(client, case, "pickup"))["token"])
            ).status_code == 200
    for action in ("fail", "start_return"):
        response = await client.post(f"{API}/orders/{case.order_id}/status",
                                     json={"action": action, **INSIDE_2},
                                     headers=cast.courier.headers)
        assert response.status_code == 200, response.text
    assert_error(await client.post(f"{API}/orders/{case.order_id}/handoff-tokens",
                                   json={"leg": "return"}, headers=cast.buyer.headers),
                 403, "handoff_not_allowed")
    token = (await issue(client, case, "return", cast.seller))["token"]
    assert_error(await scan(client, cast.courier, token, at=INSIDE_2), 422, "handoff_too_far")
    response = await scan(client, cast.courier, token, at=INSIDE)
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["leg"]) == ("returned", "return")
    ledger = (await client.get(f"{API}/orders/{case.order_id}/custody",
                               headers=cast.seller.headers)).json()
    kinds = [e["kind"] for e in ledger["entries"]]
    assert kinds[0] == "created" and kinds[-1] == "returned" and "picked_up" in kinds
    assert ledger["entries"][-1]["counterparty_id"] == cast.seller.id
    assert ledger["verification"]["valid"] is True
