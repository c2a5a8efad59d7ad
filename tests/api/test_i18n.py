from api.i18n import pick_language, translate


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
