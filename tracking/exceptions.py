"""Errors of the tracking package.

    TrackingError                 base; `code` names the reason on the wire
    ├── MalformedMessage          a message or request body that cannot be read at all (422)
    ├── UnknownDevice             a device key nobody registered, or a revoked one (401)
    └── DeviceNotFound            a device id that is not the caller's (404)

Single points that are wrong are not errors: they are `Rejection`s inside a normal answer,
so one bad fix never costs the good fixes sent with it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["TrackingError", "MalformedMessage", "UnknownDevice", "DeviceNotFound"]


class TrackingError(Exception):
    code = "tracking_error"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class MalformedMessage(TrackingError):
    code = "malformed_message"


class UnknownDevice(TrackingError):
    code = "unknown_device"


class DeviceNotFound(TrackingError):
    code = "device_not_found"
