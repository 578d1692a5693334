"""A private OpenLDAP slapd, Dovecot and Postfix on loopback, as ordinary processes with state in one folder.

``congvu services start`` and the test suite use this. Nothing touches /etc or system services: slapd runs
with its own cn=config folder, Dovecot and Postfix with generated config files; all write their logs in the
folder. One module per server (``slapd``, ``dovecot``, ``postfix``); this one starts them in order and
answers for all three.
"""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

from services.common import ServiceConfig, ServiceStatus
from services.dovecot import Dovecot
from services.postfix import Postfix
from services.slapd import Slapd


class Services:
    """Start, stop and inspect the private slapd, Dovecot and Postfix described by a :class:`ServiceConfig`."""

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self.root = Path(config.state_dir).resolve()
        self.slapd = Slapd(config, self.root)
        self.dovecot = Dovecot(config, self.root, self.slapd)
        self.postfix = Postfix(config, self.root, self.dovecot.auth_socket)

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

    def start(self) -> None:
        """Start slapd, Dovecot, then Postfix (idempotent); initialise the directory on first start."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.slapd.start()
        self.dovecot.start()
        self.postfix.start()

    def stop(self) -> None:
        self.postfix.stop()
        self.dovecot.stop()
        self.slapd.stop()

    def status(self) -> list[ServiceStatus]:
        return [self.slapd.status(), self.dovecot.status(), self.postfix.status()]
