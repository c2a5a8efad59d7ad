"""People who use the service: admins, dispatchers, sellers, couriers and buyers."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.exceptions import DuplicateObject, InvalidInput, NotFound
from dispatch.tables import ROLES, User

__all__ = ["create_user", "get_user", "find_user_by_name", "revoke_tokens", "change_password",
           "set_active"]


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


async def revoke_tokens(session: AsyncSession, user: User) -> None:
    """Every access token issued to `user` so far stops working (see `User.token_version`)."""
    user.token_version = (user.token_version or 0) + 1
    await session.flush()


async def change_password(session: AsyncSession, user: User, *, password_hash: str) -> None:
    """A new password; tokens issued under the old one stop working."""
    user.password_hash = password_hash
    await revoke_tokens(session, user)


async def set_active(session: AsyncSession, user: User, *, active: bool) -> None:
    """Disables (or re-enables) an account; disabling revokes its tokens."""
    if user.is_active and not active:
        user.token_version = (user.token_version or 0) + 1
    user.is_active = active
    await session.flush()
