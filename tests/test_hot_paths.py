"""What the hot paths' shortcuts must keep: authlib's transport rule, one cookie per login,
prepared reads that see the request's own writes and what others committed, and the production
server's command line."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from email.message import Message
from pathlib import Path

import pytest
from authlib.common.security import is_secure_transport
from flask import Flask, request
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from onboarding import security
from onboarding.db import Prepared
from onboarding.models import ApiKey, Channel, Side
from onboarding.permissions.keys import channel_for_key, generate_api_key
from tests.conftest import submit_login
from tests.test_consent_http import CONSENT, answer, arrange, start

ROOT = Path(__file__).resolve().parent.parent

HOSTS = [  # (Host header, whether plain http to it counts as secure: loopback only)
    ("localhost", True), ("localhost:5000", True), ("127.0.0.1", True),
    ("127.0.0.1:5000", True), ("127.1.2.3", True), ("[::1]:8000", True),
    ("[::ffff:127.0.0.1]", True), ("hub.example", False), ("127.0.0.1.nip.io", False),
    ("localhost.evil.example", False), ("10.0.0.1", False), ("[::2]", False),
]  # fmt: skip


@pytest.mark.parametrize(("host", "secure"), HOSTS)
def test_secure_transport_keeps_authlibs_rule_over_http(
    app: Flask, host: str, secure: bool
) -> None:
    with app.test_request_context("/messaging/v1/channel?x=1", base_url=f"http://{host}"):
        assert bool(is_secure_transport(request.url)) is secure  # authlib on the whole URL
        assert security.secure_transport() is secure


@pytest.mark.parametrize("host", ["hub.example", "10.0.0.1"])
def test_https_is_secure_anywhere(app: Flask, host: str) -> None:
    with app.test_request_context("/", base_url=f"https://{host}"):
        assert security.secure_transport()


def test_the_first_page_after_login_sends_no_second_cookie(
    client: FlaskClient, db: Session
) -> None:
    account = arrange(db)
    started = start(client, account.partner.public_id, {"state": "s"})
    logged_in = submit_login(client, started.headers["Location"], account.user.email)
    assert logged_in.status_code == 303
    assert "session=" in logged_in.headers.get("Set-Cookie", "")

    page = client.get(logged_in.headers["Location"])
    assert page.status_code == 200
    assert "Set-Cookie" not in page.headers  # the CSRF secret came with the login's cookie
    # ... and the token it renders is the one the POST is checked against.
    answered = answer(client, page.get_data(as_text=True), channels=account.ids[:1])
    assert answered.status_code == 303, answered.get_data(as_text=True)[:300]
    assert client.post(CONSENT, data={"flow": "x", "action": "allow"}).status_code == 400


_CHANNEL_NAME = Prepared(select(Channel.name).where(Channel.public_id == Channel.public_id))


def test_a_prepared_read_inside_a_transaction_sees_its_writes(app: Flask, db: Session) -> None:
    account = arrange(db, channels=1)
    channel = account.channels[0]
    key = generate_api_key(db, channel, side=Side.CLIENT, actor="test")
    db.flush()  # not committed: only this transaction can see the key
    assert db.in_transaction()
    assert channel_for_key(db, key.secret) is not None
    db.execute(update(ApiKey).values(revoked_at=ApiKey.created_at))
    assert channel_for_key(db, key.secret) is None  # revoked: refused by the very next read


def test_a_prepared_read_reports_database_errors_as_sqlalchemys(tmp_path: Path) -> None:
    from onboarding.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")  # no tables
    with Session(engine) as session, pytest.raises(DBAPIError, match="no such table"):
        _CHANNEL_NAME.all(session)
    engine.dispose()


def test_serve_refuses_a_webhook_thread_beside_gunicorn_workers(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["serve", "--workers", "2", "--with-worker"])
    assert result.exit_code == 2
    assert "onboarding webhooks work" in result.output


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(port: int, path: str, headers: dict[str, str]) -> tuple[int, Message]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status, response.headers
    finally:
        connection.close()


@pytest.mark.skipif(sys.platform == "win32", reason="gunicorn runs on POSIX only")
def test_serve_with_workers_runs_gunicorn_and_trusts_no_forwarded_header(tmp_path: Path) -> None:
    """Two worker processes answer; a forged X-Forwarded-Proto from loopback does not make
    plain http count as HTTPS (ProxyFix alone decides, and it is off here)."""
    from onboarding.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'serve.db'}"
    upgrade(url)
    port = free_port()
    env = {**os.environ, "ONBOARDING_DATABASE_URL": url, "ONBOARDING_SECRET_KEY": "k" * 32}
    command = [str(Path(sys.executable).parent / "onboarding"), "serve", "--port", str(port)]
    server = subprocess.Popen(  # noqa: S603 (our own command line)
        [*command, "--workers", "2"], env=env, cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, headers = get(port, "/healthz", {})
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None
                time.sleep(0.2)
        assert status == 200
        assert headers.get("Server", "").startswith("gunicorn")
        forged = {"Host": "hub.example", "X-Forwarded-Proto": "https"}
        status, headers = get(port, "/partners/p_nobody/permission", forged)
        assert status == 404
        assert "Strict-Transport-Security" not in headers  # still plain http
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=20)
    assert "Booting worker" in output and output.count("Booting worker") == 2
