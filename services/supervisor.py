"""A private OpenLDAP slapd, Dovecot and Postfix on loopback, as ordinary processes with state in one folder.

``congvu services start`` and the test suite use this. Nothing touches /etc or system services: slapd runs
with its own cn=config folder, Dovecot and Postfix with generated config files; all write their logs in the
folder.
The processes outlive the Python process that started them; pid files let a later process stop them.
"""

from __future__ import annotations

import base64
import email.policy
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import string
import subprocess
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from argon2 import PasswordHasher

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
SLAPD = "/usr/sbin/slapd"
SLAPADD = "/usr/sbin/slapadd"
DOVECOT = "/usr/sbin/dovecot"
POSTFIX = "/usr/sbin/postfix"
START_TIMEOUT = 20.0


class ServiceError(RuntimeError):
    """A service failed to start or stop; the message says which and shows the end of its log."""


@dataclass(frozen=True)
class ServiceConfig:
    state_dir: Path
    base_dn: str
    admin_dn: str
    admin_password: str
    organization: str = "Ủy ban nhân dân tỉnh Gia Lai"
    ldap_port: int = 3389
    imap_port: int = 3143
    pop3_port: int = 3110
    smtp_port: int = 2525
    submission_port: int = 2587


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    is_running: bool
    pid: int | None
    address: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0): look at its state (an orphan's zombie is reaped by init, or not).
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _spawn_detached(argv: list[str], log_path: Path) -> None:
    """Start ``argv`` in a new session via a shell that exits at once; output appended to ``log_path``."""
    subprocess.run(
        ["/bin/sh", "-c", 'setsid "$@" >>"$0" 2>&1 </dev/null &', str(log_path), *argv],
        check=True,
    )


def _render(template: str, **values: object) -> str:
    return string.Template(template).substitute({k: str(v) for k, v in values.items()})


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


def _delivery_order(path: Path) -> tuple[int, int, str]:
    """Sort key for a Maildir file: the delivery time in its name (``<sec>.M<usec>P<pid>.host`` from
    deliver-maildir.sh, ``<sec>.V..I..M<usec>.host`` from Postfix's virtual(8); ``:2,<flags>`` once in cur/),
    else the file's modification time."""
    match = re.match(r"(\d+)\.[^.:]*M(\d+)", path.name)
    if match:
        return int(match[1]), int(match[2]), path.name
    stat_ns = path.stat().st_mtime_ns
    return stat_ns // 1_000_000_000, (stat_ns // 1000) % 1_000_000, path.name


class Services:
    """Start, stop and inspect the private slapd and Dovecot described by a :class:`ServiceConfig`."""

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self.root = Path(config.state_dir).resolve()
        self.slapd_dir = self.root / "slapd"
        self.dovecot_dir = self.root / "dovecot"

    # -- addresses and files -------------------------------------------------------------------------

    @property
    def ldap_url(self) -> str:
        return f"ldap://127.0.0.1:{self.config.ldap_port}"

    @property
    def slapd_log_path(self) -> Path:
        return self.slapd_dir / "slapd.log"

    @property
    def dovecot_log_path(self) -> Path:
        return self.dovecot_dir / "dovecot.log"

    @property
    def postfix_dir(self) -> Path:
        return self.root / "postfix"

    @property
    def postfix_log_path(self) -> Path:
        return self.postfix_dir / "postfix.log"

    @property
    def postfix_auth_socket(self) -> Path:
        return self.dovecot_dir / "run" / "postfix-auth"

    @property
    def dovecot_dn(self) -> str:
        return f"cn=dovecot,ou=services,{self.config.base_dn}"

    def _dovecot_password(self) -> str:
        path = self.root / "dovecot-ldap.secret"
        if not path.exists():
            _write_private(path, secrets.token_urlsafe(24))
        return path.read_text().strip()

    # -- slapd ---------------------------------------------------------------------------------------

    def _initialise_slapd(self) -> None:
        """First start: cn=config from the template, then the base entries, both with slapadd (offline)."""
        config_dir = self.slapd_dir / "slapd.d"
        if (config_dir / "cn=config.ldif").exists():
            return
        shutil.rmtree(config_dir, ignore_errors=True)
        (self.slapd_dir / "data").mkdir(parents=True, exist_ok=True)
        config_dir.mkdir(parents=True)
        os.chmod(self.slapd_dir, 0o700)
        shutil.copy(CONFIG_DIR / "ldap" / "congvu.ldif", self.slapd_dir / "congvu.ldif")
        hasher = PasswordHasher()
        config_ldif = _render(
            (CONFIG_DIR / "ldap" / "slapd.ldif.in").read_text(encoding="utf-8"),
            state=self.slapd_dir,
            base_dn=self.config.base_dn,
            admin_dn=self.config.admin_dn,
            rootpw="{ARGON2}" + hasher.hash(self.config.admin_password),
            dovecot_dn=self.dovecot_dn,
        )
        _write_private(self.slapd_dir / "config.ldif", config_ldif)
        first_rdn = self.config.base_dn.split(",")[0]
        base_ldif = _render(
            (CONFIG_DIR / "ldap" / "base.ldif.in").read_text(encoding="utf-8"),
            base_dn=self.config.base_dn,
            dc=first_rdn.partition("=")[2],
            organization_b64=base64.b64encode(self.config.organization.encode()).decode(),
            dovecot_dn=self.dovecot_dn,
            dovecot_pw_hash="{ARGON2}" + hasher.hash(self._dovecot_password()),
        )
        _write_private(self.slapd_dir / "base.ldif", base_ldif)
        for args in (
            ["-n0", "-F", str(config_dir), "-l", str(self.slapd_dir / "config.ldif")],
            ["-n1", "-F", str(config_dir), "-l", str(self.slapd_dir / "base.ldif")],
        ):
            result = subprocess.run([SLAPADD, *args], capture_output=True, text=True)
            if result.returncode != 0:
                shutil.rmtree(config_dir, ignore_errors=True)
                raise ServiceError(f"slapadd {args[0]} failed: {result.stderr.strip()[-2000:]}")

    def _slapd_pid(self) -> int | None:
        pid = _read_pid(self.slapd_dir / "slapd.pid")
        return pid if _pid_alive(pid) else None

    def start_slapd(self) -> None:
        """Start slapd if it is not running; wait until it answers."""
        self._initialise_slapd()
        if self._slapd_pid():
            return
        # -d keeps slapd in the foreground so its log goes to our file; it is started detached so it
        # outlives us (and is not our child to reap).
        _spawn_detached(
            [SLAPD, "-h", f"{self.ldap_url}/", "-F", str(self.slapd_dir / "slapd.d"), "-d", "stats"],
            self.slapd_log_path,
        )
        self._wait(
            lambda: self._slapd_pid() is not None and _port_open(self.config.ldap_port), "slapd", self.slapd_log_path
        )

    def stop_slapd(self) -> None:
        self._stop_pid(self._slapd_pid(), "slapd")
        (self.slapd_dir / "slapd.pid").unlink(missing_ok=True)

    # -- Dovecot -------------------------------------------------------------------------------------

    def _dovecot_conf(self) -> Path:
        mail_user = pwd.getpwnam("mail")
        for sub in ("run", "lib", "mail"):
            (self.dovecot_dir / sub).mkdir(parents=True, exist_ok=True)
        # Dovecot's mail processes run as 'mail' and must traverse to the mail folder.
        os.chmod(self.dovecot_dir, 0o755)  # noqa: S103
        os.chmod(self.root, 0o755)  # noqa: S103
        if os.geteuid() == 0:
            os.chown(self.dovecot_dir / "mail", mail_user.pw_uid, mail_user.pw_gid)
        values = {
            "state": self.dovecot_dir,
            "instance_name": f"congvu-{self.config.imap_port}",
            "imap_port": self.config.imap_port,
            "pop3_port": self.config.pop3_port,
            "mail_uid": mail_user.pw_uid,
            "mail_gid": mail_user.pw_gid,
            "ldap_url": self.ldap_url,
            "base_dn": self.config.base_dn,
            "dovecot_dn": self.dovecot_dn,
            "dovecot_pw": self._dovecot_password(),
            "postfix_auth": self.postfix_auth_socket,
        }
        conf = self.dovecot_dir / "dovecot.conf"
        _write_private(
            conf, _render((CONFIG_DIR / "dovecot" / "dovecot.conf.in").read_text(encoding="utf-8"), **values)
        )
        _write_private(
            self.dovecot_dir / "dovecot-ldap.conf.ext",
            _render((CONFIG_DIR / "dovecot" / "dovecot-ldap.conf.ext.in").read_text(encoding="utf-8"), **values),
        )
        return conf

    def _dovecot_pid(self) -> int | None:
        pid = _read_pid(self.dovecot_dir / "run" / "master.pid")
        return pid if _pid_alive(pid) else None

    def start_dovecot(self) -> None:
        if self._dovecot_pid():
            return
        conf = self._dovecot_conf()
        startup_log = self.dovecot_dir / "startup.log"
        # Not a pipe: the daemon would inherit it and we would wait for EOF forever.
        with startup_log.open("wb") as out:
            result = subprocess.run([DOVECOT, "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT)
        if result.returncode != 0:
            raise ServiceError(f"dovecot failed to start: {_tail(startup_log)}\n{_tail(self.dovecot_log_path)}")
        self._wait(
            lambda: self._dovecot_pid() is not None and _port_open(self.config.imap_port),
            "dovecot",
            self.dovecot_log_path,
        )

    def stop_dovecot(self) -> None:
        self._stop_pid(self._dovecot_pid(), "dovecot")

    # -- Postfix -------------------------------------------------------------------------------------
    # A private Postfix for a closed network (the demo and the tests): loopback only, every domain delivered
    # into Maildirs mail/<domain>/<localpart>/ in the state folder, nothing relayed. Its config directory is
    # ``postfix_dir/etc``: `postfix check` (run by `postfix start`) wants that whole tree owned by root, which
    # the queue, the master's lock (data/, owned by postfix) and the Maildirs (mail/, written as 'mail') are not.

    @property
    def postfix_config_dir(self) -> Path:
        return self.postfix_dir / "etc"

    def _postfix_conf(self) -> Path:
        """Render main.cf, master.cf and the lookup tables into the config folder; prepare the others."""
        mail_user = pwd.getpwnam("mail")
        postfix_user = pwd.getpwnam("postfix")
        conf_dir = self.postfix_config_dir
        for sub in ("etc", "spool", "data", "mail"):
            (self.postfix_dir / sub).mkdir(parents=True, exist_ok=True)
        # Root-owned and not group/world writable (config and queue); Dovecot and virtual(8) traverse them.
        for path in (self.root, self.postfix_dir, conf_dir, self.postfix_dir / "spool"):
            os.chmod(path, 0o755)  # noqa: S103
        if os.geteuid() == 0:
            os.chown(conf_dir, 0, 0)
            os.chown(self.postfix_dir / "spool", 0, 0)
            os.chown(self.postfix_dir / "data", postfix_user.pw_uid, postfix_user.pw_gid)
            os.chown(self.postfix_dir / "mail", mail_user.pw_uid, mail_user.pw_gid)
        values = {
            "state": self.postfix_dir,
            "config_dir": conf_dir,
            "hostname": "mail.congvu.internal",
            "smtp_port": self.config.smtp_port,
            "submission_port": self.config.submission_port,
            "mail_user": mail_user.pw_name,
            "dovecot_auth": self.postfix_auth_socket,
        }
        for name in ("main.cf", "master.cf"):
            template = (CONFIG_DIR / "postfix" / f"{name}.in").read_text(encoding="utf-8")
            (conf_dir / name).write_text(_render(template, **values), encoding="utf-8")
        for name in ("virtual_domains.regexp", "virtual_mailboxes.regexp", "deliver-maildir.sh"):
            shutil.copyfile(CONFIG_DIR / "postfix" / name, conf_dir / name)
        return conf_dir

    def _postfix_pid(self) -> int | None:
        """The running master's pid; a stale pid file (or one whose pid now belongs to another program) is None."""
        pid = _read_pid(self.postfix_dir / "spool" / "pid" / "master.pid")
        if not _pid_alive(pid):
            return None
        try:
            command = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            return pid
        return pid if command == "master" else None

    def start_postfix(self) -> None:
        """Start Postfix if it is not running; wait until both the SMTP and submission ports accept."""
        if self._postfix_pid():
            return
        conf_dir = self._postfix_conf()
        # A master that was killed leaves its pid file behind (Postfix itself goes by the lock in data/, which
        # dies with the process); drop it so nothing reads a pid that may be reused. The new master writes one.
        (conf_dir / "spool" / "pid" / "master.pid").unlink(missing_ok=True)
        startup_log = self.postfix_dir / "startup.log"
        # Not a pipe: the daemon would inherit it and we would wait for EOF forever.
        with startup_log.open("wb") as out:
            result = subprocess.run([POSTFIX, "-c", str(conf_dir), "start"], stdout=out, stderr=subprocess.STDOUT)
        if result.returncode != 0:
            raise ServiceError(f"postfix failed to start: {_tail(startup_log)}\n{_tail(self.postfix_log_path)}")
        self._wait(
            lambda: (
                self._postfix_pid() is not None
                and _port_open(self.config.smtp_port)
                and _port_open(self.config.submission_port)
            ),
            "postfix",
            self.postfix_log_path,
        )

    def stop_postfix(self) -> None:
        pid = self._postfix_pid()
        if pid is None:
            return
        subprocess.run(
            [POSTFIX, "-c", str(self.postfix_config_dir), "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self._stop_pid(pid if _pid_alive(pid) else None, "postfix")
        (self.postfix_dir / "spool" / "pid" / "master.pid").unlink(missing_ok=True)

    def mailbox_path(self, address: str) -> Path:
        """The Maildir the private Postfix delivers ``address`` to: ``mail/<domain>/<localpart>``, lower case
        (config/postfix/deliver-maildir.sh)."""
        local, _, domain = address.strip().rpartition("@")
        return self.postfix_dir / "mail" / domain.lower() / local.lower()

    def received(self, address: str) -> list[EmailMessage]:
        """The messages the private Postfix delivered to ``address`` (new/ and cur/), in delivery order."""
        box = self.mailbox_path(address)
        files = [f for sub in ("new", "cur") for f in (box / sub).glob("*") if f.is_file()]
        parser = BytesParser(policy=email.policy.default)
        return [
            parser.parsebytes(path.read_bytes())  # type: ignore[misc]
            for path in sorted(files, key=_delivery_order)
        ]

    # -- all -----------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start slapd, Dovecot, then Postfix (idempotent); initialise the directory on first start."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.start_slapd()
        self.start_dovecot()
        self.start_postfix()

    def stop(self) -> None:
        self.stop_postfix()
        self.stop_dovecot()
        self.stop_slapd()

    def status(self) -> list[ServiceStatus]:
        slapd, dovecot, postfix = self._slapd_pid(), self._dovecot_pid(), self._postfix_pid()
        return [
            ServiceStatus("slapd", slapd is not None, slapd, self.ldap_url),
            ServiceStatus("dovecot", dovecot is not None, dovecot, f"imap://127.0.0.1:{self.config.imap_port}"),
            ServiceStatus("postfix", postfix is not None, postfix, f"smtp://127.0.0.1:{self.config.smtp_port}"),
        ]

    def _wait(self, ready: object, name: str, log: Path) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if ready():  # type: ignore[operator]
                return
            time.sleep(0.1)
        raise ServiceError(f"{name} did not start within {START_TIMEOUT:.0f} s; log {log}:\n{_tail(log)}")

    @staticmethod
    def _stop_pid(pid: int | None, name: str) -> None:
        if pid is None:
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if not _pid_alive(pid):
                return
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
        if _pid_alive(pid):
            raise ServiceError(f"{name} (pid {pid}) did not stop")
