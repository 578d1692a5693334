"""The private Dovecot: IMAP and POP3 on loopback, passwords checked by binding to the private slapd.

It also offers Postfix its SASL authentication socket, so authenticated submission checks the same passwords.
"""

from __future__ import annotations

import os
import pwd
import subprocess
from pathlib import Path

from services.common import (
    CONFIG_DIR,
    ServiceConfig,
    ServiceError,
    ServiceStatus,
    pid_alive,
    port_open,
    read_pid,
    render,
    stop_pid,
    tail,
    wait_until,
    write_private,
)
from services.slapd import Slapd

DOVECOT = "/usr/sbin/dovecot"


class Dovecot:
    """Start, stop and inspect the private Dovecot, which authenticates against ``slapd``."""

    def __init__(self, config: ServiceConfig, root: Path, slapd: Slapd) -> None:
        self.config = config
        self.root = root
        self.slapd = slapd
        self.dir = root / "dovecot"

    @property
    def log_path(self) -> Path:
        return self.dir / "dovecot.log"

    @property
    def auth_socket(self) -> Path:
        """The SASL socket Postfix's submission service asks."""
        return self.dir / "run" / "postfix-auth"

    def _conf(self) -> Path:
        mail_user = pwd.getpwnam("mail")
        for sub in ("run", "lib", "mail"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        # Dovecot's mail processes run as 'mail' and must traverse to the mail folder.
        os.chmod(self.dir, 0o755)  # noqa: S103
        os.chmod(self.root, 0o755)  # noqa: S103
        if os.geteuid() == 0:
            os.chown(self.dir / "mail", mail_user.pw_uid, mail_user.pw_gid)
        values = {
            "state": self.dir,
            "instance_name": f"congvu-{self.config.imap_port}",
            "imap_port": self.config.imap_port,
            "pop3_port": self.config.pop3_port,
            "mail_uid": mail_user.pw_uid,
            "mail_gid": mail_user.pw_gid,
            "ldap_url": self.slapd.url,
            "base_dn": self.config.base_dn,
            "dovecot_dn": self.slapd.dovecot_dn,
            "dovecot_pw": self.slapd.dovecot_password(),
            "postfix_auth": self.auth_socket,
        }
        conf = self.dir / "dovecot.conf"
        write_private(conf, render((CONFIG_DIR / "dovecot" / "dovecot.conf.in").read_text(encoding="utf-8"), **values))
        write_private(
            self.dir / "dovecot-ldap.conf.ext",
            render((CONFIG_DIR / "dovecot" / "dovecot-ldap.conf.ext.in").read_text(encoding="utf-8"), **values),
        )
        return conf

    def pid(self) -> int | None:
        pid = read_pid(self.dir / "run" / "master.pid")
        return pid if pid_alive(pid) else None

    def start(self) -> None:
        if self.pid():
            return
        conf = self._conf()
        startup_log = self.dir / "startup.log"
        # Not a pipe: the daemon would inherit it and we would wait for EOF forever.
        with startup_log.open("wb") as out:
            result = subprocess.run([DOVECOT, "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT)
        if result.returncode != 0:
            raise ServiceError(f"dovecot failed to start: {tail(startup_log)}\n{tail(self.log_path)}")
        wait_until(lambda: self.pid() is not None and port_open(self.config.imap_port), "dovecot", self.log_path)

    def stop(self) -> None:
        stop_pid(self.pid(), "dovecot")

    def status(self) -> ServiceStatus:
        pid = self.pid()
        return ServiceStatus("dovecot", pid is not None, pid, f"imap://127.0.0.1:{self.config.imap_port}")
