"""The dependency vocabulary of the API: `SessionDep`, `CurrentUser`, `require_roles`, ...

Everything a view needs comes from here, built once per process in `api.app.create_app` and
kept on `app.state` (no module-level engines or clients).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import ApiError
from api.principals import PrincipalCache
from api.security import InvalidAccessToken, read_access_token
from api.settings import Settings
from dispatch.couriers import courier_of_user
from dispatch.tables import Courier, User

__all__ = [
    "own_courier",
    "SettingsDep",
    "SessionDep",
    "RedisDep",
    "CurrentUser",
    "require_roles",
    "DispatcherUser",
    "AdminUser",
    "authenticate_token",
]

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


# Dependencies are `async def` even where they do not await: FastAPI runs a plain `def`
# dependency in its thread pool, a thread hop per request for a one-line lookup.
async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request; the view commits its unit of work explicitly."""
    async with request.app.state.sessionmaker() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def get_redis(request: Request) -> Redis:
    return request.app.state.redis


RedisDep = Annotated[Redis, Depends(get_redis)]


async def authenticate_token(token: str | None, *, settings: Settings,
                             session: AsyncSession,
                             principals: PrincipalCache | None = None) -> User:
    """The active user a bearer token names, or `ApiError` 401. Shared by HTTP and WebSockets.

    With `principals`, the user row may come from the worker's short-lived cache (a transient
    `User`; see `api.principals`)."""
    if not token:
        raise ApiError(401, "not_authenticated", "Authentication is required.",
                       headers={"WWW-Authenticate": "Bearer"})
    try:
        claims = read_access_token(token, secret_key=settings.require_secret_key())
    except InvalidAccessToken:
        raise ApiError(401, "invalid_token", "The access token is invalid or expired.",
                       headers={"WWW-Authenticate": "Bearer"}) from None
    user = principals.get(claims.user_id) if principals is not None else None
    if user is None:
        user = await session.get(User, claims.user_id)
        if user is not None and principals is not None:
            principals.put(user)
    if user is None or not user.is_active or claims.version != user.token_version:
        raise ApiError(401, "invalid_token", "The access token is invalid or expired.",
                       headers={"WWW-Authenticate": "Bearer"})
    return user


async def get_current_user(
    request: Request, token: Annotated[str | None, Depends(oauth2_scheme)],
    settings: SettingsDep, session: SessionDep,
) -> User:
    return await authenticate_token(token, settings=settings, session=session,
                                    principals=request.app.state.principals)


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_roles(*roles: str) -> Callable[[User], User]:
    """A dependency that lets only users with one of `roles` through (403 otherwise)."""
    allowed = frozenset(roles)

    async def check(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise ApiError(403, "forbidden", "You are not allowed to do this.",
                           {"required_roles": sorted(allowed)})
        return user

    return check


DispatcherUser = Annotated[User, Depends(require_roles("admin", "dispatcher"))]
AdminUser = Annotated[User, Depends(require_roles("admin"))]


async def own_courier(session: AsyncSession, user: User, refusal: ApiError) -> Courier:
    """The caller's courier record, for the endpoints only a courier uses (answering offers,
    sending positions); `refusal` is raised for anyone else and for a courier account without
    a record, so each endpoint keeps the error code its clients know."""
    courier = await courier_of_user(session, user.id) if user.role == "courier" else None
    if courier is None:
        raise refusal
    return courier
