"""The exception tree of bitrix1c.

Grouped first by what the caller does about a failure, then by where it happened:

* :class:`RetryLater` — transient: back off and try the same thing again.
* :class:`StopAndAlert` — the exchange cannot go on until a person acts
  (credentials, configuration, metadata drift).
* :class:`RecordError` — this one record cannot be written; log it, go on with the rest.

An exception's docstring is its default message. Context (record key, method, status)
lives in attributes. ``hint`` is the sentence for the dashboard: what a person should do.
"""

from __future__ import annotations

from typing import Any


class Bitrix1cError(Exception):
    """bitrix1c failed."""

    hint: str = "See the technical detail in the log."

    def __init__(self, message: str | None = None, *, hint: str | None = None, **context: Any):
        self.message = message or (self.__doc__ or type(self).__name__).strip()
        if hint is not None:
            self.hint = hint
        self.context = context
        super().__init__(self.message)

    def __str__(self) -> str:
        if not self.context:
            return self.message
        details = ", ".join(f"{k}={v!r}" for k, v in self.context.items() if v is not None)
        return f"{self.message} ({details})" if details else self.message


# --- what the caller does ------------------------------------------------------------


class RetryLater(Bitrix1cError):
    """A transient failure; the same call may succeed later."""

    hint = "Nothing to do: the exchange retries by itself. Act only if it keeps failing."


class StopAndAlert(Bitrix1cError):
    """The exchange cannot continue until a person acts."""

    hint = "Fix the cause named in the message, then run the flow again."


class RecordError(Bitrix1cError):
    """One record cannot be synchronized; the others go on."""

    hint = "Correct the record in its source system; it will sync on the next run."


# --- configuration -------------------------------------------------------------------


class ConfigError(StopAndAlert):
    """The configuration is invalid."""

    hint = "Correct the configuration file at the key named in the message."


# --- Bitrix24 ------------------------------------------------------------------------


class Bitrix24Error(Bitrix1cError):
    """Bitrix24 answered with an error."""

    def __init__(
        self,
        message: str | None = None,
        *,
        method: str | None = None,
        code: str | None = None,
        description: str | None = None,
        status: int | None = None,
        **context: Any,
    ):
        self.method = method
        self.code = code
        self.description = description
        self.status = status
        super().__init__(
            message,
            method=method,
            code=code,
            description=description,
            status=status,
            **context,
        )


class Bitrix24Unavailable(Bitrix24Error, RetryLater):
    """Bitrix24 is overloaded or unreachable."""


class Bitrix24RateLimited(Bitrix24Unavailable):
    """Bitrix24 refused the request because of its rate or operating-time limit."""


class Bitrix24AuthError(Bitrix24Error, StopAndAlert):
    """Bitrix24 rejected the credentials."""

    hint = (
        "Check the incoming-webhook URL (it may have been regenerated or expired) or "
        "re-authorize the application, then restart the service."
    )


class Bitrix24AccessDenied(Bitrix24Error, StopAndAlert):
    """The Bitrix24 user behind the webhook lacks a permission or scope."""

    hint = "Give the webhook's user the needed rights and tick the scope (crm, catalog)."


class Bitrix24RecordError(Bitrix24Error, RecordError):
    """Bitrix24 refused to write one record."""


class Bitrix24RequestError(Bitrix24Error, StopAndAlert):
    """Bitrix24 rejected a request as malformed; this is a bug or a changed API."""

    hint = "Report it with the technical detail: the request did not fit the Bitrix24 API."


# --- 1C --------------------------------------------------------------------------------


class OneCError(Bitrix1cError):
    """1C answered with an error."""

    def __init__(
        self,
        message: str | None = None,
        *,
        base: str | None = None,
        url: str | None = None,
        code: str | None = None,
        status: int | None = None,
        **context: Any,
    ):
        self.base = base
        self.url = url
        self.code = code
        self.status = status
        super().__init__(message, base=base, url=url, code=code, status=status, **context)


class OneCUnavailable(OneCError, RetryLater):
    """The 1C base is unreachable or busy."""

    hint = "Check that the 1C web publication is up and reachable from this server."


class OneCAuthError(OneCError, StopAndAlert):
    """1C rejected the user name or password."""

    hint = "Check the OData user and password of this 1C base in the configuration."


class OneCRequestError(OneCError, StopAndAlert):
    """1C rejected an OData request (unknown entity set or field, bad query)."""

    hint = (
        "The 1C metadata may have changed or the object is not published via OData "
        "(SetStandardODataInterfaceContent). Check the profile mapping."
    )


class OneCRecordError(OneCError, RecordError):
    """1C refused to write one record (business logic, missing reference)."""


# --- validation of one record -----------------------------------------------------------


class InvalidRecord(RecordError):
    """A source record fails validation and is not synchronized."""


# --- state store ------------------------------------------------------------------------


class StoreError(StopAndAlert):
    """The state store is unavailable or its schema is out of date."""

    hint = "Check the store DSN and that the database is running; see the log for the cause."
