"""Every error code the service can raise has a message in every language it speaks.

The codes are collected from the source (not from a list kept by hand): class-level `code`
attributes of the exception hierarchies, `code=` keyword arguments, the code argument of any
function or class that takes a `code` parameter (`ApiError(status, "code", ...)`,
`error_response(request, status, "code", ...)`), assignments to a variable named `code` and
`{"code": ...}` messages sent over WebSockets.
"""

from __future__ import annotations

import re

from api.i18n import LANGUAGES, MESSAGES, pick_language, translate, translate_validation
from scripts.error_codes import raised_error_codes
from scripts.messages import untranslated

CYRILLIC = re.compile(r"[\u0400-\u04FF]")

def test_the_collector_finds_codes_of_every_kind():
    codes = raised_error_codes()
    assert "courier_over_capacity" in codes  # Conflict(..., code="...")
    assert "offer_expired" in codes  # class attribute
    assert "point_off_network" in codes  # class attribute with a ClassVar annotation
    assert "idempotency_key_reused" in codes  # ApiError(422, "...", ...)
    assert "console_not_built" in codes  # error_response(request, 503, "...", ...)
    assert "invalid_bbox" in codes  # a WebSocket refusal
    assert "http_error" in codes  # the default of a status -> code mapping
    assert len(codes) > 80


def test_every_error_code_the_code_raises_has_a_message_in_every_language():
    missing = {
        code: sorted(set(LANGUAGES) - {lang for lang, text in MESSAGES.get(code, {}).items()
                                       if text.strip()})
        for code in raised_error_codes()
    }
    missing = {code: languages for code, languages in missing.items() if languages}
    assert not missing, (f"run scripts/messages.py, then translate these in "
                         f"api/locale/<language>/LC_MESSAGES/messages.po: {missing}")


def test_every_catalogue_translates_every_entry_of_the_template():
    assert untranslated() == {}


def test_messages_are_written_in_their_own_script():
    for code, texts in MESSAGES.items():
        assert set(texts) == set(LANGUAGES), code
        assert CYRILLIC.search(texts["ru"]), (code, texts["ru"])
        assert not CYRILLIC.search(texts["uz"]), (code, "Uzbek in Latin script", texts["uz"])
        assert not CYRILLIC.search(texts["en"]), (code, texts["en"])
        assert texts["en"] != texts["ru"] != texts["uz"], code


def test_pick_language_honours_quality_values():
    assert pick_language("ru-RU,ru;q=0.9,en;q=0.8") == "ru"
    assert pick_language("en;q=0.5, uz;q=0.9") == "uz"
    assert pick_language("fr, de") == "en"
    assert pick_language(None) == "en"
    assert pick_language("uz;q=0, ru;q=0.1") == "ru"
    assert pick_language("ru;q=abc, uz") == "uz"


def test_translate_falls_back_to_the_given_message():
    assert translate("not_found", "ru", "x") == "Не найдено."
    assert translate("some_new_code", "uz", "fallback text") == "fallback text"


def test_detailed_messages_name_what_the_details_carry():
    details = {"status": "pending", "leg": "pickup", "due_statuses": ["assigned", "at_pickup"]}
    assert translate("handoff_leg_mismatch", "en", "x", details) == (
        "The order is pending; its pickup handoff waits for status assigned or at_pickup.")
    assert "assigned или at_pickup" in translate("handoff_leg_mismatch", "ru", "x", details)
    assert "assigned yoki at_pickup" in translate("handoff_leg_mismatch", "uz", "x", details)
    # Without the details it names, the plain message of the code.
    assert translate("handoff_leg_mismatch", "en", "x", {"leg": "pickup"}) == (
        "The order is not waiting for this handoff.")


def test_validation_messages_are_translated_with_their_context():
    assert translate_validation("greater_than", {"gt": 0}, "ru", "x") == (
        "Значение должно быть больше 0")
    assert translate_validation("missing", None, "uz", "x") == "Majburiy maydon"
    assert translate_validation("some_future_type", {}, "ru", "pydantic text") == "pydantic text"


def test_extraction_brings_a_missing_code_into_the_catalogue_untranslated(tmp_path):
    import shutil

    from babel.messages.pofile import read_po, write_po

    from api.i18n import LOCALE_DIR
    from scripts.messages import update

    shutil.copytree(LOCALE_DIR, tmp_path / "locale")
    ru = tmp_path / "locale" / "ru" / "LC_MESSAGES" / "messages.po"
    with ru.open("rb") as f:
        catalogue = read_po(f, locale="ru")
    catalogue.delete("courier_over_capacity", context="error")
    with ru.open("wb") as f:
        write_po(f, catalogue)
    assert untranslated(tmp_path / "locale") == {"ru": ["error:courier_over_capacity"]}

    update(tmp_path / "locale")
    with ru.open("rb") as f:
        merged = read_po(f, locale="ru")
    entry = merged.get("courier_over_capacity", context="error")
    assert entry is not None and entry.string == ""   # there, waiting for a translator
    assert untranslated(tmp_path / "locale") == {"ru": ["error:courier_over_capacity"]}
