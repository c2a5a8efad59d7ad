"""People who use the service: admins, dispatchers, sellers, couriers and buyers."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.exceptions import DuplicateObject, InvalidInput, NotFound
from dispatch.models import ROLES, User

__all__ = ["create_user", "get_user", "find_user_by_name"]


async def create_user(session: AsyncSession, *, name: str, role: str, password_hash: str) -> User:
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}", details={"allowed": list(ROLES)})
    if await find_user_by_name(session, name) is not None:
        raise DuplicateObject(f"a user named {name!r} already exists", details={"name": name})
    user = User(name=name, role=role, password_hash=password_hash)
    session.add(user)
    await session.flush()
    return user


async def get_user(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found", details={"user_id": user_id})
    return user


async def find_user_by_name(session: AsyncSession, name: str) -> User | None:
    return await session.scalar(select(User).where(User.name == name))
