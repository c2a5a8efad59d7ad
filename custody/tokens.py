"""Handoff tokens: JWS compact serialization signed with EdDSA (Ed25519), verified strictly.

A token proves that the person showing it (the seller at pickup, the buyer at dropoff) let a
named courier take or hand over one order's parcel within a short time. It must fit a small QR
code, so the claims use short names (JWT's registered ones where they exist, so a standard JOSE
library checks `exp` itself):

    {"o": order_id, "l": "p" | "d" | "r", "c": courier_id, "jti": "<12 chars>", "iat": s, "exp": s}

`c` is left out of a token minted before any courier accepted the order (a seller labelling a
parcel while packing): such a token serves whichever courier is assigned when it is scanned.

The header is `{"alg": "EdDSA", "kid": "<8 chars>"}`; the key id is a prefix of the RFC 7638
JWK thumbprint, so it follows from the key itself. Verification accepts exactly that algorithm
(no `none`, no HMAC keyed with the public key, no embedded or remote keys, no `crit`), looks
the key up by `kid` in a `KeyRing` and only then reads the claims.

This module is pure: no clock (times are arguments), no files, no network. Keys are loaded and
rotated by `custody.keys`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from custody.errors import (
    HandoffAlgorithmRefused,
    HandoffBadSignature,
    HandoffTokenExpired,
    HandoffTokenMalformed,
    HandoffTokenNotYetValid,
    HandoffUnknownKey,
)

__all__ = [
    "ALGORITHM",
    "Leg",
    "HandoffClaims",
    "SigningKey",
    "KeyRing",
    "new_token_id",
    "key_id_of",
    "sign_handoff_token",
    "verify_handoff_token",
    "check_token_time",
    "public_jwks",
    "fallback_code",
    "MAX_TOKEN_CHARS",
    "FALLBACK_CODE_DIGITS",
]

ALGORITHM = "EdDSA"
#: Tokens longer than this are refused before any decoding (ours are about 245 characters).
MAX_TOKEN_CHARS = 1024
FALLBACK_CODE_DIGITS = 6
_KID_CHARS = 8
_SIGNATURE_BYTES = 64
_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")
#: Header fields we understand; anything else (jku, jwk, x5u, crit, ...) is refused.
_ALLOWED_HEADER_FIELDS = frozenset({"alg", "kid", "typ"})


class Leg(StrEnum):
    """Which handoff a token proves; the wire value is one letter to keep the QR small.

    `return` is the parcel going back to the seller after a failed delivery.
    """

    PICKUP = "pickup"
    DROPOFF = "dropoff"
    RETURN = "return"

    @property
    def short(self) -> str:
        return self.value[0]

    @classmethod
    def from_short(cls, value: str) -> Leg:
        for leg in cls:
            if leg.short == value:
                return leg
        raise ValueError(value)


_LEG_SHORTS = frozenset(leg.short for leg in Leg)


@dataclass(frozen=True, slots=True)
class HandoffClaims:
    """What a handoff token says. Times are Unix seconds (UTC)."""

    order_id: int
    leg: Leg
    #: None: minted before assignment; the courier assigned at scan time may use it.
    courier_id: int | None
    token_id: str
    issued_at_s: int
    expires_at_s: int

    def as_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"o": self.order_id, "l": self.leg.short}
        if self.courier_id is not None:
            payload["c"] = self.courier_id
        payload.update({"jti": self.token_id, "iat": self.issued_at_s, "exp": self.expires_at_s})
        return payload


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One Ed25519 key pair (or only its public half, for a key that no longer signs).

    `created_at_s` orders keys: the newest with a private half signs; older ones verify until
    every token they signed has expired (see `KeyRing.with_rotation`).
    """

    kid: str
    public_key: Ed25519PublicKey
    private_key: Ed25519PrivateKey | None = field(default=None, repr=False)
    created_at_s: int = 0
    #: When a newer key took over signing; None while this key is the active one.
    retired_at_s: int | None = None

    @classmethod
    def from_private(cls, private_key: Ed25519PrivateKey, *, created_at_s: int = 0) -> SigningKey:
        public_key = private_key.public_key()
        return cls(kid=key_id_of(public_key), public_key=public_key, private_key=private_key,
                   created_at_s=created_at_s)

    def public_jwk(self) -> dict[str, str]:
        return {"kty": "OKP", "crv": "Ed25519", "x": _b64encode(_raw_public(self.public_key)),
                "kid": self.kid, "alg": ALGORITHM, "use": "sig"}


@dataclass(frozen=True, slots=True)
class KeyRing:
    """The keys the service signs and verifies with; the first key in `keys` signs."""

    keys: tuple[SigningKey, ...]

    def __post_init__(self) -> None:
        if not self.keys or self.keys[0].private_key is None:
            raise ValueError("a key ring needs a signing key with its private half first")

    @property
    def signing_key(self) -> SigningKey:
        return self.keys[0]

    def verification_key(self, kid: str) -> SigningKey | None:
        for key in self.keys:
            if key.kid == kid:
                return key
        return None

    @classmethod
    def from_keys(cls, keys: Iterable[SigningKey], *, now_s: int, max_token_ttl_s: int) -> KeyRing:
        """Newest key signs; an older key stays while tokens it signed can still be presented.

        A key stops signing when the next newer key was created; a token it signed lives at
        most `max_token_ttl_s` after that (the TTL plus the offline upload window).
        """
        ordered = sorted(keys, key=lambda k: (k.created_at_s, k.kid), reverse=True)
        if not ordered:
            raise ValueError("no handoff keys")
        kept = [ordered[0]]
        for newer, key in zip(ordered, ordered[1:], strict=False):
            retired_at_s = newer.created_at_s
            if retired_at_s + max_token_ttl_s >= now_s:
                kept.append(SigningKey(kid=key.kid, public_key=key.public_key,
                                       private_key=None, created_at_s=key.created_at_s,
                                       retired_at_s=retired_at_s))
        return cls(tuple(kept))


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    if not _B64URL.match(text) or len(text) % 4 == 1:
        raise HandoffTokenMalformed("the token is not base64url encoded")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise HandoffTokenMalformed("the token is not base64url encoded") from None


def _raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id_of(public_key: Ed25519PublicKey) -> str:
    """The first characters of the key's RFC 7638 JWK thumbprint (SHA-256, base64url)."""
    members = {"crv": "Ed25519", "kty": "OKP", "x": _b64encode(_raw_public(public_key))}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
    return _b64encode(hashlib.sha256(canonical.encode()).digest())[:_KID_CHARS]


def new_token_id() -> str:
    """72 random bits as 12 base64url characters: unique for the life of any token."""
    return _b64encode(secrets.token_bytes(9))


def _compact_json(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True).encode()


def sign_handoff_token(claims: HandoffClaims, ring: KeyRing) -> str:
    """The JWS compact serialization of `claims`, signed by the ring's signing key."""
    key = ring.signing_key
    assert key.private_key is not None  # guaranteed by KeyRing
    header = _b64encode(_compact_json({"alg": ALGORITHM, "kid": key.kid}))
    payload = _b64encode(_compact_json(claims.as_payload()))
    signing_input = f"{header}.{payload}".encode("ascii")
    return f"{header}.{payload}.{_b64encode(key.private_key.sign(signing_input))}"


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise HandoffTokenMalformed("the token repeats a field", details={"field": name})
        result[name] = value
    return result


def _json_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicate_keys)
    except (UnicodeDecodeError, ValueError):
        raise HandoffTokenMalformed(f"the token {what} is not JSON") from None
    if not isinstance(value, dict):
        raise HandoffTokenMalformed(f"the token {what} is not a JSON object")
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _claims_from(payload: dict[str, Any]) -> HandoffClaims:
    order_id, leg, courier_id = payload.get("o"), payload.get("l"), payload.get("c")
    token_id, issued, expires = payload.get("jti"), payload.get("iat"), payload.get("exp")
    valid = (
        _is_int(order_id) and order_id > 0 and leg in _LEG_SHORTS
        and (courier_id is None and "c" not in payload
             or _is_int(courier_id) and courier_id > 0)
        and isinstance(token_id, str) and 8 <= len(token_id) <= 64
        and _B64URL.match(token_id) is not None
        and _is_int(issued) and _is_int(expires) and expires > issued
    )
    if not valid:
        raise HandoffTokenMalformed("the token claims are incomplete or mistyped")
    return HandoffClaims(order_id=order_id, leg=Leg.from_short(leg), courier_id=courier_id,
                         token_id=token_id, issued_at_s=issued, expires_at_s=expires)


def verify_handoff_token(token: str, ring: KeyRing) -> HandoffClaims:
    """The claims of a token we signed, or a `HandoffError` naming what is wrong.

    Order matters: the shape, then the algorithm, then the key, then the signature; the
    claims are read only from a token whose signature holds. Expiry is `check_token_time`.
    """
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
        raise HandoffTokenMalformed("the token is not a handoff token")
    parts = token.strip().split(".")
    if len(parts) != 3 or not all(parts[:2]):
        raise HandoffTokenMalformed("the token is not a JWS compact serialization")
    header_b64, payload_b64, signature_b64 = parts
    header = _json_object(_b64decode(header_b64), "header")
    algorithm = header.get("alg")
    if algorithm != ALGORITHM:
        raise HandoffAlgorithmRefused("only EdDSA (Ed25519) signed tokens are accepted",
                                      details={"alg": algorithm if isinstance(algorithm, str)
                                               else None})
    unknown_fields = set(header) - _ALLOWED_HEADER_FIELDS
    if unknown_fields:
        raise HandoffAlgorithmRefused("the token header carries fields we do not accept",
                                      details={"fields": sorted(unknown_fields)})
    kid = header.get("kid")
    key = ring.verification_key(kid) if isinstance(kid, str) else None
    if key is None:
        raise HandoffUnknownKey("the token was signed with a key we do not know",
                                details={"kid": kid if isinstance(kid, str) else None})
    signature = _b64decode(signature_b64)
    if len(signature) != _SIGNATURE_BYTES:
        raise HandoffBadSignature("the token signature is invalid")
    try:
        key.public_key.verify(signature, f"{header_b64}.{payload_b64}".encode("ascii"))
    except InvalidSignature:
        raise HandoffBadSignature("the token signature is invalid") from None
    return _claims_from(_json_object(_b64decode(payload_b64), "payload"))


def check_token_time(claims: HandoffClaims, *, at_s: float, leeway_s: float = 0) -> None:
    """Refuses a token outside `[iat - leeway, exp]` at time `at_s` (the scan time)."""
    if at_s > claims.expires_at_s:
        raise HandoffTokenExpired("the handoff code has expired; ask for a new one",
                                  details={"expires_at": claims.expires_at_s, "at": at_s})
    if at_s < claims.issued_at_s - leeway_s:
        raise HandoffTokenNotYetValid("the scan time is before the code was issued",
                                      details={"issued_at": claims.issued_at_s, "at": at_s})


def public_jwks(keys: Sequence[SigningKey] | KeyRing) -> dict[str, list[dict[str, str]]]:
    """The public halves as a JSON Web Key Set (RFC 7517), for offline verification."""
    listed = keys.keys if isinstance(keys, KeyRing) else keys
    return {"keys": [key.public_jwk() for key in listed]}


def fallback_code(token: str) -> str:
    """A short numeric code for the token, for when the courier's camera fails.

    It is derived from the signature, which nobody can predict without the private key, so
    knowing the order and the time does not reveal it; the holder reads it under the QR.
    """
    signature = token.rsplit(".", 1)[-1]
    digest = hashlib.sha256(b"courier-handoff-fallback:" + signature.encode("ascii")).digest()
    number = int.from_bytes(digest[:8], "big") % 10**FALLBACK_CODE_DIGITS
    return f"{number:0{FALLBACK_CODE_DIGITS}d}"
