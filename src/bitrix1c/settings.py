"""Configuration: one YAML file validated by pydantic at start-up.

Secrets never live in the file: a value may be ``${VAR}`` (or contain it), which is
replaced by the environment variable ``VAR``. A missing variable, an unknown key or a
wrong value is reported as :class:`~bitrix1c.errors.ConfigError` naming the key.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from bitrix1c.bitrix24.config import Bitrix24OAuthSettings
from bitrix1c.errors import ConfigError
from bitrix1c.onec.profiles.overrides import ConceptOverride

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

PLAN_LIMITS: dict[str, tuple[float, int]] = {
    # plan → (drain per second, burst); bitrix24.md §3.1
    "standard": (2.0, 50),
    "enterprise": (5.0, 250),
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Bitrix24Settings(_Model):
    """The Bitrix24 portal."""

    webhook_url: SecretStr | None = Field(
        None,
        description="Incoming webhook: https://PORTAL/rest/<user_id>/<code>/ (keep it in ${VAR}); "
        "or configure `oauth` instead.",
    )
    plan: Literal["standard", "enterprise", "onpremise"] = Field(
        "standard",
        description="Tariff: standard = 2 req/s burst 50; enterprise = 5/s burst 250; "
        "onpremise = the limits below.",
    )
    requests_per_second: float | None = Field(
        None, gt=0, description="Drain rate of the request bucket (onpremise, or to go slower)."
    )
    burst: int | None = Field(None, gt=0, description="Bucket size (onpremise).")
    timeout_seconds: float = Field(
        65.0, gt=0, description="Per-request timeout; the portal itself cuts requests at 60 s."
    )
    oauth: Bitrix24OAuthSettings | None = Field(
        None,
        description="OAuth application: when set, calls go through the app's tokens "
        "(kept in the state store) instead of the webhook; needed for events.",
    )

    @field_validator("webhook_url")
    @classmethod
    def _webhook_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        url = value.get_secret_value()
        if not re.match(r"^https?://[^/]+(/.*)?/rest/\d+/[^/]+/?$", url):
            raise ValueError(
                "must look like https://PORTAL/rest/<user_id>/<code>/ (an incoming webhook)"
            )
        return SecretStr(url if url.endswith("/") else url + "/")

    def limits(self) -> tuple[float, int]:
        """Drain rate and burst of the portal's request bucket."""
        rate, burst = PLAN_LIMITS.get(self.plan, (2.0, 50))
        return (self.requests_per_second or rate, self.burst or burst)

    @model_validator(mode="after")
    def _webhook_or_oauth(self) -> Bitrix24Settings:
        if self.webhook_url is None and self.oauth is None:
            raise ValueError("set webhook_url (incoming webhook) or oauth (application)")
        return self

    @model_validator(mode="after")
    def _onpremise_needs_limits(self) -> Bitrix24Settings:
        if self.plan == "onpremise" and (self.requests_per_second is None or self.burst is None):
            raise ValueError("plan 'onpremise' needs requests_per_second and burst")
        return self


class OneCBaseSettings(_Model):
    """One 1C infobase published over OData."""

    name: str = Field(
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="Short id of the base (letters, digits, - _ .); stored with every link.",
    )
    odata_url: str = Field(
        description="http://host/<base>/odata/standard.odata/ (the OData service root)."
    )
    username: str = Field(description="1C user allowed to read/write via OData.")
    password: SecretStr = Field(SecretStr(""), description="Keep it in ${VAR}.")
    profile: Literal["ut11", "bp30", "retail2"] = Field(
        "ut11", description="Configuration: ut11 (УТ 11), bp30 (БП 3.0), retail2 (Розница 2)."
    )
    timeout_seconds: float = Field(
        120.0, gt=0, description="The first request after idle can take 30 s and more."
    )
    page_size: int = Field(500, ge=1, le=5000, description="Records per OData page.")
    push_token: SecretStr | None = Field(
        None,
        description="Token 1C sends to POST /hooks/1c/<name> (Authorization: Bearer); "
        "unset = this base does not push. Keep it in ${VAR}.",
    )
    timezone: str = Field(
        "Europe/Moscow",
        description="IANA time zone of the base's clock (1C sends local times without a zone, "
        "e.g. a push's changed_at).",
    )
    overrides: dict[str, ConceptOverride] = Field(
        default_factory=dict,
        description="Profile changes for a customized base: concept → entity_set, fields, "
        "extra_fields (customer fields such as КР_…).",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name: Europe/Moscow)") from None
        return value

    def zone(self) -> ZoneInfo:
        """The base's time zone."""
        return ZoneInfo(self.timezone)

    @field_validator("odata_url")
    @classmethod
    def _root(cls, value: str) -> str:
        if not re.match(r"^https?://", value):
            raise ValueError("must start with http:// or https://")
        if "/odata/standard.odata" not in value:
            raise ValueError("must end with /odata/standard.odata/ (the standard OData root)")
        return value if value.endswith("/") else value + "/"


class RequisitePresets(_Model):
    """Bitrix24 requisite preset ids (crm.requisite.preset.list) per kind of counterparty."""

    legal: int = Field(1, description="Preset of legal entities (Организация).")
    ip: int = Field(2, description="Preset of sole proprietors (ИП).")
    individual: int = Field(3, description="Preset of individuals (Физ. лицо).")


# Company and requisite fields the counterparties flow writes, and the keys among them.
KEY_FIELDS = frozenset({"ORIGINATOR_ID", "ORIGIN_ID", "RQ_INN", "RQ_KPP", "XML_ID", "PRESET_ID"})
# The requisite fields besides the keys (what a restore compares on the requisite).
REQUISITE_FIELDS = (
    "NAME",
    "RQ_COMPANY_NAME",
    "RQ_COMPANY_FULL_NAME",
    "RQ_OKPO",
    "RQ_OGRN",
    "RQ_OGRNIP",
    "RQ_LAST_NAME",
    "RQ_FIRST_NAME",
    "RQ_SECOND_NAME",
)
OWNABLE_FIELDS = KEY_FIELDS | {"TITLE", "ASSIGNED_BY_ID", *REQUISITE_FIELDS}


Owner = Literal["1c", "crm"]
# The responsible manager is set on creation; afterwards managers reassign clients.
CRM_OWNED_BY_DEFAULT: dict[str, Owner] = {"ASSIGNED_BY_ID": "crm"}


class CounterpartiesFlow(_Model):
    """1C counterparties → Bitrix24 companies with requisites, phones and e-mails."""

    enabled: bool = True
    base: str | None = Field(None, description="Name of the 1C base; the first one if omitted.")
    every_minutes: float = Field(15, gt=0, description="How often the flow runs in `run`.")
    assigned_by_id: int | None = Field(
        None, description="Responsible user for companies created in Bitrix24."
    )
    presets: RequisitePresets = RequisitePresets()
    review_lookalikes: bool = Field(
        True,
        description="Hold a record that matches no key but looks like an existing company "
        "(name, or a shared phone/e-mail of a record with an INN) in the review queue instead "
        "of creating it.",
    )
    review_threshold: float = Field(
        85,
        ge=50,
        le=100,
        description="Name similarity (0–100) from which a company is proposed for review.",
    )
    on_deletion_mark: Literal["ignore", "mark"] = Field(
        "ignore",
        description="A 1C counterparty marked for deletion: `ignore` leaves its company as it "
        "is; `mark` sets `deletion_field` to Y on it (N while it is not marked). Companies are "
        "never deleted.",
    )
    deletion_field: str = Field(
        "UF_CRM_1C_DELETED",
        pattern=r"^UF_CRM_[A-Z0-9_]+$",
        description="Company user field (string or yes/no) that `mark` writes.",
    )
    address_kinds: dict[str, Literal[1, 4, 6, 8, 9, 11]] = Field(
        default_factory=dict,
        description="Addresses: 1C contact-information kind (Вид_Key GUID of "
        "Catalog_ВидыКонтактнойИнформации) → Bitrix24 requisite address TYPE_ID "
        "(crm.enum.addresstype: 6 legal, 1 actual, 8 correspondence, 11 delivery). Empty: "
        "addresses are not synced.",
    )
    individuals_as: Literal["company", "contact"] = Field(
        "company",
        description="Where a 1C individual (ФизЛицо, not a sole proprietor) goes: a company "
        "with the individual's requisite, or a Bitrix24 contact (B2C portals).",
    )
    to_1c: bool = Field(
        False,
        description="Also the other way: a company created in Bitrix24 whose requisite has a "
        "valid INN becomes a counterparty in 1C (with its partner in УТ 11) — after the same "
        "dedup check on the 1C side (an existing counterparty with that INN/KPP is linked).",
    )
    snils_field: str | None = Field(
        None,
        pattern=r"^UF_CRM_[A-Z0-9_]+$",
        description="Requisite user field that holds a person's SNILS in Bitrix24 (its "
        "requisites have no standard one). Set, it is written and matched on: a person "
        "without an INN is found by SNILS before phone and e-mail.",
    )
    owners: dict[str, Owner] = Field(
        default_factory=lambda: dict(CRM_OWNED_BY_DEFAULT),
        description="Who owns each company/requisite field the flow writes. `1c` (the default "
        "for every field not listed): a value edited in Bitrix24 is restored from 1C on the "
        "next run and the restore is logged. `crm`: written when the company is created, then "
        "left to the CRM users. Matching keys (ORIGINATOR_ID, ORIGIN_ID, RQ_INN, RQ_KPP, "
        "XML_ID, PRESET_ID) always belong to 1C.",
    )

    @field_validator("owners")
    @classmethod
    def _keys_belong_to_1c(cls, value: dict[str, str]) -> dict[str, str]:
        for name, owner in value.items():
            if name not in OWNABLE_FIELDS:
                raise ValueError(
                    f"{name}: not a field the counterparties flow writes "
                    f"(one of {', '.join(sorted(OWNABLE_FIELDS))})"
                )
            if owner == "crm" and name in KEY_FIELDS:
                raise ValueError(f"{name} is a matching key: it always belongs to 1C")
        return value


class FlowsSettings(_Model):
    counterparties: CounterpartiesFlow = CounterpartiesFlow()


class StoreSettings(_Model):
    url: str = Field(
        "sqlite+aiosqlite:///bitrix1c.db",
        description="SQLAlchemy URL: sqlite+aiosqlite:///path.db (embedded) or "
        "postgresql+asyncpg://user:pass@host/db (distributed).",
    )

    @field_validator("url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if value.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + value.removeprefix("sqlite:///")
        if value.startswith(("postgresql://", "postgres://")):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("use sqlite+aiosqlite:///file.db or postgresql+asyncpg://…")
        return value


class EmailAlerts(_Model):
    """Alert e-mail through an SMTP server."""

    host: str = Field(description="SMTP server.")
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = Field(
        "starttls", description="starttls (port 587), tls (implicit, port 465), none (local relay)."
    )
    validate_certs: bool = True
    username: str | None = None
    password: SecretStr = Field(SecretStr(""), description="Keep it in ${VAR}.")
    sender: str = Field(description="From: address.")
    recipients: list[str] = Field(min_length=1, description="Who gets the alerts.")
    timeout_seconds: float = Field(30.0, gt=0)


class WebhookAlerts(_Model):
    """Alerts POSTed as JSON {"text": …} — e.g. a Telegram bot's sendMessage URL."""

    url: SecretStr = Field(description="Webhook URL (it often carries a token: keep it in ${VAR}).")
    chat_id: str | None = Field(None, description="Added to the JSON for Telegram.")


class AlertSettings(_Model):
    """Where alerts go and when a problem becomes an incident."""

    email: EmailAlerts | None = None
    webhook: WebhookAlerts | None = None
    dashboard_url: str = Field(
        "http://127.0.0.1:8080/", description="Link to the dashboard put into every alert."
    )
    error_rate_threshold: float = Field(
        0.2, gt=0, le=1, description="Alert when this share of a run's records failed."
    )
    error_rate_min_records: int = Field(
        10, ge=1, description="…and the run read at least this many records."
    )
    unreachable_minutes: float = Field(
        10.0, ge=0, description="Alert when a system stays unreachable this long."
    )


class CommerceMLSettings(_Model):
    """The CommerceML "exchange with site" server that 1C connects to (docs/commerceml.md)."""

    base: str | None = Field(
        None, description="Name of the 1C base that exchanges (labels the received files)."
    )
    username: str = Field(description="User name entered in 1C's exchange settings.")
    password: SecretStr = Field(description="Its password. Keep it in ${VAR}.")
    zip: bool = Field(True, description="Ask 1C to send zip archives (zip=yes).")
    file_limit: int = Field(
        10 * 1024 * 1024, ge=65536, description="Largest chunk 1C may send in one request."
    )
    import_step: int = Field(
        2000, ge=1, description="Records imported per mode=import call (then 'progress')."
    )
    orders_encoding: Literal["utf-8", "windows-1251"] = Field(
        "utf-8", description="Encoding of the orders XML answered to mode=query."
    )
    work_dir: Path | None = Field(
        None, description="Where uploaded files are kept during an exchange (a temp dir)."
    )


class ChecksSettings(_Model):
    """Drift detection: mappings compared with live crm.*.fields and 1C $metadata."""

    every_minutes: float = Field(
        60, gt=0, description="Check again before a run when the last check is this old."
    )
    on_drift: dict[str, Literal["stop", "skip_field", "warn"]] = Field(
        default_factory=dict,
        description="Per flow: stop (default: the run fails with an alert before any write); "
        "skip_field (a field the flow can do without is left out and the run goes on with a "
        "warning; a key field such as the INN still stops it); warn (log, go on).",
    )

    def policy(self, flow: str) -> str:
        return self.on_drift.get(flow, "stop")


class InboxSettings(_Model):
    """The drain of the inbox (changes 1C pushed): how often, how many, how retried."""

    every_seconds: float = Field(
        10, gt=0, description="How often `run` looks for new changes in the inbox."
    )
    batch: int = Field(100, ge=1, le=200, description="Changes read from 1C in one request.")
    attempts: int = Field(
        6, ge=1, description="Tries of one change before it is marked failed (the first included)."
    )
    backoff_seconds: float = Field(
        30, gt=0, description="Wait after the first failed try; doubled after each next one."
    )
    max_backoff_seconds: float = Field(1800, gt=0, description="The longest wait between tries.")


class WebSettings(_Model):
    """The web server: dashboard, JSON API, hooks, /metrics, /healthz."""

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    username: str = Field("admin", description="Login of the dashboard and the API.")
    password_hash: SecretStr | None = Field(
        None,
        description="`bitrix1c web hash-password` output (keep it in ${VAR}); without it the "
        "dashboard and the API refuse every request.",
    )
    session_secret: SecretStr | None = Field(
        None, description="Signs login cookies; random per start if omitted (logins then expire)."
    )


class Settings(_Model):
    """The whole bitrix1c configuration."""

    bitrix24: Bitrix24Settings
    onec: list[OneCBaseSettings] = Field(min_length=1, description="1C bases.")
    flows: FlowsSettings = FlowsSettings()
    store: StoreSettings = StoreSettings()
    web: WebSettings = WebSettings()
    alerts: AlertSettings = AlertSettings()
    checks: ChecksSettings = ChecksSettings()
    inbox: InboxSettings = InboxSettings()
    commerceml: CommerceMLSettings | None = Field(
        None, description="CommerceML exchange server for 1C; absent = not served."
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @model_validator(mode="after")
    def _known_bases(self) -> Settings:
        names = [b.name for b in self.onec]
        if len(set(names)) != len(names):
            raise ValueError("onec: base names must be unique")
        base = self.flows.counterparties.base
        if base is not None and base not in names:
            raise ValueError(f"flows.counterparties.base: no 1C base named {base!r}")
        return self

    def onec_base(self, name: str | None) -> OneCBaseSettings:
        """The base called ``name``, or the first one."""
        if name is None:
            return self.onec[0]
        return next(b for b in self.onec if b.name == name)


def _interpolate(node: Any, path: str, env: dict[str, str], source: str) -> Any:
    if isinstance(node, dict):
        return {
            k: _interpolate(v, f"{path}.{k}" if path else str(k), env, source)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_interpolate(v, f"{path}[{i}]", env, source) for i, v in enumerate(node)]
    if isinstance(node, str):

        def repl(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in env:
                raise ConfigError(
                    f"{source}: {path}: environment variable {name} is not set",
                    hint=f"Set {name} in the service's environment.",
                )
            return env[name]

        return _VAR.sub(repl, node)
    return node


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        key = ".".join(str(p) for p in item["loc"]) or "(top level)"
        msg = item["msg"]
        if item["type"] == "extra_forbidden":
            msg = "unknown key"
        elif item["type"] == "missing":
            msg = "required key is missing"
        lines.append(f"{key}: {msg}")
    return "; ".join(lines)


def parse_settings(
    data: Any, *, env: dict[str, str] | None = None, source: str = "config"
) -> Settings:
    """Validate a parsed YAML document; raise ConfigError naming the key and the problem."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of keys")
    resolved = _interpolate(data, "", dict(os.environ) if env is None else env, source)
    try:
        return Settings.model_validate(resolved)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {_describe(exc)}") from None


def load_settings(path: Path, *, env: dict[str, str] | None = None) -> Settings:
    """Read and validate the YAML configuration at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the file ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{where}") from None
    return parse_settings(data, env=env, source=str(path))


def json_schema() -> dict[str, Any]:
    """JSON Schema of the configuration file (for editor autocomplete)."""
    schema = Settings.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "bitrix1c configuration"
    return schema


TEMPLATE = """\
# bitrix1c configuration. Secrets come from the environment: ${VAR} is replaced by $VAR.
# JSON Schema for editors: `bitrix1c config schema > bitrix1c.schema.json`.

bitrix24:
  # Incoming webhook (Developer resources → Other → Incoming webhook), scopes: crm.
  webhook_url: ${BITRIX24_WEBHOOK_URL}
  # standard: 2 requests/s, burst 50; enterprise: 5/s, burst 250;
  # onpremise: set requests_per_second and burst to the portal's settings.
  plan: standard

onec:
  # One entry per 1C base published over OData (default.vrd: <standardOdata enable="true"/>).
  - name: trade
    odata_url: http://1c.example.local/trade/odata/standard.odata/
    username: odata.user
    password: ${ONEC_TRADE_PASSWORD}
    profile: ut11          # ut11 | bp30 | retail2
    # Lets 1C POST changes to /hooks/1c/trade (docs/1c-push.md):
    # push_token: ${ONEC_TRADE_PUSH_TOKEN}
    # timezone: Europe/Moscow   # the base's clock (pushed changed_at has no zone)

flows:
  counterparties:
    enabled: true
    base: trade            # which 1C base feeds Bitrix24 companies
    every_minutes: 15
    # assigned_by_id: 1    # responsible user for companies created in Bitrix24
    # owners:              # 1c (default): edits in the CRM are restored; crm: set once
    #   ASSIGNED_BY_ID: crm
    #   TITLE: crm
    # to_1c: false         # companies created in the CRM with a valid INN → 1C counterparties
    # snils_field: UF_CRM_SNILS   # requisite user field with a person's SNILS (matched on)

store:
  # Embedded: a SQLite file. Distributed: postgresql+asyncpg://user:${PGPASSWORD}@host/bitrix1c
  url: sqlite+aiosqlite:///bitrix1c.db

web:
  host: 127.0.0.1
  port: 8080
  # Dashboard login: `bitrix1c web hash-password` prints the hash.
  password_hash: ${BITRIX1C_WEB_PASSWORD_HASH}

alerts:
  dashboard_url: http://127.0.0.1:8080/
  # email:
  #   host: smtp.example.ru
  #   port: 587
  #   security: starttls     # starttls | tls | none
  #   username: bitrix1c@example.ru
  #   password: ${SMTP_PASSWORD}
  #   sender: bitrix1c@example.ru
  #   recipients: [oncall@example.ru]
  # webhook:                 # e.g. a Telegram bot's sendMessage URL
  #   url: ${ALERT_WEBHOOK_URL}
  #   chat_id: "-1001234567890"

# CommerceML "exchange with site" for a 1C base without OData (docs/commerceml.md):
# commerceml:
#   base: trade
#   username: site
#   password: ${COMMERCEML_PASSWORD}

log_level: info
"""
