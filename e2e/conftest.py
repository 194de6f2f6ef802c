"""Browser end-to-end fixtures: the hub on a live server, a partner's callback receiver, Chromium.

The hub runs in a thread of the test process against a SQLite file, so the test can arrange data
(through the `demo` CLI command) and check results in the same database the browser changes.
Every test starts with empty tables and gets a fresh browser context (no cookies).
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, Playwright, sync_playwright
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy import Engine
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

import onboarding.models  # noqa: F401  (registers every table on Base.metadata)
from onboarding import create_app
from onboarding.db import Base
from onboarding.migrate import upgrade

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DESKTOP = {"width": 1280, "height": 800}
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "e2e" / "artifacts"
TIMEOUT_MS = 10_000


@dataclass
class LiveServer:
    app: Flask
    url: str  # http://127.0.0.1:PORT, no trailing slash

    @property
    def engine(self) -> Engine:
        engine: Engine = self.app.extensions["db"].engine
        return engine

    @property
    def demo_file(self) -> Path:
        return Path(self.app.instance_path) / "demo.json"


class _QuietRequestHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    workdir = tmp_path_factory.mktemp("e2e")
    url = f"sqlite:///{workdir / 'e2e.db'}"
    upgrade(url)

    # The server socket comes first so that BASE_URL can be the real address; requests reach the
    # app through this indirection once it exists.
    apps: list[Flask] = []

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        return apps[0](environ, start_response)

    server: BaseWSGIServer = make_server(
        "127.0.0.1", 0, wsgi, threaded=True, request_handler=_QuietRequestHandler
    )
    base_url = f"http://127.0.0.1:{server.server_port}"
    app = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "e2e",
            "BASE_URL": base_url,
            "ISSUER": None,
            "DEMO_RECEIVER": False,
            "PROXY_FIX": False,
            "WEBHOOK_ALLOW_PRIVATE": True,  # the receiver listens on 127.0.0.1
        }
    )
    app.instance_path = str(workdir)
    apps.append(app)

    thread = threading.Thread(target=server.serve_forever, name="e2e-hub", daemon=True)
    thread.start()
    try:
        yield LiveServer(app=app, url=base_url)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        app.extensions["db"].engine.dispose()


RECEIVER_PAGE = (
    b"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
    b"<link rel='icon' href='data:,'><title>Partner</title></head>"
    b"<body><h1>Partner received the callback</h1></body></html>"
)
# The partner's logo, for the screens that show it (an image from the partner's own origin).
RECEIVER_LOGO = (
    b"<svg xmlns='http://www.w3.org/2000/svg' width='64' height='64' viewBox='0 0 64 64'>"
    b"<rect width='64' height='64' rx='14' fill='#1d4ed8'/>"
    b"<text x='32' y='42' font-size='28' text-anchor='middle' fill='#fff'"
    b" font-family='sans-serif'>A</text></svg>"
)


@dataclass
class Receiver:
    """A stand-in for the partner's web app: records every GET it answers."""

    url: str  # the registered redirect URL: http://127.0.0.1:PORT/callback
    _paths: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, path: str) -> None:
        with self._lock:
            self._paths.append(path)

    def clear(self) -> None:
        with self._lock:
            self._paths.clear()

    @property
    def paths(self) -> list[str]:
        with self._lock:
            return list(self._paths)

    def callbacks(self) -> list[str]:
        return [path for path in self.paths if path.split("?", 1)[0] == "/callback"]


class _ReceiverServer(ThreadingHTTPServer):
    daemon_threads = True
    receiver: Receiver


class _ReceiverHandler(BaseHTTPRequestHandler):
    server: _ReceiverServer

    def do_GET(self) -> None:
        self.server.receiver.record(self.path)
        logo = self.path == "/logo.svg"
        body = RECEIVER_LOGO if logo else RECEIVER_PAGE
        self.send_response(200)
        self.send_header("Content-Type", "image/svg+xml" if logo else "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    server = _ReceiverServer(("127.0.0.1", 0), _ReceiverHandler)
    server.receiver = Receiver(url=f"http://127.0.0.1:{server.server_port}/callback")
    thread = threading.Thread(target=server.serve_forever, name="e2e-receiver", daemon=True)
    thread.start()
    try:
        yield server.receiver
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture(autouse=True)
def fresh_state(live_server: LiveServer, receiver: Receiver) -> None:
    """Each test starts with empty tables, no demo.json and no recorded callbacks."""
    with live_server.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    live_server.demo_file.unlink(missing_ok=True)
    receiver.clear()


@pytest.fixture
def demo(live_server: LiveServer, receiver: Receiver) -> dict[str, Any]:
    """`onboarding demo` with the receiver as the partner's redirect URL, as parsed JSON."""
    result = live_server.app.test_cli_runner().invoke(
        args=["demo", "--redirect-url", receiver.url, "--json"]
    )
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    driver = sync_playwright().start()
    try:
        yield driver
    finally:
        driver.stop()


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
    )
    try:
        yield browser
    finally:
        browser.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed or hasattr(report, "wasxfail")
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page in a new context (no cookies), desktop-sized; on failure its screenshot is kept
    under e2e/artifacts/."""
    context = browser.new_context(viewport=DESKTOP, locale="en-US", timezone_id="UTC")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page
        if request.node.stash.get(_FAILED, False):
            ARTIFACTS.mkdir(exist_ok=True)
            with contextlib.suppress(PlaywrightError):
                page.screenshot(path=ARTIFACTS / f"{request.node.name}.png", full_page=True)
    finally:
        context.close()
