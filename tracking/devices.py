"""Device keys: how OsmAnd/Traccar Client and OwnTracks apps (which cannot send our bearer
tokens) are tied to a courier. A courier registers a device and is shown its key once; the
app sends the key as its device id. Only a SHA-256 of the key is stored, so a database leak
does not hand out working keys.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tracking.exceptions import DeviceNotFound, UnknownDevice
from tracking.models import Device

__all__ = ["new_device_key", "hash_device_key", "register_device", "list_devices",
           "revoke_device", "courier_for_device_key"]


def new_device_key() -> str:
    """20 random characters from an unambiguous alphabet (typed by hand into phone apps)."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "".join(secrets.choice(alphabet) for _ in range(20))


def hash_device_key(key: str) -> str:
    return hashlib.sha256(key.strip().encode()).hexdigest()


async def register_device(session: AsyncSession, *, courier_id: int,
                          name: str) -> tuple[Device, str]:
    key = new_device_key()
    device = Device(courier_id=courier_id, name=name, key_hash=hash_device_key(key),
                    key_hint=key[:4])
    session.add(device)
    await session.flush()
    return device, key


async def list_devices(session: AsyncSession, *, courier_id: int, after_id: int | None = None,
                       limit: int | None = None) -> list[Device]:
    query = (select(Device).where(Device.courier_id == courier_id, Device.revoked_at.is_(None))
             .order_by(Device.id))
    if after_id is not None:
        query = query.where(Device.id > after_id)
    if limit is not None:
        query = query.limit(limit)
    return list((await session.scalars(query)).all())


async def revoke_device(session: AsyncSession, *, courier_id: int, device_id: int,
                        now: datetime) -> Device:
    device = await session.get(Device, device_id)
    if device is None or device.courier_id != courier_id or device.revoked_at is not None:
        raise DeviceNotFound(f"device {device_id} not found", details={"device_id": device_id})
    device.revoked_at = now
    await session.flush()
    return device


async def courier_for_device_key(session: AsyncSession, keys: list[str], *,
                                 now: datetime) -> int:
    """The courier of the first registered, unrevoked key among `keys`; `UnknownDevice` else."""
    hashes = [hash_device_key(k) for k in keys if k and k.strip()]
    if hashes:
        rows = (await session.execute(
            select(Device.id, Device.courier_id, Device.key_hash)
            .where(Device.key_hash.in_(hashes), Device.revoked_at.is_(None)))).all()
        by_hash = {row.key_hash: row for row in rows}
        for key_hash in hashes:
            row = by_hash.get(key_hash)
            if row is not None:
                await session.execute(update(Device).where(Device.id == row.id)
                                      .values(last_used_at=now))
                return row.courier_id
    raise UnknownDevice("the device id is not registered", details=None)
