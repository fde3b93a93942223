"""`make deploy-check`: Debian's nginx, with the shipped locations, in front of two `serve` processes.

What it brings up, all on loopback and in a temporary directory:
- a fresh PostgreSQL database on the local server (DEPLOY_CHECK_PG, default
  postgresql://postgres@127.0.0.1:5432/postgres), loaded with the demo data;
- a fake WeChat API (tests/fakes) for the outbound side;
- two `python -m bot serve` processes (one with the scheduler), sharing a
  Prometheus multiprocess directory, logging JSON lines;
- nginx (foreground master, its own prefix) with deploy/nginx/trainee-bot-http.conf
  and deploy/nginx/trainee-bot-locations.conf, as the real site uses them.

Then it drives a web chat, a signed WeChat callback and a staff broadcast
through nginx and checks what came out; every check prints one line. Exit 0
only when all passed. Everything it started is stopped and the database dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import asyncpg
from aiohttp import web
from wechatpy.utils import WeChatSigner

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.fake_wechat import FakeWeChat  # noqa: E402

PG = os.environ.get("DEPLOY_CHECK_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
WECHAT_TOKEN = "deploy-check-token"
ADMIN_TOKEN = "deploy-check-admin"
OPENID = "o-deploy-check"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_nginx() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if not found:
        raise SystemExit(
            "nginx is not installed (make deploy-check installs Debian's package: apt-get install nginx)"
        )
    return found


class Report:
    def __init__(self) -> None:
        self.failed = 0
        self.passed = 0
        self.started = time.monotonic()

    def check(self, ok: bool, what: str, detail: str = "") -> bool:
        mark = "ok  " if ok else "FAIL"
        self.passed += ok
        self.failed += not ok
        print(f"  {mark} {what}" + (f" — {detail}" if detail else ""), flush=True)
        return ok


def nginx_conf(prefix: Path, port: int, upstreams: list[int]) -> Path:
    snippets = ROOT / "deploy" / "nginx"
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=2 fail_timeout=5s;" for p in upstreams)
    conf = prefix / "nginx.conf"
    conf.write_text(
        f"""
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 256; }}
http {{
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {snippets}/trainee-bot-http.conf;
    access_log {prefix}/access.log trainee_bot;
    upstream trainee_bot {{
{servers}
        keepalive 8;
    }}
    server {{
        listen 127.0.0.1:{port};
        include {snippets}/trainee-bot-locations.conf;
    }}
}}
""",
        encoding="utf-8",
    )
    return conf


async def wait_http(url: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with http.get(url, timeout=aiohttp.ClientTimeout(total=2)) as resp:
                    if resp.status == 200:
                        return True
            await asyncio.sleep(0.3)
    return False


async def eventually(probe: Callable[[], Awaitable[bool]], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await probe():
            return True
        await asyncio.sleep(0.3)
    return False


def signed(timestamp: str, nonce: str) -> dict[str, str]:
    signer = WeChatSigner()
    signer.add_data(WECHAT_TOKEN, timestamp, nonce)
    return {"signature": signer.signature, "timestamp": timestamp, "nonce": nonce}


def text_xml(content: str, msg_id: int) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_check]]></ToUserName><FromUserName><![CDATA[{OPENID}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


async def run(report: Report, tmp: Path) -> None:
    nginx = find_nginx()
    dbname = f"deploy_check_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG)
    await admin.execute(f'CREATE DATABASE "{dbname}"')
    await admin.close()
    db_url = "postgresql+asyncpg://" + PG.split("://", 1)[1].rsplit("/", 1)[0] + f"/{dbname}"
    procs: list[asyncio.subprocess.Process] = []
    runner: web.AppRunner | None = None
    try:
        fake = FakeWeChat()
        runner = web.AppRunner(fake.app())
        await runner.setup()
        fake_port = free_port()
        await web.TCPSite(runner, "127.0.0.1", fake_port).start()

        metrics_dir = tmp / "metrics"
        metrics_dir.mkdir()
        base_env = {k: v for k, v in os.environ.items() if not k.startswith(("WECHAT_", "TELEGRAM_", "BOT_"))}
        base_env.update(
            DATABASE_URL=db_url,
            SECRET_KEY="deploy-check-secret",
            ADMIN_TOKEN=ADMIN_TOKEN,
            WECHAT_TOKEN=WECHAT_TOKEN,
            WECHAT_APP_ID=fake.app_id,
            WECHAT_APP_SECRET=fake.app_secret,
            WECHAT_API_BASE=f"http://127.0.0.1:{fake_port}",
            LOG_FORMAT="json",
            PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
            SEED_DEMO="false",
        )
        seeded = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "bot", "seed-demo"],
            cwd=ROOT,
            env={**base_env, "BOT_DATA_DIR": str(tmp / "seed")},
            capture_output=True,
            text=True,
            timeout=180,
        )
        report.check(seeded.returncode == 0, "demo data loaded into a fresh PostgreSQL database", dbname)

        ports = [free_port(), free_port()]
        logs = []
        for i, port in enumerate(ports):
            log = (tmp / f"app{i + 1}.log").open("wb")
            logs.append(tmp / f"app{i + 1}.log")
            env = {
                **base_env,
                "BOT_DATA_DIR": str(tmp / f"data{i + 1}"),
                "SCHEDULER_ENABLED": str(i == 1).lower(),
            }
            procs.append(
                await asyncio.create_subprocess_exec(
                    *[sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        ready = [await wait_http(f"http://127.0.0.1:{p}/healthz", 150) for p in ports]
        report.check(all(ready), "two serve processes healthy", f"ports {ports}")
        if not all(ready):
            return

        prefix = tmp / "nginx"
        prefix.mkdir()
        port = free_port()
        conf = nginx_conf(prefix, port, ports)
        test = await asyncio.to_thread(
            subprocess.run, [nginx, "-t", "-p", str(prefix), "-c", str(conf)], capture_output=True, text=True
        )
        if not report.check(
            test.returncode == 0,
            "nginx accepts the shipped snippets (nginx -t)",
            "" if test.returncode == 0 else test.stderr[-300:],
        ):
            return
        procs.append(
            await asyncio.create_subprocess_exec(
                nginx, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"
            )
        )
        front = f"http://127.0.0.1:{port}"
        report.check(await wait_http(f"{front}/healthz", 15), "nginx up in front of them", front)
        await drive(report, front, ports, fake, logs)
    finally:
        for proc in reversed(procs):
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
        for proc in procs:
            try:
                await asyncio.wait_for(proc.wait(), 20)
            except TimeoutError:
                proc.kill()
        if runner is not None:
            await runner.cleanup()
        admin = await asyncpg.connect(PG)
        await admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        await admin.close()


async def drive(report: Report, front: str, ports: list[int], fake: FakeWeChat, logs: list[Path]) -> None:
    staff = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http:
        async with http.get(f"{front}/healthz", headers={"X-Request-Id": "check-rid-1"}) as resp:
            body = await resp.json()
            report.check(
                resp.status == 200
                and body.get("db") == "ok"
                and resp.headers.get("X-Request-Id") == "check-rid-1",
                "GET /healthz through nginx; the caller's X-Request-Id comes back",
                json.dumps(body),
            )
        async with http.get(f"{front}/healthz") as resp:
            rid = resp.headers.get("X-Request-Id", "")
            report.check(len(rid) == 32, "without one, nginx's $request_id is used and echoed", rid)

        started = time.perf_counter()
        statuses = []
        for i, text in enumerate(["你好", "我能参加补贴培训吗", "签到", "补贴到哪了", "转人工", "你好"]):
            async with http.post(
                f"{front}/api/v1/chat", json={"user_id": f"web-{i % 2}", "text": text}
            ) as resp:
                statuses.append(resp.status)
                await resp.read()
        ms = (time.perf_counter() - started) * 1000 / len(statuses)
        report.check(statuses == [200] * 6, "six web chat turns through nginx", f"{ms:.0f} ms per turn")

        async with http.post(f"{front}/api/v1/chat", data=b"x" * (2 * 1024 * 1024)) as resp:
            report.check(resp.status == 413, "a 2 MiB body is stopped at nginx (413)", str(resp.status))

        async with http.get(f"{front}/api/v1/admin/trainees", headers=staff, params={"name": "张伟"}) as resp:
            items = (await resp.json()).get("trainees", []) if resp.status == 200 else []
        trainee_id = next((t["id"] for t in items if t.get("name") == "张伟"), None)
        async with http.post(
            f"{front}/api/v1/admin/bind-codes",
            headers=staff,
            json={"kind": "trainee", "trainee_id": trainee_id},
        ) as resp:
            code = (await resp.json()).get("code") if resp.status in (200, 201) else None
        report.check(bool(code), "staff API: a bind code issued through nginx", f"trainee {trainee_id}")

        replies = []
        for n, text in enumerate([f"绑定码 {code}", "签到"]):
            ts, nonce = str(int(time.time())), f"{n}4680"
            started = time.perf_counter()
            async with http.post(
                f"{front}/wechat", params=signed(ts, nonce), data=text_xml(text, 9100 + n).encode()
            ) as r:
                replies.append((r.status, await r.text(), (time.perf_counter() - started) * 1000))
        # Plaintext mode (this check sets no WECHAT_AES_KEY): a bound user's personal answers leave the
        # passive reply and go as customer-service messages (docs/security.md), so look for them there.

        async def said(words: str) -> bool:
            return any(words in text for text in fake.to(OPENID))

        bind_ok = replies[0][0] == 200 and (
            "绑定成功" in replies[0][1] or await eventually(lambda: said("绑定成功"), 15)
        )
        report.check(
            bind_ok,
            "WeChat callback (signed XML) bound the user; the answer reached them",
            f"{replies[0][2]:.0f} ms",
        )
        second_ok = replies[1][0] == 200 and replies[1][2] < 5000
        second_ok = second_ok and ("<Content>" in replies[1][1] or await eventually(lambda: said("签到"), 15))
        report.check(
            second_ok,
            "a second WeChat message acknowledged within WeChat's 5 s and answered",
            f"{replies[1][2]:.0f} ms",
        )
        forged = {**signed(str(int(time.time())), "1"), "signature": "0" * 40}
        async with http.post(f"{front}/wechat", params=forged, data=text_xml("x", 1).encode()) as resp:
            report.check(resp.status == 403, "a forged WeChat signature is refused (403)", str(resp.status))

        notice = {"title": "停课通知", "text": "部署检查:明天停课一天。", "audience": {"channel": "wechat"}}
        async with http.post(f"{front}/api/v1/admin/broadcasts", headers=staff, json=notice) as resp:
            created = await resp.json()
            report.check(resp.status == 201, "broadcast created through nginx", f"id {created.get('id')}")

        async def delivered() -> bool:
            return any(openid == OPENID and "停课" in text for openid, text in fake.texts)

        started = time.perf_counter()
        got = await eventually(delivered, 30)
        report.check(
            got,
            "the broadcast reached the WeChat user (outbox → WeChat API)",
            f"{time.perf_counter() - started:.1f} s",
        )

        async with http.get(f"{front}/metrics") as resp:
            report.check(
                resp.status == 404, "/metrics is not served to the outside through nginx", str(resp.status)
            )
        async with http.get(f"http://127.0.0.1:{ports[0]}/metrics") as resp:
            text = await resp.text()
        turns = sum(
            float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith("bot_turns_total{")
        )
        report.check(
            resp.status == 200 and turns >= 8,
            "/metrics on one process counts the turns of both (multiprocess mode)",
            f"{turns:.0f} turns",
        )
        for series in (
            "bot_turn_seconds_bucket",
            "bot_nlu_parse_seconds_count",
            "bot_outbox_sends_total",
            "bot_outbox_depth",
            "bot_handover_queue_length",
            "bot_http_requests_total",
        ):
            report.check(series in text, f"series {series} present")

    lines = [
        json.loads(line) for path in logs for line in path.read_text().splitlines() if line.startswith("{")
    ]
    turn_lines = [ln for ln in lines if ln.get("logger") == "bot.turn"]
    access = [
        ln for ln in lines if ln.get("logger") == "bot.access" and ln.get("request_id") == "check-rid-1"
    ]
    texts_leaked = any("绑定码" in json.dumps(ln, ensure_ascii=False) for ln in turn_lines)
    report.check(
        len(turn_lines) >= 8 and not texts_leaked,
        "JSON turn lines, no message text",
        f"{len(turn_lines)} lines",
    )
    report.check(
        bool(access) and access[0].get("forwarded_for", "-") != "-",
        "access line with the request id and X-Forwarded-For from nginx",
    )
    noise = sum("maximum number of running instances" in path.read_text() for path in logs)
    report.check(noise == 0, "no APScheduler 'maximum number of running instances' lines")


def main() -> int:
    report = Report()
    print(f"deploy-check: nginx in front of two serve processes on {PG.rsplit('@', 1)[-1]}", flush=True)
    with tempfile.TemporaryDirectory(prefix="deploy-check-") as tmp:
        try:
            asyncio.run(run(report, Path(tmp)))
        except Exception as exc:
            report.check(False, "deploy-check ran to the end", f"{type(exc).__name__}: {exc}")
            for log in Path(tmp).glob("app*.log"):
                print(f"--- {log.name} (last lines)\n" + "\n".join(log.read_text().splitlines()[-15:]))
    seconds = time.monotonic() - report.started
    total = report.passed + report.failed
    if report.failed:
        print(f"deploy-check FAILED: {report.failed} of {total} checks failed ({seconds:.0f} s)")
    else:
        print(f"deploy-check passed: all {total} checks ({seconds:.0f} s)")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
