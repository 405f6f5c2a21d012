"""REST errors exactly as a Bitrix24 cloud portal reports them.

A portal answers errors with ``{"error": CODE, "error_description": text}`` and an
HTTP status.  Classic ``crm.*`` methods use an *empty* ``error`` code with HTTP 400
("Not found", "ID is not defined or invalid." …); system errors carry a code and
their documented status (EN:_includes/system-errors.md).
"""

from __future__ import annotations

from typing import Any


class RestError(Exception):
    """A Bitrix24 REST error: HTTP ``status``, ``code`` (may be empty) and ``description``."""

    def __init__(self, status: int, code: str, description: str) -> None:
        super().__init__(f"{status} {code or '<empty>'}: {description}")
        self.status = status
        self.code = code
        self.description = description

    def body(self) -> dict[str, Any]:
        """The JSON body a portal sends for this error."""
        return {"error": self.code, "error_description": self.description}


def crm_error(description: str) -> RestError:
    """Classic ``crm.*`` error: HTTP 400 with an empty ``error`` code."""
    return RestError(400, "", description)


def method_not_found() -> RestError:
    """Unknown REST method."""
    return RestError(404, "ERROR_METHOD_NOT_FOUND", "Method not found!")


def no_auth() -> RestError:
    """Wrong webhook code or unknown access token."""
    return RestError(401, "NO_AUTH_FOUND", "Wrong authorization data")


def query_limit_exceeded() -> RestError:
    """Leaky-bucket request-rate limit hit."""
    return RestError(503, "QUERY_LIMIT_EXCEEDED", "Too many requests")


def operation_time_limit() -> RestError:
    """Per-method execution-time budget exhausted."""
    return RestError(429, "OPERATION_TIME_LIMIT", "Method is blocked due to operation time limit.")


def batch_length_exceeded() -> RestError:
    """More than 50 commands in one ``batch``."""
    return RestError(400, "ERROR_BATCH_LENGTH_EXCEEDED", "Max batch length exceeded")


def batch_method_not_allowed() -> RestError:
    """A method that may not run inside ``batch`` (e.g. ``batch`` itself)."""
    return RestError(405, "ERROR_BATCH_METHOD_NOT_ALLOWED", "Method is not allowed for batch usage")


def orm_error(description: str) -> RestError:
    """ORM-level error of ``crm.requisite.*`` list methods (numeric code ``100``)."""
    return RestError(400, "100", description)
