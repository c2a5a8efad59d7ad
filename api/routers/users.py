"""`/users`: admins create accounts; everyone can read their own."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response

from api import schemas
from api.deps import AdminUser, CurrentUser, SessionDep
from api.errors import ApiError
from api.ids import IdPath
from api.presenters import user_out
from dispatch import audit
from dispatch.couriers import courier_of_user
from dispatch.users import change_password, create_user, get_user, set_active

router = APIRouter(prefix="/users", tags=["users"])


@router.post("", status_code=201, response_model=schemas.UserOut,
             responses=schemas.error_responses(403, 409))
async def add_user(body: schemas.UserIn, request: Request, session: SessionDep,
                   admin: AdminUser) -> schemas.UserOut:
    password_hash = request.app.state.password_hasher.hash(body.password)
    user = await create_user(session, name=body.name, role=body.role, password_hash=password_hash)
    audit.record(session, admin, "user.create", target_type="user", target_id=user.id,
                 details={"name": user.name, "role": user.role})
    await session.commit()
    return user_out(user)


@router.get("/me", response_model=schemas.UserOut)
async def me(user: CurrentUser, session: SessionDep) -> schemas.UserOut:
    courier = await courier_of_user(session, user.id) if user.role == "courier" else None
    return user_out(user, courier_id=courier.id if courier else None)


@router.post("/me/password", status_code=204, responses=schemas.error_responses(401, 403))
async def new_password(body: schemas.PasswordChangeIn, request: Request, session: SessionDep,
                       user: CurrentUser) -> Response:
    """Changes one's own password; every access token issued before stops working (sign in
    again with the new password)."""
    hasher = request.app.state.password_hasher
    if not await asyncio.to_thread(hasher.verify, body.current_password, user.password_hash):
        raise ApiError(403, "wrong_password", "The current password is wrong.")
    password_hash = await asyncio.to_thread(hasher.hash, body.new_password)
    await change_password(session, await get_user(session, user.id), password_hash=password_hash)
    await session.commit()
    request.app.state.principals.forget(user.id)
    return Response(status_code=204)


@router.patch("/{user_id}", response_model=schemas.UserOut,
              responses=schemas.error_responses(403, 404, 409))
async def update_user(user_id: IdPath, body: schemas.UserPatchIn, request: Request,
                      session: SessionDep, admin: AdminUser) -> schemas.UserOut:
    """Admins disable (or re-enable) an account; a disabled account's tokens stop working and
    it cannot sign in."""
    user = await get_user(session, user_id)
    if user.id == admin.id and not body.is_active:
        raise ApiError(409, "cannot_disable_self", "An admin cannot disable their own account.")
    await set_active(session, user, active=body.is_active)
    audit.record(session, admin, "user.enable" if body.is_active else "user.disable",
                 target_type="user", target_id=user.id)
    await session.commit()
    request.app.state.principals.forget(user.id)
    return user_out(user)
