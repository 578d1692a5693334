"""Settings: versioned defaults, then the instance file, then ``CONGVU_*`` environment variables.

Nothing here runs at import time; :func:`load_settings` is called by the app factory, the CLI and the
scheduler. Every problem is reported as :class:`SettingsError` naming the setting.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import tomllib
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

DEFAULTS_FILE = Path(__file__).with_name("defaults.toml")
ENV_PREFIX = "CONGVU_"
INSTANCE_FILE = "congvu.toml"
# Secrets may also live as one file each in the instance folder (mode 600), e.g. instance/secret_key.
SECRET_NAMES = ("secret_key", "ldap_bind_password", "events_token", "jitsi_app_secret")
DEV_SECRET_MARKERS = {"", "dev", "change-me", "changeme", "secret"}
ENVIRONMENTS = ("development", "testing", "production")
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names it."""


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Every setting; the values come from ``defaults.toml`` (the one place defaults are written), the instance
    file and the environment (:func:`load_settings`). Only the secrets, which have no default, default to empty."""

    instance_path: Path
    env: str
    timezone: str
    default_locale: str
    province_name: str
    database_url: str
    ldap_url: str
    ldap_base_dn: str
    ldap_bind_dn: str
    ldap_bind_password: str = field(default="", repr=False)
    ldap_timeout_seconds: int
    mail_domain: str
    address_policy: str
    default_quota_mb: int
    password_min_length: int
    archive_retention_days: int
    reorg_alias_days: int
    webmail_url: str
    mail_client_imap: str
    mail_client_smtp: str
    services_dir: str
    imap_port: int
    login_max_failures: int
    login_lockout_minutes: int
    login_client_max_names: int
    login_client_window_minutes: int
    require_2fa: str
    trusted_proxies: int
    session_idle_minutes: int
    session_max_hours: int
    booking_horizon_days: int
    mail_domains: str
    reserved_local_parts: str
    scheduler_lease_seconds: int
    directory_sync_seconds: int
    task_timeout_seconds: int
    public_url: str
    smtp_host: str
    smtp_port: int
    submission_port: int
    mail_from: str
    jitsi_host: str
    jitsi_app_id: str
    jitsi_audience: str
    jitsi_domain: str
    jitsi_token_grace_minutes: int
    jitsi_tenant: str
    jitsi_lobby_bypass: str
    jitsi_features: str
    jitsi_room_api_url: str
    meeting_buffer_minutes: int
    meeting_reminder_minutes: int
    working_hours: str
    public_holidays: str
    usage_regular_days: int
    usage_log_files: str
    report_recipients: str
    # The report's PDF as a Vietnamese administrative report (Decree 30/2020/NĐ-CP): issuing body and its
    # superior, number and symbol ("Số: 12/BC-SKHCN"), place, who receives it ("Nơi nhận", one per line or ';'),
    # signer's position (one line per line or ';', e.g. "KT. GIÁM ĐỐC; PHÓ GIÁM ĐỐC") and name.
    report_superior: str
    report_issuer: str
    report_symbol: str
    report_number: str
    report_place: str
    report_recipients_text: str
    report_signer_title: str
    report_signer_name: str
    jitsi_app_secret: str = field(default="", repr=False)
    secret_key: str = field(default="", repr=False)
    events_token: str = field(default="", repr=False)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def is_2fa_required(self) -> bool:
        """Role holders must use a second factor: on in production unless turned off, off elsewhere unless on."""
        if not self.require_2fa.strip():
            return self.is_production
        return self.require_2fa.strip().lower() in TRUE_WORDS

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def services_path(self) -> Path:
        return Path(self.services_dir) if self.services_dir else self.instance_path / "services"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.instance_path / 'congvu.db'}"


def _coerce(name: str, raw: Any, kind: type) -> Any:
    if kind is int:
        if isinstance(raw, bool):
            raise SettingsError(f"Setting {name!r}: expected a whole number, got {raw!r}")
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise SettingsError(f"Setting {name!r}: expected a whole number, got {raw!r}") from None
    if not isinstance(raw, str):
        raise SettingsError(f"Setting {name!r}: expected text, got {raw!r}")
    return raw


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"Settings file {path}: {exc}") from exc


def default_instance_path() -> Path:
    return Path(os.environ.get("CONGVU_INSTANCE_PATH", "instance")).resolve()


def load_settings(
    instance_path: Path | str | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Merge defaults, the instance file, secret files, the environment and ``overrides``; validate."""
    environ = os.environ if environ is None else environ
    if instance_path is None:
        instance_path = environ.get("CONGVU_INSTANCE_PATH") or "instance"
    instance = Path(instance_path).resolve()
    known = {f.name: f for f in fields(Settings) if f.name != "instance_path"}
    values: dict[str, Any] = dict(_read_toml(DEFAULTS_FILE))

    instance_file = instance / INSTANCE_FILE
    if instance_file.is_file():
        values.update(_read_toml(instance_file))
    for name in SECRET_NAMES:
        secret_file = instance / name
        if secret_file.is_file():
            values[name] = secret_file.read_text(encoding="utf-8").strip()
    for key, raw in environ.items():
        # CONGVU_TEST_* belongs to the test suite (which database to run on), not to the application.
        if key.startswith(ENV_PREFIX) and key != "CONGVU_INSTANCE_PATH" and not key.startswith("CONGVU_TEST_"):
            values[key[len(ENV_PREFIX) :].lower()] = raw
    values.update(overrides or {})

    unknown = sorted(set(values) - set(known))
    if unknown:
        raise SettingsError(f"Unknown setting {unknown[0]!r} (environment CONGVU_{unknown[0].upper()})")
    kinds = {"int": int, "str": str}
    coerced = {n: _coerce(n, v, kinds[str(known[n].type)]) for n, v in values.items()}
    settings = Settings(instance_path=instance, **coerced)
    return validate(settings)


def validate(settings: Settings) -> Settings:
    """Refuse settings that cannot work, naming the setting."""
    if settings.env not in ENVIRONMENTS:
        raise SettingsError(f"Setting 'env' must be one of {', '.join(ENVIRONMENTS)}; got {settings.env!r}")
    try:
        zoneinfo.ZoneInfo(settings.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"Setting 'timezone': unknown time zone {settings.timezone!r}") from None
    if settings.default_locale not in ("vi", "en"):
        raise SettingsError(f"Setting 'default_locale' must be 'vi' or 'en'; got {settings.default_locale!r}")
    if not settings.ldap_url.startswith(("ldap://", "ldaps://", "ldapi://")):
        raise SettingsError(
            f"Setting 'ldap_url' must start with ldap://, ldaps:// or ldapi://; got {settings.ldap_url!r}"
        )
    if settings.address_policy not in ("given_initials", "given.family", "family_given", "full"):
        raise SettingsError(
            "Setting 'address_policy' must be one of given_initials, given.family, family_given, full; "
            f"got {settings.address_policy!r}"
        )
    for name in (
        "login_max_failures",
        "login_lockout_minutes",
        "scheduler_lease_seconds",
        "task_timeout_seconds",
        "imap_port",
        "default_quota_mb",
        "password_min_length",
        "archive_retention_days",
        "reorg_alias_days",
        "smtp_port",
        "submission_port",
        "usage_regular_days",
        "login_client_max_names",
        "login_client_window_minutes",
        "session_idle_minutes",
        "session_max_hours",
        "booking_horizon_days",
    ):
        if getattr(settings, name) <= 0:
            raise SettingsError(f"Setting {name!r} must be positive")
    if settings.require_2fa.strip() and settings.require_2fa.strip().lower() not in TRUE_WORDS + FALSE_WORDS:
        raise SettingsError(f"Setting 'require_2fa' must be on or off; got {settings.require_2fa!r}")
    for name in ("jitsi_token_grace_minutes", "meeting_buffer_minutes", "meeting_reminder_minutes", "trusted_proxies"):
        if getattr(settings, name) < 0:
            raise SettingsError(f"Setting {name!r} must not be negative")
    if settings.jitsi_app_secret and len(settings.jitsi_app_secret) < 32:
        raise SettingsError("Setting 'jitsi_app_secret' must be at least 32 characters (HS256 needs a 256-bit key)")
    parse_working_hours(settings.working_hours)
    parse_holidays(settings.public_holidays)
    _validate_jitsi(settings)
    if settings.is_production:
        if settings.secret_key.strip().lower() in DEV_SECRET_MARKERS or len(settings.secret_key) < 32:
            raise SettingsError(
                "Setting 'secret_key' is missing or a development default; production needs at least 32 random "
                "characters in CONGVU_SECRET_KEY or the file <instance>/secret_key"
            )
        if len(settings.jitsi_app_secret) < 32:
            raise SettingsError(
                "Setting 'jitsi_app_secret' is missing: production needs the Jitsi app secret (at least 32 "
                "characters) in CONGVU_JITSI_APP_SECRET or <instance>/jitsi_app_secret"
            )
        if not settings.ldap_bind_password:
            raise SettingsError(
                "Setting 'ldap_bind_password' is missing (CONGVU_LDAP_BIND_PASSWORD or <instance>/ldap_bind_password)"
            )
    return settings


JITSI_LOBBY_BYPASS = ("points", "organiser", "invitees")
# Jitsi's MEET_FEATURES (react/features/base/jwt/constants.ts): a token's context.features names all or none.
JITSI_FEATURES = (
    "branding",
    "calendar",
    "create-polls",
    "flip",
    "inbound-call",
    "livestreaming",
    "lobby",
    "moderation",
    "outbound-call",
    "recording",
    "room",
    "screen-sharing",
    "send-groupchat",
    "sip-inbound-call",
    "sip-outbound-call",
    "transcription",
)


def _validate_jitsi(settings: Settings) -> None:
    tenant = settings.jitsi_tenant
    if tenant and (tenant != tenant.lower() or not all(c.isalnum() or c in "-_" for c in tenant)):
        raise SettingsError(f"Setting 'jitsi_tenant' must be lower-case letters, digits, - or _; got {tenant!r}")
    for name in split_list(settings.jitsi_lobby_bypass):
        if name not in (*JITSI_LOBBY_BYPASS, "none"):
            raise SettingsError(
                f"Setting 'jitsi_lobby_bypass': {name!r} is not one of {', '.join(JITSI_LOBBY_BYPASS)} or none"
            )
    for name in split_list(settings.jitsi_features):
        if name not in JITSI_FEATURES:
            raise SettingsError(
                f"Setting 'jitsi_features': {name!r} is not a Jitsi feature ({', '.join(JITSI_FEATURES)})"
            )
    url = settings.jitsi_room_api_url
    if url and not url.startswith(("http://", "https://")):
        raise SettingsError(f"Setting 'jitsi_room_api_url' must start with http:// or https://; got {url!r}")


def parse_working_hours(text: str) -> list[tuple[dt.time, dt.time]]:
    """``"07:30-11:30,13:30-17:00"`` → ordered, non-overlapping (start, end) local times."""
    spans: list[tuple[dt.time, dt.time]] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            a, b = (dt.time.fromisoformat(x.strip()) for x in part.split("-"))
        except ValueError:
            raise SettingsError(f"Setting 'working_hours': {part!r} is not HH:MM-HH:MM") from None
        if b <= a or (spans and a < spans[-1][1]):
            raise SettingsError(f"Setting 'working_hours': {part!r} is empty, reversed or overlaps the one before")
        spans.append((a, b))
    if not spans:
        raise SettingsError("Setting 'working_hours' must name at least one span, e.g. 07:30-11:30")
    return spans


def parse_holidays(text: str) -> frozenset[dt.date]:
    """``"2026-01-01, 2026-04-30"`` (dates, or ``from..to`` ranges) → the set of public holidays."""
    days: set[dt.date] = set()
    for part in split_list(text):
        try:
            if ".." in part:
                a, b = (dt.date.fromisoformat(x.strip()) for x in part.split(".."))
                if b < a:
                    raise ValueError
                days.update(a + dt.timedelta(days=i) for i in range((b - a).days + 1))
            else:
                days.add(dt.date.fromisoformat(part))
        except ValueError:
            raise SettingsError(f"Setting 'public_holidays': {part!r} is not a date (YYYY-MM-DD) or range") from None
    return frozenset(days)


def split_list(text: str) -> list[str]:
    """A comma- or newline-separated setting as a list of non-empty, stripped items."""
    return [p.strip() for p in text.replace("\n", ",").split(",") if p.strip()]


def ensure_secret_file(instance_path: Path, name: str, nbytes: int = 32) -> str:
    """Create ``<instance>/<name>`` with a random value if absent (mode 600) and return its content."""
    path = Path(instance_path) / name
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(nbytes)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(value + "\n")
    return value
