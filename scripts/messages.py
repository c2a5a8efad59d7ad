#!/usr/bin/env python3
"""The message catalogues: extract every error code into the template, merge it into each
language, report what is left to translate.

    .venv/bin/python scripts/messages.py            # update api/locale/*, list untranslated
    .venv/bin/python scripts/messages.py --check    # change nothing; exit 1 if any is missing

Catalogues are gettext `.po` files keyed by error code (`msgctxt "error"`, `msgid` = the
code); the English catalogue holds the English text like any other language. Besides the
codes collected from the source (`scripts/error_codes.py`), the template keeps the entries
that are not codes — detailed variants (`error-detail`), pydantic validation types
(`validation`) and joining words (`word`) — as the English catalogue lists them. A new code
arrives in every catalogue untranslated; `tests/api/test_i18n.py` fails until it has text in
en, ru and uz. Uses Babel's own catalogue model, so the files stay what `msgmerge` and
translation tools expect.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.i18n import ERROR, LANGUAGES, LOCALE_DIR  # noqa: E402
from scripts.error_codes import raised_error_codes  # noqa: E402

TEMPLATE = LOCALE_DIR / "messages.pot"
PROJECT = "courier-dispatch"


def _catalogue_path(language: str, directory: Path = LOCALE_DIR) -> Path:
    return directory / language / "LC_MESSAGES" / "messages.po"


def _read(path: Path, language: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=language)


def template(directory: Path = LOCALE_DIR) -> Catalog:
    """The English catalogue's error codes plus every code the source raises that it lacks
    (removing a message is a deliberate edit of the catalogues, never a side effect), then
    its other entries."""
    english = _read(_catalogue_path("en", directory), "en")
    out = Catalog(project=PROJECT, version="1", charset="utf-8", fuzzy=False)
    codes = raised_error_codes()
    known = [m.id for m in english if m.id and m.context == ERROR]
    for code in [*known, *sorted(set(codes) - set(known))]:
        out.add(code, context=ERROR,
                locations=[(path, 0) for path in sorted(codes.get(code, ()))])
    for message in english:
        if message.id and message.context != ERROR:
            out.add(message.id, context=message.context)
    return out


def untranslated(directory: Path = LOCALE_DIR) -> dict[str, list[str]]:
    """`language -> ["context:msgid", ...]` of template entries a catalogue lacks a text for."""
    wanted = template(directory)
    missing: dict[str, list[str]] = {}
    for language in LANGUAGES:
        catalogue = _read(_catalogue_path(language, directory), language)
        for message in wanted:
            if not message.id:
                continue
            have = catalogue.get(message.id, context=message.context)
            if have is None or not have.string or have.fuzzy:
                missing.setdefault(language, []).append(f"{message.context}:{message.id}")
    return missing


HEADER = ("{language} messages of the courier dispatch API, keyed by error code.\n"
          "Edit the msgstr lines; after adding error codes run scripts/messages.py.")


def _write(path: Path, catalogue: Catalog) -> None:
    """Writes `catalogue` unless only its dates would change (no churn in version control)."""
    import io

    buffer = io.BytesIO()
    write_po(buffer, catalogue, width=100, omit_header=False, sort_output=False,
             include_previous=False)
    new = buffer.getvalue()

    def dateless(data: bytes) -> list[bytes]:
        return [line for line in data.splitlines() if b"-Date:" not in line]

    if path.exists() and dateless(path.read_bytes()) == dateless(new):
        return
    path.write_bytes(new)


def update(directory: Path = LOCALE_DIR) -> None:
    """Writes the template and merges it into each language's catalogue (new entries empty,
    entries no longer in the template kept as obsolete comments, never deleted outright)."""
    wanted = template(directory)
    wanted.header_comment = "# " + HEADER.format(language="Template for the").replace(
        "\n", "\n# ")
    _write(directory / "messages.pot", wanted)
    for language in LANGUAGES:
        path = _catalogue_path(language, directory)
        catalogue = _read(path, language)
        catalogue.update(wanted, no_fuzzy_matching=True, update_header_comment=False)
        catalogue.header_comment = "# " + HEADER.format(
            language=catalogue.locale.english_name if catalogue.locale else language
        ).replace("\n", "\n# ")
        _write(path, catalogue)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if any catalogue lacks a message")
    args = parser.parse_args()
    if not args.check:
        update()
    missing = untranslated()
    for language, entries in missing.items():
        print(f"{language}: {len(entries)} untranslated: {', '.join(entries)}")
    if not missing:
        print("every catalogue translates every entry")
    sys.exit(1 if missing and args.check else 0)


if __name__ == "__main__":
    main()
