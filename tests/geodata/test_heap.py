"""geodata.heap: freed heap memory stays mapped once retention is on (glibc only)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from geodata.heap import retain_freed_memory

# Allocates 256 MB in 64 KiB blocks (below malloc's mmap threshold, so they come from
# the heap), touches them, frees them all, and prints how much of that the process still
# holds resident. A fresh interpreter per case: the setting is process-wide.
_PROBE = """
import ctypes, os, sys
sys.path.insert(0, {root!r})
from geodata.heap import retain_freed_memory
if {retain}:
    assert retain_freed_memory()
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
page = os.sysconf("SC_PAGE_SIZE")
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * page
block, count = 64 * 1024, 4096
blocks = (ctypes.c_void_p * count)()  # allocated first: nothing of ours above the blocks
before = rss()
for i in range(count):
    blocks[i] = libc.malloc(block)
    ctypes.memset(blocks[i], 1, block)
for i in reversed(range(count)):
    libc.free(blocks[i])
print((rss() - before) / (block * count))
"""


def _held_fraction(retain: bool) -> float:
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[2])
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(root=root, retain=retain)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return float(out.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc behaviour")
def test_freed_memory_stays_resident_only_with_retention() -> None:
    assert _held_fraction(retain=True) > 0.9
    assert _held_fraction(retain=False) < 0.1


def test_rejects_a_threshold_mallopt_cannot_take() -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        retain_freed_memory(0)
    with pytest.raises(ValueError, match="max_bytes"):
        retain_freed_memory(1 << 31)
