"""Serves the built front end of `console/` (nothing here imports it: only its files are read).

    GET /console/            the dispatcher console (single-page app; unknown paths under
                             /console/ that are not files answer `index.html`, so client
                             routes survive a reload)
    GET /console/assets/...  hashed bundles, cached for a year
    GET /t/{token}           the buyer's tracking page (`buyer.html`; it reads the token from
                             the path)

The directory is `Settings.console_dir` (`COURIER_CONSOLE_DIR`, default `console/dist`). When
the console has not been built these pages answer 503 with the usual error body, saying to run
`make install`.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from api.errors import error_response

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_NO_CACHE = {"Cache-Control": "no-cache"}
_IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}


def _directory(request: Request) -> Path:
    return Path(request.app.state.settings.console_dir)


def _not_built(request: Request) -> Response:
    return error_response(
        request, 503, "console_not_built",
        "The console is not built: run `make install` (it runs `npm ci && npm run build` "
        "in console/).", {"console_dir": str(_directory(request))})


def _page(request: Request, name: str) -> Response:
    page = _directory(request) / name
    if not page.is_file():
        return _not_built(request)
    return FileResponse(page, media_type="text/html", headers=_NO_CACHE)


@router.get("/console")
async def console_root() -> Response:
    return RedirectResponse("/console/", status_code=308)


@router.get("/console/{path:path}")
async def console(path: str, request: Request) -> Response:
    root = _directory(request).resolve()
    if path:
        candidate = (root / path).resolve()
        if candidate.is_relative_to(root) and candidate.is_file():
            headers = _IMMUTABLE if path.startswith("assets/") else _NO_CACHE
            return FileResponse(candidate, headers=headers)
        if path.startswith("assets/"):  # a missing bundle is a 404, not the app shell
            return error_response(request, 404, "not_found", "Not found.", {"path": path})
    return _page(request, "index.html")


@router.get("/t/{token}")
async def buyer_page(token: str, request: Request) -> Response:
    return _page(request, "buyer.html")
