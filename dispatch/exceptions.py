"""Errors raised by the dispatch domain.

Every error carries a stable snake_case ``code`` (what API clients branch on), an English
``message`` and optional ``details``. The API maps the classes to HTTP statuses:

    DispatchError
    ├── NotFound              -> 404  (unknown or invisible object)
    ├── PermissionDenied      -> 403  (role may not do this)
    ├── InvalidInput          -> 422  (well-formed but unacceptable data)
    │   └── OutsideServiceArea
    └── Conflict              -> 409  (the current state forbids it)
        ├── IllegalTransition
        └── DuplicateObject
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "DispatchError",
    "NotFound",
    "PermissionDenied",
    "InvalidInput",
    "OutsideServiceArea",
    "Conflict",
    "IllegalTransition",
    "DuplicateObject",
]


class DispatchError(Exception):
    code = "dispatch_error"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class NotFound(DispatchError):
    code = "not_found"


class PermissionDenied(DispatchError):
    code = "forbidden"


class InvalidInput(DispatchError):
    code = "invalid_input"


class OutsideServiceArea(InvalidInput):
    code = "outside_service_area"


class Conflict(DispatchError):
    code = "conflict"


class IllegalTransition(Conflict):
    code = "illegal_transition"


class DuplicateObject(Conflict):
    code = "duplicate"
