"""`/console/` and `/t/{token}` serve the console's built files, or say how to build them."""

from __future__ import annotations

import pytest


@pytest.fixture
def built(app, tmp_path, monkeypatch):
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<html>console</html>")
    (tmp_path / "buyer.html").write_text("<html>buyer</html>")
    (tmp_path / "assets" / "main-abc123.js").write_text("console.log(1)")
    monkeypatch.setattr(app.state.settings, "console_dir", tmp_path)
    return tmp_path


async def test_console_and_buyer_page_are_served_with_client_routes(client, built):
    page = await client.get("/console/")
    assert page.status_code == 200 and page.text == "<html>console</html>"
    assert page.headers["cache-control"] == "no-cache"
    route = await client.get("/console/orders/42")  # a client route: the app shell
    assert route.text == "<html>console</html>"
    asset = await client.get("/console/assets/main-abc123.js")
    assert asset.status_code == 200 and "immutable" in asset.headers["cache-control"]
    missing = await client.get("/console/assets/gone.js")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    escape = await client.get("/console/..%2f..%2fpyproject.toml")
    assert escape.text == "<html>console</html>"
    buyer = await client.get("/t/some-token")
    assert buyer.status_code == 200 and buyer.text == "<html>buyer</html>"
    bare = await client.get("/console", follow_redirects=False)
    assert bare.status_code == 308 and bare.headers["location"] == "/console/"


async def test_an_unbuilt_console_says_how_to_build_it(app, client, tmp_path, monkeypatch):
    monkeypatch.setattr(app.state.settings, "console_dir", tmp_path / "nothing")
    for path in ("/console/", "/t/abc"):
        answer = await client.get(path, headers={"Accept-Language": "ru"})
        assert answer.status_code == 503
        error = answer.json()["error"]
        assert error["code"] == "console_not_built" and "make install" in error["message"]
