"""The composition root: builds engines, clients and the FastAPI app from `Settings`.

Nothing is built at import time; `create_app(settings)` does it all, and the lifespan opens and
closes the connections. Domain packages receive what they need as arguments.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from redis.asyncio import BlockingConnectionPool, Redis

from api.console_static import router as console_router
from api.courier_messages import CourierMessageRelay
from api.database import make_engine, make_sessionmaker
from api.dispatch_runtime import DispatchRuntime
from api.docs import install_docs
from api.errors import BodySizeLimit, install_error_handlers, register_error
from api.log_redaction import install as install_log_redaction
from api.metrics import Metrics, MetricsMiddleware
from api.openapi import install_openapi
from api.principals import PrincipalCache
from api.routers import (
    audit,
    auth,
    couriers,
    dispatch,
    handoffs,
    health,
    orders,
    pickup_places,
    tickets,
    tiles,
    tracking,
    tracking_links,
    travel,
    users,
    zones,
)
from api.security import PasswordHasher
from api.security_headers import SecurityHeaders
from api.settings import Settings
from api.sign_in_limits import SignInLimits
from api.socket_limits import SocketLimits
from api.track_socket import TrackHub
from api.track_socket import router as track_socket_router
from api.tracking_runtime import TrackingRuntime
from api.websockets import router as websockets_router
from custody.errors import HandoffCodeLocked, HandoffTokenExpired
from custody.keys import HandoffKeyStore
from custody.order_entries import record_order_step
from dispatch.order_followers import follow_orders
from dispatch.service_area import ZoneServiceArea
from dispatch.tracking_links import TrackingLinkGone
from geodata.map_tiles import InvalidTile
from geodata.travel import load_travel_models
from geodata.zones import DuplicateZone, ZoneError
from tracking.exceptions import DeviceNotFound, MalformedMessage, UnknownDevice

__all__ = ["create_app", "API_PREFIX"]

API_PREFIX = "/api/v1"
#: Redis connections per worker process (callers beyond it wait for one to come free).
REDIS_MAX_CONNECTIONS = 100
log = logging.getLogger(__name__)

#: Routers mounted under `/api/v1`, in the order they appear in the OpenAPI document.
ROUTERS: list[APIRouter] = [
    auth.router,
    users.router,
    couriers.router,
    orders.router,
    pickup_places.router,
    tickets.router,
    zones.router,
    handoffs.router,
    tracking.router,
    travel.router,
    dispatch.router,
    tiles.router,
    tracking_links.router,
    audit.router,
]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    settings.require_secret_key()
    # The ledger follows orders (created, cancelled, failed) inside their transactions.
    follow_orders(record_order_step)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = make_engine(settings.database_url)
        app.state.sessionmaker = make_sessionmaker(app.state.engine)
        # A burst (a planning cycle changing hundreds of orders publishes one feed message
        # each) waits for a free connection instead of failing with "Too many connections".
        app.state.redis = Redis(connection_pool=BlockingConnectionPool.from_url(
            settings.redis_url, max_connections=REDIS_MAX_CONNECTIONS, timeout=10))
        # Road travel times: OSRM on the configured network, straight lines without one.
        app.state.travel = await asyncio.to_thread(load_travel_models, settings.networks_dir,
                                                   settings.network)
        app.state.sign_in_limits = SignInLimits(
            app.state.redis, settings.redis_prefix,
            per_account=settings.sign_in_max_failures_per_account,
            per_address=settings.sign_in_max_failures_per_address,
            window_s=settings.sign_in_window_s)
        app.state.courier_messages = CourierMessageRelay(app.state.redis, settings.redis_prefix)
        app.state.courier_messages.start()
        app.state.track_hub = TrackHub(app.state.redis, settings)
        app.state.track_hub.start()
        app.state.tracking = TrackingRuntime(settings, engine=app.state.engine,
                                             sessionmaker=app.state.sessionmaker,
                                             redis=app.state.redis)
        await app.state.tracking.start()
        app.state.dispatch = DispatchRuntime(settings, state=app.state, engine=app.state.engine,
                                             sessionmaker=app.state.sessionmaker,
                                             redis=app.state.redis)
        await app.state.dispatch.start()
        app.state.handoff_keys.ring(now_s=int(time.time()))  # first start makes a key
        try:
            yield
        finally:
            await app.state.dispatch.stop()
            await app.state.tracking.stop()
            await app.state.courier_messages.stop()
            await app.state.track_hub.stop()
            app.state.travel.close()
            await app.state.redis.aclose()
            await app.state.engine.dispose()

    app = FastAPI(
        title="Courier dispatch",
        version="0.1.0",
        summary="Assigns orders to couriers, plans routes, follows couriers live and proves "
        "every handoff with signed QR codes.",
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    install_log_redaction()  # access tokens and tracking-link keys never reach the logs
    app.state.password_hasher = PasswordHasher(cheap=settings.mode == "test")
    app.state.metrics = Metrics()
    app.state.principals = PrincipalCache(settings.auth_cache_s)
    app.state.socket_limits = SocketLimits(max_message_bytes=settings.ws_max_message_bytes,
                                           messages_per_s=settings.ws_messages_per_s,
                                           burst=settings.ws_message_burst)
    app.state.service_area = ZoneServiceArea()
    app.state.handoff_keys = HandoffKeyStore(
        keys_dir=settings.keys_dir,
        max_token_ttl_s=settings.handoff_token_ttl_s + settings.handoff_offline_window_s,
        configured_pem=settings.handoff_signing_keys)

    install_error_handlers(app)
    register_error(app, ZoneError, 422)
    register_error(app, DuplicateZone, 409)
    register_error(app, MalformedMessage, 422)
    register_error(app, UnknownDevice, 401)
    register_error(app, DeviceNotFound, 404)
    register_error(app, HandoffTokenExpired, 410)
    register_error(app, HandoffCodeLocked, 429)
    register_error(app, InvalidTile, 422)
    register_error(app, TrackingLinkGone, 410)
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(health.router)
    app.include_router(websockets_router)  # /ws/courier and /ws/dispatch, at the root
    app.include_router(track_socket_router)  # /ws/track/{token}, at the root
    app.include_router(health.router, prefix=API_PREFIX)
    app.include_router(console_router)  # /console/ and /t/{token}: the built front end
    install_docs(app)  # /docs and /redoc from packaged assets (no CDN)
    install_openapi(app)

    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                           allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                           allow_headers=["Authorization", "Content-Type", "Accept-Language",
                                          "Idempotency-Key"], max_age=600)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    return app
