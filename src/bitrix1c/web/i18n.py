"""Dashboard texts in Russian and English (the language comes from ?lang=, a cookie or
the browser's Accept-Language)."""

from __future__ import annotations

from starlette.requests import Request

LANGUAGES = ("ru", "en")

TEXTS: dict[str, dict[str, str]] = {
    "title": {"ru": "Обмен Битрикс24 ↔ 1С", "en": "Bitrix24 ↔ 1C exchange"},
    "overview": {"ru": "Обзор", "en": "Overview"},
    "errors": {"ru": "Ошибки", "en": "Errors"},
    "runs": {"ru": "Запуски", "en": "Runs"},
    "logout": {"ru": "Выйти", "en": "Log out"},
    "login": {"ru": "Вход", "en": "Log in"},
    "username": {"ru": "Пользователь", "en": "User"},
    "password": {"ru": "Пароль", "en": "Password"},
    "bad_login": {"ru": "Неверный пользователь или пароль", "en": "Wrong user or password"},
    "flow": {"ru": "Поток", "en": "Flow"},
    "last_run": {"ru": "Последний запуск", "en": "Last run"},
    "never": {"ru": "ещё не запускался", "en": "never run"},
    "per_hour": {"ru": "Записи по часам (24 ч)", "en": "Records per hour (24 h)"},
    "per_day": {"ru": "Записи по дням (14 дн.)", "en": "Records per day (14 days)"},
    "synced": {"ru": "успешно", "en": "synced"},
    "failed": {"ru": "с ошибкой", "en": "failed"},
    "transfer": {"ru": "Время передачи (24 ч)", "en": "Transfer time (24 h)"},
    "median": {"ru": "медиана", "en": "median"},
    "no_data": {"ru": "пока нет данных", "en": "no data yet"},
    "backlog": {"ru": "Очередь", "en": "Backlog"},
    "inbox": {"ru": "события во входящих", "en": "events in the inbox"},
    "to_retry": {"ru": "ошибок к повтору", "en": "errors to retry"},
    "open_errors": {"ru": "Открытые ошибки", "en": "Open errors"},
    "incidents": {"ru": "Инциденты", "en": "Incidents"},
    "none": {"ru": "нет", "en": "none"},
    "health": {"ru": "Связь", "en": "Connections"},
    "last_contact": {"ru": "последний успешный обмен", "en": "last successful exchange"},
    "budget": {"ru": "бюджет запросов Битрикс24", "en": "Bitrix24 request budget in use"},
    "token": {"ru": "токен доступа действует до", "en": "access token valid until"},
    "record": {"ru": "Запись", "en": "Record"},
    "what": {"ru": "Что случилось", "en": "What happened"},
    "todo": {"ru": "Что сделать", "en": "What to do"},
    "seen": {"ru": "Раз", "en": "Seen"},
    "status": {"ru": "Статус", "en": "Status"},
    "detail": {"ru": "Технические подробности", "en": "Technical detail"},
    "payload": {"ru": "Данные записи", "en": "Record payload"},
    "retry": {"ru": "Повторить", "en": "Retry"},
    "resolve": {"ru": "Решено", "en": "Resolve"},
    "ignore": {"ru": "Игнорировать", "en": "Ignore"},
    "started": {"ru": "Начало (UTC)", "en": "Started (UTC)"},
    "read": {"ru": "прочитано", "en": "read"},
    "created": {"ru": "создано", "en": "created"},
    "updated": {"ru": "обновлено", "en": "updated"},
    "skipped": {"ru": "пропущено", "en": "skipped"},
    "message": {"ru": "Сообщение", "en": "Message"},
    "first_seen": {"ru": "Впервые", "en": "First seen"},
    "last_seen": {"ru": "Последний раз", "en": "Last seen"},
    "edit_payload": {"ru": "Исправить данные записи", "en": "Correct the record"},
    "edit_hint": {
        "ru": "Исправленная запись используется вместо данных 1С, пока запись не изменят в 1С "
        "(пока её DataVersion прежний). Ref_Key и DataVersion менять нельзя.",
        "en": "The corrected record is used instead of what 1C returns until the record "
        "changes in 1C (while its DataVersion stays the same). Keep Ref_Key and DataVersion.",
    },
    "save_retry": {"ru": "Сохранить и повторить", "en": "Save and retry"},
    "edited_by": {"ru": "Исправлено:", "en": "Corrected by"},
    "inbox_failed": {"ru": "событий не обработано", "en": "events failed"},
    "next_try": {
        "ru": "Следующая попытка (если запись не изменят в 1С)",
        "en": "Next try (unless the record changes in 1C)",
    },
    "review": {"ru": "На проверке", "en": "Review"},
    "review_title": {
        "ru": "Похожие компании: решает человек",
        "en": "Look-alike companies: a person decides",
    },
    "review_hint": {
        "ru": "Записи 1С, похожие на компанию Битрикс24 только названием или телефоном, не "
        "связываются и не создаются сами. «Это она» связывает запись с компанией; остальные "
        "записи группы, у которых других кандидатов нет, будут созданы как новые компании.",
        "en": "1C records that only look like a Bitrix24 company (name, phone) are neither "
        "linked nor created on their own. “This one” links the record to the company; the "
        "other records of the group left without candidates are created as new companies.",
    },
    "company": {"ru": "Компания Битрикс24", "en": "Bitrix24 company"},
    "score": {"ru": "Сходство", "en": "Score"},
    "why": {"ru": "Почему", "en": "Why"},
    "this_one": {"ru": "Это она", "en": "This one"},
    "create_new": {"ru": "Создать новую", "en": "Create new"},
    "nothing_to_review": {"ru": "Решать нечего", "en": "Nothing to decide"},
    "decided": {"ru": "Решение записано", "en": "Decision saved"},
    "settled": {"ru": "закрыто заодно", "en": "settled with it"},
}


def language(request: Request) -> str:
    """The language for this request: ?lang=, then the cookie, then Accept-Language."""
    asked = request.query_params.get("lang") or request.cookies.get("lang")
    if asked in LANGUAGES:
        return asked
    accept = request.headers.get("accept-language", "").lower()
    return "en" if accept.startswith("en") else "ru"


def translator(lang: str) -> dict[str, str]:
    return {key: texts[lang] for key, texts in TEXTS.items()}
