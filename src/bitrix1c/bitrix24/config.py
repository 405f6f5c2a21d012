"""Configuration of a Bitrix24 OAuth application (the ``bitrix24.oauth`` settings block).

A local application ("uses API only") gets its first token pair from the install callback;
after that the pair lives in the state store (``bitrix24_auth``) and rotates there. For a
first start without an install callback, ``refresh_token`` (from ``${VAR}``) seeds the
store: the client exchanges it for a fresh pair before the first call.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

if TYPE_CHECKING:
    from bitrix1c.bitrix24.client import Bitrix24Client


class Bitrix24OAuthSettings(BaseModel):
    """An installed Bitrix24 application (OAuth 2.0)."""

    model_config = ConfigDict(extra="forbid")

    client_id: str = Field(description="Application id (client_id), e.g. local.65f1….")
    client_secret: SecretStr = Field(description="Application key (client_secret); use ${VAR}.")
    member_id: str = Field(description="The portal's member_id (from the install callback).")
    domain: str = Field(description="The portal's address, e.g. acme.bitrix24.ru.")
    server_endpoint: str = Field(
        "https://oauth.bitrix.info/rest/",
        description="OAuth server named by the portal (oauth.bitrix24.tech for RU portals).",
    )
    refresh_token: SecretStr | None = Field(
        None,
        description="Seeds the token store on a first start without an install callback; "
        "use ${VAR}. Ignored once the store holds a pair.",
    )
    auth_connector: str | None = Field(
        "bitrix1c",
        description="Sent with the service's writes; offline events bound with the same key "
        "skip them (Professional plan and above). Empty to disable.",
    )
    offline_events_every_seconds: float = Field(
        30.0,
        ge=0,
        description="How often the portal's offline event queue is moved into the inbox "
        "(event.offline.get/clear); 0 turns the poller off.",
    )


async def open_client(
    settings: Any,
    store: Any,
    *,
    transport: Any = None,
) -> Bitrix24Client:
    """The client ``settings`` (a ``Bitrix24Settings``) describe: OAuth app or webhook.

    With ``settings.oauth`` the token pair is loaded from ``store`` (seeded from
    ``oauth.refresh_token`` on a first start); otherwise the incoming webhook is used.
    """
    from bitrix1c.bitrix24.auth import OAuth2Auth, StateTokenStore, TokenPair
    from bitrix1c.bitrix24.client import Bitrix24Client

    rate, burst = settings.limits()
    options: dict[str, Any] = {
        "rate": rate,
        "burst": burst,
        "timeout": settings.timeout_seconds,
        "transport": transport,
    }
    oauth: Bitrix24OAuthSettings | None = settings.oauth
    if oauth is None:
        return Bitrix24Client(settings.webhook_url.get_secret_value(), **options)
    tokens = StateTokenStore(store)
    secret = oauth.client_secret.get_secret_value()
    if await tokens.load(oauth.member_id) is None:
        if oauth.refresh_token is None:
            from bitrix1c.bitrix24.auth import REAUTHORIZE, OAuthError

            raise OAuthError(
                f"no tokens of portal {oauth.domain} yet: {REAUTHORIZE} "
                "(or set bitrix24.oauth.refresh_token)",
                member_id=oauth.member_id,
            )
        seed = TokenPair(
            member_id=oauth.member_id,
            domain=oauth.domain,
            access_token="",  # never valid: the first call refreshes
            refresh_token=oauth.refresh_token.get_secret_value(),
            expires_at=datetime.now(UTC),
            client_endpoint=f"https://{oauth.domain}/rest/",
            server_endpoint=oauth.server_endpoint,
        )
        auth = OAuth2Auth(
            seed, client_id=oauth.client_id, client_secret=secret, store=tokens, transport=transport
        )
        await auth.refresh()
    else:
        auth = await OAuth2Auth.from_store(
            tokens,
            oauth.member_id,
            client_id=oauth.client_id,
            client_secret=secret,
            transport=transport,
        )
    return Bitrix24Client.for_app(auth, auth_connector=oauth.auth_connector or None, **options)
