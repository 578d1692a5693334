"""What the private servers share: their configuration, loopback ports, detached processes and pid files.

The processes outlive the Python process that started them; pid files let a later process stop them.
"""

from __future__ import annotations

import os
import signal
import socket
import string
import subprocess
import time
import zoneinfo
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
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
    # Replication (0: not run). A syncrepl consumer of the provider, with a Dovecot of its own reading it,
    # and a second provider in mirror mode (chosen when the state folder is first made).
    consumer_ldap_port: int = 0
    consumer_imap_port: int = 0
    consumer_pop3_port: int = 0
    mirror_ldap_port: int = 0
    # The zone the servers write their log times in, as a server installed in the province does; log
    # ingestion reads them in the suite's CONGVU_TIMEZONE, so the two must agree.
    timezone: str = "Asia/Ho_Chi_Minh"


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    is_running: bool
    pid: int | None
    address: str


class Server(ABC):
    """What the private servers do alike: each has a folder of its own (``dir``, inside ``chroot`` if it runs
    from one) with its log ``<program>.log`` and a pid file, and is stopped and reported on the same way."""

    program: ClassVar[str]
    name: str
    dir: Path
    config: ServiceConfig
    chroot: Path | None = None

    @property
    def log_path(self) -> Path:
        return self.dir / f"{self.program}.log"

    @property
    @abstractmethod
    def pid_file(self) -> Path: ...

    @property
    @abstractmethod
    def address(self) -> str:
        """Where it listens, as its status shows it."""

    @abstractmethod
    def start(self) -> None: ...

    def pid(self) -> int | None:
        """The running server's pid; a pid file left by one that died is None."""
        pid = read_pid(self.pid_file)
        return pid if pid_alive(pid) else None

    def stop(self) -> None:
        stop_pid(self.pid(), self.name)

    def status(self) -> ServiceStatus:
        pid = self.pid()
        return ServiceStatus(self.name, pid is not None, pid, self.address)

    def _inside(self, path: Path) -> Path:
        """``path`` as the server's process sees it (inside its chroot, if any)."""
        return Path("/") / path.relative_to(self.chroot) if self.chroot else path

    def _command(self, binary: str, *args: str) -> list[str]:
        return ["chroot", str(self.chroot), binary, *args] if self.chroot else [binary, *args]

    def _start_forking(self, command: list[str], ready: Callable[[], bool]) -> None:
        """Run ``command``, which puts the server in the background and returns (Dovecot, Postfix); report a
        failed start with the end of its output and of the server's log, else wait until ``ready``."""
        startup_log = self.dir / "startup.log"
        # Not a pipe: the daemon would inherit it and we would wait for EOF forever.
        with startup_log.open("wb") as out:
            result = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=daemon_env(self.config))
        if result.returncode != 0:
            raise ServiceError(f"{self.name} failed to start: {tail(startup_log)}\n{tail(self.log_path)}")
        wait_until(ready, self.name, self.log_path)


def posix_tz(name: str) -> str:
    """The POSIX TZ rule of the IANA zone ``name`` (``"<+07>-7"`` for Asia/Ho_Chi_Minh), else ``name``.

    A rule needs no zoneinfo file, so a daemon keeps its zone in a chroot without tzdata (the Debian 13
    Dovecot, Postfix's chrooted services). It is the footer line of the zone's TZif file.
    """
    for folder in zoneinfo.TZPATH:
        try:
            footer = (Path(folder) / name).read_bytes().rstrip(b"\n").rsplit(b"\n", 1)[-1]
        except OSError:
            continue
        rule = footer.decode("ascii", "replace").strip()
        if rule and not rule.startswith("TZif"):
            return rule
    return name


def daemon_env(config: ServiceConfig) -> dict[str, str]:
    """The environment a private daemon starts with: ours, with its log times in the province's zone."""
    return {**os.environ, "TZ": posix_tz(config.timezone)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def pid_alive(pid: int | None) -> bool:
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


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def spawn_detached(argv: list[str], log_path: Path) -> None:
    """Start ``argv`` in a new session via a shell that exits at once; output appended to ``log_path``."""
    subprocess.run(
        ["/bin/sh", "-c", 'setsid "$@" >>"$0" 2>&1 </dev/null &', str(log_path), *argv],
        check=True,
    )


def render(template: str, **values: object) -> str:
    return string.Template(template).substitute({k: str(v) for k, v in values.items()})


def write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


def wait_until(ready: Callable[[], bool], name: str, log: Path) -> None:
    """Poll ``ready`` until it holds; after START_TIMEOUT fail with the end of the service's log."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.1)
    raise ServiceError(f"{name} did not start within {START_TIMEOUT:.0f} s; log {log}:\n{tail(log)}")


def stop_pid(pid: int | None, name: str) -> None:
    """SIGTERM, then SIGKILL if the process is still there after START_TIMEOUT."""
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    if pid_alive(pid):
        raise ServiceError(f"{name} (pid {pid}) did not stop")
