"""`/users`: admins create accounts; everyone can read their own."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api import schemas
from api.deps import AdminUser, CurrentUser, SessionDep
from api.presenters import user_out
from dispatch.couriers import courier_of_user
from dispatch.users import create_user

router = APIRouter(prefix="/users", tags=["users"])


@router.post("", status_code=201, response_model=schemas.UserOut,
             responses=schemas.error_responses(403, 409))
async def add_user(body: schemas.UserIn, request: Request, session: SessionDep,
                   admin: AdminUser) -> schemas.UserOut:
    password_hash = request.app.state.password_hasher.hash(body.password)
    user = await create_user(session, name=body.name, role=body.role, password_hash=password_hash)
    await session.commit()
    return user_out(user)


@router.get("/me", response_model=schemas.UserOut)
async def me(user: CurrentUser, session: SessionDep) -> schemas.UserOut:
    courier = await courier_of_user(session, user.id) if user.role == "courier" else None
    return user_out(user, courier_id=courier.id if courier else None)
