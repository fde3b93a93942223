"""The shipped deployment files work as they are: nginx accepts them, compose and Docker find their files."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def self_signed(directory: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bot.example.gov.cn")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (directory / "fullchain.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "privkey.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )


def nginx_test(prefix: Path, conf: str) -> subprocess.CompletedProcess[str]:
    assert NGINX is not None
    path = prefix / "nginx.conf"
    path.write_text(f"pid {prefix}/nginx.pid;\nerror_log {prefix}/error.log;\n{conf}", encoding="utf-8")
    return subprocess.run([NGINX, "-t", "-p", str(prefix), "-c", str(path)], capture_output=True, text=True)


@pytest.mark.skipif(NGINX is None, reason="nginx not installed (make deploy-check installs it)")
def test_nginx_accepts_the_public_site(tmp_path: Path) -> None:
    snippets, ssl = tmp_path / "snippets", tmp_path / "ssl"
    snippets.mkdir()
    ssl.mkdir()
    for part in ("trainee-bot-http.conf", "trainee-bot-locations.conf"):
        shutil.copy(DEPLOY / "nginx" / part, snippets / part)
    self_signed(ssl)
    site = (DEPLOY / "nginx" / "trainee-bot.conf").read_text(encoding="utf-8")
    site = site.replace("/etc/nginx/snippets", str(snippets)).replace("/etc/ssl/trainee-bot", str(ssl))
    site = site.replace("/var/log/nginx", str(tmp_path))
    site = re.sub(r"listen \[::\]:\d+[^;]*;", "", site)  # no IPv6 in every sandbox
    done = nginx_test(tmp_path, f"events {{}}\nhttp {{\n{site}\n}}\n")
    assert done.returncode == 0, done.stderr


@pytest.mark.skipif(NGINX is None, reason="nginx not installed (make deploy-check installs it)")
def test_nginx_accepts_the_compose_config(tmp_path: Path) -> None:
    snippets = tmp_path / "snippets"
    snippets.mkdir()
    for part in ("trainee-bot-http.conf", "trainee-bot-locations.conf"):
        shutil.copy(DEPLOY / "nginx" / part, snippets / part)
    conf = (DEPLOY / "nginx" / "compose.conf").read_text(encoding="utf-8")
    conf = conf.replace("/etc/nginx/snippets", str(snippets))
    conf = conf.replace("app1:8080", "127.0.0.1:1").replace("app2:8080", "127.0.0.1:2")
    conf = conf.replace("listen 80;", "listen 127.0.0.1:1;").replace("resolver 127.0.0.11 valid=10s;", "")
    done = nginx_test(tmp_path, conf)
    assert done.returncode == 0, done.stderr


def test_compose_has_the_services_and_its_files_exist() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert {"db", "redis", "app1", "app2", "nginx"} <= set(services)
    assert services["app1"]["environment"]["SCHEDULER_ENABLED"] == "false"
    assert services["app2"]["environment"]["SCHEDULER_ENABLED"] == "true"
    assert services["app1"]["environment"]["DATABASE_URL"].startswith("postgresql+asyncpg://")
    for mount in services["nginx"]["volumes"]:
        source = mount.split(":", 1)[0]
        assert (DEPLOY / source).exists(), source
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    for line in dockerfile.splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), source


def test_units_run_the_cli_that_exists() -> None:
    web = (DEPLOY / "systemd" / "trainee-bot-web@.service").read_text(encoding="utf-8")
    worker = (DEPLOY / "systemd" / "trainee-bot-worker.service").read_text(encoding="utf-8")
    assert "-m bot serve --host 127.0.0.1 --port %i" in web and "SCHEDULER_ENABLED=false" in web
    assert "SCHEDULER_ENABLED=true" in worker and "PROMETHEUS_MULTIPROC_DIR" in worker
    target = (DEPLOY / "systemd" / "trainee-bot.target").read_text(encoding="utf-8")
    assert "trainee-bot-worker.service" in target and "trainee-bot-web@8081.service" in target
