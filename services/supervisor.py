"""A private OpenLDAP slapd, Dovecot and Postfix on loopback, as ordinary processes with state in one folder.

``congvu services start`` and the test suite use this. Nothing touches /etc or system services: slapd runs
with its own cn=config folder, Dovecot and Postfix with generated config files; all write their logs in the
folder. One module per server (``slapd``, ``dovecot``, ``postfix``); this one starts them in order and
answers for all of them. With replication configured (:class:`ServiceConfig`'s ``consumer_*`` and
``mirror_ldap_port``) it also runs a syncrepl consumer with a Dovecot reading it, and a second provider in
mirror mode: writes go to the provider, Dovecot and Postfix read the nearest consumer.
"""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

from services.common import Server, ServiceConfig, ServiceStatus
from services.dovecot import Dovecot
from services.postfix import Postfix
from services.slapd import PROVIDER, Slapd, consumer_of, mirror_of


class Services:
    """Start, stop and inspect the private slapd, Dovecot and Postfix described by a :class:`ServiceConfig`."""

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self.root = Path(config.state_dir).resolve()
        mirror_url = f"ldap://127.0.0.1:{config.mirror_ldap_port}"
        self.slapd = Slapd(config, self.root, role=mirror_of(mirror_url, 1) if config.mirror_ldap_port else PROVIDER)
        self.mirror: Slapd | None = None
        if config.mirror_ldap_port:
            self.mirror = Slapd(
                config,
                self.root,
                name="slapd-mirror",
                port=config.mirror_ldap_port,
                role=mirror_of(self.slapd.url, 2),
            )
        self.consumer: Slapd | None = None
        self.consumer_dovecot: Dovecot | None = None
        if config.consumer_ldap_port:
            self.consumer = Slapd(
                config,
                self.root,
                name="slapd-consumer",
                port=config.consumer_ldap_port,
                role=consumer_of(self.slapd.url),
            )
            self.consumer_dovecot = Dovecot(
                config,
                self.root,
                self.consumer,
                name="dovecot-consumer",
                imap_port=config.consumer_imap_port or config.imap_port + 1,
                pop3_port=config.consumer_pop3_port or config.pop3_port + 1,
            )
        # Dovecot reads the Maildirs the private Postfix delivers to (Postfix.mailbox_path), so IMAP sees them.
        self.dovecot = Dovecot(config, self.root, self.slapd, mail_dir=self.root / "postfix" / "mail")
        self.postfix = Postfix(config, self.root, self.dovecot.auth_socket, slapd=self.slapd)

    # -- addresses and files -------------------------------------------------------------------------

    @property
    def ldap_url(self) -> str:
        return self.slapd.url

    @property
    def slapd_dir(self) -> Path:
        return self.slapd.dir

    @property
    def slapd_log_path(self) -> Path:
        return self.slapd.log_path

    @property
    def dovecot_dir(self) -> Path:
        return self.dovecot.dir

    @property
    def dovecot_log_path(self) -> Path:
        return self.dovecot.log_path

    @property
    def dovecot_dn(self) -> str:
        return self.slapd.dovecot_dn

    @property
    def postfix_dir(self) -> Path:
        return self.postfix.dir

    @property
    def postfix_config_dir(self) -> Path:
        return self.postfix.config_dir

    @property
    def postfix_log_path(self) -> Path:
        return self.postfix.log_path

    @property
    def postfix_auth_socket(self) -> Path:
        return self.dovecot.auth_socket

    # -- one server at a time ------------------------------------------------------------------------

    def start_slapd(self) -> None:
        self.slapd.start()

    def stop_slapd(self) -> None:
        self.slapd.stop()

    def start_dovecot(self) -> None:
        self.dovecot.start()

    def stop_dovecot(self) -> None:
        self.dovecot.stop()

    def start_postfix(self) -> None:
        self.postfix.start()

    def stop_postfix(self) -> None:
        self.postfix.stop()

    def mailbox_path(self, address: str) -> Path:
        """The Maildir the private Postfix delivers ``address`` to."""
        return self.postfix.mailbox_path(address)

    def received(self, address: str) -> list[EmailMessage]:
        """The messages the private Postfix delivered to ``address``, in delivery order."""
        return self.postfix.received(address)

    # -- all -----------------------------------------------------------------------------------------

    def _servers(self) -> list[Server]:
        """Every server configured, in starting order: the directories before those who read them."""
        servers: list[Server] = [self.slapd]
        servers += [s for s in (self.mirror, self.consumer) if s is not None]
        servers.append(self.dovecot)
        if self.consumer_dovecot is not None:
            servers.append(self.consumer_dovecot)
        servers.append(self.postfix)
        return servers

    def start(self) -> None:
        """Start slapd (and its mirror and consumer), Dovecot, then Postfix (idempotent); initialise the
        directory on first start."""
        self.root.mkdir(parents=True, exist_ok=True)
        for server in self._servers():
            server.start()

    def stop(self) -> None:
        for server in reversed(self._servers()):
            server.stop()

    def status(self) -> list[ServiceStatus]:
        return [server.status() for server in self._servers()]
