"""Service configuration, read from the environment when `Settings()` is built.

Nothing here is read at import time: the composition root (`api.app.create_app`, the CLI)
builds one `Settings` object and passes it down. Required secrets have no default outside
the demo and test modes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["Settings", "DEMO_SECRET_KEY", "PROJECT_ROOT"]

#: The checkout the service runs from (the console's build lands in `console/dist` under it).
PROJECT_ROOT = Path(__file__).resolve().parents[1]

#: Used only when `COURIER_MODE` is `demo` or `test`; never in production.
DEMO_SECRET_KEY = "demo-secret-key-not-for-production-use-0123456789"


class Settings(BaseSettings):
    """Every knob of the service; environment variable names are given in `validation_alias`."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    mode: Literal["production", "demo", "test"] = Field(
        default="production", validation_alias="COURIER_MODE"
    )
    database_url: str = Field(
        default="postgresql+psycopg://postgres@127.0.0.1:5432/courier",
        validation_alias="DATABASE_URL",
    )
    redis_url: str = Field(default="redis://127.0.0.1:6379/0", validation_alias="REDIS_URL")
    redis_prefix: str = Field(default="courier:", validation_alias="COURIER_REDIS_PREFIX")
    data_dir: Path = Field(default=Path("./var"), validation_alias="COURIER_DATA_DIR")
    secret_key: str | None = Field(default=None, validation_alias="COURIER_SECRET_KEY")
    #: The built dispatcher console and buyer page (`make install` builds `console/`).
    console_dir: Path = Field(default_factory=lambda: PROJECT_ROOT / "console" / "dist",
                              validation_alias="COURIER_CONSOLE_DIR")
    network: str | None = Field(default="demo", validation_alias="COURIER_NETWORK")
    handoff_token_ttl_s: int = Field(
        default=900, ge=30, le=86_400, validation_alias="COURIER_HANDOFF_TOKEN_TTL_S"
    )
    access_token_ttl_s: int = Field(
        default=12 * 3600, ge=60, validation_alias="COURIER_ACCESS_TOKEN_TTL_S"
    )
    max_body_bytes: int = Field(
        default=1_000_000, ge=1024, validation_alias="COURIER_MAX_BODY_BYTES"
    )
    #: Origins (scheme://host[:port]) whose pages may call the API from a browser; empty: only
    #: the service's own (the console). Comma-separated in the environment.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list,
                                                         validation_alias="COURIER_CORS_ORIGINS")

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            origins = [o.strip().rstrip("/") for o in value.split(",") if o.strip()]
            if "*" in origins:
                raise ValueError("COURIER_CORS_ORIGINS names origins; '*' is not allowed")
            return origins
        return value
    #: Per courier WebSocket connection: the largest message, and the average message rate
    #: with its burst; a connection over either is closed (1009, or 1008 `rate_limited`).
    ws_max_message_bytes: int = Field(default=256 * 1024, ge=1024,
                                      validation_alias="COURIER_WS_MAX_MESSAGE_BYTES")
    ws_messages_per_s: float = Field(default=20.0, gt=0,
                                     validation_alias="COURIER_WS_MESSAGES_PER_S")
    ws_message_burst: int = Field(default=200, ge=1, validation_alias="COURIER_WS_MESSAGE_BURST")
    #: How long a worker trusts an account row it read to authenticate a request (active, role,
    #: token version); changes made on other workers take effect within it. 0: read every time.
    auth_cache_s: float = Field(default=2.0, ge=0, le=60, validation_alias="COURIER_AUTH_CACHE_S")
    #: Failed sign-ins allowed per account name, and per client address, in a window.
    sign_in_max_failures_per_account: int = Field(
        default=10, ge=1, validation_alias="COURIER_SIGN_IN_MAX_FAILURES_PER_ACCOUNT")
    sign_in_max_failures_per_address: int = Field(
        default=100, ge=1, validation_alias="COURIER_SIGN_IN_MAX_FAILURES_PER_ADDRESS")
    sign_in_window_s: int = Field(default=900, ge=1, validation_alias="COURIER_SIGN_IN_WINDOW_S")
    offer_timeout_s: int = Field(default=30, ge=1, validation_alias="COURIER_OFFER_TIMEOUT_S")
    # Dispatch engine (planner loop, offers, webhooks).
    #: Background planner, triggers and webhook deliveries; unset: on, except in test mode.
    dispatch_loop: bool | None = Field(default=None, validation_alias="COURIER_DISPATCH_LOOP")
    dispatch_policy: Literal["batch", "nearest", "cascade"] = Field(
        default="batch", validation_alias="COURIER_DISPATCH_POLICY")
    dispatch_interval_s: float = Field(default=10.0, gt=0,
                                       validation_alias="COURIER_DISPATCH_INTERVAL_S")
    dispatch_debounce_s: float = Field(default=0.5, ge=0,
                                       validation_alias="COURIER_DISPATCH_DEBOUNCE_S")
    dispatch_solver_time_s: float = Field(default=1.0, gt=0, le=60,
                                          validation_alias="COURIER_DISPATCH_SOLVER_TIME_S")
    dispatch_leader_retry_s: float = Field(default=2.0, gt=0,
                                           validation_alias="COURIER_DISPATCH_LEADER_RETRY_S")
    dispatch_watch_s: float = Field(default=1.0, gt=0,
                                    validation_alias="COURIER_DISPATCH_WATCH_S")
    dispatch_busy_wait_s: float = Field(default=30.0, gt=0,
                                        validation_alias="COURIER_DISPATCH_BUSY_WAIT_S")
    dispatch_online_window_s: float = Field(
        default=120.0, ge=0, validation_alias="COURIER_DISPATCH_ONLINE_WINDOW_S")
    dispatch_auto_accept: bool = Field(default=False,
                                       validation_alias="COURIER_DISPATCH_AUTO_ACCEPT")
    #: Share of the plan cost a re-plan must save before accepted orders move; unset: never.
    dispatch_reassign_gain: float | None = Field(
        default=0.2, ge=0, validation_alias="COURIER_DISPATCH_REASSIGN_GAIN")
    dispatch_reassign_every_s: float = Field(
        default=60.0, ge=0, validation_alias="COURIER_DISPATCH_REASSIGN_EVERY_S")
    dispatch_cascade_radius_m: float = Field(
        default=3000.0, gt=0, validation_alias="COURIER_DISPATCH_CASCADE_RADIUS_M")
    dispatch_cascade_mode: Literal["one_by_one", "broadcast"] = Field(
        default="one_by_one", validation_alias="COURIER_DISPATCH_CASCADE_MODE")
    dispatch_pickup_service_s: float = Field(
        default=120.0, ge=0, validation_alias="COURIER_DISPATCH_PICKUP_SERVICE_S")
    dispatch_dropoff_service_s: float = Field(
        default=60.0, ge=0, validation_alias="COURIER_DISPATCH_DROPOFF_SERVICE_S")
    webhook_timeout_s: float = Field(default=5.0, gt=0,
                                     validation_alias="COURIER_WEBHOOK_TIMEOUT_S")
    webhook_max_attempts: int = Field(default=8, ge=1,
                                      validation_alias="COURIER_WEBHOOK_MAX_ATTEMPTS")
    # Live tracking (filters modelled on Traccar's; 0 switches a threshold off).
    tracking_max_future_s: float = Field(default=300.0, ge=0,
                                         validation_alias="COURIER_TRACKING_MAX_FUTURE_S")
    tracking_max_past_s: float = Field(default=7 * 86_400.0, ge=0,
                                       validation_alias="COURIER_TRACKING_MAX_PAST_S")
    tracking_max_accuracy_m: float = Field(default=200.0, ge=0,
                                           validation_alias="COURIER_TRACKING_MAX_ACCURACY_M")
    tracking_max_speed_mps: float = Field(default=70.0, ge=0,
                                          validation_alias="COURIER_TRACKING_MAX_SPEED_MPS")
    tracking_speed_window_s: float = Field(default=600.0, gt=0,
                                           validation_alias="COURIER_TRACKING_SPEED_WINDOW_S")
    tracking_filter_zero: bool = Field(default=True,
                                       validation_alias="COURIER_TRACKING_FILTER_ZERO")
    tracking_filter_duplicate: bool = Field(default=True,
                                            validation_alias="COURIER_TRACKING_FILTER_DUPLICATE")
    tracking_filter_out_of_order: bool = Field(
        default=True, validation_alias="COURIER_TRACKING_FILTER_OUT_OF_ORDER")
    tracking_osmand_speed_unit: Literal["kn", "mps", "kmh"] = Field(
        default="kn", validation_alias="COURIER_TRACKING_OSMAND_SPEED_UNIT")
    tracking_batch_max_points: int = Field(default=5000, ge=1,
                                           validation_alias="COURIER_TRACKING_BATCH_MAX_POINTS")
    tracking_writer_concurrency: int = Field(
        default=2, ge=1, le=8, validation_alias="COURIER_TRACKING_WRITER_CONCURRENCY")
    tracking_first_fix_max_distance_m: float = Field(
        default=50_000.0, ge=0, validation_alias="COURIER_TRACKING_FIRST_FIX_MAX_DISTANCE_M")
    tracking_service_area_refresh_s: float = Field(
        default=30.0, gt=0, validation_alias="COURIER_TRACKING_SERVICE_AREA_REFRESH_S")
    tracking_stale_after_s: float = Field(default=120.0, gt=0,
                                          validation_alias="COURIER_TRACKING_STALE_AFTER_S")
    tracking_stale_check_s: float = Field(default=5.0, gt=0,
                                          validation_alias="COURIER_TRACKING_STALE_CHECK_S")
    tracking_geofence_radius_m: float = Field(default=75.0, gt=0,
                                              validation_alias="COURIER_TRACKING_GEOFENCE_RADIUS_M")
    tracking_last_seen_interval_s: float = Field(
        default=10.0, ge=0, validation_alias="COURIER_TRACKING_LAST_SEEN_INTERVAL_S")
    tracking_feed_interval_s: float = Field(default=0.025, ge=0,
                                            validation_alias="COURIER_TRACKING_FEED_INTERVAL_S")
    tracking_partition_days_ahead: int = Field(
        default=7, ge=1, validation_alias="COURIER_TRACKING_PARTITION_DAYS_AHEAD")
    # Custody handoffs (signed QR tokens): scan checks and the numeric fallback code.
    handoff_scan_radius_m: float = Field(
        default=150.0, gt=0, le=5000, validation_alias="COURIER_HANDOFF_SCAN_RADIUS_M")
    handoff_online_skew_s: int = Field(
        default=120, ge=0, le=3600, validation_alias="COURIER_HANDOFF_ONLINE_SKEW_S")
    handoff_offline_window_s: int = Field(
        default=6 * 3600, ge=0, le=7 * 86_400, validation_alias="COURIER_HANDOFF_OFFLINE_WINDOW_S")
    handoff_track_window_s: int = Field(
        default=300, ge=10, le=3600, validation_alias="COURIER_HANDOFF_TRACK_WINDOW_S")
    handoff_fix_max_age_s: int = Field(
        default=120, ge=0, le=3600, validation_alias="COURIER_HANDOFF_FIX_MAX_AGE_S")
    handoff_max_speed_mps: float = Field(
        default=20.0, gt=0, le=100, validation_alias="COURIER_HANDOFF_MAX_SPEED_MPS")
    handoff_fallback_max_attempts: int = Field(
        default=5, ge=1, le=20, validation_alias="COURIER_HANDOFF_FALLBACK_MAX_ATTEMPTS")
    #: Wrong fallback codes one courier may type, over all its orders, in an hour.
    handoff_fallback_max_courier_failures: int = Field(
        default=20, ge=1, le=1000,
        validation_alias="COURIER_HANDOFF_FALLBACK_MAX_COURIER_FAILURES")
    # Map tiles and the buyer tracking page.
    #: Absolute base of the links we hand out (`https://courier.example.com`); unset: taken
    #: from each request (the host and scheme it came in on, honouring proxy headers).
    public_base_url: str | None = Field(default=None, validation_alias="COURIER_PUBLIC_BASE_URL")
    tile_cache_bytes: int = Field(default=64 * 1024 * 1024, ge=0,
                                  validation_alias="COURIER_TILE_CACHE_BYTES")
    #: How long a worker trusts the map version it read (a new import shows within this).
    tile_version_ttl_s: float = Field(default=1.0, ge=0,
                                      validation_alias="COURIER_TILE_VERSION_TTL_S")
    #: How long browsers keep a tile asked for without the current `?v=` (with it: a day).
    tile_max_age_s: int = Field(default=60, ge=0, validation_alias="COURIER_TILE_MAX_AGE_S")
    tracking_link_ttl_s: int = Field(default=172_800, ge=60, le=90 * 86_400,
                                     validation_alias="COURIER_TRACKING_LINK_TTL_S")
    #: PKCS#8 PEM Ed25519 private keys (the first signs); unset: keys live in `keys_dir`.
    handoff_signing_keys: str | None = Field(
        default=None, repr=False, validation_alias="COURIER_HANDOFF_SIGNING_KEYS")

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.secret_key is None:
            if self.mode != "production":
                self.secret_key = DEMO_SECRET_KEY
        elif len(self.secret_key) < 32:
            raise ValueError("COURIER_SECRET_KEY must be at least 32 characters long")
        if self.network is not None and self.network.strip().lower() in ("", "none"):
            self.network = None
        if self.public_base_url is not None:
            self.public_base_url = self.public_base_url.strip().rstrip("/") or None
        return self

    def require_secret_key(self) -> str:
        """The key that signs access tokens; serving without one in production is refused.

        Commands that sign nothing (migrations, road-network imports, benchmarks) run without it.
        """
        if self.secret_key is None:
            raise ValueError(
                "COURIER_SECRET_KEY is required to serve (set COURIER_MODE=demo for a local demo)"
            )
        return self.secret_key

    @property
    def networks_dir(self) -> Path:
        return self.data_dir / "networks"

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"
