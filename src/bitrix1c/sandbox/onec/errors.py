"""OData errors the way 1C:Enterprise reports them (internal code + Russian text).

1C puts its own *internal* error code into ``odata.error.code`` (a string), the HTTP
status carries the class of the problem.  The codes are the ones of the platform
documentation (chapter 17.4.10); the statuses are the ones observed on live bases where
they are known (404 for an unknown entity set or key, 400 for parse errors, 500 with
code ``-1`` for internal/business-logic failures).
"""

from __future__ import annotations

from xml.sax.saxutils import escape

__all__ = [
    "CODE_BAD_REQUEST",
    "CODE_BAD_URL",
    "CODE_BAD_VALUE",
    "CODE_CANNOT_PARSE",
    "CODE_DUPLICATE_KEY",
    "CODE_ENTITY_TYPE_NOT_FOUND",
    "CODE_INTERNAL",
    "CODE_METHOD_NOT_ALLOWED",
    "CODE_METHOD_NOT_FOUND",
    "CODE_NOT_FOUND",
    "CODE_NOT_SUPPORTED",
    "CODE_QUERY_OPTION",
    "CODE_REPRESENTATION",
    "CODE_TS_ROW_CREATE",
    "CODE_UNIMPLEMENTED_FUNCTION",
    "ODataError",
]

CODE_INTERNAL = "-1"
CODE_NOT_SUPPORTED = "0"
CODE_CANNOT_PARSE = "1"
CODE_BAD_REQUEST = "2"
CODE_REPRESENTATION = "3"
CODE_BAD_VALUE = "4"
CODE_BAD_URL = "6"
CODE_ENTITY_TYPE_NOT_FOUND = "8"
CODE_NOT_FOUND = "9"
CODE_METHOD_NOT_FOUND = "11"
CODE_TS_ROW_CREATE = "13"
CODE_QUERY_OPTION = "14"
CODE_DUPLICATE_KEY = "15"
CODE_METHOD_NOT_ALLOWED = "19"
CODE_UNIMPLEMENTED_FUNCTION = "21"

_METADATA_NS = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"
_INTERNAL_TEXT = (
    "Произошла внутренняя ошибка OData сервиса. "
    "Дополнительные сведения можно найти в технологическом журнале."
)


class ODataError(Exception):
    """An error answer: HTTP ``status``, 1C internal ``code`` and a Russian ``message``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"[{status}/{code}] {message}")
        self.status = status
        self.code = code
        self.message = message

    def json_body(self) -> dict[str, object]:
        """The JSON error document (``{"odata.error": {...}}``)."""
        return {
            "odata.error": {
                "code": self.code,
                "message": {"lang": "ru", "value": self.message},
            }
        }

    def xml_body(self) -> str:
        """The XML error document (``<m:error>``) sent when JSON was not requested."""
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<m:error xmlns:m="{_METADATA_NS}">'
            f"<m:code>{escape(self.code)}</m:code>"
            f'<m:message xml:lang="ru">{escape(self.message)}</m:message>'
            "</m:error>"
        )

    # Factories for the common cases ---------------------------------------------------

    @classmethod
    def query_option(cls, option: str = "$filter") -> ODataError:
        """Code 14: a query option could not be parsed."""
        return cls(400, CODE_QUERY_OPTION, f"Ошибка при разборе опции запроса {option}")

    @classmethod
    def segment_not_found(cls, segment: str, status: int = 400) -> ODataError:
        """Code 6: a path segment (entity set, property in $select/$orderby) is unknown."""
        return cls(status, CODE_BAD_URL, f"Сегмент пути {segment} не найден!")

    @classmethod
    def not_found(cls, object_name: str) -> ODataError:
        """Code 9: no entity with the given key."""
        return cls(
            404,
            CODE_NOT_FOUND,
            f'Экземпляр сущности "{object_name}" не найден по переданному ключу.',
        )

    @classmethod
    def cannot_parse(cls, value: object, edm: str) -> ODataError:
        """Code 1: a value could not be read as the property's type (the value is echoed)."""
        return cls(
            400,
            CODE_CANNOT_PARSE,
            f"Не удалось разобрать строку '{value}' как значение типа {edm}!",
        )

    @classmethod
    def internal(cls, message: str = _INTERNAL_TEXT) -> ODataError:
        """Code -1 / HTTP 500: an internal error (1C also uses it for handler exceptions)."""
        return cls(500, CODE_INTERNAL, message)
