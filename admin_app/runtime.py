"""What the web app, the CLI and the scheduler share: settings, engine, session factory, directory.

Built lazily: constructing a :class:`Runtime` opens no connection and binds to nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from config import Settings, ensure_secret_file, parse_holidays, parse_working_hours
from core.db import make_engine, make_session_factory, unit_of_work
from core.outbox import SendResult, SmtpConfig, send_pending
from meetings.jitsi import JitsiConfig
from meetings.operations import MeetingEnv
from provisioning.directory import Directory, DirectoryConfig, DirectoryError
from provisioning.signin import ThrottlePolicy
from provisioning.sync import SyncResult, apply_pending

log = logging.getLogger(__name__)


class Runtime:
    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        self.settings = settings
        self._engine = engine

    @cached_property
    def engine(self) -> Engine:
        return self._engine or make_engine(self.settings.effective_database_url)

    @cached_property
    def session_factory(self) -> sessionmaker[Session]:
        return make_session_factory(self.engine)

    @cached_property
    def directory(self) -> Directory:
        s = self.settings
        return Directory(
            DirectoryConfig(s.ldap_url, s.ldap_base_dn, s.ldap_bind_dn, s.ldap_bind_password, s.ldap_timeout_seconds)
        )

    @cached_property
    def secret_key(self) -> str:
        if self.settings.secret_key:
            return self.settings.secret_key
        # Development and tests: a per-instance random key, created once and kept in the instance folder.
        return ensure_secret_file(self.settings.instance_path, "secret_key")

    @property
    def throttle_policy(self) -> ThrottlePolicy:
        import datetime as dt

        return ThrottlePolicy(
            self.settings.login_max_failures, dt.timedelta(minutes=self.settings.login_lockout_minutes)
        )

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        with unit_of_work(self.session_factory) as session:
            yield session

    @cached_property
    def jitsi_app_secret(self) -> str:
        if self.settings.jitsi_app_secret or self.settings.is_production:
            return self.settings.jitsi_app_secret  # production settings refuse to load without it
        # Development and the demo: a per-instance random secret, kept in the instance folder (mode 600).
        return ensure_secret_file(self.settings.instance_path, "jitsi_app_secret")

    @cached_property
    def meeting_env(self) -> MeetingEnv:
        s = self.settings
        return MeetingEnv(
            tz=s.tz,
            tzid=s.timezone,
            jitsi=JitsiConfig(
                s.jitsi_host,
                s.jitsi_app_id,
                self.jitsi_app_secret,
                s.jitsi_audience,
                s.jitsi_domain,
                s.jitsi_token_grace_minutes,
            ),
            public_url=s.public_url,
            buffer_minutes=s.meeting_buffer_minutes,
            working_hours=tuple(parse_working_hours(s.working_hours)),
            holidays=parse_holidays(s.public_holidays),
        )

    @property
    def smtp_config(self) -> SmtpConfig:
        s = self.settings
        return SmtpConfig(s.smtp_host, s.smtp_port, s.mail_from, f"congvu – {s.province_name}")

    def send_mail(self) -> SendResult:
        """Send queued mail now; an unreachable SMTP server leaves it queued for the scheduler's retry."""
        return send_pending(self.session_factory, self.smtp_config)

    def sync_directory(self, progress: Callable[[int, int], None] | None = None) -> SyncResult:
        """Apply pending directory jobs now; a directory that is down leaves them pending."""
        try:
            return apply_pending(
                self.session_factory,
                self.directory,
                self.settings.ldap_base_dn,
                self.secret_key,
                default_domain=self.settings.mail_domain,
                progress=progress,
            )
        except DirectoryError as exc:
            log.warning("directory sync stopped: %s", exc)
            return SyncResult(unavailable=True)
