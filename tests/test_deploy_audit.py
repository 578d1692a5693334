"""What ``config/deploy/`` ships works as the README's deployment section says.

- every ``CONGVU_*`` name the README, the deploy files and the scripts use is a setting Settings accepts, or one
  the README lists as read outside the application; the environment file template loads as production settings;
- the systemd units pass ``systemd-analyze verify`` and start commands that exist;
- the nginx site, run in front of gunicorn: HTTP goes to HTTPS, static files come from nginx (gunicorn never
  sees them), the console comes through, a client cannot dodge sign-in throttling with a forged
  ``X-Forwarded-For`` (``CONGVU_TRUSTED_PROXIES=1``), an upload over 20 MB stops at nginx;
- logrotate's snippet rotates gunicorn's logs and gunicorn writes on into the new file.
"""

from __future__ import annotations

import re
import shlex
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import requests

from admin_app.migrate import upgrade
from config import Settings, SettingsError, load_settings
from core.actors import SYSTEM
from core.db import make_session_factory, unit_of_work
from provisioning.operations import create_local_admin
from services.common import free_port, port_open
from tests.conftest import app_overrides, database_kind, drop_database, fresh_database_url
from tests.own_database import process_environment

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "config" / "deploy"
README = (ROOT / "README.md").read_text(encoding="utf-8")
SETTINGS = {f"CONGVU_{f.name.upper()}" for f in fields(Settings)}
PASSWORD = "Mat-khau-rat-dai-2026"


def _outside_the_application() -> set[str]:
    """The names the README's configuration reference says are read by scripts and tests, not by congvu."""
    paragraph = README.split("Outside the application:", 1)[1].split("\n\n", 1)[0]
    return set(re.findall(r"CONGVU_[A-Z0-9_]*[A-Z0-9]", paragraph))


def test_every_congvu_name_in_the_docs_deploy_files_and_scripts_is_a_setting_or_read_outside() -> None:
    outside = _outside_the_application()
    assert outside.isdisjoint(SETTINGS), outside & SETTINGS
    sources = [ROOT / "README.md", *sorted(DEPLOY.iterdir()), *sorted((ROOT / "scripts").glob("*.sh"))]
    named: dict[str, set[str]] = {}
    for path in sources:
        # CONGVU_REPORT_* and CONGVU_TEST_* name families, not one variable
        for name in re.findall(r"CONGVU_[A-Z0-9_]*[A-Z0-9](?![A-Z0-9_]*\*)", path.read_text(encoding="utf-8")):
            named.setdefault(name, set()).add(path.name)
    unknown = {name: where for name, where in named.items() if name not in SETTINGS | outside}
    assert unknown == {}
    # and the configuration reference names every setting there is
    table = set(re.findall(r"^\| `(CONGVU_[A-Z0-9_]+)`", README, re.M))
    assert table == SETTINGS


def test_every_deploy_file_is_walked_through_in_the_readme() -> None:
    section = README.split("## Deploying beyond one machine", 1)[1].split("\n## ", 1)[0]
    for path in DEPLOY.iterdir():
        if "@" in path.name:  # a template unit, named by its instances: congvu-worker@N, congvu-ship-logs@mail01
            assert path.name.split("@")[0] + "@" in section, path.name
        else:
            assert f"config/deploy/{path.name}" in section, path.name


def _env_template() -> dict[str, str]:
    values = {}
    for line in (DEPLOY / "congvu.env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    return values


def test_the_environment_file_template_loads_as_production_settings_once_the_secrets_are_filled(
    tmp_path: Path,
) -> None:
    template = _env_template()
    secrets = {"CONGVU_SECRET_KEY", "CONGVU_LDAP_BIND_PASSWORD", "CONGVU_JITSI_APP_SECRET", "CONGVU_EVENTS_TOKEN"}
    assert {k for k, v in template.items() if not v} == secrets  # only the secrets are left to fill in
    env = template | {name: uuid.uuid4().hex + uuid.uuid4().hex for name in secrets}
    settings = load_settings(tmp_path, environ=env)
    assert settings.is_production
    assert settings.effective_database_url.startswith("postgresql+psycopg://")
    assert settings.trusted_proxies == 1  # the one nginx in front
    assert settings.public_url.startswith("https://")
    assert settings.usage_log_files.split(",")[1] == "/var/lib/congvu/shipped/mail01/dovecot.log"
    # the shipped copy is where congvu-ship-logs@mail01 puts it
    ship = (DEPLOY / "congvu-ship-logs@.service").read_text()
    assert "/var/lib/congvu/shipped/%i" in ship
    # without the secrets production refuses to start, naming the first one missing
    with pytest.raises(SettingsError, match="secret_key"):
        load_settings(tmp_path, environ=template)


def _exec_start(unit: str) -> list[str]:
    text = (DEPLOY / unit).read_text().replace("\\\n", " ")
    line = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    return shlex.split(line.removeprefix("ExecStart=").replace("%%", "%"))


def test_the_systemd_units_verify_and_start_commands_that_exist(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    for path in DEPLOY.glob("congvu-*"):
        (tmp_path / path.name).write_text(path.read_text().replace("/opt/congvu", str(ROOT)))
    units = ("congvu-web.service", "congvu-scheduler.service", "congvu-worker@1.service")
    for unit in (*units, "congvu-ship-logs@mail01.service", "congvu-ship-logs@mail01.timer"):
        result = subprocess.run(
            ["systemd-analyze", "verify", "--man=no", f"./{unit}"], cwd=tmp_path, capture_output=True, text=True
        )
        assert result.returncode == 0, (unit, result.stderr)
        assert not result.stderr.strip(), (unit, result.stderr)
    # Every unit reads the environment file the README tells to install.
    for unit in ("congvu-web.service", "congvu-scheduler.service", "congvu-worker@.service"):
        assert "EnvironmentFile=/etc/congvu/congvu.env" in (DEPLOY / unit).read_text()
    # The congvu commands they run exist (their --help answers).
    for unit in ("congvu-scheduler.service", "congvu-worker@.service"):
        argv = _exec_start(unit)
        assert argv[0] == "/opt/congvu/.venv/bin/congvu"
        result = subprocess.run(
            [str(ROOT / ".venv/bin/congvu"), *argv[1:], "--help"],
            capture_output=True,
            text=True,
            env=process_environment({"instance_path": str(tmp_path / "instance")}),
        )
        assert result.returncode == 0, (unit, result.stderr)
    web = _exec_start("congvu-web.service")
    assert web[0] == "/opt/congvu/.venv/bin/gunicorn"
    assert web[-1] == "admin_app:create_app()"
    assert "worker=%(p)s" in web[web.index("--access-logformat") + 1]  # the access log names the worker


# -- nginx in front of gunicorn ------------------------------------------------------------------------


class Front:
    """gunicorn on a database of its own behind the shipped nginx site (ports, certificate and code folder
    moved to this test's)."""

    def __init__(self, tmp: Path, services: Any) -> None:
        self.tmp = tmp
        self.url = fresh_database_url(tmp, "front")
        upgrade(self.url, "heads")
        self.victim = f"qt-front-{uuid.uuid4().hex[:6]}"
        from sqlalchemy import create_engine

        engine = create_engine(self.url)
        with unit_of_work(make_session_factory(engine)) as session:
            create_local_admin(session, SYSTEM, self.victim, PASSWORD)
        engine.dispose()
        self.app_port, self.http_port, self.https_port = free_port(), free_port(), free_port()
        settings = app_overrides(tmp / "instance", self.url, services) | {
            "secret_key": "behind-nginx-" + uuid.uuid4().hex,
            "trusted_proxies": 1,  # as congvu.env.example sets it
        }
        self.env = process_environment(settings)
        self.access_log = tmp / "access.log"
        self.processes: list[subprocess.Popen[bytes]] = []

    def start_gunicorn(self) -> subprocess.Popen[bytes]:
        argv = _exec_start("congvu-web.service")
        argv[0] = str(ROOT / ".venv/bin/gunicorn")
        argv = [
            {"127.0.0.1:8000": f"127.0.0.1:{self.app_port}", "4": "2"}.get(a, a).replace(
                "/var/log/congvu", str(self.tmp)
            )
            for a in argv
        ]
        assert str(self.access_log) in argv
        with (self.tmp / "gunicorn.out").open("ab") as out:
            process = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        self.processes.append(process)
        self._wait(self.app_port, process, self.tmp / "gunicorn.log")
        return process

    def start_nginx(self) -> None:
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(nginx).exists():
            pytest.skip("nginx is not installed (scripts/bootstrap.sh --test installs it)")
        self.cert, key = self.tmp / "cert.pem", self.tmp / "key.pem"
        subprocess.run(
            [
                *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
                *("-keyout", str(key), "-out", str(self.cert), "-subj", "/CN=congvu.gialai.gov.vn"),
                *("-addext", "subjectAltName=DNS:congvu.gialai.gov.vn,IP:127.0.0.1"),
            ],
            check=True,
            capture_output=True,
        )
        site = (DEPLOY / "nginx-congvu.conf").read_text()
        for old, new in {
            "listen 80;": f"listen 127.0.0.1:{self.http_port};",
            "listen [::]:80;": "",
            "listen 443 ssl http2;": f"listen 127.0.0.1:{self.https_port} ssl http2;",
            "listen [::]:443 ssl http2;": "",
            "/etc/ssl/certs/congvu.gialai.gov.vn.pem": str(self.cert),
            "/etc/ssl/private/congvu.gialai.gov.vn.key": str(key),
            "/opt/congvu/": f"{ROOT}/",
            "http://127.0.0.1:8000": f"http://127.0.0.1:{self.app_port}",
        }.items():
            assert old in site, old
            site = site.replace(old, new)
        (self.tmp / "site.conf").write_text(site)
        temp = self.tmp / "nginx-temp"
        temp.mkdir()
        # The main file of Debian's /etc/nginx/nginx.conf, reduced to what a test needs (no system paths).
        (self.tmp / "nginx.conf").write_text(
            f"user root;\nworker_processes 1;\nerror_log {self.tmp}/nginx-error.log;\npid {self.tmp}/nginx.pid;\n"
            "events {}\nhttp {\n  include /etc/nginx/mime.types;\n"
            f"  access_log {self.tmp}/nginx-access.log;\n"
            + "".join(
                f"  {kind}_temp_path {temp}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
            )
            + f"  include {self.tmp}/site.conf;\n}}\n"
        )
        argv = [nginx, "-p", str(self.tmp), "-c", str(self.tmp / "nginx.conf")]
        check = subprocess.run([*argv, "-t"], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        process = subprocess.Popen([*argv, "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.processes.append(process)
        self._wait(self.https_port, process, self.tmp / "nginx-error.log")

    @staticmethod
    def _wait(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
        deadline = time.monotonic() + 60
        while not port_open(port):
            assert process.poll() is None, log.read_text() if log.exists() else "no log"
            assert time.monotonic() < deadline, log.read_text() if log.exists() else "no log"
            time.sleep(0.2)

    def https(self, path: str) -> str:
        return f"https://127.0.0.1:{self.https_port}{path}"

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)
        drop_database(self.url)


@pytest.fixture
def front(tmp_path: Path, services: Any) -> Iterator[Front]:
    front = Front(tmp_path, services)
    try:
        yield front
    finally:
        front.close()


def _gunicorn_saw(front: Front, path: str) -> bool:
    """Whether gunicorn's access log has a request for ``path``."""
    lines = front.access_log.read_text().splitlines() if front.access_log.exists() else []
    return any(f" {path} " in line or f" {path}?" in line for line in lines)


def _wait_until_gunicorn_saw(front: Front, path: str) -> None:
    deadline = time.monotonic() + 10  # gunicorn writes its access line after the response
    while not _gunicorn_saw(front, path):
        assert time.monotonic() < deadline, f"no access log line for {path}"
        time.sleep(0.1)


def test_nginx_serves_static_files_itself_proxies_the_console_and_keeps_the_client_address_honest(
    front: Front,
) -> None:
    front.start_gunicorn()
    front.start_nginx()
    browser = requests.Session()
    browser.trust_env = False  # REQUESTS_CA_BUNDLE in the environment would override the test's certificate
    browser.verify = str(front.cert)

    plain = browser.get(f"http://127.0.0.1:{front.http_port}/login", allow_redirects=False, timeout=30)
    assert plain.status_code == 301
    assert plain.headers["Location"] == "https://127.0.0.1/login"

    static = browser.get(front.https("/static/booking.js"), timeout=30)
    assert static.status_code == 200
    assert static.content == (ROOT / "admin_app/static/booking.js").read_bytes()
    assert "max-age=604800" in static.headers["Cache-Control"]  # expires 7d

    page = browser.get(front.https("/login"), timeout=30)
    assert page.status_code == 200
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000"
    _wait_until_gunicorn_saw(front, "/login")  # the console came through a web worker …
    assert not _gunicorn_saw(front, "/static/booking.js")  # … the static file, asked before it, did not
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page.text)
    assert token

    # A browser's form post names its page; nginx passes the host without the port ($host), as on port 443.
    browser.headers["Referer"] = "https://127.0.0.1/login"
    # Five wrong passwords, each claiming another client address: nginx appends the real one, congvu trusts
    # only that one, so they count against one client and the right password is then refused.
    for n in range(5):
        failed = browser.post(
            front.https("/login"),
            data={"login": front.victim, "password": "sai-mat-khau", "csrf_token": token[1]},
            headers={"X-Forwarded-For": f"203.0.113.{n + 1}"},
            allow_redirects=False,
            timeout=30,
        )
        assert failed.status_code == 401
    refused = browser.post(
        front.https("/login"),
        data={"login": front.victim, "password": PASSWORD, "csrf_token": token[1]},
        headers={"X-Forwarded-For": "198.51.100.7"},
        allow_redirects=False,
        timeout=30,
    )
    assert refused.status_code != 302
    assert "Đăng nhập sai quá nhiều lần vào tài khoản này từ địa chỉ của bạn" in refused.text  # locked, in Vietnamese

    too_big = browser.post(
        front.https("/login"), data=b"x" * (21 * 1024 * 1024), headers={"Content-Type": "text/plain"}, timeout=60
    )
    assert too_big.status_code == 413  # client_max_body_size 20m: stopped before any worker


def test_logrotate_rotates_gunicorns_logs_and_gunicorn_writes_on_in_the_new_file(front: Front) -> None:
    if shutil.which("logrotate") is None and not Path("/usr/sbin/logrotate").exists():
        pytest.skip("logrotate is not installed")
    gunicorn = front.start_gunicorn()
    assert requests.get(f"http://127.0.0.1:{front.app_port}/login?before", timeout=30).status_code == 200
    _wait_until_gunicorn_saw(front, "/login")
    # The snippet as shipped, on this test's folder; its postrotate signals the unit's main process (gunicorn's
    # master) with USR1 through systemctl, done here by pid.
    snippet = (DEPLOY / "logrotate-congvu").read_text()
    postrotate = "systemctl kill --signal=USR1 --kill-whom=main congvu-web.service"
    assert postrotate in snippet
    snippet = snippet.replace("/var/log/congvu", str(front.tmp)).replace(postrotate, f"kill -USR1 {gunicorn.pid}")
    (front.tmp / "logrotate.conf").write_text(snippet)
    logrotate = shutil.which("logrotate") or "/usr/sbin/logrotate"
    result = subprocess.run(
        [logrotate, "--force", "--state", str(front.tmp / "logrotate.state"), str(front.tmp / "logrotate.conf")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    rotated = front.tmp / "access.log.1"
    assert "/login?before" in rotated.read_text()
    deadline = time.monotonic() + 10
    while not (front.access_log.exists() and "/login?after" in front.access_log.read_text()):
        assert time.monotonic() < deadline, "gunicorn did not write into the new access log"
        requests.get(f"http://127.0.0.1:{front.app_port}/login?after", timeout=30)
        time.sleep(0.3)
    assert "/login?after" not in rotated.read_text()  # nothing written into the rotated file
    assert gunicorn.poll() is None
    gunicorn.send_signal(signal.SIGTERM)


# -- congvu services: a provider, its mirror and a consumer ---------------------------------------------


def _ports_with_neighbours() -> dict[str, int]:
    """Free ports for ``congvu services start --consumer --mirror``: the consumer takes LDAP + 1 and IMAP/POP3
    + 1, the mirror LDAP + 2, POP3 listens at IMAP − 33 (admin_app/cli/services.py)."""
    while True:
        ldap, imap, smtp, submission = free_port(), free_port(), free_port(), free_port()
        wanted = [ldap, ldap + 1, ldap + 2, imap, imap + 1, imap - 33, imap - 32, smtp, submission]
        if imap > 1100 and len(set(wanted)) == len(wanted) and not any(port_open(p) for p in wanted):
            return {"ldap": ldap, "imap": imap, "smtp": smtp, "submission": submission}


@pytest.mark.skipif(
    database_kind() != "sqlite", reason="the private servers do not depend on the database: the SQLite run tests it"
)
def test_congvu_services_starts_a_provider_its_mirror_and_a_syncrepl_consumer_that_replicate() -> None:
    import tempfile

    from provisioning.directory import Directory, DirectoryConfig

    instance = Path(tempfile.mkdtemp(prefix="congvu-services-"))  # Dovecot's 'mail' user must reach it
    instance.chmod(0o755)
    ports = _ports_with_neighbours()
    env = process_environment(
        {
            "instance_path": str(instance),
            "ldap_url": f"ldap://127.0.0.1:{ports['ldap']}",
            "imap_port": ports["imap"],
            "smtp_port": ports["smtp"],
            "submission_port": ports["submission"],
        }
    )

    def congvu(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(ROOT / ".venv/bin/congvu"), *args], cwd=ROOT, env=env, capture_output=True, text=True
        )

    def status_of(output: str) -> dict[str, str]:
        return {line.split()[0]: line for line in output.splitlines() if line.strip()}

    base = "dc=gialai,dc=gov,dc=vn"
    connections: list[Directory] = []
    try:
        started = congvu("services", "start", "--consumer", "--mirror")
        assert started.returncode == 0, started.stdout + started.stderr
        lines = status_of(congvu("services", "status").stdout)  # found again from their state, without flags
        expected = {
            "slapd": ports["ldap"],
            "slapd-mirror": ports["ldap"] + 2,
            "slapd-consumer": ports["ldap"] + 1,
            "dovecot": ports["imap"],
            "dovecot-consumer": ports["imap"] + 1,
        }
        for name, port in expected.items():
            assert "running" in lines[name], lines
            assert str(port) in lines[name], lines
        assert "running" in lines["postfix"], lines
        password = (instance / "ldap_bind_password").read_text().strip()
        provider, mirror, consumer = (
            Directory(DirectoryConfig(f"ldap://127.0.0.1:{port}", base, f"cn=admin,{base}", password, 3))
            for port in (ports["ldap"], ports["ldap"] + 2, ports["ldap"] + 1)
        )
        connections += [provider, mirror, consumer]
        # Written to either provider, an entry reaches the other provider and the consumer.
        for number, writer in enumerate((provider, mirror)):
            dn = f"ou=services{number},{base}"
            writer.upsert(dn, ["top", "organizationalUnit"], {"ou": [f"services{number}"]})
            deadline = time.monotonic() + 10
            while not all(reader.read(dn, ["ou"]) is not None for reader in (provider, mirror, consumer)):
                assert time.monotonic() < deadline, f"{dn} did not replicate to every server"
                time.sleep(0.1)
    finally:
        for connection in connections:
            connection.close()
        stopped = congvu("services", "stop")
        after = congvu("services", "status")
        shutil.rmtree(instance, ignore_errors=True)
    assert stopped.returncode == 0, stopped.stderr
    assert after.returncode == 3
    assert all("stopped" in line for line in status_of(after.stdout).values()), after.stdout
