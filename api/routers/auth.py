"""`POST /auth/token`: the OAuth2 password flow, answering a bearer JWT."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from api import schemas
from api.deps import CurrentUser, SessionDep, SettingsDep
from api.errors import ApiError
from api.security import issue_access_token
from dispatch.users import find_user_by_name, get_user, revoke_tokens

router = APIRouter(prefix="/auth", tags=["auth"])

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def require_form(request: Request) -> None:
    """A JSON body is the usual first mistake: say that this is an OAuth2 form."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in _FORM_TYPES:
        raise ApiError(422, "oauth2_form_required",
                       "Log in with an OAuth2 password form (application/x-www-form-urlencoded "
                       "fields username and password), not JSON.",
                       {"content_type": content_type or None,
                        "expected": "application/x-www-form-urlencoded",
                        "fields": ["username", "password"]})


@router.post("/token", response_model=schemas.TokenOut,
             responses=schemas.error_responses(401, 422, 429))
async def issue_token(
    _: Annotated[None, Depends(require_form)],
    form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request,
    session: SessionDep, settings: SettingsDep,
) -> schemas.TokenOut:
    """Logs in with an OAuth2 password form (`application/x-www-form-urlencoded`: `username`,
    `password`; JSON answers 422 `oauth2_form_required`). Use the answer as
    `Authorization: Bearer <access_token>`. Repeated failures for one account or from one
    address answer 429 `too_many_sign_in_attempts` with `Retry-After` for a while."""
    limits = request.app.state.sign_in_limits
    who = {"account": form.username, "address": request.client.host if request.client else "-"}
    blocked = await limits.blocked(**who)
    if blocked is not None:
        raise ApiError(429, "too_many_sign_in_attempts",
                       "Too many failed sign-in attempts. Try again later.",
                       {"scope": blocked.scope, "retry_after_s": blocked.retry_after_s},
                       headers={"Retry-After": str(blocked.retry_after_s)})
    if "\x00" in form.username or "\x00" in form.password:  # no account has such a name
        await limits.failed(**who)
        raise ApiError(401, "invalid_credentials", "Wrong user name or password.",
                       headers={"WWW-Authenticate": "Bearer"})
    user = await find_user_by_name(session, form.username)
    hasher = request.app.state.password_hasher
    # argon2 is deliberately slow: off the event loop, so a sign-in never stalls other requests
    valid = await asyncio.to_thread(hasher.verify, form.password,
                                    user.password_hash if user else None)
    if user is None or not valid or not user.is_active:
        await limits.failed(**who)
        raise ApiError(401, "invalid_credentials", "Wrong user name or password.",
                       headers={"WWW-Authenticate": "Bearer"})
    await limits.succeeded(**who)
    token, expires_at = issue_access_token(user_id=user.id, role=user.role,
                                           secret_key=settings.require_secret_key(),
                                           ttl_s=settings.access_token_ttl_s,
                                           version=user.token_version)
    return schemas.TokenOut(access_token=token, expires_at=datetime.fromtimestamp(expires_at, UTC),
                            expires_at_s=expires_at)


@router.post("/sign-out", status_code=204, responses=schemas.error_responses(401))
async def sign_out(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    """Signs out everywhere: every access token of this user issued so far stops working
    (WebSockets opened with one are not closed; they end at their next reconnect)."""
    await revoke_tokens(session, await get_user(session, user.id))
    await session.commit()
    request.app.state.principals.forget(user.id)
    return Response(status_code=204)
