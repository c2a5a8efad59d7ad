"""Keep freed heap memory mapped, so big OSRM tables do not pay page faults every time.

An OSRM ``Table`` result is a JSON-like tree: a 2000x2000 table with durations and
distances is about 8 million C++ values, several hundred MB, built by the engine and
freed again once the result is converted to numpy. glibc's ``malloc`` gives the freed top
of its heap back to the kernel (``M_TRIM_THRESHOLD``, 128 KiB by default, raised
dynamically), so the next table -- and even the conversion of the same one -- touches
fresh pages: about 55,000 minor page faults per 2000x2000 table, which under a
virtual machine cost several microseconds each. Measured on Porto (BENCHMARKS.md, "Road
network"): 2000x2000 takes 1.84 s (median) with freed memory kept mapped, 2.2-2.4 s without.

:func:`retain_freed_memory` raises the trim threshold for the calling process. The cost is
that a process's resident size stays at its peak rather than shrinking after a big matrix
-- the memory is reused by the next one. Without glibc (musl, macOS) it does nothing.
"""

from __future__ import annotations

import ctypes
import threading
from typing import Final

__all__ = ["DEFAULT_RETAINED_BYTES", "retain_freed_memory"]

#: How much freed memory at the top of the heap the process keeps mapped (1 GiB: more
#: than the largest table the service computes; ``mallopt`` takes an ``int``).
DEFAULT_RETAINED_BYTES: Final = 1 << 30
_M_TRIM_THRESHOLD: Final = -1  # from glibc's <malloc.h>

_lock = threading.Lock()
_applied: int | None = None


def retain_freed_memory(max_bytes: int = DEFAULT_RETAINED_BYTES) -> bool:
    """Tell glibc to keep up to ``max_bytes`` of freed heap mapped; True when applied.

    Idempotent and process-wide; the largest value asked for so far wins.
    """
    global _applied
    if not 0 < max_bytes < 1 << 31:
        raise ValueError(f"max_bytes must be between 1 and 2**31 - 1, got {max_bytes}")
    with _lock:
        if _applied is not None and _applied >= max_bytes:
            return True
        try:
            mallopt = ctypes.CDLL(None).mallopt
        except (OSError, AttributeError):  # not glibc
            return False
        mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        mallopt.restype = ctypes.c_int
        if mallopt(_M_TRIM_THRESHOLD, max_bytes) != 1:
            return False
        _applied = max_bytes
        return True
