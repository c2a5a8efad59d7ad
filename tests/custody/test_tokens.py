"""Handoff tokens: signing, strict verification, key rotation, and offline checks with
standard JOSE libraries (joserfc and PyJWT) reading only our published JWKS."""

from __future__ import annotations

import base64
import json
import os
import stat

import jwt as pyjwt
import pytest
import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from joserfc import jws as joserfc_jws
from joserfc import jwt as joserfc_jwt
from joserfc.jwk import KeySet, OctKey, OKPKey

from custody.errors import (
    HandoffAlgorithmRefused,
    HandoffBadSignature,
    HandoffKeysManaged,
    HandoffTokenExpired,
    HandoffTokenMalformed,
    HandoffTokenNotYetValid,
    HandoffUnknownKey,
)
from custody.keys import HandoffKeyStore, key_ring_from_pem, load_key_ring, rotate_key
from custody.tokens import (
    FALLBACK_CODE_DIGITS,
    HandoffClaims,
    KeyRing,
    Leg,
    SigningKey,
    check_token_time,
    fallback_code,
    new_token_id,
    public_jwks,
    sign_handoff_token,
    verify_handoff_token,
)

#: joserfc warns that RFC 9864 prefers the fully specified "Ed25519" name over "EdDSA"; the
#: contract names EdDSA, which every JOSE library still verifies.
pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")

NOW_S = 1_790_000_000
TTL_S = 900


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture
def signing_key() -> SigningKey:
    return SigningKey.from_private(Ed25519PrivateKey.generate(), created_at_s=NOW_S - 100)


@pytest.fixture
def ring(signing_key: SigningKey) -> KeyRing:
    return KeyRing((signing_key,))


def claims(**overrides) -> HandoffClaims:
    values = dict(order_id=123_456, leg=Leg.PICKUP, courier_id=4_321, token_id=new_token_id(),
                  issued_at_s=NOW_S, expires_at_s=NOW_S + TTL_S)
    values.update(overrides)
    return HandoffClaims(**values)


def test_round_trip_gives_back_the_claims(ring):
    original = claims(leg=Leg.DROPOFF)
    assert verify_handoff_token(sign_handoff_token(original, ring), ring) == original


def test_header_and_claims_are_short_and_standard(ring, signing_key):
    header_b64, payload_b64, signature_b64 = sign_handoff_token(claims(), ring).split(".")
    assert json.loads(unb64(header_b64)) == {"alg": "EdDSA", "kid": signing_key.kid}
    payload = json.loads(unb64(payload_b64))
    assert set(payload) == {"o", "l", "c", "jti", "iat", "exp"}
    assert payload["l"] == "p"
    assert len(unb64(signature_b64)) == 64


def test_real_tokens_fit_qr_version_12_at_level_m(ring):
    big = claims(order_id=9_999_999_999, courier_id=9_999_999, issued_at_s=4_000_000_000,
                 expires_at_s=4_000_086_400)
    token = sign_handoff_token(big, ring)
    assert segno.make(token, error="m", micro=False).version <= 12


def test_token_ids_are_unique_and_url_safe():
    ids = {new_token_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(len(i) == 12 and "=" not in i for i in ids)


def test_tampered_payload_is_refused(ring):
    header, payload, signature = sign_handoff_token(claims(), ring).split(".")
    forged = json.loads(unb64(payload)) | {"o": 1}
    with pytest.raises(HandoffBadSignature):
        verify_handoff_token(f"{header}.{b64(json.dumps(forged).encode())}.{signature}", ring)


def test_signature_swapped_from_another_token_is_refused(ring):
    first = sign_handoff_token(claims(), ring).split(".")
    second = sign_handoff_token(claims(order_id=7), ring).split(".")
    with pytest.raises(HandoffBadSignature):
        verify_handoff_token(f"{first[0]}.{first[1]}.{second[2]}", ring)


def test_flipped_signature_bit_is_refused(ring):
    header, payload, signature = sign_handoff_token(claims(), ring).split(".")
    raw = bytearray(unb64(signature))
    raw[10] ^= 0x01
    with pytest.raises(HandoffBadSignature):
        verify_handoff_token(f"{header}.{payload}.{b64(bytes(raw))}", ring)


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "HS256", "RS256", "ES256", "Ed25519",
                                 None, 1])
def test_other_algorithms_are_refused(ring, signing_key, alg):
    _, payload, signature = sign_handoff_token(claims(), ring).split(".")
    header = b64(json.dumps({"alg": alg, "kid": signing_key.kid}).encode())
    for sig in ("", signature):
        with pytest.raises(HandoffAlgorithmRefused):
            verify_handoff_token(f"{header}.{payload}.{sig}", ring)


def test_hmac_keyed_with_our_public_key_is_refused(ring, signing_key):
    """The classic key confusion: HS256 with the public key bytes as the shared secret."""
    public_raw = unb64(signing_key.public_jwk()["x"])
    forged = joserfc_jws.serialize_compact({"alg": "HS256", "kid": signing_key.kid},
                                           json.dumps(claims().as_payload()).encode(),
                                           OctKey.import_key(public_raw), algorithms=["HS256"])
    with pytest.raises(HandoffAlgorithmRefused):
        verify_handoff_token(forged, ring)


def test_embedded_key_header_is_refused(ring, signing_key):
    """A token carrying its own key (`jwk`) must not be trusted with that key."""
    attacker = OKPKey.generate_key("Ed25519")
    header = {"alg": "EdDSA", "kid": signing_key.kid, "jwk": attacker.as_dict(private=False)}
    forged = joserfc_jws.serialize_compact(header, json.dumps(claims().as_payload()).encode(),
                                           attacker, algorithms=["EdDSA"])
    with pytest.raises(HandoffAlgorithmRefused):
        verify_handoff_token(forged, ring)


def test_token_signed_by_a_stranger_with_our_kid_is_refused(ring, signing_key):
    stranger = Ed25519PrivateKey.generate()
    forged_key = SigningKey(kid=signing_key.kid, public_key=stranger.public_key(),
                            private_key=stranger)
    forged = sign_handoff_token(claims(), KeyRing((forged_key,)))
    with pytest.raises(HandoffBadSignature):
        verify_handoff_token(forged, ring)


def test_unknown_kid_is_refused(ring):
    other = KeyRing((SigningKey.from_private(Ed25519PrivateKey.generate()),))
    with pytest.raises(HandoffUnknownKey):
        verify_handoff_token(sign_handoff_token(claims(), other), ring)


@pytest.mark.parametrize("token", [
    "", "abc", "a.b", "a.b.c.d", "!!!.???.***", "a" * 5000, "..", "e30.e30.",
    b64(b"[1,2]") + "." + b64(b"{}") + ".AA",
    b64(b'{"alg":"EdDSA","alg":"none"}') + "." + b64(b"{}") + ".AA",
])
def test_garbage_is_malformed_not_a_crash(ring, token):
    with pytest.raises((HandoffTokenMalformed, HandoffAlgorithmRefused, HandoffUnknownKey)):
        verify_handoff_token(token, ring)


def test_signed_token_with_mistyped_claims_is_malformed(ring):
    key = ring.signing_key
    header = b64(json.dumps({"alg": "EdDSA", "kid": key.kid}, separators=(",", ":")).encode())
    payload = b64(json.dumps({"o": "1", "l": "x"}).encode())
    signature = b64(key.private_key.sign(f"{header}.{payload}".encode()))
    with pytest.raises(HandoffTokenMalformed):
        verify_handoff_token(f"{header}.{payload}.{signature}", ring)


def test_a_token_minted_before_assignment_names_no_courier(ring):
    original = claims(courier_id=None)
    token = sign_handoff_token(original, ring)
    assert "c" not in json.loads(unb64(token.split(".")[1]))
    assert verify_handoff_token(token, ring) == original


@pytest.mark.parametrize("courier", [None, 0, -3, "7", 1.5])
def test_a_present_courier_claim_must_be_a_positive_integer(ring, courier):
    key = ring.signing_key
    header = b64(json.dumps({"alg": "EdDSA", "kid": key.kid}, separators=(",", ":")).encode())
    payload = b64(json.dumps({"o": 1, "l": "p", "c": courier, "jti": new_token_id(),
                              "iat": NOW_S, "exp": NOW_S + TTL_S}).encode())
    signature = b64(key.private_key.sign(f"{header}.{payload}".encode()))
    with pytest.raises(HandoffTokenMalformed):
        verify_handoff_token(f"{header}.{payload}.{signature}", ring)


def test_time_window_is_checked_at_the_scan_time():
    c = claims()
    check_token_time(c, at_s=NOW_S)
    check_token_time(c, at_s=NOW_S + TTL_S)
    with pytest.raises(HandoffTokenExpired):
        check_token_time(c, at_s=NOW_S + TTL_S + 1)
    with pytest.raises(HandoffTokenNotYetValid):
        check_token_time(c, at_s=NOW_S - 10)
    check_token_time(c, at_s=NOW_S - 10, leeway_s=30)


def test_fallback_code_is_numeric_stable_and_differs_between_tokens(ring):
    first, second = sign_handoff_token(claims(), ring), sign_handoff_token(claims(), ring)
    code = fallback_code(first)
    assert code.isdigit() and len(code) == FALLBACK_CODE_DIGITS
    assert fallback_code(first) == code
    assert fallback_code(second) != code


# --- offline verification with standard libraries ---------------------------------------------

def test_joserfc_verifies_our_token_with_our_jwks(ring):
    original = claims()
    token = sign_handoff_token(original, ring)
    key_set = KeySet.import_key_set(public_jwks(ring))
    decoded = joserfc_jwt.decode(token, key_set, algorithms=["EdDSA"])
    assert decoded.header["alg"] == "EdDSA"
    assert decoded.claims["o"] == original.order_id
    assert decoded.claims["jti"] == original.token_id


def test_pyjwt_verifies_our_token_with_our_jwks(ring, signing_key):
    original = claims(issued_at_s=NOW_S, expires_at_s=NOW_S + TTL_S)
    token = sign_handoff_token(original, ring)
    jwk_set = pyjwt.PyJWKSet.from_dict(public_jwks(ring))
    key = next(k for k in jwk_set.keys if k.key_id == signing_key.kid)
    decoded = pyjwt.decode(token, key=key, algorithms=["EdDSA"],
                           options={"verify_exp": False, "verify_iat": False})
    assert decoded["c"] == original.courier_id
    with pytest.raises(pyjwt.ExpiredSignatureError):  # the library checks `exp` by itself
        pyjwt.decode(token, key=key, algorithms=["EdDSA"])


def test_standard_library_rejects_a_tampered_token(ring):
    header, payload, signature = sign_handoff_token(claims(), ring).split(".")
    forged = json.loads(unb64(payload)) | {"c": 1}
    key_set = KeySet.import_key_set(public_jwks(ring))
    with pytest.raises(Exception, match="(?i)signature"):
        joserfc_jwt.decode(f"{header}.{b64(json.dumps(forged).encode())}.{signature}", key_set,
                           algorithms=["EdDSA"])


# --- key ring and rotation ----------------------------------------------------------------------

def test_rotation_keeps_old_keys_verifying_until_their_tokens_expire(tmp_path):
    keys_dir = tmp_path / "keys"
    ring_1 = load_key_ring(keys_dir, now_s=NOW_S, max_token_ttl_s=TTL_S)
    old_token = sign_handoff_token(claims(), ring_1)
    ring_2 = rotate_key(keys_dir, now_s=NOW_S + 10, max_token_ttl_s=TTL_S)
    assert ring_2.signing_key.kid != ring_1.signing_key.kid
    assert verify_handoff_token(old_token, ring_2).order_id == 123_456
    assert {k["kid"] for k in public_jwks(ring_2)["keys"]} == {ring_1.signing_key.kid,
                                                              ring_2.signing_key.kid}
    # Long after the old key stopped signing, its tokens are all dead: it is dropped.
    ring_3 = rotate_key(keys_dir, now_s=NOW_S + 10 + TTL_S + 100, max_token_ttl_s=TTL_S)
    with pytest.raises(HandoffUnknownKey):
        verify_handoff_token(old_token, ring_3)
    assert len(list(keys_dir.glob("handoff-ed25519-*.pem"))) == 2  # the oldest file is gone


def test_first_start_makes_one_private_key_file_readable_only_by_us(tmp_path):
    keys_dir = tmp_path / "keys"
    first = load_key_ring(keys_dir, now_s=NOW_S, max_token_ttl_s=TTL_S)
    again = load_key_ring(keys_dir, now_s=NOW_S + 5, max_token_ttl_s=TTL_S)
    assert first.signing_key.kid == again.signing_key.kid
    (key_file,) = keys_dir.glob("handoff-ed25519-*.pem")
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(keys_dir).st_mode) & 0o077 == 0


def test_key_store_sees_a_rotation_made_by_another_process(tmp_path):
    keys_dir = tmp_path / "keys"
    worker_a = HandoffKeyStore(keys_dir=keys_dir, max_token_ttl_s=TTL_S)
    worker_b = HandoffKeyStore(keys_dir=keys_dir, max_token_ttl_s=TTL_S)
    assert worker_a.ring(now_s=NOW_S).signing_key.kid == worker_b.ring(now_s=NOW_S).signing_key.kid
    new_ring = worker_a.rotate(now_s=NOW_S + 1)
    token = sign_handoff_token(claims(), new_ring)
    assert verify_handoff_token(token, worker_b.ring(now_s=NOW_S + 1)).order_id == 123_456


def test_keys_from_configuration_sign_with_the_first(signing_key):
    second = Ed25519PrivateKey.generate()
    pem = "".join(
        k.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
        for k in (signing_key.private_key, second))
    ring = key_ring_from_pem(pem)
    assert ring.signing_key.kid == signing_key.kid
    assert len(ring.keys) == 2 and ring.keys[1].private_key is None
    store = HandoffKeyStore(keys_dir=None, max_token_ttl_s=TTL_S, configured_pem=pem)  # type: ignore[arg-type]
    assert store.ring(now_s=NOW_S).signing_key.kid == signing_key.kid
    with pytest.raises(HandoffKeysManaged):
        store.rotate(now_s=NOW_S)


@pytest.mark.parametrize("leg", list(Leg))
def test_every_leg_round_trips_as_one_letter(ring, leg):
    token = sign_handoff_token(claims(leg=leg), ring)
    assert json.loads(unb64(token.split(".")[1]))["l"] == leg.value[0]
    assert verify_handoff_token(token, ring).leg is leg
