"""Passwords (argon2 through pwdlib) and access tokens (JWT, HS256, signed with the secret key)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

__all__ = ["PasswordHasher", "AccessTokenClaims", "issue_access_token", "read_access_token",
           "InvalidAccessToken"]

_ALGORITHM = "HS256"


class InvalidAccessToken(Exception):
    pass


class PasswordHasher:
    """Argon2id with pwdlib's recommended parameters; one instance per process.

    `cheap=True` (test mode only) keeps argon2id but with minimal cost parameters, so a test
    suite that logs in hundreds of users does not spend minutes hashing.
    """

    def __init__(self, *, cheap: bool = False) -> None:
        self._hasher = (PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
                        if cheap else PasswordHash.recommended())
        # A real hash to verify against when the user does not exist, so that timing does not
        # tell whether a name is registered.
        self._dummy_hash = self._hasher.hash("not-a-real-password")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password: str, password_hash: str | None) -> bool:
        if password_hash is None:
            self._hasher.verify(password, self._dummy_hash)
            return False
        return self._hasher.verify(password, password_hash)


@dataclass(frozen=True, slots=True)
class AccessTokenClaims:
    user_id: int
    role: str
    expires_at_s: float
    #: The user's token version at issue (tokens from before versions existed: 0).
    version: int = 0


def issue_access_token(*, user_id: int, role: str, secret_key: str, ttl_s: int,
                       version: int = 0, now_s: float | None = None) -> tuple[str, float]:
    issued_at = time.time() if now_s is None else now_s
    expires_at = issued_at + ttl_s
    token = jwt.encode(
        {"sub": str(user_id), "role": role, "iat": int(issued_at), "exp": int(expires_at),
         "ver": version},
        secret_key,
        algorithm=_ALGORITHM,
    )
    return token, expires_at


def read_access_token(token: str, *, secret_key: str) -> AccessTokenClaims:
    try:
        claims = jwt.decode(token, secret_key, algorithms=[_ALGORITHM],
                            options={"require": ["sub", "exp", "role"]})
        return AccessTokenClaims(int(claims["sub"]), str(claims["role"]), float(claims["exp"]),
                                 int(claims.get("ver", 0)))
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise InvalidAccessToken(str(exc)) from exc
