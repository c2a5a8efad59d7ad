// UI texts in English, Russian and Uzbek, plus the API's own error catalogue (api/i18n.py,
// exported to api-messages.json at build time) for codes that reach us outside an HTTP answer.
import catalogue from "./api-messages.json";

export type Lang = "en" | "ru" | "uz";
export const LANGS: Lang[] = ["en", "ru", "uz"];
export const LANG_NAMES: Record<Lang, string> = { en: "English", ru: "Русский", uz: "O'zbekcha" };

type Texts = Record<string, string>;

const en: Texts = {
  "app.title": "Dispatch console",
  "login.title": "Dispatcher sign-in",
  "login.user": "User name",
  "login.password": "Password",
  "login.submit": "Sign in",
  "login.role": "This account is not a dispatcher's.",
  "logout": "Sign out",
  "search": "Search order id or external id",
  "filter.status": "Status",
  "filter.vehicle": "Vehicle",
  "filter.zone": "Zone",
  "filter.all": "All",
  "tab.couriers": "Couriers",
  "tab.orders": "Orders",
  "tab.alerts": "Alerts",
  "tab.replay": "Replay",
  "dispatch.run": "Run dispatch now",
  "dispatch.policy": "Policy",
  "dispatch.ran": "Dispatch cycle: {offers} offers, {unservable} unservable",
  "live.connected": "Live",
  "live.reconnecting": "Reconnecting…",
  "state.idle": "Idle",
  "state.to_pickup": "To pickup",
  "state.to_dropoff": "To drop-off",
  "state.break": "On a break",
  "state.stale": "Stale / offline",
  "status.pending": "Pending",
  "status.offered": "Offered",
  "status.assigned": "Assigned",
  "status.at_pickup": "At pickup",
  "status.picked_up": "Picked up",
  "status.at_dropoff": "At drop-off",
  "status.delivered": "Delivered",
  "status.failed": "Failed",
  "status.returning": "Returning",
  "status.returned": "Returned",
  "status.cancelled": "Cancelled",
  "status.late": "Late",
  "vehicle.foot": "On foot",
  "vehicle.bicycle": "Bicycle",
  "vehicle.scooter": "Scooter",
  "vehicle.car": "Car",
  "courier.follow": "Follow",
  "courier.unfollow": "Stop following",
  "courier.stops": "Planned stops",
  "courier.no_stops": "No planned stops.",
  "courier.age": "last fix {age} ago",
  "courier.never": "no position yet",
  "courier.orders": "Orders",
  "stop.pickup": "Pickup",
  "stop.dropoff": "Drop-off",
  "order.timeline": "Timeline",
  "order.custody": "Custody",
  "order.assign": "Assign to selected courier",
  "order.reassign": "Reassign to selected courier",
  "order.unassign": "Unassign",
  "order.cancel": "Cancel order",
  "order.confirm_cancel": "Cancel order {id}?",
  "order.pick_courier": "Select a courier on the map or in the list to assign.",
  "order.eta": "ETA",
  "order.window": "Window",
  "order.courier": "Courier",
  "order.done": "Done.",
  "alerts.none": "No alerts.",
  "alert.late": "Order {id} is late",
  "alert.at_risk": "Order {id} is at risk of being late",
  "alert.stale": "Courier {name} has not reported for {age}",
  "alert.refused": "Scan refused for order {id}: {reason}",
  "alert.declined": "Courier {courier} declined order {id}",
  "alert.offer_expired": "Offer of order {id} to courier {courier} expired",
  "replay.courier": "Selected courier's day",
  "replay.fleet": "Whole fleet, last hour",
  "replay.load": "Load",
  "replay.play": "Play",
  "replay.pause": "Pause",
  "replay.speed": "Speed",
  "replay.stop": "Back to live",
  "replay.empty": "Nothing stored for this range.",
  "replay.select_courier": "Select a courier first.",
  "replay.truncated": "Too many points: only the first part is shown.",
  "error.network": "The service cannot be reached.",
  "close": "Close",
  "count.couriers": "{n} couriers",
  "count.orders": "{n} open orders",
  "buyer.title": "Your delivery",
  "buyer.order": "Order {id}",
  "buyer.eta": "Arrives around {time}",
  "buyer.eta_unknown": "Arrival time not known yet",
  "buyer.courier_hidden": "The courier's position shows once they are on the way to you.",
  "buyer.updated": "Updated {time}",
  "buyer.dead": "This tracking link no longer works.",
  "buyer.address": "Delivery address",
  "buyer.live_lost": "Connection lost; reconnecting…",
  "ago.s": "{n} s",
  "ago.m": "{n} min",
  "ago.h": "{n} h",
};

const ru: Texts = {
  "app.title": "Консоль диспетчера",
  "login.title": "Вход диспетчера",
  "login.user": "Имя пользователя",
  "login.password": "Пароль",
  "login.submit": "Войти",
  "login.role": "Эта учётная запись не принадлежит диспетчеру.",
  "logout": "Выйти",
  "search": "Поиск по номеру или внешнему номеру заказа",
  "filter.status": "Статус",
  "filter.vehicle": "Транспорт",
  "filter.zone": "Зона",
  "filter.all": "Все",
  "tab.couriers": "Курьеры",
  "tab.orders": "Заказы",
  "tab.alerts": "Тревоги",
  "tab.replay": "Повтор",
  "dispatch.run": "Распределить сейчас",
  "dispatch.policy": "Политика",
  "dispatch.ran": "Цикл распределения: предложений {offers}, невыполнимых {unservable}",
  "live.connected": "В эфире",
  "live.reconnecting": "Переподключение…",
  "state.idle": "Свободен",
  "state.to_pickup": "Едет за заказом",
  "state.to_dropoff": "Везёт заказ",
  "state.break": "На перерыве",
  "state.stale": "Нет связи",
  "status.pending": "Ожидает",
  "status.offered": "Предложен",
  "status.assigned": "Назначен",
  "status.at_pickup": "На точке выдачи",
  "status.picked_up": "Забран",
  "status.at_dropoff": "У получателя",
  "status.delivered": "Доставлен",
  "status.failed": "Не доставлен",
  "status.returning": "Возвращается",
  "status.returned": "Возвращён",
  "status.cancelled": "Отменён",
  "status.late": "Опаздывает",
  "vehicle.foot": "Пешком",
  "vehicle.bicycle": "Велосипед",
  "vehicle.scooter": "Скутер",
  "vehicle.car": "Автомобиль",
  "courier.follow": "Следить",
  "courier.unfollow": "Не следить",
  "courier.stops": "Запланированные остановки",
  "courier.no_stops": "Остановок нет.",
  "courier.age": "последняя точка {age} назад",
  "courier.never": "позиции ещё нет",
  "courier.orders": "Заказы",
  "stop.pickup": "Забрать",
  "stop.dropoff": "Доставить",
  "order.timeline": "История",
  "order.custody": "Цепочка передачи",
  "order.assign": "Назначить выбранному курьеру",
  "order.reassign": "Переназначить выбранному курьеру",
  "order.unassign": "Снять назначение",
  "order.cancel": "Отменить заказ",
  "order.confirm_cancel": "Отменить заказ {id}?",
  "order.pick_courier": "Выберите курьера на карте или в списке.",
  "order.eta": "Прибытие",
  "order.window": "Окно",
  "order.courier": "Курьер",
  "order.done": "Готово.",
  "alerts.none": "Тревог нет.",
  "alert.late": "Заказ {id} опаздывает",
  "alert.at_risk": "Заказ {id} может опоздать",
  "alert.stale": "Курьер {name} молчит уже {age}",
  "alert.refused": "Сканирование отклонено, заказ {id}: {reason}",
  "alert.declined": "Курьер {courier} отказался от заказа {id}",
  "alert.offer_expired": "Предложение заказа {id} курьеру {courier} истекло",
  "replay.courier": "День выбранного курьера",
  "replay.fleet": "Весь парк, последний час",
  "replay.load": "Загрузить",
  "replay.play": "Пуск",
  "replay.pause": "Пауза",
  "replay.speed": "Скорость",
  "replay.stop": "Вернуться в эфир",
  "replay.empty": "За этот период ничего не сохранено.",
  "replay.select_courier": "Сначала выберите курьера.",
  "replay.truncated": "Слишком много точек: показана только первая часть.",
  "error.network": "Сервис недоступен.",
  "close": "Закрыть",
  "count.couriers": "Курьеров: {n}",
  "count.orders": "Открытых заказов: {n}",
  "buyer.title": "Ваша доставка",
  "buyer.order": "Заказ {id}",
  "buyer.eta": "Прибытие около {time}",
  "buyer.eta_unknown": "Время прибытия пока неизвестно",
  "buyer.courier_hidden": "Курьер появится на карте, когда поедет к вам.",
  "buyer.updated": "Обновлено {time}",
  "buyer.dead": "Эта ссылка для отслеживания больше не действует.",
  "buyer.address": "Адрес доставки",
  "buyer.live_lost": "Связь потеряна; переподключение…",
  "ago.s": "{n} с",
  "ago.m": "{n} мин",
  "ago.h": "{n} ч",
};

const uz: Texts = {
  "app.title": "Dispetcher konsoli",
  "login.title": "Dispetcher kirishi",
  "login.user": "Foydalanuvchi nomi",
  "login.password": "Parol",
  "login.submit": "Kirish",
  "login.role": "Bu hisob dispetcherga tegishli emas.",
  "logout": "Chiqish",
  "search": "Buyurtma raqami yoki tashqi raqami bo'yicha qidirish",
  "filter.status": "Holat",
  "filter.vehicle": "Transport",
  "filter.zone": "Hudud",
  "filter.all": "Hammasi",
  "tab.couriers": "Kuryerlar",
  "tab.orders": "Buyurtmalar",
  "tab.alerts": "Ogohlantirishlar",
  "tab.replay": "Takrorlash",
  "dispatch.run": "Hozir taqsimlash",
  "dispatch.policy": "Siyosat",
  "dispatch.ran": "Taqsimlash sikli: {offers} taklif, {unservable} bajarib bo'lmaydigan",
  "live.connected": "Jonli",
  "live.reconnecting": "Qayta ulanmoqda…",
  "state.idle": "Bo'sh",
  "state.to_pickup": "Olib ketishga",
  "state.to_dropoff": "Yetkazishga",
  "state.break": "Tanaffusda",
  "state.stale": "Aloqa yo'q",
  "status.pending": "Kutilmoqda",
  "status.offered": "Taklif qilingan",
  "status.assigned": "Tayinlangan",
  "status.at_pickup": "Olish joyida",
  "status.picked_up": "Olingan",
  "status.at_dropoff": "Qabul qiluvchida",
  "status.delivered": "Yetkazildi",
  "status.failed": "Yetkazilmadi",
  "status.returning": "Qaytarilmoqda",
  "status.returned": "Qaytarildi",
  "status.cancelled": "Bekor qilingan",
  "status.late": "Kechikmoqda",
  "vehicle.foot": "Piyoda",
  "vehicle.bicycle": "Velosiped",
  "vehicle.scooter": "Skuter",
  "vehicle.car": "Avtomobil",
  "courier.follow": "Kuzatish",
  "courier.unfollow": "Kuzatishni to'xtatish",
  "courier.stops": "Rejalashtirilgan to'xtashlar",
  "courier.no_stops": "To'xtashlar yo'q.",
  "courier.age": "oxirgi nuqta {age} oldin",
  "courier.never": "hali joylashuv yo'q",
  "courier.orders": "Buyurtmalar",
  "stop.pickup": "Olish",
  "stop.dropoff": "Yetkazish",
  "order.timeline": "Tarix",
  "order.custody": "Topshirish zanjiri",
  "order.assign": "Tanlangan kuryerga tayinlash",
  "order.reassign": "Tanlangan kuryerga qayta tayinlash",
  "order.unassign": "Tayinlashni bekor qilish",
  "order.cancel": "Buyurtmani bekor qilish",
  "order.confirm_cancel": "{id} buyurtma bekor qilinsinmi?",
  "order.pick_courier": "Tayinlash uchun xaritada yoki ro'yxatda kuryerni tanlang.",
  "order.eta": "Yetib kelish",
  "order.window": "Oyna",
  "order.courier": "Kuryer",
  "order.done": "Bajarildi.",
  "alerts.none": "Ogohlantirishlar yo'q.",
  "alert.late": "{id} buyurtma kechikmoqda",
  "alert.at_risk": "{id} buyurtma kechikishi mumkin",
  "alert.stale": "{name} kuryer {age} davomida xabar bermadi",
  "alert.refused": "{id} buyurtma skaneri rad etildi: {reason}",
  "alert.declined": "{courier} kuryer {id} buyurtmadan voz kechdi",
  "alert.offer_expired": "{id} buyurtmaning {courier} kuryerga taklifi muddati o'tdi",
  "replay.courier": "Tanlangan kuryerning kuni",
  "replay.fleet": "Butun park, oxirgi soat",
  "replay.load": "Yuklash",
  "replay.play": "Boshlash",
  "replay.pause": "Pauza",
  "replay.speed": "Tezlik",
  "replay.stop": "Jonli rejimga qaytish",
  "replay.empty": "Bu davr uchun hech narsa saqlanmagan.",
  "replay.select_courier": "Avval kuryerni tanlang.",
  "replay.truncated": "Nuqtalar juda ko'p: faqat birinchi qismi ko'rsatilgan.",
  "error.network": "Xizmatga ulanib bo'lmadi.",
  "close": "Yopish",
  "count.couriers": "{n} kuryer",
  "count.orders": "{n} ochiq buyurtma",
  "buyer.title": "Sizning yetkazmangiz",
  "buyer.order": "{id} buyurtma",
  "buyer.eta": "Taxminan {time} da yetib keladi",
  "buyer.eta_unknown": "Yetib kelish vaqti hali noma'lum",
  "buyer.courier_hidden": "Kuryer sizga yo'lga chiqqanda xaritada ko'rinadi.",
  "buyer.updated": "Yangilandi {time}",
  "buyer.dead": "Bu kuzatuv havolasi endi ishlamaydi.",
  "buyer.address": "Yetkazish manzili",
  "buyer.live_lost": "Aloqa uzildi; qayta ulanmoqda…",
  "ago.s": "{n} s",
  "ago.m": "{n} daq",
  "ago.h": "{n} soat",
};

const TEXTS: Record<Lang, Texts> = { en, ru, uz };
const API = (catalogue as { messages: Record<string, Partial<Record<Lang, string>>> }).messages;

let current: Lang = "en";
const listeners: Array<() => void> = [];

export function lang(): Lang {
  return current;
}

export function setLang(next: Lang): void {
  current = next;
  document.documentElement.lang = next;
  for (const listener of listeners) listener();
}

export function onLangChange(listener: () => void): void {
  listeners.push(listener);
}

/** The best of our languages for a list of browser languages (`navigator.languages`). */
export function pickLang(preferred: readonly string[], fallback: Lang = "en"): Lang {
  for (const tag of preferred) {
    const primary = tag.toLowerCase().split("-")[0] as Lang;
    if (LANGS.includes(primary)) return primary;
  }
  return fallback;
}

export function t(key: string, vars: Record<string, string | number> = {}, language = current): string {
  const text = TEXTS[language][key] ?? en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name: string) => String(vars[name] ?? `{${name}}`));
}

/** The API's own text for an error code, in our language (the fallback when it has none). */
export function apiMessage(code: string, fallback: string, language = current): string {
  return API[code]?.[language] ?? fallback ?? code;
}

export function ago(seconds: number, language = current): string {
  if (seconds < 90) return t("ago.s", { n: Math.round(seconds) }, language);
  if (seconds < 5400) return t("ago.m", { n: Math.round(seconds / 60) }, language);
  return t("ago.h", { n: Math.round(seconds / 3600) }, language);
}

export function clock(iso: string | number | null | undefined, language = current): string {
  if (iso === null || iso === undefined) return "—";
  const date = typeof iso === "number" ? new Date(iso * 1000) : new Date(iso);
  return date.toLocaleTimeString(language === "uz" ? "uz-Latn" : language, {
    hour: "2-digit", minute: "2-digit",
  });
}

/** Every key each language has, for the tests: no language may miss one. */
export function missingKeys(): Record<Lang, string[]> {
  const keys = Object.keys(en);
  return {
    en: [],
    ru: keys.filter((k) => !(k in ru)),
    uz: keys.filter((k) => !(k in uz)),
  };
}
