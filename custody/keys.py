"""Where the handoff signing keys live: files under the data directory, or configuration.

On first start the service generates an Ed25519 key into `<COURIER_DATA_DIR>/keys` (the file is
created 0600 in a 0700 directory, and an exclusive lock keeps several worker processes from
each making their own). Rotation writes a newer key; the older one stops signing at once but
keeps verifying until every token it signed has expired (TTL plus the offline upload window),
after which rotation deletes it. A deployment may instead give the keys in configuration
(`COURIER_HANDOFF_SIGNING_KEYS`, PKCS#8 PEM blocks, the first signs); then files are not used
and rotation happens by changing the configuration.

Worker processes notice a rotation made by another process because the key directory's
modification time changes; `HandoffKeyStore.ring` re-reads it then.
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from custody.errors import HandoffKeysManaged
from custody.tokens import KeyRing, SigningKey

__all__ = ["HandoffKeyStore", "load_key_ring", "rotate_key", "key_ring_from_pem",
           "KEY_FILE_PATTERN"]

#: `handoff-ed25519-<created Unix seconds>-<kid>.pem`
KEY_FILE_PATTERN = re.compile(r"^handoff-ed25519-(\d+)-([A-Za-z0-9_-]+)\.pem$")
_PEM_BLOCK = re.compile(r"-----BEGIN PRIVATE KEY-----.+?-----END PRIVATE KEY-----", re.S)


@contextmanager
def _locked(keys_dir: Path) -> Iterator[None]:
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(keys_dir / ".lock", "a+") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def _key_files(keys_dir: Path) -> list[tuple[int, Path]]:
    found = []
    for path in keys_dir.iterdir():
        match = KEY_FILE_PATTERN.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


def _read_key(path: Path, created_at_s: int) -> SigningKey:
    private_key = load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(private_key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return SigningKey.from_private(private_key, created_at_s=created_at_s)


def _write_new_key(keys_dir: Path, created_at_s: int) -> SigningKey:
    key = SigningKey.from_private(Ed25519PrivateKey.generate(), created_at_s=created_at_s)
    assert key.private_key is not None
    pem = key.private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    path = keys_dir / f"handoff-ed25519-{created_at_s}-{key.kid}.pem"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(pem)
        out.flush()
        os.fsync(out.fileno())
    return key


def _read_all(keys_dir: Path) -> list[SigningKey]:
    return [_read_key(path, created) for created, path in _key_files(keys_dir)]


def load_key_ring(keys_dir: Path, *, now_s: int, max_token_ttl_s: int) -> KeyRing:
    """The ring from `keys_dir`, generating the first key there if there is none."""
    with _locked(keys_dir):
        keys = _read_all(keys_dir)
        if not keys:
            keys = [_write_new_key(keys_dir, now_s)]
    return KeyRing.from_keys(keys, now_s=now_s, max_token_ttl_s=max_token_ttl_s)


def rotate_key(keys_dir: Path, *, now_s: int, max_token_ttl_s: int) -> KeyRing:
    """Adds a new signing key and deletes keys whose tokens can no longer be presented."""
    with _locked(keys_dir):
        files = _key_files(keys_dir)
        created_at_s = max([now_s] + [created + 1 for created, _ in files])
        _write_new_key(keys_dir, created_at_s)
        files = _key_files(keys_dir)
        for (_, path), (newer_created, _) in zip(files, files[1:], strict=False):
            if newer_created + max_token_ttl_s < now_s:
                path.unlink(missing_ok=True)
        keys = _read_all(keys_dir)
    return KeyRing.from_keys(keys, now_s=now_s, max_token_ttl_s=max_token_ttl_s)


def key_ring_from_pem(pem_text: str) -> KeyRing:
    """A ring from configured PKCS#8 PEM blocks: the first signs, the others only verify."""
    blocks = _PEM_BLOCK.findall(pem_text.replace("\\n", "\n"))
    if not blocks:
        raise ValueError("COURIER_HANDOFF_SIGNING_KEYS holds no PEM private key")
    keys = []
    for index, block in enumerate(blocks):
        private_key = load_pem_private_key(block.encode(), password=None)
        if not isinstance(private_key, Ed25519PrivateKey):
            raise ValueError("COURIER_HANDOFF_SIGNING_KEYS must hold Ed25519 keys")
        key = SigningKey.from_private(private_key)
        if index > 0:
            key = SigningKey(kid=key.kid, public_key=key.public_key, private_key=None)
        keys.append(key)
    return KeyRing(tuple(keys))


@dataclass
class HandoffKeyStore:
    """The current key ring of this process, kept in step with the key directory."""

    keys_dir: Path
    max_token_ttl_s: int
    configured_pem: str | None = None
    _ring: KeyRing | None = None
    _dir_mtime_ns: int | None = None

    @property
    def managed_by_configuration(self) -> bool:
        return self.configured_pem is not None

    def _mtime_ns(self) -> int | None:
        try:
            return self.keys_dir.stat().st_mtime_ns
        except FileNotFoundError:
            return None

    def ring(self, *, now_s: int) -> KeyRing:
        """The ring to sign and verify with now (re-read if another process rotated)."""
        if self.configured_pem is not None:
            if self._ring is None:
                self._ring = key_ring_from_pem(self.configured_pem)
            return self._ring
        mtime_ns = self._mtime_ns()
        if self._ring is None or mtime_ns != self._dir_mtime_ns:
            self._ring = load_key_ring(self.keys_dir, now_s=now_s,
                                       max_token_ttl_s=self.max_token_ttl_s)
            self._dir_mtime_ns = self._mtime_ns()
        return self._ring

    def rotate(self, *, now_s: int) -> KeyRing:
        if self.configured_pem is not None:
            raise HandoffKeysManaged("the handoff keys come from configuration; rotate them there")
        self._ring = rotate_key(self.keys_dir, now_s=now_s, max_token_ttl_s=self.max_token_ttl_s)
        self._dir_mtime_ns = self._mtime_ns()
        return self._ring
