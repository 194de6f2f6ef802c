"""The example partner app against a live hub.

The hub is the real thing, as an operator runs it: `onboarding serve --with-worker` in a
subprocess on a free port, with a temporary SQLite database, a sandbox partner made by
`onboarding create-partner --sandbox` (redirect URL and webhook URL pointing at the app) and a
client with two numbers. The example app serves on `localhost` (another origin than the hub's
127.0.0.1) in a thread of the test process, so that the tests can look into its store. A test
drives both as a browser would, with a `requests.Session` (cookies per host).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from flask import Flask
from partner_testing import (
    CLIENT_EMAIL,
    CLIENT_PASSWORD,
    STARTUP,
    LiveHub,
    Partner,
    free_port,
    partner_config,
    wait_until,
)
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from partner_app import create_app

NUMBERS = ("+4915112340001", "+4915112340002")
CLI = [sys.executable, "-c", "from onboarding.cli import main; main()"]


class _Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.ConnectionError:
        return False


@pytest.fixture(scope="session")
def live_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    workdir = tmp_path_factory.mktemp("live-hub")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items() if not key.startswith("ONBOARDING_")}
    env.update(
        ONBOARDING_DATABASE_URL=f"sqlite:///{workdir / 'hub.db'}",
        ONBOARDING_SECRET_KEY="example-partner-app-tests",
        ONBOARDING_BASE_URL=url,
        ONBOARDING_INSTANCE_PATH=str(workdir / "instance"),
        ONBOARDING_WEBHOOK_ALLOW_PRIVATE="1",  # the example app listens on 127.0.0.1
        ONBOARDING_PASSWORD_HASH_WAIT="30",  # a loaded machine waits for a hashing slot
        PYTHONUNBUFFERED="1",
    )
    subprocess.run([*CLI, "init-db"], env=env, check=True, capture_output=True, timeout=STARTUP)
    log = workdir / "hub.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [*CLI, "serve", "--port", str(port), "--with-worker"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: answers(f"{url}/healthz"), STARTUP, "the hub answering")
        yield LiveHub(url=url, env=env, log=log)
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)


@pytest.fixture(scope="session")
def partner(live_hub: LiveHub) -> Iterator[Partner]:
    # The app listens before the partner exists: the hub's worker starts delivering webhooks
    # (channel.created, ...) at once, and a refused first attempt would wait for its retry.
    apps: list[Flask] = []

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if not apps:  # not reached: no event exists before the partner's app does
            start_response("503 Service Unavailable", [])
            return [b""]
        return apps[0](environ, start_response)

    server: BaseWSGIServer = make_server(
        "127.0.0.1", 0, wsgi, threaded=True, request_handler=_Quiet
    )
    thread = threading.Thread(target=server.serve_forever, name="partner-app", daemon=True)
    thread.start()
    port = server.server_port
    # localhost, not 127.0.0.1: the example app is another origin (and site) than the hub.
    url = f"http://localhost:{port}"
    try:
        credentials = live_hub.cli(
            *("create-partner", "--name", "Example Partner", "--billing", "direct_payment"),
            *("--sandbox", "--redirect-url", f"{url}/callback"),
            *("--webhook-url", f"http://127.0.0.1:{port}/webhooks"),
        )
        apps.append(create_app(partner_config(live_hub, credentials, url)))
        client = live_hub.cli(
            *("create-client", "--partner", credentials["partner_id"], "--name", "Bakery"),
            *("--email", CLIENT_EMAIL, "--password", CLIENT_PASSWORD),
        )
        channel_ids = [
            live_hub.cli("add-channel", "--client", client["client_id"], "--phone", n)["channel_id"]
            for n in NUMBERS
        ]
        yield Partner(live_hub, credentials, client["client_id"], channel_ids, url, apps[0])
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
