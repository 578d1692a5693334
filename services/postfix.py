"""The private Postfix for a closed network (the demo and the tests).

Loopback only, every domain delivered into Maildirs mail/<domain>/<localpart>/ in the state folder, nothing
relayed. Given the slapd it reads, an old address kept as an alias is rewritten to its mailbox's address from
the directory (``virtual_alias_maps``, ldap-aliases.cf); with ``recipients="directory"`` only the directory's
mailboxes are accepted (``virtual_mailbox_maps``, ldap-mailboxes.cf), as on a production host, instead of every
well-formed address (the tests' and the demo's made-up recipients).

Its config directory is ``<state>/postfix/etc``: `postfix check` (run by `postfix start`) wants that whole tree
owned by root, which the queue, the master's lock (data/, owned by postfix) and the Maildirs (mail/, written as
'mail') are not.
"""

from __future__ import annotations

import email.policy
import os
import pwd
import re
import shutil
import subprocess
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from services.common import (
    CONFIG_DIR,
    Server,
    ServiceConfig,
    ServiceError,
    pid_alive,
    port_open,
    read_pid,
    render,
    stop_pid,
    write_private,
)
from services.slapd import Slapd

POSTFIX = "/usr/sbin/postfix"


def _delivery_order(path: Path) -> tuple[int, int, str]:
    """Sort key for a Maildir file: the delivery time in its name (``<sec>.M<usec>P<pid>.host`` from
    deliver-maildir.sh, ``<sec>.V..I..M<usec>.host`` from Postfix's virtual(8); ``:2,<flags>`` once in cur/),
    else the file's modification time."""
    match = re.match(r"(\d+)\.[^.:]*M(\d+)", path.name)
    if match:
        return int(match[1]), int(match[2]), path.name
    stat_ns = path.stat().st_mtime_ns
    return stat_ns // 1_000_000_000, (stat_ns // 1000) % 1_000_000, path.name


class Postfix(Server):
    """Start, stop and inspect the private Postfix; submission authenticates through Dovecot's ``auth_socket``.

    ``slapd``: the directory its LDAP tables read (aliases; with ``recipients="directory"`` the mailboxes too).
    """

    program = "postfix"

    def __init__(
        self,
        config: ServiceConfig,
        root: Path,
        auth_socket: Path,
        *,
        slapd: Slapd | None = None,
        recipients: str = "any",
    ) -> None:
        if recipients not in ("any", "directory"):
            raise ServiceError(f"postfix recipients must be 'any' or 'directory', not {recipients!r}")
        if recipients == "directory" and slapd is None:
            raise ServiceError("postfix: accepting only the directory's mailboxes needs a slapd to ask")
        self.config = config
        self.root = root
        self.name = "postfix"
        self.auth_socket = auth_socket
        self.slapd = slapd
        self.recipients = recipients
        self.dir = root / "postfix"

    @property
    def config_dir(self) -> Path:
        return self.dir / "etc"

    @property
    def pid_file(self) -> Path:
        return self.dir / "spool" / "pid" / "master.pid"  # in the queue directory (main.cf.in)

    @property
    def address(self) -> str:
        return f"smtp://127.0.0.1:{self.config.smtp_port}"

    def _conf(self) -> Path:
        """Render main.cf, master.cf and the lookup tables into the config folder; prepare the others."""
        mail_user = pwd.getpwnam("mail")
        postfix_user = pwd.getpwnam("postfix")
        conf_dir = self.config_dir
        for sub in ("etc", "spool", "data", "mail"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        # Root-owned and not group/world writable (config and queue); Dovecot and virtual(8) traverse them.
        for path in (self.root, self.dir, conf_dir, self.dir / "spool"):
            os.chmod(path, 0o755)  # noqa: S103
        if os.geteuid() == 0:
            os.chown(conf_dir, 0, 0)
            os.chown(self.dir / "spool", 0, 0)
            os.chown(self.dir / "data", postfix_user.pw_uid, postfix_user.pw_gid)
            os.chown(self.dir / "mail", mail_user.pw_uid, mail_user.pw_gid)
        values = {
            "state": self.dir,
            "config_dir": conf_dir,
            "hostname": "mail.congvu.internal",
            "smtp_port": self.config.smtp_port,
            "submission_port": self.config.submission_port,
            "mail_user": mail_user.pw_name,
            "dovecot_auth": self.auth_socket,
            "mailbox_maps": f"regexp:{conf_dir}/virtual_mailboxes.regexp",
            "alias_maps": "",
        }
        if self.slapd is not None:
            self._ldap_tables(conf_dir, postfix_user.pw_gid)
            values["alias_maps"] = f"ldap:{conf_dir}/ldap-aliases.cf"
            if self.recipients == "directory":
                values["mailbox_maps"] = f"ldap:{conf_dir}/ldap-mailboxes.cf"
        for name in ("main.cf", "master.cf"):
            template = (CONFIG_DIR / "postfix" / f"{name}.in").read_text(encoding="utf-8")
            (conf_dir / name).write_text(render(template, **values), encoding="utf-8")
        for name in ("virtual_domains.regexp", "virtual_mailboxes.regexp", "deliver-maildir.sh"):
            shutil.copyfile(CONFIG_DIR / "postfix" / name, conf_dir / name)
        return conf_dir

    def _ldap_tables(self, conf_dir: Path, postfix_gid: int) -> None:
        """The LDAP lookup tables, which hold the mail services account's password: root's, readable by the
        postfix group (the daemons that open them), nobody else."""
        assert self.slapd is not None
        values = {
            "ldap_url": self.slapd.url,
            "bind_dn": self.slapd.dovecot_dn,
            "bind_pw": self.slapd.dovecot_password(),
            "base_dn": self.config.base_dn,
        }
        for name in ("ldap-aliases.cf", "ldap-mailboxes.cf"):
            path = conf_dir / name
            template = (CONFIG_DIR / "postfix" / f"{name}.in").read_text(encoding="utf-8")
            write_private(path, render(template, **values))
            if os.geteuid() == 0:
                os.chown(path, 0, postfix_gid)
                os.chmod(path, 0o640)

    def pid(self) -> int | None:
        """The running master's pid; a stale pid file (or one whose pid now belongs to another program) is None."""
        pid = read_pid(self.pid_file)
        if not pid_alive(pid):
            return None
        try:
            command = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            return pid
        return pid if command == "master" else None

    def start(self) -> None:
        """Start Postfix if it is not running; wait until both the SMTP and submission ports accept."""
        if self.pid():
            return
        conf_dir = self._conf()
        # A master that was killed leaves its pid file behind (Postfix itself goes by the lock in data/, which
        # dies with the process); drop it so nothing reads a pid that may be reused. The new master writes one.
        self.pid_file.unlink(missing_ok=True)
        ports = (self.config.smtp_port, self.config.submission_port)
        self._start_forking(
            [POSTFIX, "-c", str(conf_dir), "start"], lambda: self.pid() is not None and all(map(port_open, ports))
        )

    def stop(self) -> None:
        pid = self.pid()
        if pid is None:
            return
        subprocess.run(
            [POSTFIX, "-c", str(self.config_dir), "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        stop_pid(pid if pid_alive(pid) else None, self.name)
        self.pid_file.unlink(missing_ok=True)

    def mailbox_path(self, address: str) -> Path:
        """The Maildir ``address`` is delivered to: ``mail/<domain>/<localpart>``, lower case
        (config/postfix/deliver-maildir.sh)."""
        local, _, domain = address.strip().rpartition("@")
        return self.dir / "mail" / domain.lower() / local.lower()

    def received(self, address: str) -> list[EmailMessage]:
        """The messages delivered to ``address`` (new/ and cur/), in delivery order."""
        box = self.mailbox_path(address)
        files = [f for sub in ("new", "cur") for f in (box / sub).glob("*") if f.is_file()]
        parser = BytesParser(policy=email.policy.default)
        return [
            parser.parsebytes(path.read_bytes())  # type: ignore[misc]
            for path in sorted(files, key=_delivery_order)
        ]
