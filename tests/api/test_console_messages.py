"""The console's copy of the API message catalogue is the catalogue itself."""

from __future__ import annotations

import importlib.util
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_console_messages_match_the_api_catalogue():
    spec = importlib.util.spec_from_file_location(
        "export_messages", PROJECT_ROOT / "scripts" / "export_messages.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    committed = (PROJECT_ROOT / "console" / "src" / "api-messages.json").read_text("utf-8")
    assert committed == module.render(), "run scripts/export_messages.py (make install does)"
