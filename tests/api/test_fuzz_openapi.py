"""Every operation of the OpenAPI document, fuzzed as every role with schemathesis.

The service runs as `courier serve` in a child process on a scratch database of its own (the
fuzzer registers users, changes dispatch settings and cancels orders: none of that may leak into
the rest of the suite). For each operation and role, schemathesis generates valid (positive) and
invalid (negative) requests from the document and checks each answer:

* no 5xx, for any input;
* the status code is one the document declares for the operation;
* the body conforms to the declared schema and content type.

The example count per operation is `FUZZ_EXAMPLES` (environment, default 30; the roles take
the examples in turn), so the suite stays within its time;
`FUZZ_EXAMPLES=300 pytest tests/api/test_fuzz_openapi.py` digs deeper. Generation is
deterministic (`deterministic=True`): a failure repeats.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import uuid

import httpx
import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.tracking_support import ServeProcess
from tests.conftest import (
    INSIDE,
    PROJECT_ROOT,
    TEST_ZONE,
    create_scratch_database,
    drop_database,
    order_body,
)

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))
#: Order lives of the stateful test (each up to ten linked requests).
SEQUENCES = int(os.environ.get("FUZZ_SEQUENCES", "40"))
ROLES = ("anonymous", "admin", "dispatcher", "seller", "buyer", "courier")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
PASSWORD = "correct-horse-battery"
#: Operations that may revoke the fuzz accounts' tokens; the accounts are restored after each.
REVOKING = {("POST", "/api/v1/auth/sign-out"), ("PATCH", "/api/v1/users/{user_id}"),
            ("POST", "/api/v1/users/me/password")}
_ROLE_TURNS = itertools.cycle(ROLES)


class FuzzService:
    """A `courier serve` process on a scratch database, and a bearer token per role."""

    def __init__(self, settings, tmp_path) -> None:
        self.url = create_scratch_database("courier_fuzz")
        self.settings = settings.model_copy(update={
            "database_url": self.url, "redis_prefix": f"fuzz-{uuid.uuid4().hex[:8]}:",
            "data_dir": tmp_path})
        self.server = ServeProcess(self.settings)
        # the fuzzer signs in with made-up names from one address: sign-in limits (tested in
        # test_sign_in_limits) would soon lock out the fuzz accounts' own sign-ins
        self.server.env.update({"COURIER_SIGN_IN_MAX_FAILURES_PER_ADDRESS": "1000000",
                                "COURIER_SIGN_IN_MAX_FAILURES_PER_ACCOUNT": "1000000"})
        self.headers: dict[str, dict[str, str]] = {"anonymous": {}}
        self.user_ids: dict[str, int] = {}
        self.courier_id = 0

    def _cli(self, *args: str) -> None:
        done = subprocess.run([sys.executable, "-m", "api.cli", *args], cwd=PROJECT_ROOT,
                              env=self.server.env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, (args, done.stderr[-500:])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def login(self, http: httpx.Client, name: str) -> dict[str, str]:
        answer = http.post("/api/v1/auth/token", data={"username": name, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}

    def restore(self) -> None:
        """After an operation that can revoke tokens (sign-out, an account disabled): every
        fuzz account active again, and fresh tokens, so later examples are not all 401."""
        with httpx.Client(base_url=self.base_url, timeout=30) as http:
            self.headers["admin"] = admin = self.login(http, "fuzz-admin")
            for role, user_id in self.user_ids.items():
                enabled = http.patch(f"/api/v1/users/{user_id}", headers=admin,
                                     json={"is_active": True})
                assert enabled.status_code == 200, enabled.text
                self.headers[role] = self.login(http, f"fuzz-{role}")

    def seed(self) -> None:
        """One user per role, a courier on shift, an order: ids 1.. exist, so some generated
        paths reach real rows."""
        self._cli("users", "add", "fuzz-admin", "--role", "admin", "--password", PASSWORD)
        with httpx.Client(base_url=self.base_url, timeout=30) as http:
            admin = self.headers["admin"] = self.login(http, "fuzz-admin")
            ids = self.user_ids
            for role in ("dispatcher", "seller", "buyer", "courier"):
                made = http.post("/api/v1/users", headers=admin, json={
                    "name": f"fuzz-{role}", "role": role, "password": PASSWORD})
                assert made.status_code == 201, made.text
                ids[role] = made.json()["id"]
                self.headers[role] = self.login(http, f"fuzz-{role}")
            zone = http.post("/api/v1/zones", headers=admin,
                             json={"name": "fuzz-city", "geometry": TEST_ZONE})
            assert zone.status_code == 201, zone.text
            courier = http.post("/api/v1/couriers", headers=admin, json={
                "user_id": ids["courier"], "name": "Fuzz", "vehicle": "bicycle", "capacity": 5})
            assert courier.status_code == 201, courier.text
            self.courier_id = courier.json()["id"]
            shift = http.post(f"/api/v1/couriers/{courier.json()['id']}/shift",
                              headers=self.headers["courier"], json={"action": "start", **INSIDE})
            assert shift.status_code == 200, shift.text
            order = http.post("/api/v1/orders", headers=self.headers["seller"],
                              json=order_body(buyer_id=ids["buyer"]))
            assert order.status_code == 201, order.text


@pytest.fixture(scope="module")
async def fuzz_service(settings, tmp_path_factory):
    service = FuzzService(settings, tmp_path_factory.mktemp("fuzz"))
    service._cli("db", "upgrade")
    service.server.start()
    try:
        await service.server.ready()
        service.seed()
        yield service
    finally:
        service.server.stop()
        drop_database(service.url)


def _document() -> dict:
    """The OpenAPI document the service serves at /openapi.json (built without I/O)."""
    from api.app import create_app
    from api.settings import Settings

    return create_app(Settings(COURIER_MODE="test", COURIER_NETWORK="none")).openapi()


schema = schemathesis.openapi.from_dict(_document())
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                                max_examples=EXAMPLES, deterministic=True)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_input_breaks_the_contract(case, fuzz_service):
    """Generated requests take the roles in turn (and no token), so every operation meets
    every role within its examples."""
    role = next(_ROLE_TURNS)
    try:
        case.call_and_validate(base_url=fuzz_service.base_url,
                               headers={**(case.headers or {}), **fuzz_service.headers[role]},
                               checks=CHECKS, timeout=30)
    finally:
        if (case.method.upper(), case.path) in REVOKING:
            fuzz_service.restore()


#: One order's life, each step a generated request on the order just created: (method, path,
#: role, whether the step has a body to make invalid). Real ids are fed in; the rest generated.
ORDER_STEPS = [
    ("GET", "/api/v1/orders/{order_id}", "buyer", False),
    ("POST", "/api/v1/orders/{order_id}/handoff-tokens", "seller", True),
    ("POST", "/api/v1/orders/{order_id}/assign", "dispatcher", True),
    ("GET", "/api/v1/orders/{order_id}/custody", "seller", False),
    ("POST", "/api/v1/orders/{order_id}/status", "courier", True),
    ("POST", "/api/v1/orders/{order_id}/tracking-link", "buyer", False),
    ("POST", "/api/v1/orders/{order_id}/unassign", "dispatcher", False),
    ("POST", "/api/v1/orders/{order_id}/cancel", "seller", True),
    ("GET", "/api/v1/orders/{order_id}", "seller", False),
]


@hypothesis.given(data=st.data())
@settings(max_examples=SEQUENCES, deadline=None, database=None,
          phases=[hypothesis.Phase.generate], suppress_health_check=list(HealthCheck))
def test_an_order_through_generated_steps_keeps_the_contract(fuzz_service, data):
    """Stateful sequences: a real order (the fuzz seller's, for the fuzz buyer), then the steps
    of its life in a generated order, each request generated from the document — valid, or
    invalid where it has a body — but naming the real order (and, for a valid `assign`, the
    real courier); every answer checked. Generation only: a replay against moved-on state
    could not repeat."""
    headers = fuzz_service.headers
    with httpx.Client(base_url=fuzz_service.base_url, timeout=30) as http:
        made = http.post("/api/v1/orders", headers=headers["seller"],
                         json=order_body(buyer_id=fuzz_service.user_ids["buyer"]))
    assert made.status_code == 201, made.text
    order_id = made.json()["id"]
    statuses = []
    for method, path, role, has_body in data.draw(st.permutations(ORDER_STEPS), label="steps"):
        mode = (data.draw(st.sampled_from([GenerationMode.POSITIVE, GenerationMode.NEGATIVE]))
                if has_body else GenerationMode.POSITIVE)
        case = data.draw(schema[path][method].as_strategy(
            generation_mode=mode, path_parameters={"order_id": order_id}), label=path)
        if path.endswith("/assign") and mode is GenerationMode.POSITIVE:
            case.body = {"courier_id": fuzz_service.courier_id}
        answer = case.call(base_url=fuzz_service.base_url,
                           headers={**(case.headers or {}), **headers[role]}, timeout=30)
        case.validate_response(answer, checks=CHECKS)
        statuses.append(answer.status_code)
    assert any(200 <= code < 300 for code in statuses), statuses  # the steps reached the order


def test_the_fuzzed_service_still_serves(fuzz_service):
    """After (or before) the fuzzing, the service answers and the seeded order is intact."""
    fuzz_service.restore()
    with httpx.Client(base_url=fuzz_service.base_url, timeout=30) as http:
        assert http.get("/readyz").status_code == 200
        listed = http.get("/api/v1/orders", headers=fuzz_service.headers["seller"])
        assert listed.status_code == 200 and listed.json()["items"]

