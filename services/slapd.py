"""The private OpenLDAP slapd: its own cn=config folder and database in the state folder, log beside them.

Nothing touches /etc or the system's slapd. The base entries include the account Dovecot binds with.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import subprocess
from pathlib import Path

from argon2 import PasswordHasher

from services.common import (
    CONFIG_DIR,
    ServiceConfig,
    ServiceError,
    ServiceStatus,
    pid_alive,
    port_open,
    read_pid,
    render,
    spawn_detached,
    stop_pid,
    wait_until,
    write_private,
)

SLAPD = "/usr/sbin/slapd"
SLAPADD = "/usr/sbin/slapadd"


class Slapd:
    """Start, stop and inspect the private slapd described by a :class:`ServiceConfig`."""

    def __init__(self, config: ServiceConfig, root: Path) -> None:
        self.config = config
        self.root = root
        self.dir = root / "slapd"

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.config.ldap_port}"

    @property
    def log_path(self) -> Path:
        return self.dir / "slapd.log"

    @property
    def dovecot_dn(self) -> str:
        return f"cn=dovecot,ou=services,{self.config.base_dn}"

    def dovecot_password(self) -> str:
        """The password of Dovecot's account, made once and kept in the state folder (0600)."""
        path = self.root / "dovecot-ldap.secret"
        if not path.exists():
            write_private(path, secrets.token_urlsafe(24))
        return path.read_text().strip()

    def _initialise(self) -> None:
        """First start: cn=config from the template, then the base entries, both with slapadd (offline)."""
        config_dir = self.dir / "slapd.d"
        if (config_dir / "cn=config.ldif").exists():
            return
        shutil.rmtree(config_dir, ignore_errors=True)
        (self.dir / "data").mkdir(parents=True, exist_ok=True)
        config_dir.mkdir(parents=True)
        os.chmod(self.dir, 0o700)
        shutil.copy(CONFIG_DIR / "ldap" / "congvu.ldif", self.dir / "congvu.ldif")
        hasher = PasswordHasher()
        config_ldif = render(
            (CONFIG_DIR / "ldap" / "slapd.ldif.in").read_text(encoding="utf-8"),
            state=self.dir,
            base_dn=self.config.base_dn,
            admin_dn=self.config.admin_dn,
            rootpw="{ARGON2}" + hasher.hash(self.config.admin_password),
            dovecot_dn=self.dovecot_dn,
        )
        write_private(self.dir / "config.ldif", config_ldif)
        first_rdn = self.config.base_dn.split(",")[0]
        base_ldif = render(
            (CONFIG_DIR / "ldap" / "base.ldif.in").read_text(encoding="utf-8"),
            base_dn=self.config.base_dn,
            dc=first_rdn.partition("=")[2],
            organization_b64=base64.b64encode(self.config.organization.encode()).decode(),
            dovecot_dn=self.dovecot_dn,
            dovecot_pw_hash="{ARGON2}" + hasher.hash(self.dovecot_password()),
        )
        write_private(self.dir / "base.ldif", base_ldif)
        for args in (
            ["-n0", "-F", str(config_dir), "-l", str(self.dir / "config.ldif")],
            ["-n1", "-F", str(config_dir), "-l", str(self.dir / "base.ldif")],
        ):
            result = subprocess.run([SLAPADD, *args], capture_output=True, text=True)
            if result.returncode != 0:
                shutil.rmtree(config_dir, ignore_errors=True)
                raise ServiceError(f"slapadd {args[0]} failed: {result.stderr.strip()[-2000:]}")

    def pid(self) -> int | None:
        pid = read_pid(self.dir / "slapd.pid")
        return pid if pid_alive(pid) else None

    def start(self) -> None:
        """Start slapd if it is not running; wait until it answers."""
        self._initialise()
        if self.pid():
            return
        # -d keeps slapd in the foreground so its log goes to our file; it is started detached so it
        # outlives us (and is not our child to reap).
        spawn_detached(
            [SLAPD, "-h", f"{self.url}/", "-F", str(self.dir / "slapd.d"), "-d", "stats"],
            self.log_path,
        )
        wait_until(lambda: self.pid() is not None and port_open(self.config.ldap_port), "slapd", self.log_path)

    def stop(self) -> None:
        stop_pid(self.pid(), "slapd")
        (self.dir / "slapd.pid").unlink(missing_ok=True)

    def status(self) -> ServiceStatus:
        pid = self.pid()
        return ServiceStatus("slapd", pid is not None, pid, self.url)
