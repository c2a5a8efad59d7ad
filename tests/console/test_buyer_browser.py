"""The buyer's tracking page in a phone-sized browser: status and ETA, only this order's
drop-off (and the courier when the API gives one), live updates, dead links said plainly."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect
from test_console_browser import courier_token, make_order, send_fix, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.browser]

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


@pytest.fixture
async def phone(browser):
    context = await browser.new_context(**PHONE, locale="en-US")
    page = await context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error"
            and "Failed to load resource" not in m.text else None)
    yield page
    await context.close()
    assert not problems, problems


async def tracking_link(client, dispatcher, order_id: int) -> dict:
    answer = await client.post(f"/api/v1/orders/{order_id}/tracking-link",
                               headers=dispatcher.headers)
    if answer.status_code in (404, 405) and answer.json()["error"]["code"] in (
            "not_found", "method_not_allowed"):
        pytest.skip("tracking links are not served by this build of the backend yet")
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


async def test_a_dead_link_says_so_plainly(web, phone: Page, console_built):
    page = phone
    await page.goto(f"{web.base_url}/t/no-such-token")
    await expect(page.get_by_test_id("dead")).to_be_visible(timeout=10_000)
    await expect(page.get_by_test_id("buyer-map")).to_be_hidden()
    assert "http" not in (await page.get_by_test_id("dead").inner_text())


async def test_the_buyer_sees_the_eta_and_only_their_drop_off_live(web, actors, client,
                                                                  phone: Page, quiet_city):
    page = phone
    dispatcher = await actors.make("dispatcher")
    seller = await actors.make("seller")
    courier = await actors.make("courier", vehicle="scooter")
    mine = await make_order(client, seller, dropoff={"lat": 41.300, "lon": 69.240,
                                                     "address": "Navoi 10"})
    other = await make_order(client, seller, dropoff={"lat": 41.320, "lon": 69.300,
                                                      "address": "Secret street 99"})
    for order in (mine, other):
        answer = await client.post(f"/api/v1/orders/{order['id']}/assign",
                                   json={"courier_id": courier.courier_id},
                                   headers=dispatcher.headers)
        assert answer.status_code == 200, answer.text
    # The nearest policy plans ETAs without moving hand-assigned orders: with other couriers
    # of the session available nearby, the batch policy may reassign one (gain over 20 %).
    await client.post("/api/v1/dispatch/run", json={"policy": "nearest"},
                      headers=dispatcher.headers)
    link = await tracking_link(client, dispatcher, mine["id"])
    token = await courier_token(client, courier)
    await send_fix(token, web, seq=1, lat=41.3105, lon=69.2780)

    await page.goto(f"{web.base_url}/t/{link['token']}")
    await expect(page.get_by_test_id("status")).to_be_visible(timeout=10_000)
    await expect(page.get_by_test_id("eta")).to_contain_text(":")
    body = await page.inner_text("body")
    assert "Secret street" not in body
    shown = await wait_until(lambda: page.evaluate(
        "window.__buyerMap && window.__buyerMap.getSource('delivery') && "
        "window.__buyerMap.querySourceFeatures('delivery').map((f) => f.properties.kind)"))
    assert "dropoff" in shown and len([k for k in shown if k == "dropoff"]) >= 1
    assert all(kind in ("dropoff", "courier") for kind in shown)
    # Live, without a reload: the dispatcher takes the order back from the courier.
    await expect(page.get_by_test_id("status")).to_have_text("Assigned")
    answer = await client.post(f"/api/v1/orders/{mine['id']}/unassign",
                               headers=dispatcher.headers)
    assert answer.status_code == 200, answer.text
    await expect(page.get_by_test_id("status")).to_have_text("Pending", timeout=10_000)
    assert await page.evaluate("performance.getEntriesByType('navigation').length") == 1
    await page.get_by_test_id("language").select_option("ru")
    await expect(page.locator("h1")).to_have_text("Ваша доставка")
