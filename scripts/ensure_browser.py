#!/usr/bin/env python3
"""Makes sure Debian's Chromium is there for the console's browser tests and benchmark.

Playwright drives `/usr/bin/chromium` (no browser download: only package registries are
reachable). If it is missing and we are root with `apt-get`, installs the `chromium` package;
otherwise says what to install. Never fails the set-up: without a browser the browser tests
skip, saying why.

Standard library only: this runs before the project's virtual environment is complete.
"""

from __future__ import annotations

import os
import shutil
import subprocess

CHROMIUM = os.environ.get("COURIER_CHROMIUM", "/usr/bin/chromium")


def say(message: str) -> None:
    print(f"[browser] {message}", flush=True)


def main() -> None:
    if os.path.exists(CHROMIUM) or shutil.which("chromium"):
        return
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        say("apt-get install chromium (for the console's browser tests)")
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=False)
        done = subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], env=env)
        if done.returncode == 0:
            return
    say("Chromium is missing: install Debian's `chromium` package (apt-get install chromium) "
        "or set COURIER_CHROMIUM; the browser tests skip without it")


if __name__ == "__main__":
    main()
