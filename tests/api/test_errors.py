"""Every failure answers the same envelope, in the caller's language."""


async def test_unknown_route_and_method(client):
    missing = await client.get("/api/v1/nowhere")
    assert missing.status_code == 404
    assert set(missing.json()["error"]) == {"code", "message", "details"}
    assert missing.json()["error"]["code"] == "not_found"
    wrong = await client.delete("/api/v1/orders")
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"


async def test_messages_follow_accept_language(client):
    answers = {}
    for language in ("en", "ru-RU,ru;q=0.9", "uz", "de"):
        response = await client.get("/api/v1/users/me", headers={"Accept-Language": language})
        assert response.json()["error"]["code"] == "not_authenticated"
        answers[language] = response.json()["error"]["message"]
    assert answers["en"] == "Authentication is required."
    assert answers["ru-RU,ru;q=0.9"] == "Требуется аутентификация."
    assert answers["uz"] == "Autentifikatsiya talab qilinadi."
    assert answers["de"] == answers["en"]


async def test_validation_errors_say_where(client, actors):
    seller = await actors.make("seller")
    response = await client.post("/api/v1/orders", headers={**seller.headers,
                                                            "Accept-Language": "ru"},
                                 json={"pickup": {"lat": 100, "lon": 0}})
    error = response.json()["error"]
    assert response.status_code == 422 and error["code"] == "validation_error"
    assert error["message"] == "Некорректный запрос."
    locations = [tuple(d["loc"]) for d in error["details"]]
    assert ("body", "pickup", "lat") in locations
    assert ("body", "dropoff") in locations
    messages = {tuple(d["loc"]): d["msg"] for d in error["details"]}
    assert messages[("body", "pickup", "lat")] == "Значение должно быть не больше 90"
    assert messages[("body", "dropoff")] == "Обязательное поле"
    uz = await client.post("/api/v1/orders", headers={**seller.headers, "Accept-Language": "uz"},
                           json={"pickup": {"lat": 100, "lon": 0}})
    assert {tuple(d["loc"]): d["msg"] for d in uz.json()["error"]["details"]}[
        ("body", "dropoff")] == "Majburiy maydon"


async def test_a_json_login_is_told_that_it_is_a_form(client, actors):
    user = await actors.make("seller")
    response = await client.post("/api/v1/auth/token",
                                 json={"username": user.name, "password": user.password},
                                 headers={"Accept-Language": "ru"})
    error = response.json()["error"]
    assert response.status_code == 422 and error["code"] == "oauth2_form_required"
    assert "OAuth2" in error["message"] and "JSON" in error["message"]
    assert error["details"]["expected"] == "application/x-www-form-urlencoded"
    assert error["details"]["fields"] == ["username", "password"]
    form = await client.post("/api/v1/auth/token",
                             data={"username": user.name, "password": user.password})
    assert form.status_code == 200


async def test_domain_errors_are_translated_too(client, actors, make_order):
    seller = await actors.make("seller")
    order = await make_order(seller)
    await client.post(f"/api/v1/orders/{order['id']}/cancel", headers=seller.headers)
    again = await client.post(f"/api/v1/orders/{order['id']}/cancel",
                              headers={**seller.headers, "Accept-Language": "uz"})
    assert again.json()["error"]["code"] == "illegal_transition"
    assert again.json()["error"]["message"].startswith("Buyurtma")


async def test_metrics_count_requests_per_route(client):
    await client.get("/healthz")
    text = (await client.get("/metrics")).text
    assert 'courier_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert "courier_http_request_duration_seconds_bucket" in text


async def test_openapi_document_lists_the_contract(client):
    paths = (await client.get("/openapi.json")).json()["paths"]
    for path in ("/api/v1/auth/token", "/api/v1/users", "/api/v1/users/me", "/api/v1/couriers",
                 "/api/v1/couriers/{courier_id}/shift", "/api/v1/orders",
                 "/api/v1/orders/{order_id}", "/api/v1/orders/{order_id}/assign",
                 "/api/v1/zones", "/healthz", "/readyz", "/metrics"):
        assert path in paths, path


async def test_an_unexpected_failure_answers_the_envelope_with_500_and_no_internals(
        app, actors, monkeypatch):
    """A bug behind an endpoint: the caller gets the same envelope, translated, with nothing
    of the exception in it (the server logs the traceback)."""
    import httpx

    import api.routers.zones

    async def broken(*args, **kwargs):
        raise RuntimeError("connection string postgresql://admin:hunter2@db leaked")

    monkeypatch.setattr(api.routers.zones, "list_zones", broken)
    dispatcher = await actors.make("dispatcher")
    # The app re-raises after answering (so servers log it); this client only reads the answer.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        answers = {language: await http.get("/api/v1/zones", headers={
            **dispatcher.headers, "Accept-Language": language}) for language in ("en", "ru")}
    for response in answers.values():
        assert response.status_code == 500
        assert response.headers["content-type"].startswith("application/json")
        assert set(response.json()) == {"error"}
        assert response.json()["error"]["code"] == "internal_error"
        assert response.json()["error"]["details"] is None
        assert "hunter2" not in response.text and "RuntimeError" not in response.text
    assert answers["en"].json()["error"]["message"] == "Something went wrong on our side."
    assert answers["ru"].json()["error"]["message"] == "На нашей стороне произошла ошибка."
