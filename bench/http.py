"""The hot paths over HTTP, as ratios to a bare Flask endpoint served the same way (issue 8).

Both apps run under the production server the docs recommend, gunicorn with one gthread worker
per core (`onboarding serve --workers N`; the bare app through the same onboarding.serving
settings), side by side in one run; wrk (Debian's package) loads them from a third process, on
loopback, for a bounded time, bare and path in turns (PAIRS times). The ratio is that of the two
apps' best runs, as timeit takes the best of its repeats: other work on the machine, or wrk's 16
connections landing mostly on one of the two workers, only ever slows a run (either app's rate
can fall to a third for one run). The ratio of the median runs is printed beside it. Then,
in-process: a consent POST of 1,000 and 10,000 numbers.

    .venv/bin/python -m bench.http [seconds]            # SQLite file (the embedded set-up)
    ONBOARDING_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        .venv/bin/python -m bench.http                  # PostgreSQL, in a schema of its own
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import argon2.profiles
from argon2 import PasswordHasher
from sqlalchemy import create_engine, insert, select, text

from onboarding import create_app, security, serving
from onboarding.accounts import new_login
from onboarding.cli import OPERATOR, new_partner
from onboarding.clients.service import create_client
from onboarding.db import get_session
from onboarding.migrate import upgrade
from onboarding.models import Channel, ChannelStatus, Client, GrantedVia, Side
from onboarding.permissions.keys import generate_api_key
from onboarding.permissions.service import add_channel, grant

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
WORKERS = os.cpu_count() or 1  # what docs/operations.md recommends: one per core
SCHEMA = "bench_http"
SECRET = "bench-secret-key"
PAIRS = 5  # bare, then the path, this many times for each path
PASSWORD = "benchmark password"
TOKEN = re.compile(r'name="(csrf_token|flow)" type="hidden" value="([^"]+)"')
CHANNELS = re.compile(r'name="channels" value="([^"]+)"')


@dataclass
class Fixture:
    url: str
    partner_id: str
    partner_key: str
    channel_id: str
    channel_key: str
    cookie: str
    flows: dict[int, tuple[str, str]]  # numbers → (consent path, cookie)


def database_url(workdir: Path, schema: str = SCHEMA) -> str:
    """A scratch SQLite file, or the PostgreSQL URL given with a fresh schema of our own (one
    per bench: two benches sharing one dropped each other's tables mid-run)."""
    url = os.environ.get("ONBOARDING_BENCH_DATABASE_URL")
    if not url:
        return f"sqlite:///{workdir / 'bench.db'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options=-csearch_path%3D{schema}"


def bulk_channels(session: Any, client: Client, count: int, prefix: str) -> None:
    """`count` running numbers in Core inserts: a set-up, not the path under test."""
    rows = [
        {
            "client_id": client.id,
            "partner_id": client.partner_id,  # given: the column default would look it up
            "phone_number": f"+{prefix}{n:07d}",
            "name": f"Line {n}",
            "status": ChannelStatus.RUNNING,
        }
        for n in range(count)
    ]
    for start in range(0, count, 5000):
        session.execute(insert(Channel), rows[start : start + 5000])


def build(url: str, big: tuple[int, ...] = (1000, 10000)) -> Fixture:
    """A partner, a client with 10 numbers (one shared, with a partner key), logged in; and one
    client per size in `big` with that many numbers, each logged in with a consent flow open."""
    security._hasher = PasswordHasher.from_parameters(argon2.profiles.CHEAPEST)
    upgrade(url)
    app = create_app(
        {"DATABASE_URL": url, "SECRET_KEY": SECRET, "RATELIMIT_ENABLED": False, "TESTING": False}
    )
    with app.app_context():
        session = get_session()
        partner, secrets = new_partner(
            session, name="Bench", billing="direct_payment", brand_name=None,
            redirect_urls=["https://partner.example/cb"], webhook_url=None, owner_email=None,
        )  # fmt: skip
        client, _ = create_client(
            session, partner, name="Bench client",
            login=new_login("bench@client.example", PASSWORD), actor=OPERATOR,
        )  # fmt: skip
        channels = [
            add_channel(
                session,
                client,
                f"+4915100000{n:03d}",
                f"Line {n}",
                actor=OPERATOR,
                status=ChannelStatus.RUNNING,
            )
            for n in range(10)
        ]
        grant(session, client, channels[:1], via=GrantedVia.OPERATOR, actor=OPERATOR)
        key = generate_api_key(session, channels[0], side=Side.PARTNER, actor=OPERATOR)
        for size in big:
            other, _ = create_client(
                session, partner, name=f"Big {size}",
                login=new_login(f"big{size}@client.example", PASSWORD), actor=OPERATOR,
            )  # fmt: skip
            session.flush()
            bulk_channels(session, other, size, f"49{size:06d}")
        session.commit()
        fixture = Fixture(
            url=url,
            partner_id=partner.public_id,
            partner_key=secrets["api_key"],
            channel_id=channels[0].public_id,
            channel_key=key.secret,
            cookie="",
            flows={},
        )
    fixture.cookie, consent = log_in(app, fixture.partner_id, "bench@client.example")
    fixture.flows[10] = (consent, fixture.cookie)
    for size in big:
        cookie, consent = log_in(app, fixture.partner_id, f"big{size}@client.example")
        fixture.flows[size] = (consent, cookie)
    return fixture


def log_in(app: Any, partner_id: str, email: str) -> tuple[str, str]:
    """The session cookie of a fresh login and the consent page's path (flow open 15 min)."""
    browser = app.test_client()
    link = f"/partners/{partner_id}/permission?state=bench"
    login_page = browser.get(browser.get(link).headers["Location"]).text
    tokens = dict(TOKEN.findall(login_page))
    answer = browser.post("/login", data={**tokens, "email": email, "password": PASSWORD})
    assert answer.status_code == 303, answer.status_code
    cookie = browser.get_cookie("session")
    assert cookie is not None
    return cookie.value, answer.headers["Location"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served(which: str, url: str, *, limits: bool) -> Iterator[str]:
    """`onboarding serve --workers N` (the hub) or the bare app under the same gunicorn
    settings."""
    port = free_port()
    env = {
        **os.environ,
        "ONBOARDING_DATABASE_URL": url,
        "ONBOARDING_SECRET_KEY": SECRET,
        "ONBOARDING_RATELIMIT_ENABLED": "true" if limits else "false",
        "ONBOARDING_API_RATE_LIMIT": str(10**9),
        "ONBOARDING_LOG_LEVEL": "WARNING",
    }
    if which == "hub":
        command = [
            str(Path(PYTHON).parent / "onboarding"),
            "serve",
            "--port",
            str(port),
            "--workers",
            str(WORKERS),
        ]
    else:
        command = [PYTHON, "-m", "bench.serve_bare", str(port), str(WORKERS)]
    process = subprocess.Popen(  # noqa: S603 (our own command line)
        command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"{which} did not start") from None
                time.sleep(0.1)
        time.sleep(1)  # gunicorn listens before its workers have loaded the app
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Load:
    rps: float
    p50: float
    p99: float
    errors: int


def _ms(value: str) -> float:
    number = float(re.sub(r"[a-z]+$", "", value))
    if value.endswith("us"):
        return number / 1000
    if value.endswith("ms"):
        return number
    if value.endswith("m"):
        return number * 60000
    return number * 1000  # seconds


def wrk(url: str, seconds: float, headers: dict[str, str], connections: int = 16) -> Load:
    """wrk -t2 -c16 for `seconds`; non-2xx answers count as errors (a bench that measures 401s
    or 429s measures nothing)."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds:g}s", "--latency", "--timeout", "10s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run(  # noqa: S603 (wrk, our arguments)
        [*command, url], capture_output=True, text=True, check=True, timeout=seconds + 60
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors:.*timeout (\d+)", output)
    failed = (int(bad.group(1)) if bad else 0) + (int(errors.group(1)) if errors else 0)
    return Load(rps, p50, p99, failed)


def python_load(url: str, requests: int, headers: dict[str, str]) -> Load:
    """Without wrk: sequential requests from this (separate) process; slower, but comparable
    between the two apps."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    samples = []
    errors = 0
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    try:
        for _ in range(requests):
            start = time.perf_counter()
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            samples.append(time.perf_counter() - start)
            errors += response.status >= 400
    finally:
        connection.close()
    samples.sort()
    return Load(
        len(samples) / sum(samples),
        statistics.median(samples) * 1000,
        samples[int(len(samples) * 0.99) - 1] * 1000,
        errors,
    )


def load(url: str, seconds: float, headers: dict[str, str]) -> Load:
    if shutil.which("wrk"):
        return wrk(url, seconds, headers)
    return python_load(url, max(int(seconds * 100), 20), headers)


def consent_post(fixture: Fixture, size: int, rounds: int) -> float:
    """Seconds for Allow with every one of `size` numbers ticked (median of `rounds`), through
    the app in-process; each round opens a fresh flow."""
    app = create_app(
        {"DATABASE_URL": fixture.url, "SECRET_KEY": SECRET, "RATELIMIT_ENABLED": False}
    )
    times = []
    for _ in range(rounds):
        browser = app.test_client()
        browser.set_cookie("session", fixture.flows[size][1])
        link = f"/partners/{fixture.partner_id}/permission?state=bench"
        page = browser.get(browser.get(link).headers["Location"]).text
        with app.app_context():
            session = get_session()
            client_id = session.scalar(select(Client.id).where(Client.name == f"Big {size}"))
            ids = list(
                session.scalars(select(Channel.public_id).where(Channel.client_id == client_id))
            )
        tokens = dict(TOKEN.findall(page))
        start = time.perf_counter()
        answer = browser.post(
            "/permission/consent", data={**tokens, "channels": ids, "action": "allow"}
        )
        times.append(time.perf_counter() - start)
        assert answer.status_code == 303, (answer.status_code, answer.text[:500])
        # Undo, so that the next round shares them again (set by the same bulk path).
        page = browser.get(browser.get(link).headers["Location"]).text
        tokens = dict(TOKEN.findall(page))
        undo = browser.post("/permission/consent", data={**tokens, "action": "allow"})
        assert undo.status_code == 303, undo.status_code
    return statistics.median(times)


def main(seconds: float = 3, big: tuple[int, ...] = (1000, 10000), rounds: int = 3) -> list[str]:
    workdir = Path(tempfile.mkdtemp(prefix="onboarding-bench-http-"))
    url = database_url(workdir)
    engine = url.split(":", 1)[0].split("+")[0]
    fixture = build(url, big)
    api = f"/api/v1/partners/{fixture.partner_id}"
    paths = [
        ("channel-key check", "/messaging/v1/channel",
         {"Authorization": f"Bearer {fixture.channel_key}"}, 0.5),
        ("permission check", f"{api}/channels/{fixture.channel_id}/permission",
         {"X-API-Key": fixture.partner_key}, 0.45),
        ("consent GET (10 numbers)", fixture.flows[10][0],
         {"Cookie": f"session={fixture.cookie}"}, 0.3),
    ]  # fmt: skip
    for size in big:
        consent, cookie = fixture.flows[size]
        paths.append(
            (f"consent GET ({size:,} numbers)", consent, {"Cookie": f"session={cookie}"}, 0)
        )
    lines = [
        f"onboarding HTTP bench — {engine}, both apps: gunicorn {serving.WORKER_CLASS} "
        f"workers={WORKERS} threads={serving.THREADS} (onboarding.serving), wrk -t2 -c16 "
        f"-d{seconds:g}s, bare and path in turns {PAIRS}x (x bare: best runs; median: median "
        f"runs), {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs",
        f"{'path':<30} {'limits':<6} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'x bare':>7} "
        f"{'median':>7} target",
    ]
    print(*lines, sep="\n", flush=True)
    for limits in (False, True):
        with served("bare", url, limits=limits) as bare, served("hub", url, limits=limits) as hub:
            yardsticks: list[Load] = []
            for label, path, headers, target in paths:
                # Bare and path in turns, PAIRS times: a noisy spell on this shared machine
                # slows both apps' runs in it, not one app's for the whole row.
                pairs = [
                    (load(f"{bare}/bare", seconds, {}), load(f"{hub}{path}", seconds, headers))
                    for _ in range(PAIRS)
                ]
                yardsticks += [yardstick for yardstick, _ in pairs]
                runs = sorted((measured for _, measured in pairs), key=lambda m: m.rps)
                result = runs[-1]  # the best run, with its latencies
                ratio = result.rps / max(y.rps for y, _ in pairs)
                median = statistics.median(m.rps for _, m in pairs) / statistics.median(
                    y.rps for y, _ in pairs
                )
                verdict = ""
                if target and engine == "sqlite":  # the targets are the embedded set-up's
                    verdict = f"≥ {target} {'ok' if ratio >= target else 'MISSED'}"
                elif target:
                    verdict = f"(SQLite's: ≥ {target})"
                errors = sum(measured.errors for _, measured in pairs)
                if errors:
                    verdict += f" ({errors} errors!)"
                line = (
                    f"{label:<30} {'on' if limits else 'off':<6} {result.rps:8.0f} "
                    f"{result.p50:8.2f} {result.p99:8.2f} {ratio:7.2f} {median:7.2f} {verdict}"
                )
                print(line, flush=True)
                lines.append(line)
            bare_rps = max(yardstick.rps for yardstick in yardsticks)
            line = f"{'bare Flask JSON (best)':<30} {'on' if limits else 'off':<6} {bare_rps:8.0f}"
            print(line, flush=True)
            lines.append(line)
    posts = {size: consent_post(fixture, size, rounds) for size in big}
    for size, spent in posts.items():
        line = f"consent POST Allow, {size:,} numbers ticked: {spent * 1000:.0f} ms"
        print(line, flush=True)
        lines.append(line)
    if len(big) == 2:
        line = (
            f"POST {big[1]:,}/{big[0]:,} ratio: {posts[big[1]] / posts[big[0]]:.1f} (target ≤ 12)"
        )
        print(line, flush=True)
        lines.append(line)
    return lines


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 3)
