"""The front end's own unit tests (vitest: courier states, lateness, filters, replay
interpolation, every text in every language), run with the Python suite."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

CONSOLE = Path(__file__).resolve().parents[2] / "console"


def test_console_unit_tests_pass():
    if not (CONSOLE / "node_modules" / ".bin" / "vitest").exists() or not shutil.which("npm"):
        pytest.skip("console/node_modules is missing (make install runs npm ci)")
    done = subprocess.run(["npm", "test", "--silent"], cwd=CONSOLE, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
