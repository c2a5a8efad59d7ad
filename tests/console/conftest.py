"""Browser tests of the console and buyer page: the test app served by uvicorn on a free port
(in this process, on the test session's loop) and Debian's Chromium driven by Playwright
(pytest-playwright-asyncio). Skipped, saying why, when Chromium or the console build is
missing (`make install` provides both)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))  # tracking_support

from tracking_support import InProcessServer  # noqa: E402

CHROMIUM = os.environ.get("COURIER_CHROMIUM", "/usr/bin/chromium")
#: Headless Chromium with software WebGL (SwiftShader): MapLibre needs WebGL, the machine has
#: no GPU, and nothing may reach the internet.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--use-gl=angle",
                 "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]


def chromium_path() -> str | None:
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    path = chromium_path()
    if path is None:
        pytest.skip("Debian's chromium is not installed (make install installs it as root)")
    return {**browser_type_launch_args, "executable_path": path, "args": CHROMIUM_ARGS,
            "headless": True}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "viewport": {"width": 1280, "height": 800},
            "locale": "en-US"}


@pytest.fixture(scope="session")
def console_built(settings) -> Path:
    index = Path(settings.console_dir) / "index.html"
    if not index.exists():
        pytest.skip("the console is not built (make install builds console/)")
    return Path(settings.console_dir)


@pytest.fixture(scope="module")
async def web(app, console_built):
    async with InProcessServer(app) as running:
        running.base_url = f"http://127.0.0.1:{running.port}"
        yield running
