"""The dispatcher console in a real browser against the real service (PostGIS, Redis):
sign-in, couriers moving live, a courier's route and ETAs, a manual assignment reaching the
courier, the language switch, and a console free of errors."""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from playwright.async_api import Page, expect
from tracking_support import recv_json, ws_connect

pytestmark = [pytest.mark.slow, pytest.mark.browser]

#: Requests allowed to fail until the map-tile backend is merged (the console then draws a
#: plain background without base layers).
TOLERATED = re.compile(r"/api/v1/tiles")


@pytest.fixture
async def console_page(page: Page):
    """The page, with every console error and uncaught exception collected."""
    problems: list[str] = []
    page.expected_failures = []  # URLs a test makes fail on purpose (a wrong password)

    def on_console(message) -> None:
        url = message.location.get("url", "")
        if message.type != "error" or TOLERATED.search(url):
            return
        if message.text.startswith("Failed to load resource") and any(
                part in url for part in page.expected_failures):
            return
        problems.append(f"console: {message.text} ({url})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    yield page
    assert not problems, problems


async def sign_in(page: Page, web, actor) -> None:
    await page.goto(f"{web.base_url}/console/")
    await page.fill("input[name=username]", actor.name)
    await page.fill("input[name=password]", actor.password)
    await page.click("button[type=submit]")
    await expect(page.get_by_test_id("live")).to_contain_text("Live", timeout=15_000)


async def rendered_courier(page: Page, courier_id: int) -> list[float] | None:
    """Where the map last drew the courier's marker ([lon, lat]), from the rendered layer."""
    return await page.evaluate("""(id) => {
        const map = window.__consoleMap;
        if (!map || !map.getLayer('couriers')) return null;
        const hit = map.queryRenderedFeatures({layers: ['couriers']})
            .find((f) => f.properties.id === id);
        return hit ? hit.geometry.coordinates : null;
    }""", courier_id)


async def send_fix(token: str, web, *, seq: int, lat: float, lon: float) -> None:
    async with ws_connect(f"{web.ws_url}/ws/courier", token) as ws:
        await ws.send(f'{{"type": "positions", "points": [{{"seq": {seq}, "lat": {lat}, '
                      f'"lon": {lon}, "ts": {time.time()}, "acc": 5, "heading": 90}}]}}')
        assert (await recv_json(ws))["seq"] == seq


async def wait_until(predicate, timeout_s: float = 10.0, step_s: float = 0.1):
    deadline = time.monotonic() + timeout_s
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(step_s)


async def courier_token(client, courier) -> str:
    answer = await client.post("/api/v1/auth/token",
                               data={"username": courier.name, "password": courier.password})
    return answer.json()["access_token"]


async def test_sign_in_then_a_fix_moves_the_courier_marker(web, actors, client, console_page):
    page = console_page
    dispatcher = await actors.make("dispatcher")
    courier = await actors.make("courier", vehicle="scooter")
    page.expected_failures.append("/api/v1/auth/token")
    await page.goto(f"{web.base_url}/console/")
    await page.fill("input[name=username]", dispatcher.name)
    await page.fill("input[name=password]", "wrong-password")
    await page.click("button[type=submit]")
    await expect(page.get_by_test_id("login-error")).to_have_text("Wrong user name or password.")
    await sign_in(page, web, dispatcher)
    row = page.locator(f"[data-courier-id='{courier.courier_id}']")
    await expect(row).to_contain_text(courier.name)
    await page.evaluate("(c) => window.__consoleMap.jumpTo({center: c, zoom: 15})",
                        [69.279, 41.311])
    first = await wait_until(lambda: rendered_courier(page, courier.courier_id))
    assert first == [pytest.approx(69.279, abs=1e-4), pytest.approx(41.311, abs=1e-4)]
    token = await courier_token(client, courier)
    await send_fix(token, web, seq=1, lat=41.3125, lon=69.2810)

    async def moved():
        at = await rendered_courier(page, courier.courier_id)
        return at if at and abs(at[0] - 69.2810) < 1e-4 else None

    at = await wait_until(moved, timeout_s=5)
    assert at[1] == pytest.approx(41.3125, abs=1e-4)


async def make_order(client, seller, **extra) -> dict:
    body = {"external_id": f"web-{time.time_ns()}", "size": 1,
            "pickup": {"lat": 41.3110, "lon": 69.2790, "address": "Amir Temur 1"},
            "dropoff": {"lat": 41.3000, "lon": 69.2400, "address": "Navoi 10"}, **extra}
    answer = await client.post("/api/v1/orders", json=body, headers=seller.headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def test_selecting_a_courier_shows_its_route_and_etas(web, actors, client, console_page,
                                                             quiet_city):
    page = console_page
    dispatcher = await actors.make("dispatcher")
    seller = await actors.make("seller")
    courier = await actors.make("courier", vehicle="car")
    order = await make_order(client, seller)
    assigned = await client.post(f"/api/v1/orders/{order['id']}/assign",
                                 json={"courier_id": courier.courier_id},
                                 headers=dispatcher.headers)
    assert assigned.status_code == 200, assigned.text
    planned = await client.post("/api/v1/dispatch/run", json={}, headers=dispatcher.headers)
    assert planned.status_code == 200, planned.text
    route = (await client.get(f"/api/v1/couriers/{courier.courier_id}/route",
                              headers=dispatcher.headers)).json()
    ours = [(s["kind"], s["order_id"]) for s in route["stops"] if s["order_id"] == order["id"]]
    assert ours == [("pickup", order["id"]), ("dropoff", order["id"])]

    await sign_in(page, web, dispatcher)
    await page.locator(f"[data-courier-id='{courier.courier_id}']").click()
    stops = page.get_by_test_id("stops").locator("li")
    await expect(stops).to_have_count(len(route["stops"]))
    texts = await stops.all_inner_texts()
    assert any(t.startswith(f"Pickup · #{order['id']}") for t in texts), texts
    assert any(t.startswith(f"Drop-off · #{order['id']}") for t in texts), texts
    for index in range(len(texts)):
        await expect(stops.nth(index).locator(".eta")).to_have_text(re.compile(r"\d{1,2}:\d{2}"))
    assert page.url.endswith(f"/console/couriers/{courier.courier_id}")
    lines = await wait_until(lambda: page.evaluate(
        "window.__consoleMap.queryRenderedFeatures({layers: ['route']}).length"))
    assert lines >= 1
    await expect(page.get_by_test_id("courier-detail")).to_contain_text("To pickup")


async def test_a_manual_assignment_reaches_the_courier(web, actors, client, console_page):
    page = console_page
    dispatcher = await actors.make("dispatcher")
    seller = await actors.make("seller")
    courier = await actors.make("courier", vehicle="bicycle")
    order = await make_order(client, seller)
    await sign_in(page, web, dispatcher)
    await page.get_by_test_id("tab-orders").click()
    await page.get_by_test_id("search").fill(order["external_id"])
    await page.locator(f"[data-order-id='{order['id']}']").click()
    await expect(page.get_by_test_id("order-detail")).to_contain_text("Pending")
    await page.get_by_test_id("tab-couriers").click()
    await page.locator(f"[data-courier-id='{courier.courier_id}']").click()
    await page.get_by_test_id("assign").click()
    await expect(page.get_by_test_id("toast")).to_have_text("Done.")
    await expect(page.get_by_test_id("order-detail")).to_contain_text("Assigned")
    await expect(page.get_by_test_id("timeline")).to_contain_text("assign")
    seen = await client.get(f"/api/v1/orders/{order['id']}", headers=courier.headers)
    assert seen.status_code == 200, seen.text
    assert (seen.json()["status"], seen.json()["courier_id"]) == ("assigned",
                                                                   courier.courier_id)
    mine = await client.get("/api/v1/orders", headers=courier.headers)
    assert order["id"] in [o["id"] for o in mine.json()["items"]]
    # In Russian, unassigning answers in Russian too.
    await page.get_by_test_id("language").select_option("ru")
    await expect(page.get_by_test_id("tab-couriers")).to_have_text("Курьеры")
    await page.get_by_test_id("unassign").click()
    await expect(page.get_by_test_id("toast")).to_have_text("Готово.")
    await expect(page.get_by_test_id("order-detail")).to_contain_text("Ожидает")


async def test_the_language_switch_translates_the_console_and_api_errors(web, actors,
                                                                        console_page):
    page = console_page
    dispatcher = await actors.make("dispatcher")
    page.expected_failures.append("/api/v1/auth/token")
    await page.goto(f"{web.base_url}/console/")
    await page.get_by_test_id("language").select_option("uz")
    await expect(page.locator("h1")).to_have_text("Dispetcher kirishi")
    await page.fill("input[name=username]", dispatcher.name)
    await page.fill("input[name=password]", "wrong-password")
    await page.click("button[type=submit]")
    await expect(page.get_by_test_id("login-error")).to_have_text(
        "Foydalanuvchi nomi yoki parol noto'g'ri.")
    await page.get_by_test_id("language").select_option("ru")
    await page.fill("input[name=username]", dispatcher.name)
    await page.fill("input[name=password]", dispatcher.password)
    await page.click("button[type=submit]")
    await expect(page.get_by_test_id("live")).to_contain_text("В эфире", timeout=15_000)
    await expect(page.get_by_test_id("tab-orders")).to_have_text("Заказы")
    await page.get_by_test_id("language").select_option("en")
    await expect(page.get_by_test_id("tab-orders")).to_have_text("Orders")
    # The choice and the map view survive a reload.
    await page.evaluate("window.__consoleMap.jumpTo({center: [69.25, 41.29], zoom: 13})")
    await page.wait_for_timeout(300)
    await page.reload()
    await expect(page.get_by_test_id("tab-orders")).to_have_text("Orders", timeout=15_000)
    await page.wait_for_function("window.__consoleMap && window.__consoleMap.loaded()")
    center = await page.evaluate("window.__consoleMap.getCenter().toArray()")
    assert center == [pytest.approx(69.25, abs=1e-3), pytest.approx(41.29, abs=1e-3)]
