"""Error messages in English, Russian and Uzbek, chosen by the `Accept-Language` header.

Messages are keyed by error `code`. A code without a translation falls back to the English
message the domain error carried, so a new error is never unreadable, only untranslated.
"""

from __future__ import annotations

__all__ = ["LANGUAGES", "pick_language", "translate"]

LANGUAGES = ("en", "ru", "uz")

MESSAGES: dict[str, dict[str, str]] = {
    "validation_error": {
        "en": "The request is invalid.",
        "ru": "Некорректный запрос.",
        "uz": "So'rov noto'g'ri.",
    },
    "malformed_json": {
        "en": "The request body is not valid JSON.",
        "ru": "Тело запроса не является корректным JSON.",
        "uz": "So'rov tanasi to'g'ri JSON emas.",
    },
    "body_too_large": {
        "en": "The request body is too large.",
        "ru": "Тело запроса слишком велико.",
        "uz": "So'rov tanasi juda katta.",
    },
    "not_authenticated": {
        "en": "Authentication is required.",
        "ru": "Требуется аутентификация.",
        "uz": "Autentifikatsiya talab qilinadi.",
    },
    "invalid_token": {
        "en": "The access token is invalid or expired.",
        "ru": "Токен доступа недействителен или истёк.",
        "uz": "Kirish tokeni yaroqsiz yoki muddati o'tgan.",
    },
    "invalid_credentials": {
        "en": "Wrong user name or password.",
        "ru": "Неверное имя пользователя или пароль.",
        "uz": "Foydalanuvchi nomi yoki parol noto'g'ri.",
    },
    "forbidden": {
        "en": "You are not allowed to do this.",
        "ru": "У вас нет прав на это действие.",
        "uz": "Sizga bu amalni bajarishga ruxsat yo'q.",
    },
    "not_found": {
        "en": "Not found.",
        "ru": "Не найдено.",
        "uz": "Topilmadi.",
    },
    "method_not_allowed": {
        "en": "This method is not allowed here.",
        "ru": "Этот метод здесь не разрешён.",
        "uz": "Bu usulga bu yerda ruxsat berilmagan.",
    },
    "illegal_transition": {
        "en": "The order cannot make this change in its current status.",
        "ru": "Заказ не может перейти в это состояние из текущего.",
        "uz": "Buyurtma joriy holatida bu o'zgarishni amalga oshira olmaydi.",
    },
    "outside_service_area": {
        "en": "The address is outside every active service area.",
        "ru": "Адрес находится вне всех активных зон обслуживания.",
        "uz": "Manzil barcha faol xizmat hududlaridan tashqarida.",
    },
    "duplicate": {
        "en": "This already exists.",
        "ru": "Такая запись уже существует.",
        "uz": "Bu allaqachon mavjud.",
    },
    "idempotency_key_reused": {
        "en": "This Idempotency-Key was already used with a different request.",
        "ru": "Этот Idempotency-Key уже использован с другим запросом.",
        "uz": "Bu Idempotency-Key boshqa so'rov bilan allaqachon ishlatilgan.",
    },
    "courier_off_shift": {
        "en": "The courier is not on shift.",
        "ru": "Курьер не на смене.",
        "uz": "Kuryer smenada emas.",
    },
    "invalid_cursor": {
        "en": "The pagination cursor is invalid.",
        "ru": "Некорректный курсор пагинации.",
        "uz": "Sahifalash kursori noto'g'ri.",
    },
    "handoff_scan_required": {
        "en": "This step is recorded by scanning the handoff code.",
        "ru": "Этот шаг фиксируется сканированием кода передачи.",
        "uz": "Bu qadam topshirish kodini skanerlash orqali qayd etiladi.",
    },
    "invalid_geometry": {
        "en": "The geometry is invalid.",
        "ru": "Некорректная геометрия.",
        "uz": "Geometriya noto'g'ri.",
    },
    "service_unavailable": {
        "en": "A backing service is unavailable; try again shortly.",
        "ru": "Внутренний сервис недоступен; повторите попытку позже.",
        "uz": "Ichki xizmat mavjud emas; birozdan so'ng qayta urinib ko'ring.",
    },
    "internal_error": {
        "en": "Something went wrong on our side.",
        "ru": "На нашей стороне произошла ошибка.",
        "uz": "Bizning tomonda xatolik yuz berdi.",
    },
}


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


def translate(code: str, language: str, fallback: str) -> str:
    messages = MESSAGES.get(code)
    if messages is None:
        return fallback
    return messages.get(language) or fallback
