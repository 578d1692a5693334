"""The composition root the web app, the CLI, the scheduler and the task worker share: settings, engine,
the transaction boundary with its appliers, the directory, mail, the task worker and its handlers.

Built lazily: constructing a :class:`Runtime` opens no connection and binds to nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from admin_app.tasks import MAIL_TASK, handlers
from config import Settings, ensure_secret_file, parse_holidays, parse_working_hours, split_list
from core.actors import SYSTEM
from core.boundary import Boundary
from core.db import make_engine, make_session_factory
from core.memo import Memo
from core.outbox import MailJob, Renderer, SendResult, SmtpConfig, send_pending
from core.tasks import Worker, submit
from meetings.env import MeetingEnv
from meetings.jitsi import JitsiConfig
from provisioning import directory_lock
from provisioning.addresses import AddressRules
from provisioning.directory import Directory, DirectoryConfig, DirectoryError
from provisioning.models import DirectoryJob
from provisioning.operations import MailboxPolicy
from provisioning.sessions import SessionPolicy
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
    def snapshots(self) -> Memo:
        """Stored report versions as their pages read them, parsed once per process (a version never changes)."""
        return Memo(size=24)

    @cached_property
    def directory(self) -> Directory:
        s = self.settings
        return Directory(
            DirectoryConfig(s.ldap_url, s.ldap_base_dn, s.ldap_bind_dn, s.ldap_bind_password, s.ldap_timeout_seconds),
            directory_lock.for_database(self.engine, s.instance_path),
        )

    @cached_property
    def secret_key(self) -> str:
        if self.settings.secret_key:
            return self.settings.secret_key
        # Development and tests: a per-instance random key, created once and kept in the instance folder.
        return ensure_secret_file(self.settings.instance_path, "secret_key")

    @property
    def throttle_policy(self) -> ThrottlePolicy:
        s = self.settings
        return ThrottlePolicy(
            s.login_max_failures,
            dt.timedelta(minutes=s.login_lockout_minutes),
            s.login_client_max_names,
            dt.timedelta(minutes=s.login_client_window_minutes),
        )

    @property
    def session_policy(self) -> SessionPolicy:
        s = self.settings
        return SessionPolicy(dt.timedelta(minutes=s.session_idle_minutes), dt.timedelta(hours=s.session_max_hours))

    @cached_property
    def boundary(self) -> Boundary:
        """Commits units of work, then applies the directory jobs and mail each one recorded."""
        return Boundary(
            lambda: self.session_factory,
            {
                DirectoryJob: lambda ids, progress: self.sync_directory(progress, ids=ids),
                MailJob: lambda ids, _progress: self._deliver(ids),
            },
        )

    INLINE_MAIL = 20  # more messages than this (a 135-point invitation) go to a background task

    def _deliver(self, ids: list[int]) -> SendResult:
        """Mail a unit of work recorded: a few are sent at once; many are handed to a background worker, so a
        request does not wait for 150 invitations to be rendered and sent (they are then reported as pending)."""
        if len(ids) <= self.INLINE_MAIL:
            return self.send_mail(ids=ids)
        with self.boundary.unit(apply=False) as session:
            submit(session, SYSTEM, MAIL_TASK, {"ids": ids}, total=len(ids))
        return SendResult(pending=len(ids))

    @contextmanager
    def unit_of_work(self, origin: str = "") -> Iterator[Session]:
        """One transaction through the boundary: commit, then apply what it recorded."""
        with self.boundary.unit(origin) as session:
            yield session

    @cached_property
    def mailbox_policy(self) -> MailboxPolicy:
        s = self.settings
        return MailboxPolicy(
            default_domain=s.mail_domain,
            address_policy=s.address_policy,
            default_quota_mb=s.default_quota_mb,
            password_min_length=s.password_min_length,
            secret_key=self.secret_key,
            rules=AddressRules(
                default_domain=s.mail_domain,
                mail_from=s.mail_from,
                extra_domains=tuple(split_list(s.mail_domains)),
                extra_reserved=tuple(split_list(s.reserved_local_parts)),
            ),
        )

    @cached_property
    def _impatient_sqlite_factory(self) -> sessionmaker[Session] | None:
        url = self.settings.effective_database_url
        if self._engine is not None or not url.startswith("sqlite"):
            return None
        return make_session_factory(make_engine(url, connect_args={"timeout": 0.2}))

    @property
    def side_session_factory(self) -> sessionmaker[Session]:
        """Sessions for heartbeats and progress: on SQLite they give up at once if the database is busy."""
        return self._impatient_sqlite_factory or self.session_factory

    def task_worker(self, name: str) -> Worker:
        """A worker for the background tasks (imports…); handlers are wired in :mod:`admin_app.tasks`."""
        from audit.definitions import definitions_from
        from provisioning.slips import SignInHelp

        return Worker(
            self.boundary,
            handlers(
                self.mailbox_policy,
                definitions_from(self.settings),
                self.send_mail,
                meeting_env=self.meeting_env,
                reorg_alias_days=self.settings.reorg_alias_days,
                sign_in_help=SignInHelp(
                    self.settings.webmail_url,
                    self.settings.mail_client_imap,
                    self.settings.mail_client_smtp,
                    self.settings.province_name,
                ),
                tz=self.settings.tz,
            ),
            name=name,
            timeout=dt.timedelta(seconds=self.settings.task_timeout_seconds),
            resume=self.apply_origin,
            side_factory=lambda: self.side_session_factory,
        )

    def apply_origin(self, origin: str, progress: Callable[[int, int], None] | None = None) -> None:
        """Apply what a task recorded and committed but had not applied when its worker stopped."""
        self.sync_directory(progress, origin=origin)
        self.send_mail(origin=origin)

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
                tenant=s.jitsi_tenant,
                lobby_bypass=frozenset(split_list(s.jitsi_lobby_bypass)) - {"none"},
                features=tuple(split_list(s.jitsi_features)),
                room_api_url=s.jitsi_room_api_url,
            ),
            public_url=s.public_url,
            buffer_minutes=s.meeting_buffer_minutes,
            working_hours=tuple(parse_working_hours(s.working_hours)),
            holidays=parse_holidays(s.public_holidays),
            booking_horizon_days=s.booking_horizon_days,
        )

    @property
    def smtp_config(self) -> SmtpConfig:
        s = self.settings
        return SmtpConfig(s.smtp_host, s.smtp_port, s.mail_from, f"congvu – {s.province_name}")

    @cached_property
    def mail_renderers(self) -> dict[str, Renderer]:
        """The mail the sender builds after the commit, by renderer name."""
        from meetings.attendance_summary import render_attendance_summary
        from meetings.mail_content import render_meeting_mail

        env = self.meeting_env
        province = self.settings.province_name
        return {
            "meeting": lambda session, job: render_meeting_mail(session, env, job),
            "attendance": lambda session, job: render_attendance_summary(session, env, job, province),
        }

    def send_mail(self, *, ids: list[int] | None = None, origin: str | None = None) -> SendResult:
        """Send mail now: these ids, this origin's, or the due backlog. An unreachable SMTP server leaves it
        queued for the scheduler's retry."""
        return send_pending(
            self.session_factory, self.smtp_config, ids=ids, origin=origin, renderers=self.mail_renderers
        )

    def sync_directory(
        self,
        progress: Callable[[int, int], None] | None = None,
        *,
        ids: list[int] | None = None,
        origin: str | None = None,
        now: dt.datetime | None = None,
    ) -> SyncResult:
        """Apply directory jobs now: these ids, this origin's, or the backlog due by ``now``. A directory that
        is down leaves them pending."""
        try:
            return apply_pending(
                self.session_factory,
                self.directory,
                self.settings.ldap_base_dn,
                self.secret_key,
                default_domain=self.settings.mail_domain,
                progress=progress,
                ids=ids,
                origin=origin,
                now=now,
            )
        except DirectoryError as exc:
            log.warning("directory sync stopped: %s", exc)
            return SyncResult(unavailable=True)
