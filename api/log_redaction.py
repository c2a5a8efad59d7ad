"""No tokens in logs: the server's own log lines name request paths, and some paths carry keys.

Courier apps may pass their access token as `?token=` on a WebSocket URL (browsers cannot set
headers there), and buyer tracking links carry their key in the path (`/t/{token}`,
`/ws/track/{token}`, `/api/v1/public/track/{token}`). uvicorn logs those paths on every request
and WebSocket accept. `RedactTokens` rewrites such log records before any handler sees them;
`install` attaches it to uvicorn's loggers (and ours), once per worker process.
"""

from __future__ import annotations

import logging
import re

__all__ = ["RedactTokens", "install", "redact"]

_QUERY = re.compile(r"((?:[?&]|^)(?:token|access_token)=)[^&\s\"']+")
_PATH = re.compile(r"(/(?:t|ws/track|public/track)/)[^/?\s\"']+")
REDACTED = "[redacted]"
LOGGERS = ("uvicorn.access", "uvicorn.error", "api", "dispatch", "tracking")


def redact(text: str) -> str:
    return _PATH.sub(rf"\1{REDACTED}", _QUERY.sub(rf"\1{REDACTED}", text))


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def install() -> None:
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
