async def test_healthz(client):
    response = await client.get("/healthz")
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_database_and_redis(client):
    response = await client.get("/api/v1/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}


async def test_order_roundtrip(client, actors, make_order):
    seller = await actors.make("seller")
    order = await make_order(seller)
    assert order["status"] == "pending"
    got = await client.get(f"/api/v1/orders/{order['id']}", headers=seller.headers)
    assert got.status_code == 200
    assert [e["type"] for e in got.json()["events"]] == ["created"]
