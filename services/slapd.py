"""The private OpenLDAP slapd: its own cn=config folder and database in the state folder, log beside them.

Nothing touches /etc or the system's slapd. The base entries include the account Dovecot binds with.
Each slapd has a role (:class:`Replication`): a provider (the default: syncprov, the overlays, the base
entries), a syncrepl consumer of a provider (no overlays; everything arrives replicated), or one of two
providers in mirror mode (each replicating the other). It may run from a Debian chroot (``chroot``).
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher

from services.common import (
    CONFIG_DIR,
    Server,
    ServiceConfig,
    ServiceError,
    port_open,
    render,
    spawn_detached,
    wait_until,
    write_private,
)

SLAPD = "/usr/sbin/slapd"
SLAPADD = "/usr/sbin/slapadd"


@dataclass(frozen=True)
class Replication:
    """A slapd's place in replication: ``provides`` (syncprov and the overlays), ``reads_from`` (the providers
    it replicates, each an olcSyncrepl), ``server_id`` and ``mirror`` for two providers in mirror mode."""

    provides: bool = True
    reads_from: tuple[str, ...] = ()
    server_id: int = 0
    mirror: bool = False

    @property
    def loads_base(self) -> bool:
        """Only the first provider is loaded with the base entries; every other slapd receives them."""
        return self.provides and self.server_id <= 1


PROVIDER = Replication()


def consumer_of(provider_url: str) -> Replication:
    return Replication(provides=False, reads_from=(provider_url,))


def mirror_of(other_url: str, server_id: int) -> Replication:
    return Replication(provides=True, reads_from=(other_url,), server_id=server_id, mirror=True)


class Slapd(Server):
    """Start, stop and inspect a private slapd described by a :class:`ServiceConfig` and its role.

    ``name`` names its folder and ``port`` its loopback port (default: the config's ``ldap_port``)."""

    program = "slapd"

    def __init__(
        self,
        config: ServiceConfig,
        root: Path,
        *,
        name: str = "slapd",
        port: int | None = None,
        role: Replication = PROVIDER,
        chroot: Path | None = None,
    ) -> None:
        self.config = config
        self.root = root
        self.name = name
        self.port = port or config.ldap_port
        self.role = role
        self.chroot = chroot
        self.dir = (chroot / "var/lib/congvu" / root.name / name) if chroot else root / name

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        return self.url

    @property
    def pid_file(self) -> Path:
        return self.dir / "slapd.pid"

    def _replication_ldif(self) -> tuple[str, str]:
        """The global ``olcServerID`` line and the database's olcSyncrepl/olcMirrorMode/olcUpdateRef lines."""
        role = self.role
        template = (CONFIG_DIR / "ldap" / "syncrepl.ldif.in").read_text(encoding="utf-8").strip()
        lines = [
            render(
                template,
                rid=f"{100 + number:03d}",
                provider_url=url,
                admin_dn=self.config.admin_dn,
                admin_password=self.config.admin_password,
                base_dn=self.config.base_dn,
            )
            for number, url in enumerate(role.reads_from, start=1)
        ]
        if role.mirror:
            lines.append("olcMirrorMode: TRUE")
        elif role.reads_from:
            # Writes sent to a consumer are referred to its provider.
            lines.append(f"olcUpdateRef: {role.reads_from[0]}")
        server_id = f"olcServerID: {role.server_id}" if role.server_id else ""
        return server_id, "\n".join(lines)

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
        server_id, replication = self._replication_ldif()
        values = {
            "state": self._inside(self.dir),
            "base_dn": self.config.base_dn,
            "admin_dn": self.config.admin_dn,
            "rootpw": "{ARGON2}" + hasher.hash(self.config.admin_password),
            "dovecot_dn": self.dovecot_dn,
            "server_id": server_id,
            "replication": replication,
        }
        config_ldif = render((CONFIG_DIR / "ldap" / "slapd.ldif.in").read_text(encoding="utf-8"), **values)
        if self.role.provides:
            overlays = (CONFIG_DIR / "ldap" / "slapd-overlays.ldif.in").read_text(encoding="utf-8")
            config_ldif += "\n" + render(overlays, **values)
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
        loads = [["-n0", "-F", str(self._inside(config_dir)), "-l", str(self._inside(self.dir / "config.ldif"))]]
        if self.role.loads_base:
            # -w writes the contextCSN, so consumers see the base entries as a provider's changes.
            loads.append(
                ["-n1", "-w", "-F", str(self._inside(config_dir)), "-l", str(self._inside(self.dir / "base.ldif"))]
            )
        for args in loads:
            result = subprocess.run(self._command(SLAPADD, *args), capture_output=True, text=True)
            if result.returncode != 0:
                shutil.rmtree(config_dir, ignore_errors=True)
                raise ServiceError(f"slapadd {args[0]} failed: {result.stderr.strip()[-2000:]}")

    def start(self) -> None:
        """Start slapd if it is not running; wait until it answers."""
        self._initialise()
        if self.pid():
            return
        # -d keeps slapd in the foreground so its log goes to our file; it is started detached so it
        # outlives us (and is not our child to reap).
        spawn_detached(
            self._command(SLAPD, "-h", f"{self.url}/", "-F", str(self._inside(self.dir / "slapd.d")), "-d", "stats"),
            self.log_path,
        )
        wait_until(lambda: self.pid() is not None and port_open(self.port), self.name, self.log_path)

    def stop(self) -> None:
        super().stop()
        self.pid_file.unlink(missing_ok=True)
