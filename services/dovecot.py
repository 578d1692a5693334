"""The private Dovecot: IMAP and POP3 on loopback, passwords checked by binding to a private slapd.

It also offers Postfix its SASL authentication socket, so authenticated submission checks the same passwords.
The configuration is rendered for the installed Dovecot's version: 2.3 (Debian 12, ``dovecot.conf.in``) or
2.4 (Debian 13, ``dovecot24.conf.in``: ``dovecot_config_version``, ``%{user}`` variables, ``passdb ldap {…}``).
A Dovecot may read a syncrepl consumer instead of the provider (``slapd`` is whichever it should ask), and
may run from a Debian chroot (``chroot``): its files then live inside the chroot and its config names them
as the chrooted process sees them.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from services.common import CONFIG_DIR, Server, ServiceConfig, ServiceError, port_open, render, write_private
from services.slapd import Slapd

DOVECOT = "/usr/sbin/dovecot"


def parse_version(text: str) -> tuple[int, int]:
    """``"2.4.1-4 (7d8c0e5759)"`` → ``(2, 4)``; what ``dovecot --version`` prints."""
    match = re.match(r"\s*(\d+)\.(\d+)", text)
    if not match:
        raise ServiceError(f"cannot read Dovecot's version from {text!r}")
    return int(match[1]), int(match[2])


def template_for(version: tuple[int, int]) -> str:
    """The config template for a Dovecot version: 2.4 rejects 2.3's syntax and the other way round."""
    return "dovecot24.conf.in" if version >= (2, 4) else "dovecot.conf.in"


def _passwd_ids(etc_passwd: Path, user: str) -> tuple[int, int]:
    for line in etc_passwd.read_text(encoding="utf-8").splitlines():
        parts = line.split(":")
        if len(parts) > 3 and parts[0] == user:
            return int(parts[2]), int(parts[3])
    raise ServiceError(f"no user {user!r} in {etc_passwd}")


class Dovecot(Server):
    """Start, stop and inspect a private Dovecot, which authenticates against ``slapd``.

    ``name`` names its folder (several may run side by side, e.g. one reading a consumer); ``imap_port``
    and ``pop3_port`` default to the config's; ``chroot`` runs the Dovecot installed in that folder.
    ``mail_dir`` is where the Maildirs ``<domain>/<localpart>`` live (default: its own folder's mail/); the
    session's Dovecot reads those the private Postfix delivers to, so IMAP sees the mail that arrived.
    """

    program = "dovecot"

    def __init__(
        self,
        config: ServiceConfig,
        root: Path,
        slapd: Slapd,
        *,
        name: str = "dovecot",
        imap_port: int | None = None,
        pop3_port: int | None = None,
        chroot: Path | None = None,
        mail_dir: Path | None = None,
    ) -> None:
        self.config = config
        self.root = root
        self.slapd = slapd
        self.name = name
        self.imap_port = imap_port or config.imap_port
        self.pop3_port = pop3_port or config.pop3_port
        self.chroot = chroot
        # In a chroot the state must lie inside it; the folder is named after the state folder, so two test
        # runs (or two instances) never share one.
        self.dir = (chroot / "var/lib/congvu" / root.name / name) if chroot else root / name
        self.mail_dir = mail_dir or self.dir / "mail"

    @property
    def pid_file(self) -> Path:
        return self.dir / "run" / "master.pid"

    @property
    def address(self) -> str:
        return f"imap://127.0.0.1:{self.imap_port}"

    @property
    def auth_socket(self) -> Path:
        """The SASL socket Postfix's submission service asks."""
        return self.dir / "run" / "postfix-auth"

    def version(self) -> tuple[int, int]:
        """The installed Dovecot's major and minor version."""
        try:
            out = subprocess.run(self._command(DOVECOT, "--version"), capture_output=True, text=True, check=True).stdout
        except (OSError, subprocess.CalledProcessError) as exc:
            raise ServiceError(f"cannot run dovecot --version: {exc}") from exc
        return parse_version(out)

    def _conf(self) -> Path:
        etc_passwd = (self.chroot or Path("/")) / "etc/passwd"
        mail_uid, mail_gid = _passwd_ids(etc_passwd, "mail")
        for sub in ("run", "lib"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        self.mail_dir.mkdir(parents=True, exist_ok=True)
        # Dovecot's mail processes run as 'mail' and must traverse to the mail folder.
        top = self.chroot or self.root.parent
        for start in (self.dir, self.mail_dir.parent):
            folder = start
            while folder != top and folder.is_relative_to(top):
                os.chmod(folder, 0o755)  # noqa: S103
                folder = folder.parent
        if os.geteuid() == 0:
            os.chown(self.mail_dir, mail_uid, mail_gid)
        state = self._inside(self.dir)
        values = {
            "state": state,
            "mail_root": self._inside(self.mail_dir),
            "instance_name": f"congvu-{self.imap_port}",
            "imap_port": self.imap_port,
            "pop3_port": self.pop3_port,
            "mail_uid": mail_uid,
            "mail_gid": mail_gid,
            "ldap_url": self.slapd.url,
            "base_dn": self.config.base_dn,
            "dovecot_dn": self.slapd.dovecot_dn,
            "dovecot_pw": self.slapd.dovecot_password(),
            "postfix_auth": state / "run" / "postfix-auth",
            "postfix_user": "postfix",
        }
        conf = self.dir / "dovecot.conf"
        template = (CONFIG_DIR / "dovecot" / template_for(self.version())).read_text(encoding="utf-8")
        write_private(conf, render(template, **values))
        write_private(
            self.dir / "dovecot-ldap.conf.ext",
            render((CONFIG_DIR / "dovecot" / "dovecot-ldap.conf.ext.in").read_text(encoding="utf-8"), **values),
        )
        return conf

    def start(self) -> None:
        if self.pid():
            return
        conf = self._conf()
        command = self._command(DOVECOT, "-c", str(self._inside(conf)))
        self._start_forking(command, lambda: self.pid() is not None and port_open(self.imap_port))
