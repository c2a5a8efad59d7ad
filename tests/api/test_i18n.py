from api.i18n import pick_language, translate, translate_validation


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
