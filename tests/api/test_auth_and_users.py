"""Token issue, token checks and user management over HTTP."""

import time
import uuid

from api.security import issue_access_token


async def test_login_gives_a_bearer_token_that_identifies_the_user(client, actors):
    admin = await actors.make("admin")
    response = await client.post("/api/v1/auth/token",
                                 data={"username": admin.name, "password": admin.password})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    me = await client.get("/api/v1/users/me",
                          headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["name"] == admin.name and me.json()["role"] == "admin"


async def test_wrong_password_and_unknown_user_get_the_same_answer(client, actors):
    admin = await actors.make("admin")
    wrong = await client.post("/api/v1/auth/token",
                              data={"username": admin.name, "password": "nope-nope-nope"})
    unknown = await client.post("/api/v1/auth/token",
                                data={"username": "nobody-here", "password": "nope-nope-nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["error"]["code"] == unknown.json()["error"]["code"] == "invalid_credentials"


async def test_missing_garbled_and_expired_tokens_are_refused(client, settings, actors):
    user = await actors.make("seller")
    missing = await client.get("/api/v1/users/me")
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "not_authenticated"
    garbled = await client.get("/api/v1/users/me", headers={"Authorization": "Bearer abc.def"})
    assert garbled.status_code == 401 and garbled.json()["error"]["code"] == "invalid_token"
    expired, _ = issue_access_token(user_id=user.id, role="seller", secret_key=settings.secret_key,
                                    ttl_s=60, now_s=time.time() - 3600)
    response = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_token"
    forged, _ = issue_access_token(user_id=user.id, role="admin", secret_key="x" * 40, ttl_s=60)
    response = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401


async def test_admin_creates_users_and_they_can_log_in(client, actors):
    admin = await actors.make("admin")
    name = f"buyer-{uuid.uuid4().hex[:6]}"
    created = await client.post("/api/v1/users", headers=admin.headers,
                                json={"name": name, "role": "buyer", "password": "long-enough-pw"})
    assert created.status_code == 201
    assert created.json()["role"] == "buyer" and "password" not in created.json()
    login = await client.post("/api/v1/auth/token",
                              data={"username": name, "password": "long-enough-pw"})
    assert login.status_code == 200


async def test_duplicate_names_conflict(client, actors):
    admin = await actors.make("admin")
    body = {"name": f"dup-{uuid.uuid4().hex[:6]}", "role": "seller", "password": "long-enough-pw"}
    assert (await client.post("/api/v1/users", headers=admin.headers, json=body)).status_code == 201
    again = await client.post("/api/v1/users", headers=admin.headers, json=body)
    assert again.status_code == 409 and again.json()["error"]["code"] == "duplicate"


async def test_bad_user_input_is_refused(client, actors):
    admin = await actors.make("admin")
    for body in (
        {"name": "x1", "role": "emperor", "password": "long-enough-pw"},
        {"name": "x2", "role": "buyer", "password": "short"},
        {"name": "has space", "role": "buyer", "password": "long-enough-pw"},
        {"name": "x3", "role": "buyer", "password": "long-enough-pw", "extra": 1},
    ):
        response = await client.post("/api/v1/users", headers=admin.headers, json=body)
        assert response.status_code == 422, body
        assert response.json()["error"]["code"] == "validation_error"


async def test_only_admins_create_users(client, actors):
    for role in ("dispatcher", "seller", "courier", "buyer"):
        actor = await actors.make(role)
        response = await client.post("/api/v1/users", headers=actor.headers,
                                     json={"name": f"n-{uuid.uuid4().hex[:6]}", "role": "buyer",
                                           "password": "long-enough-pw"})
        assert response.status_code == 403, role
        assert response.json()["error"]["code"] == "forbidden"


async def test_courier_sees_its_courier_id_on_me(client, actors):
    courier = await actors.make("courier")
    me = (await client.get("/api/v1/users/me", headers=courier.headers)).json()
    assert me["courier_id"] == courier.courier_id
