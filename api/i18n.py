"""Error messages in English, Russian and Uzbek, chosen by the `Accept-Language` header.

Messages are keyed by error `code`. A code without a translation falls back to the English
message the domain error carried, so a new error is never unreadable, only untranslated.
"""

from __future__ import annotations

__all__ = ["LANGUAGES", "pick_language", "translate", "translate_validation",
           "DETAILED_MESSAGES", "VALIDATION_MESSAGES"]

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
    "malformed_message": {
        "en": "The tracking message cannot be read.",
        "ru": "Сообщение трекинга не удаётся прочитать.",
        "uz": "Kuzatuv xabarini o'qib bo'lmaydi.",
    },
    "unknown_message_type": {
        "en": "Unknown message type.",
        "ru": "Неизвестный тип сообщения.",
        "uz": "Noma'lum xabar turi.",
    },
    "batch_too_large": {
        "en": "Too many points in one message.",
        "ru": "Слишком много точек в одном сообщении.",
        "uz": "Bitta xabarda nuqtalar juda ko'p.",
    },
    "unknown_device": {
        "en": "The device id is not registered.",
        "ru": "Идентификатор устройства не зарегистрирован.",
        "uz": "Qurilma identifikatori ro'yxatdan o'tmagan.",
    },
    "device_not_found": {
        "en": "Device not found.",
        "ru": "Устройство не найдено.",
        "uz": "Qurilma topilmadi.",
    },
    "device_id_missing": {
        "en": "The device id is missing.",
        "ru": "Не указан идентификатор устройства.",
        "uz": "Qurilma identifikatori ko'rsatilmagan.",
    },
    "invalid_timestamp": {
        "en": "The timestamp cannot be read.",
        "ru": "Не удаётся прочитать отметку времени.",
        "uz": "Vaqt belgisini o'qib bo'lmaydi.",
    },
    "courier_required": {
        "en": "Only a courier can send positions.",
        "ru": "Отправлять координаты может только курьер.",
        "uz": "Faqat kuryer joylashuvni yubora oladi.",
    },
    "invalid_time_range": {
        "en": "The time range is invalid.",
        "ru": "Некорректный интервал времени.",
        "uz": "Vaqt oralig'i noto'g'ri.",
    },
    "invalid_bbox": {
        "en": "The bounding box is invalid.",
        "ru": "Некорректная ограничивающая рамка.",
        "uz": "Chegaralovchi to'rtburchak noto'g'ri.",
    },
    "handoff_token_malformed": {
        "en": "The handoff code cannot be read.",
        "ru": "Код передачи не удаётся прочитать.",
        "uz": "Topshirish kodini o'qib bo'lmaydi.",
    },
    "handoff_token_algorithm_refused": {
        "en": "The handoff code is signed in a way we do not accept.",
        "ru": "Код передачи подписан недопустимым способом.",
        "uz": "Topshirish kodi qabul qilinmaydigan usulda imzolangan.",
    },
    "handoff_token_unknown_key": {
        "en": "The handoff code was signed with an unknown key.",
        "ru": "Код передачи подписан неизвестным ключом.",
        "uz": "Topshirish kodi noma'lum kalit bilan imzolangan.",
    },
    "handoff_token_bad_signature": {
        "en": "The handoff code's signature is invalid.",
        "ru": "Подпись кода передачи недействительна.",
        "uz": "Topshirish kodining imzosi yaroqsiz.",
    },
    "handoff_token_expired": {
        "en": "The handoff code has expired; ask for a new one.",
        "ru": "Срок действия кода передачи истёк; запросите новый.",
        "uz": "Topshirish kodining muddati o'tgan; yangisini so'rang.",
    },
    "handoff_token_not_yet_valid": {
        "en": "The scan time is before the code was issued.",
        "ru": "Время сканирования раньше выдачи кода.",
        "uz": "Skanerlash vaqti kod berilishidan oldin.",
    },
    "handoff_scan_time_in_future": {
        "en": "The scan time lies in the future.",
        "ru": "Время сканирования находится в будущем.",
        "uz": "Skanerlash vaqti kelajakda.",
    },
    "handoff_offline_window_exceeded": {
        "en": "The offline scan was uploaded too late.",
        "ru": "Офлайн-сканирование загружено слишком поздно.",
        "uz": "Oflayn skanerlash juda kech yuklandi.",
    },
    "handoff_order_mismatch": {
        "en": "This code belongs to another order.",
        "ru": "Этот код относится к другому заказу.",
        "uz": "Bu kod boshqa buyurtmaga tegishli.",
    },
    "handoff_leg_mismatch": {
        "en": "The order is not waiting for this handoff.",
        "ru": "Заказ сейчас не ожидает этой передачи.",
        "uz": "Buyurtma hozir bu topshirishni kutmayapti.",
    },
    "handoff_wrong_courier": {
        "en": "Only the courier assigned to this order may scan its code.",
        "ru": "Сканировать код может только назначенный на заказ курьер.",
        "uz": "Kodni faqat buyurtmaga biriktirilgan kuryer skanerlay oladi.",
    },
    "handoff_too_far": {
        "en": "The scan is too far from the handoff point.",
        "ru": "Сканирование выполнено слишком далеко от точки передачи.",
        "uz": "Skanerlash topshirish nuqtasidan juda uzoqda.",
    },
    "handoff_track_not_near": {
        "en": "The courier's recorded track was not near the point then.",
        "ru": "Записанный трек курьера в то время не проходил рядом с точкой.",
        "uz": "Kuryerning yozilgan yo'li o'sha paytda nuqta yaqinida emas edi.",
    },
    "handoff_track_far": {
        "en": "The courier's tracked position at the time of the scan was too far from the point.",
        "ru": "Отслеживаемое положение курьера во время сканирования было слишком далеко от точки.",
        "uz": "Skanerlash paytida kuryerning kuzatilgan joylashuvi nuqtadan juda uzoq edi.",
    },
    "arrival_track_far": {
        "en": "The courier's tracked position does not match this arrival.",
        "ru": "Отслеживаемое положение курьера не совпадает с этим прибытием.",
        "uz": "Kuryerning kuzatilgan joylashuvi bu yetib kelish bilan mos emas.",
    },
    "handoff_token_used": {
        "en": "This handoff code was already used.",
        "ru": "Этот код передачи уже использован.",
        "uz": "Bu topshirish kodi allaqachon ishlatilgan.",
    },
    "handoff_not_allowed": {
        "en": "You may not show this handoff code.",
        "ru": "Вы не можете показывать этот код передачи.",
        "uz": "Siz bu topshirish kodini ko'rsata olmaysiz.",
    },
    "handoff_code_unavailable": {
        "en": "There is no live code for this handoff; ask for one.",
        "ru": "Для этой передачи нет действующего кода; запросите его.",
        "uz": "Bu topshirish uchun amaldagi kod yo'q; uni so'rang.",
    },
    "handoff_code_invalid": {
        "en": "The code is wrong.",
        "ru": "Неверный код.",
        "uz": "Kod noto'g'ri.",
    },
    "handoff_code_locked": {
        "en": "Too many wrong codes; ask for a new code.",
        "ru": "Слишком много неверных попыток; запросите новый код.",
        "uz": "Noto'g'ri urinishlar juda ko'p; yangi kod so'rang.",
    },
    "handoff_keys_managed_by_configuration": {
        "en": "The handoff keys come from configuration; rotate them there.",
        "ru": "Ключи передачи задаются конфигурацией; меняйте их там.",
        "uz": "Topshirish kalitlari konfiguratsiyadan olinadi; ularni o'sha yerda almashtiring.",
    },
    "offer_not_found": {
        "en": "There is no such offer for you.",
        "ru": "Такого предложения для вас нет.",
        "uz": "Siz uchun bunday taklif yo'q.",
    },
    "offer_closed": {
        "en": "This offer is no longer open.",
        "ru": "Это предложение больше не действует.",
        "uz": "Bu taklif endi amalda emas.",
    },
    "offer_expired": {
        "en": "This offer has expired.",
        "ru": "Срок этого предложения истёк.",
        "uz": "Bu taklifning muddati tugagan.",
    },
    "dispatch_busy": {
        "en": "Another planning cycle is running; try again shortly.",
        "ru": "Идёт другой цикл планирования; повторите чуть позже.",
        "uz": "Boshqa rejalashtirish sikli ishlamoqda; birozdan keyin qayta urinib ko'ring.",
    },
    "not_leader": {
        "en": "Another planner leads now; this plan was discarded.",
        "ru": "Сейчас ведущий другой планировщик; этот план отброшен.",
        "uz": "Hozir boshqa rejalashtiruvchi yetakchi; bu reja bekor qilindi.",
    },
    "invalid_webhook_url": {
        "en": "A webhook URL must be an absolute http(s) URL.",
        "ru": "Адрес вебхука должен быть абсолютным URL http(s).",
        "uz": "Webhook manzili to'liq http(s) URL bo'lishi kerak.",
    },
    "invalid_webhook_secret": {
        "en": "A webhook secret needs at least 16 characters.",
        "ru": "Секрет вебхука должен содержать не менее 16 символов.",
        "uz": "Webhook siri kamida 16 belgidan iborat bo'lishi kerak.",
    },
    "courier_on_break": {
        "en": "The courier is on a break.",
        "ru": "Курьер на перерыве.",
        "uz": "Kuryer tanaffusda.",
    },
    "already_on_break": {
        "en": "The courier is already on a break.",
        "ru": "Курьер уже на перерыве.",
        "uz": "Kuryer allaqachon tanaffusda.",
    },
    "not_on_break": {
        "en": "The courier is not on a break.",
        "ru": "Курьер не на перерыве.",
        "uz": "Kuryer tanaffusda emas.",
    },
    "tracking_link_invalid": {
        "en": "This tracking link is not valid.",
        "ru": "Эта ссылка для отслеживания недействительна.",
        "uz": "Bu kuzatuv havolasi yaroqsiz.",
    },
    "tracking_link_expired": {
        "en": "This tracking link has expired.",
        "ru": "Срок действия этой ссылки для отслеживания истёк.",
        "uz": "Bu kuzatuv havolasining muddati tugagan.",
    },
    "tracking_link_revoked": {
        "en": "This tracking link was revoked.",
        "ru": "Эта ссылка для отслеживания отозвана.",
        "uz": "Bu kuzatuv havolasi bekor qilingan.",
    },
    "invalid_tile": {
        "en": "There is no such tile.",
        "ru": "Такого тайла не существует.",
        "uz": "Bunday tayl mavjud emas.",
    },
    "oauth2_form_required": {
        "en": "Log in with an OAuth2 password form (application/x-www-form-urlencoded fields "
              "username and password), not JSON.",
        "ru": "Вход выполняется формой OAuth2 (application/x-www-form-urlencoded, поля "
              "username и password), а не JSON.",
        "uz": "Kirish OAuth2 formasi orqali amalga oshiriladi (application/x-www-form-urlencoded,"
              " username va password maydonlari), JSON emas.",
    },
    "contradictory_pickup": {
        "en": "Give either pickup or pickup_place_id, not both.",
        "ru": "Укажите либо pickup, либо pickup_place_id, но не оба сразу.",
        "uz": "pickup yoki pickup_place_id dan faqat bittasini ko'rsating.",
    },
    "order_too_large": {
        "en": "No courier of the fleet can carry an order this large.",
        "ru": "Ни один курьер парка не может перевезти заказ такого размера.",
        "uz": "Parkdagi hech bir kuryer bunday katta buyurtmani tashiy olmaydi.",
    },
    "window_passed": {
        "en": "The time window has already ended.",
        "ru": "Временное окно уже закончилось.",
        "uz": "Vaqt oynasi allaqachon tugagan.",
    },
    "far_outside_service_area": {
        "en": "The first position lies far outside every service area.",
        "ru": "Первая координата находится далеко за пределами всех зон обслуживания.",
        "uz": "Birinchi joylashuv barcha xizmat hududlaridan juda uzoqda.",
    },
    "courier_over_capacity": {
        "en": "The courier has no room for this order.",
        "ru": "У курьера нет места для этого заказа.",
        "uz": "Kuryerda bu buyurtma uchun joy yo'q.",
    },
    "duplicate_external_id": {
        "en": "This seller already has an order with this external id.",
        "ru": "У этого продавца уже есть заказ с таким внешним идентификатором.",
        "uz": "Bu sotuvchida shu tashqi identifikatorli buyurtma allaqachon bor.",
    },
    "duplicate_order": {
        "en": "This order already exists.",
        "ru": "Такой заказ уже существует.",
        "uz": "Bu buyurtma allaqachon mavjud.",
    },
    "invalid_window": {
        "en": "The time window is invalid: it must end after it starts, and the dropoff window "
              "cannot close before the pickup window opens.",
        "ru": "Некорректное временное окно: оно должно заканчиваться позже, чем начинается, "
              "а окно доставки не может закрываться раньше открытия окна забора.",
        "uz": "Vaqt oynasi noto'g'ri: u boshlanganidan keyin tugashi kerak, yetkazish oynasi esa "
              "olib ketish oynasi ochilishidan oldin yopilmasligi kerak.",
    },
    "invalid_buyer": {
        "en": "The buyer must be a user with the buyer role.",
        "ru": "Покупателем может быть только пользователь с ролью покупателя.",
        "uz": "Xaridor xaridor roliga ega foydalanuvchi bo'lishi kerak.",
    },
    "seller_required": {
        "en": "A seller must be given.",
        "ru": "Необходимо указать продавца.",
        "uz": "Sotuvchini ko'rsatish kerak.",
    },
    "user_not_courier": {
        "en": "Only a user with the courier role can be a courier.",
        "ru": "Курьером может быть только пользователь с ролью курьера.",
        "uz": "Faqat kuryer roliga ega foydalanuvchi kuryer bo'la oladi.",
    },
    "position_required": {
        "en": "A shift starts at a position: give lat and lon.",
        "ru": "Смена начинается в определённой точке: укажите lat и lon.",
        "uz": "Smena ma'lum joydan boshlanadi: lat va lon ni ko'rsating.",
    },
    "invalid_shift_end": {
        "en": "The shift must end in the future.",
        "ru": "Смена должна заканчиваться в будущем.",
        "uz": "Smena kelajakda tugashi kerak.",
    },
    "shift_already_started": {
        "en": "The shift has already started.",
        "ru": "Смена уже началась.",
        "uz": "Smena allaqachon boshlangan.",
    },
    "shift_not_started": {
        "en": "No shift is running.",
        "ru": "Смена не начата.",
        "uz": "Smena boshlanmagan.",
    },
    "invalid_value": {
        "en": "A value in the request cannot be stored.",
        "ru": "Значение в запросе не может быть сохранено.",
        "uz": "So'rovdagi qiymatni saqlab bo'lmaydi.",
    },
    "wrong_password": {
        "en": "The current password is wrong.",
        "ru": "Текущий пароль неверен.",
        "uz": "Joriy parol noto'g'ri.",
    },
    "cannot_disable_self": {
        "en": "An admin cannot disable their own account.",
        "ru": "Администратор не может отключить собственную учётную запись.",
        "uz": "Administrator o'z hisobini o'chira olmaydi.",
    },
    "too_many_sign_in_attempts": {
        "en": "Too many failed sign-in attempts. Try again later.",
        "ru": "Слишком много неудачных попыток входа. Повторите попытку позже.",
        "uz": "Kirishga juda ko'p muvaffaqiyatsiz urinishlar. Keyinroq qayta urinib ko'ring.",
    },
    "too_many_points": {
        "en": "Too many points in one request.",
        "ru": "Слишком много точек в одном запросе.",
        "uz": "Bitta so'rovda nuqtalar juda ko'p.",
    },
    "point_off_network": {
        "en": "A point is too far from any road.",
        "ru": "Точка находится слишком далеко от дорог.",
        "uz": "Nuqta yo'llardan juda uzoqda.",
    },
    "no_route": {
        "en": "There is no route between these points.",
        "ru": "Между этими точками нет маршрута.",
        "uz": "Bu nuqtalar orasida marshrut yo'q.",
    },
    "invalid_point": {
        "en": "A coordinate is out of range.",
        "ru": "Координата вне допустимого диапазона.",
        "uz": "Koordinata ruxsat etilgan oraliqdan tashqarida.",
    },
    "unknown_profile": {
        "en": "Unknown travel profile; use foot, bicycle, scooter or car.",
        "ru": "Неизвестный профиль передвижения; используйте foot, bicycle, scooter или car.",
        "uz": "Noma'lum harakat profili; foot, bicycle, scooter yoki car dan foydalaning.",
    },
    "unknown_vehicle": {
        "en": "Unknown vehicle type.",
        "ru": "Неизвестный тип транспорта.",
        "uz": "Noma'lum transport turi.",
    },
    "invalid_network_name": {
        "en": "A network name may hold only a-z, 0-9, _ and -.",
        "ru": "Имя сети может содержать только a-z, 0-9, _ и -.",
        "uz": "Tarmoq nomida faqat a-z, 0-9, _ va - bo'lishi mumkin.",
    },
    "invalid_osm_file": {
        "en": "The OpenStreetMap file cannot be read or holds no roads.",
        "ru": "Файл OpenStreetMap не читается или не содержит дорог.",
        "uz": "OpenStreetMap faylini o'qib bo'lmaydi yoki unda yo'llar yo'q.",
    },
    "osm_file_not_found": {
        "en": "The OpenStreetMap file does not exist.",
        "ru": "Файл OpenStreetMap не найден.",
        "uz": "OpenStreetMap fayli topilmadi.",
    },
    "network_not_found": {
        "en": "There is no road network of this name.",
        "ru": "Дорожной сети с таким именем нет.",
        "uz": "Bunday nomli yo'l tarmog'i yo'q.",
    },
    "profile_not_built": {
        "en": "The road network was built without this travel profile.",
        "ru": "Дорожная сеть построена без этого профиля передвижения.",
        "uz": "Yo'l tarmog'i bu harakat profilisiz qurilgan.",
    },
    "network_build_failed": {
        "en": "The road network could not be built.",
        "ru": "Не удалось построить дорожную сеть.",
        "uz": "Yo'l tarmog'ini qurib bo'lmadi.",
    },
    "travel_unavailable": {
        "en": "Travel times are unavailable right now; try again shortly.",
        "ru": "Время в пути сейчас недоступно; повторите попытку позже.",
        "uz": "Yo'l vaqtlari hozir mavjud emas; birozdan so'ng qayta urinib ko'ring.",
    },
    "map_store_unavailable": {
        "en": "The map database cannot be reached.",
        "ru": "База данных карты недоступна.",
        "uz": "Xarita ma'lumotlar bazasiga ulanib bo'lmaydi.",
    },
    "invalid_file": {
        "en": "The file cannot be read or holds no features.",
        "ru": "Файл не читается или не содержит объектов.",
        "uz": "Faylni o'qib bo'lmaydi yoki unda obyektlar yo'q.",
    },
    "console_not_built": {
        "en": "The console is not built; run `make install`.",
        "ru": "Консоль не собрана; выполните `make install`.",
        "uz": "Konsol yig'ilmagan; `make install` buyrug'ini bajaring.",
    },
    "http_error": {
        "en": "The request cannot be served.",
        "ru": "Запрос не может быть выполнен.",
        "uz": "So'rovni bajarib bo'lmaydi.",
    },
    "invalid_input": {
        "en": "The input is invalid.",
        "ru": "Некорректные входные данные.",
        "uz": "Kiritilgan ma'lumotlar noto'g'ri.",
    },
    "conflict": {
        "en": "The request conflicts with the current state.",
        "ru": "Запрос противоречит текущему состоянию.",
        "uz": "So'rov joriy holatga zid.",
    },
    "dispatch_error": {
        "en": "The dispatch request failed.",
        "ru": "Не удалось выполнить запрос диспетчеризации.",
        "uz": "Dispetcherlik so'rovini bajarib bo'lmadi.",
    },
    "handoff_error": {
        "en": "The handoff cannot be recorded.",
        "ru": "Передачу не удаётся зафиксировать.",
        "uz": "Topshirishni qayd etib bo'lmaydi.",
    },
    "tracking_error": {
        "en": "The tracking data cannot be accepted.",
        "ru": "Данные трекинга не могут быть приняты.",
        "uz": "Kuzatuv ma'lumotlarini qabul qilib bo'lmaydi.",
    },
    "geodata_error": {
        "en": "The map or travel-time request failed.",
        "ru": "Не удалось выполнить запрос к карте или расчёт времени в пути.",
        "uz": "Xarita yoki yo'l vaqti so'rovini bajarib bo'lmadi.",
    },
}


#: Messages that name what the error's `details` carry, tried before the plain message of the
#: code: the first entry whose keys all appear in `details` is used. Lists are joined with the
#: language's "or".
DETAILED_MESSAGES: dict[str, list[tuple[tuple[str, ...], dict[str, str]]]] = {
    "handoff_leg_mismatch": [
        (("status", "leg", "due_statuses"), {
            "en": "The order is {status}; its {leg} handoff waits for status {due_statuses}.",
            "ru": "Заказ в статусе {status}; передача «{leg}» возможна в статусе "
                  "{due_statuses}.",
            "uz": "Buyurtma holati {status}; {leg} topshiruvi {due_statuses} holatini "
                  "kutadi.",
        }),
        (("status", "leg", "issuable_statuses"), {
            "en": "The order is {status}; a {leg} code can be issued while it is "
                  "{issuable_statuses}.",
            "ru": "Заказ в статусе {status}; код «{leg}» выдаётся в статусе "
                  "{issuable_statuses}.",
            "uz": "Buyurtma holati {status}; {leg} kodi {issuable_statuses} holatida "
                  "beriladi.",
        }),
    ],
    "order_too_large": [
        (("size", "largest_capacity"), {
            "en": "The order's size {size} exceeds the largest courier capacity of the fleet "
                  "({largest_capacity}).",
            "ru": "Размер заказа {size} больше наибольшей вместимости курьера в парке "
                  "({largest_capacity}).",
            "uz": "Buyurtma hajmi {size} parkdagi eng katta kuryer sig'imidan "
                  "({largest_capacity}) oshadi.",
        }),
    ],
    "window_passed": [
        (("window", "end"), {
            "en": "The {window} ended at {end}; give a window that is still open.",
            "ru": "Окно {window} закончилось в {end}; укажите окно, которое ещё открыто.",
            "uz": "{window} oynasi {end} da tugagan; hali ochiq oynani ko'rsating.",
        }),
    ],
}

_OR = {"en": " or ", "ru": " или ", "uz": " yoki "}

#: Pydantic's validation error types in our languages (`{...}` from the error's `ctx`); a type
#: not listed keeps pydantic's English text.
VALIDATION_MESSAGES: dict[str, dict[str, str]] = {
    "missing": {"en": "Field required", "ru": "Обязательное поле",
                "uz": "Majburiy maydon"},
    "extra_forbidden": {"en": "Extra inputs are not permitted",
                        "ru": "Лишние поля не допускаются",
                        "uz": "Ortiqcha maydonlarga ruxsat yo'q"},
    "string_type": {"en": "Input should be a valid string", "ru": "Ожидается строка",
                    "uz": "Satr bo'lishi kerak"},
    "string_too_short": {"en": "String should have at least {min_length} characters",
                         "ru": "Строка должна содержать не менее {min_length} символов",
                         "uz": "Satr kamida {min_length} belgidan iborat bo'lishi kerak"},
    "string_too_long": {"en": "String should have at most {max_length} characters",
                        "ru": "Строка должна содержать не более {max_length} символов",
                        "uz": "Satr ko'pi bilan {max_length} belgidan iborat bo'lishi kerak"},
    "string_pattern_mismatch": {"en": "String should match pattern '{pattern}'",
                                "ru": "Строка должна соответствовать шаблону '{pattern}'",
                                "uz": "Satr '{pattern}' shabloniga mos kelishi kerak"},
    "int_type": {"en": "Input should be a valid integer", "ru": "Ожидается целое число",
                 "uz": "Butun son bo'lishi kerak"},
    "int_parsing": {"en": "Input should be a valid integer", "ru": "Ожидается целое число",
                    "uz": "Butun son bo'lishi kerak"},
    "int_from_float": {"en": "Input should be a valid integer",
                       "ru": "Ожидается целое число", "uz": "Butun son bo'lishi kerak"},
    "float_type": {"en": "Input should be a valid number", "ru": "Ожидается число",
                   "uz": "Son bo'lishi kerak"},
    "float_parsing": {"en": "Input should be a valid number", "ru": "Ожидается число",
                      "uz": "Son bo'lishi kerak"},
    "finite_number": {"en": "Input should be a finite number",
                      "ru": "Ожидается конечное число", "uz": "Chekli son bo'lishi kerak"},
    "bool_type": {"en": "Input should be a valid boolean", "ru": "Ожидается логическое значение",
                  "uz": "Mantiqiy qiymat bo'lishi kerak"},
    "bool_parsing": {"en": "Input should be a valid boolean",
                     "ru": "Ожидается логическое значение",
                     "uz": "Mantiqiy qiymat bo'lishi kerak"},
    "greater_than": {"en": "Input should be greater than {gt}",
                     "ru": "Значение должно быть больше {gt}",
                     "uz": "Qiymat {gt} dan katta bo'lishi kerak"},
    "greater_than_equal": {"en": "Input should be greater than or equal to {ge}",
                           "ru": "Значение должно быть не меньше {ge}",
                           "uz": "Qiymat {ge} dan kichik bo'lmasligi kerak"},
    "less_than": {"en": "Input should be less than {lt}",
                  "ru": "Значение должно быть меньше {lt}",
                  "uz": "Qiymat {lt} dan kichik bo'lishi kerak"},
    "less_than_equal": {"en": "Input should be less than or equal to {le}",
                        "ru": "Значение должно быть не больше {le}",
                        "uz": "Qiymat {le} dan katta bo'lmasligi kerak"},
    "literal_error": {"en": "Input should be {expected}",
                      "ru": "Допустимые значения: {expected}",
                      "uz": "Ruxsat etilgan qiymatlar: {expected}"},
    "enum": {"en": "Input should be {expected}", "ru": "Допустимые значения: {expected}",
             "uz": "Ruxsat etilgan qiymatlar: {expected}"},
    "model_attributes_type": {"en": "Input should be an object",
                              "ru": "Ожидается объект", "uz": "Obyekt bo'lishi kerak"},
    "dict_type": {"en": "Input should be an object", "ru": "Ожидается объект",
                  "uz": "Obyekt bo'lishi kerak"},
    "model_type": {"en": "Input should be an object", "ru": "Ожидается объект",
                   "uz": "Obyekt bo'lishi kerak"},
    "list_type": {"en": "Input should be a list", "ru": "Ожидается список",
                  "uz": "Ro'yxat bo'lishi kerak"},
    "too_short": {"en": "List should have at least {min_length} items",
                  "ru": "Список должен содержать не менее {min_length} элементов",
                  "uz": "Ro'yxatda kamida {min_length} element bo'lishi kerak"},
    "too_long": {"en": "List should have at most {max_length} items",
                 "ru": "Список должен содержать не более {max_length} элементов",
                 "uz": "Ro'yxatda ko'pi bilan {max_length} element bo'lishi kerak"},
    "datetime_type": {"en": "Input should be a valid datetime",
                      "ru": "Ожидается дата и время", "uz": "Sana va vaqt bo'lishi kerak"},
    "datetime_parsing": {"en": "Input should be a valid datetime (RFC 3339)",
                         "ru": "Ожидается дата и время (RFC 3339)",
                         "uz": "Sana va vaqt bo'lishi kerak (RFC 3339)"},
    "datetime_from_date_parsing": {"en": "Input should be a valid datetime (RFC 3339)",
                                   "ru": "Ожидается дата и время (RFC 3339)",
                                   "uz": "Sana va vaqt bo'lishi kerak (RFC 3339)"},
    "timezone_aware": {"en": "Input should have a timezone (e.g. Z or +05:00)",
                       "ru": "Укажите часовой пояс (например, Z или +05:00)",
                       "uz": "Vaqt mintaqasini ko'rsating (masalan, Z yoki +05:00)"},
    "decimal_parsing": {"en": "Input should be a valid decimal",
                        "ru": "Ожидается десятичное число",
                        "uz": "O'nli son bo'lishi kerak"},
    "decimal_max_places": {"en": "Decimal input should have no more than {decimal_places} "
                                 "decimal places",
                           "ru": "Не более {decimal_places} знаков после запятой",
                           "uz": "Verguldan keyin ko'pi bilan {decimal_places} raqam"},
    "decimal_max_digits": {"en": "Decimal input should have no more than {max_digits} digits",
                           "ru": "Не более {max_digits} цифр",
                           "uz": "Ko'pi bilan {max_digits} raqam"},
    "value_error": {"en": "Value error, {error}", "ru": "Некорректное значение: {error}",
                    "uz": "Noto'g'ri qiymat: {error}"},
    "json_type": {"en": "JSON input should be string, bytes or bytearray",
                  "ru": "Ожидается JSON", "uz": "JSON kutilmoqda"},
}


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
