"""Error messages in English, Russian and Uzbek, chosen by the `Accept-Language` header.

Messages are keyed by error `code` and live in gettext catalogues, one per language:
`api/locale/<language>/LC_MESSAGES/messages.po` (read with Babel at start-up). Translators
edit those files; `scripts/messages.py` extracts every error code the code can raise into
`api/locale/messages.pot` and merges new codes into each catalogue, and a test fails while any
code lacks a message in any language. A code without a translation at run time falls back to
the English message the domain error carried, so a new error is never unreadable.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

__all__ = ["LANGUAGES", "LOCALE_DIR", "MESSAGES", "DETAILED_MESSAGES", "VALIDATION_MESSAGES",
           "pick_language", "translate", "translate_validation"]

LANGUAGES = ("en", "ru", "uz")

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
#: Message contexts in the catalogues (`msgctxt`): an error code's plain message, a detailed
#: variant (`msgid` = "code|key,key"), a pydantic validation error type, a joining word.
ERROR, ERROR_DETAIL, VALIDATION, WORD = "error", "error-detail", "validation", "word"


def _load_catalogues(directory: Path = LOCALE_DIR) -> dict[str, dict[tuple[str, str], str]]:
    """`language -> {(context, msgid): text}` from `<language>/LC_MESSAGES/messages.po`, in
    file order; untranslated and fuzzy entries are left out (the caller falls back)."""
    catalogues = {}
    for language in LANGUAGES:
        path = directory / language / "LC_MESSAGES" / "messages.po"
        with path.open("rb") as f:
            catalog = read_po(f, locale=language)
        catalogues[language] = {(m.context or "", str(m.id)): str(m.string)
                                for m in catalog if m.id and m.string and not m.fuzzy}
    return catalogues


def _by_context(catalogues: dict[str, dict[tuple[str, str], str]], context: str
                ) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for language, entries in catalogues.items():
        for (ctx, msgid), text in entries.items():
            if ctx == context:
                out.setdefault(msgid, {})[language] = text
    return out


def _detailed(entries: dict[str, dict[str, str]]
              ) -> dict[str, list[tuple[tuple[str, ...], dict[str, str]]]]:
    out: dict[str, list[tuple[tuple[str, ...], dict[str, str]]]] = {}
    for msgid, texts in entries.items():
        code, _, keys = msgid.partition("|")
        out.setdefault(code, []).append((tuple(k for k in keys.split(",") if k), texts))
    return out


_CATALOGUES = _load_catalogues()
#: Plain messages by error code: `code -> {language: text}`.
MESSAGES: dict[str, dict[str, str]] = _by_context(_CATALOGUES, ERROR)
#: Messages that name what the error's `details` carry, tried before the plain message of the
#: code: the first entry whose keys all appear in `details` is used. Lists are joined with the
#: language's "or".
DETAILED_MESSAGES = _detailed(_by_context(_CATALOGUES, ERROR_DETAIL))
#: Pydantic's validation error types in our languages (`{...}` from the error's `ctx`); a type
#: not listed keeps pydantic's English text.
VALIDATION_MESSAGES: dict[str, dict[str, str]] = _by_context(_CATALOGUES, VALIDATION)
_OR = _by_context(_CATALOGUES, WORD).get("or", {"en": " or "})


class _Fill(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _fill(template: str, values: dict, language: str) -> str:
    def text(value: object) -> str:
        if isinstance(value, list | tuple | set | frozenset):
            return _OR.get(language, " or ").join(text(v) for v in value)
        if isinstance(value, float) and value.is_integer():
            return str(int(value))  # 90, as pydantic writes it, not 90.0
        return str(value)

    return template.format_map(_Fill({k: text(v) for k, v in values.items()}))


def translate_validation(error_type: str | None, ctx: dict | None, language: str,
                         fallback: str) -> str:
    """One pydantic validation error's message in `language` (pydantic's text if unknown)."""
    messages = VALIDATION_MESSAGES.get(error_type or "")
    if messages is None or language not in messages:
        return fallback
    try:
        return _fill(messages[language], dict(ctx or {}), language)
    except (ValueError, IndexError):
        return fallback


def pick_language(accept_language: str | None) -> str:
    """The best of `LANGUAGES` for an `Accept-Language` header (q-values honoured)."""
    if not accept_language:
        return "en"
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        fields = part.strip().split(";")
        tag = fields[0].strip().lower()
        quality = 1.0
        for param in fields[1:]:
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, index, primary))
    return min(ranked)[2] if ranked else "en"


def translate(code: str, language: str, fallback: str, details: object = None) -> str:
    """The message of `code` in `language`: the detailed variant when `details` carries what it
    names, else the plain one, else `fallback` (the domain error's own English text)."""
    if isinstance(details, dict):
        for keys, variants in DETAILED_MESSAGES.get(code, ()):
            if all(details.get(key) is not None for key in keys) and language in variants:
                return _fill(variants[language], {k: details[k] for k in keys}, language)
    messages = MESSAGES.get(code)
    if messages is None:
        return fallback
    return messages.get(language) or fallback
