#!/usr/bin/env python3
"""Writes the API's messages (the catalogues in `api/locale`, read by `api/i18n.py`) as JSON
for the console build.

The console shows error codes that reach it outside an HTTP answer (refused handoff scans on
the live feed, WebSocket refusals) in the dispatcher's language, with the API's own texts.
`make install` runs this before building `console/`; the file is committed so that
`npm run build` works on its own, and a test keeps it equal to the catalogue.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "console" / "src" / "api-messages.json"


def render() -> str:
    sys.path.insert(0, str(ROOT))
    from api.i18n import LANGUAGES, MESSAGES

    body = {"languages": list(LANGUAGES), "messages": MESSAGES}
    return json.dumps(body, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def main() -> None:
    text = render()
    if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
        OUT.write_text(text, encoding="utf-8")
        print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
