"""The type checker passes over the modules listed in pyproject.toml (`[tool.mypy] files`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_mypy_passes_over_the_typed_modules():
    done = subprocess.run([sys.executable, "-m", "mypy", "--no-error-summary"], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-1000:]
