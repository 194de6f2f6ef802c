"""A view inside (issue 8, item 6): /healthz, /readyz, /metrics, request ids and JSON logs."""

from __future__ import annotations

import io
import json
import logging
import socket
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Connection, Engine, event, select, text
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from onboarding import create_app
from onboarding.db import utcnow
from onboarding.models import BillingModel, GrantedVia, Side, WebhookOutbox
from onboarding.observability import health, logs
from onboarding.permissions.keys import generate_api_key
from onboarding.permissions.service import revoke
from onboarding.webhooks.delivery import deliver_due
from onboarding.webhooks.service import set_webhook_url
from tests.api import api_headers, make_account
from tests.factories import make_channel, make_client, make_partner
from tests.standalone import standalone_app
from tests.test_consent_http import answer, arrange, open_consent

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
DURATION = "onboarding_http_request_duration_seconds_count"


def scrape(client: FlaskClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    samples: Samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def problem(response: TestResponse, code: str) -> dict[str, Any]:
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.headers["Retry-After"] == "5"
    body: dict[str, Any] = response.get_json(force=True)
    assert body["status"] == 503
    assert body["code"] == code
    assert body["type"] == f"urn:onboarding:problem:{code}"
    assert body["title"] == "Service Unavailable"
    return body


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def statements(connection: Connection) -> list[str]:
    """Every SQL statement sent on the test's connection from now on."""
    sent: list[str] = []

    @event.listens_for(connection, "before_cursor_execute")
    def _record(*args: Any) -> None:
        sent.append(args[2])

    return sent


# --- /healthz and /readyz ----------------------------------------------------------------------


def test_healthz_says_ok_and_touches_no_database(
    client: FlaskClient, connection: Connection
) -> None:
    sent = statements(connection)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"
    assert sent == []


def test_readyz_is_ready_at_the_latest_migration_in_a_few_queries(
    client: FlaskClient, connection: Connection
) -> None:
    sent = statements(connection)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready"}
    assert response.headers["Cache-Control"] == "no-store"
    queries = [s for s in sent if not s.upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK"))]
    assert 2 <= len(queries) <= 4, queries  # SELECT 1, the revision (+ its table's existence)


def _older_revision() -> str:
    script = health._script()
    (head,) = script.get_heads()
    down = script.get_revision(head).down_revision
    assert isinstance(down, str)
    return down


@pytest.mark.parametrize(
    ("revision", "code", "shown"),
    [
        pytest.param("older", "migrations_behind", "older", id="behind"),
        pytest.param(None, "migrations_behind", "no schema", id="never-migrated"),
        pytest.param("9999_from_the_future", "migrations_unknown", "9999", id="unknown"),
    ],
)
def test_readyz_refuses_until_migrations_match_the_code(
    client: FlaskClient, connection: Connection, revision: str | None, code: str, shown: str
) -> None:
    if revision is None:
        connection.execute(text("DELETE FROM alembic_version"))
    else:
        revision = _older_revision() if revision == "older" else revision
        shown = revision if shown == "older" else shown
        connection.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    body = problem(client.get("/readyz"), code)
    assert shown in body["detail"]
    assert next(iter(health.code_heads())) in body["detail"]


@pytest.fixture(params=["sqlite", "postgresql"])
def unreachable_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'no-such-directory' / 'hub.db'}"
    return f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/test"


def test_probes_while_the_database_is_unreachable(unreachable_url: str) -> None:
    with standalone_app(unreachable_url) as app:
        client = app.test_client()
        alive = client.get("/healthz")
        assert alive.status_code == 200
        assert alive.get_json() == {"status": "ok"}
        not_ready = client.get("/readyz")
        problem(not_ready, "database_unreachable")
        assert not_ready.headers["Cache-Control"] == "no-store"


def test_probes_need_no_login_or_csrf_and_are_not_rate_limited(
    database: tuple[str, Engine],
) -> None:
    url, _engine = database
    limits = {"WTF_CSRF_ENABLED": True, "API_RATE_LIMIT": 1, "LOGIN_FAILURE_LIMIT": 1}
    with standalone_app(url, **limits) as app:
        client = app.test_client()
        for _ in range(25):
            for path in ("/healthz", "/readyz", "/metrics"):
                assert client.get(path).status_code == 200, path
                assert client.head(path).status_code == 200, path


# --- /metrics: who may read it -----------------------------------------------------------------

REMOTE = "203.0.113.7"


@pytest.mark.parametrize(
    ("token", "remote_addr", "headers", "status"),
    [
        pytest.param(None, "127.0.0.1", {}, 200, id="no-token-loopback"),
        pytest.param(None, "::1", {}, 200, id="no-token-loopback-v6"),
        pytest.param(None, REMOTE, {}, 404, id="no-token-remote"),
        pytest.param(None, "127.0.0.1", {"X-Forwarded-For": REMOTE}, 404, id="no-token-proxied"),
        pytest.param(None, "127.0.0.1", {"Forwarded": f"for={REMOTE}"}, 404, id="no-token-fwd"),
        pytest.param(
            "s3cret-token", REMOTE, {"Authorization": "Bearer s3cret-token"}, 200, id="token-remote"
        ),
        pytest.param("s3cret-token", "127.0.0.1", {}, 401, id="token-missing-even-on-loopback"),
        pytest.param(
            "s3cret-token", REMOTE, {"Authorization": "Bearer s3cret-tokeN"}, 401, id="token-wrong"
        ),
        pytest.param(
            "s3cret-token",
            REMOTE,
            {"Authorization": "Bearer s3cret-token-longer"},
            401,
            id="token-longer",
        ),
        pytest.param(
            "s3cret-token",
            REMOTE,
            {"Authorization": "Basic s3cret-token"},
            401,
            id="token-wrong-scheme",
        ),
        pytest.param(
            12345, REMOTE, {"Authorization": "Bearer 12345"}, 200, id="numeric-token-from-env"
        ),
    ],
)
def test_who_may_read_metrics(
    app: Flask, token: Any, remote_addr: str, headers: dict[str, str], status: int
) -> None:
    app.config["METRICS_TOKEN"] = token
    response = app.test_client().get(
        "/metrics", headers=headers, environ_base={"REMOTE_ADDR": remote_addr}
    )
    assert response.status_code == status
    if status == 200:
        assert response.mimetype == "text/plain"
        assert "onboarding_http_request_duration_seconds" in response.get_data(as_text=True)
        assert response.headers["Cache-Control"] == "no-store"
    else:
        assert "onboarding_" not in response.get_data(as_text=True)
    if status == 401:
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="metrics"'


# --- /metrics: what it says --------------------------------------------------------------------


def test_latency_is_labelled_by_endpoint_never_by_path(client: FlaskClient, db: Session) -> None:
    accounts = [make_account(db) for _ in range(2)]
    db.commit()
    before = scrape(client)
    for account in accounts:
        assert client.get(account.path(), headers=api_headers(account)).status_code == 200
    assert client.get(accounts[0].path()).status_code == 401
    assert client.get("/no/such/page/p_123").status_code == 404
    assert client.open("/healthz", method="BREW").status_code == 405
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    endpoint = "partner_api.get_partner"
    assert delta(DURATION, endpoint=endpoint, method="GET", status="2xx") == 2
    assert delta(DURATION, endpoint=endpoint, method="GET", status="4xx") == 1
    assert (
        delta("onboarding_http_responses_total", endpoint=endpoint, method="GET", code="401") == 1
    )
    assert delta(DURATION, endpoint="unmatched", method="GET", status="4xx") == 1
    assert delta(DURATION, endpoint="unmatched", method="OTHER", status="4xx") == 1
    bucket = "onboarding_http_request_duration_seconds_bucket"
    assert value(after, bucket, endpoint=endpoint, method="GET", status="2xx", le="+Inf") >= 2
    labels = {v for (_name, pairs) in after for (_k, v) in pairs}
    for account in accounts:
        assert not any(account.id in label for label in labels)
    assert not any("p_123" in label or "BREW" in label for label in labels)


def test_webhook_backlog_is_counted_at_scrape_time_in_one_query(
    client: FlaskClient, db: Session, connection: Connection
) -> None:
    before = scrape(client)
    partner = make_partner(
        db, billing=BillingModel.PARTNER_PAYMENT, webhook_url="https://p.example/h"
    )
    customer, _user = make_client(db, partner)
    make_channel(db, customer)
    rows = list(db.scalars(select(WebhookOutbox).where(WebhookOutbox.partner_id == partner.id)))
    rows[0].created_at = utcnow() - timedelta(hours=2)
    db.commit()
    sent = statements(connection)
    after = scrape(client)
    assert len(rows) >= 3  # client.created, channel.created, permission.granted
    backlog = value(after, "onboarding_webhook_backlog") - value(
        before, "onboarding_webhook_backlog"
    )
    assert backlog == len(rows)
    assert value(after, "onboarding_webhook_backlog_oldest_seconds") >= 2 * 3600
    assert len([s for s in sent if "webhook_outbox" in s]) == 1


def test_delivery_outcomes_are_counted(client: FlaskClient, db: Session) -> None:
    partner = make_partner(
        db, billing=BillingModel.PARTNER_PAYMENT, webhook_url="https://p.example/h"
    )
    make_client(db, partner)
    gone = make_partner(db, webhook_url="https://gone.example/h")
    make_client(db, gone)
    db.commit()
    pending = len(
        db.scalars(select(WebhookOutbox).where(WebhookOutbox.partner_id == partner.id)).all()
    )
    set_webhook_url(db, gone, None)
    db.commit()
    counter = "onboarding_webhook_deliveries_total"
    before = scrape(client)

    def refuse(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
        return 503

    def accept(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
        return 204

    now = utcnow()
    deliver_due(db, clock=lambda: now, post=refuse)  # one retry for partner, one failure for gone
    later = now + timedelta(minutes=1)
    deliver_due(db, clock=lambda: later, post=accept)
    after = scrape(client)
    assert value(after, counter, outcome="retry") - value(before, counter, outcome="retry") == 1
    delivered = value(after, counter, outcome="delivered") - value(
        before, counter, outcome="delivered"
    )
    assert delivered == pending
    failed = value(after, counter, outcome="failed") - value(before, counter, outcome="failed")
    gone_rows = db.scalars(select(WebhookOutbox).where(WebhookOutbox.partner_id == gone.id)).all()
    assert failed == len(gone_rows) >= 1


def test_consents_are_counted_by_action_once_committed(client: FlaskClient, db: Session) -> None:
    account = arrange(db)
    counter = "onboarding_consents_total"
    before = scrape(client)
    page = open_consent(client, account)
    assert answer(client, page, channels=account.ids[:1]).status_code == 303
    page = open_consent(client, account)
    assert answer(client, page, action="cancel").status_code == 303
    replayed = answer(client, page, action="allow")  # a spent flow: refused, nothing committed
    assert replayed.status_code == 400
    after = scrape(client)
    assert value(after, counter, action="allow") - value(before, counter, action="allow") == 1
    assert value(after, counter, action="deny") - value(before, counter, action="deny") == 1


def test_generated_keys_are_counted_by_side_only_when_committed(
    client: FlaskClient, db: Session
) -> None:
    partner = make_partner(db, billing=BillingModel.PARTNER_PAYMENT)
    customer, _user = make_client(db, partner)
    channel = make_channel(db, customer)
    db.commit()
    counter = "onboarding_api_keys_generated_total"
    before = scrape(client)
    generate_api_key(db, channel, side=Side.PARTNER, actor="test")
    db.rollback()  # the caller's transaction failed: no key exists, none is counted
    generate_api_key(db, channel, side=Side.PARTNER, actor="test")
    db.commit()
    revoke(db, customer, [channel], via=GrantedVia.CLIENT_HUB, actor="test")
    generate_api_key(db, channel, side=Side.CLIENT, actor="test")
    db.commit()
    after = scrape(client)
    assert value(after, counter, side="partner") - value(before, counter, side="partner") == 1
    assert value(after, counter, side="client") - value(before, counter, side="client") == 1


# --- request ids -------------------------------------------------------------------------------


@pytest.mark.parametrize("given", ["abc-123", "A.b_C-9", "x" * 64, "0123456789abcdef" * 2])
def test_a_sane_request_id_is_carried_through(client: FlaskClient, given: str) -> None:
    assert client.get("/healthz", headers={"X-Request-ID": given}).headers["X-Request-ID"] == given


@pytest.mark.parametrize(
    "given",
    ["", "x" * 65, "has space", "semi;colon", "üñí", "a/b", "<script>", "id\tx"],
)
def test_an_odd_request_id_is_replaced_by_a_new_one(client: FlaskClient, given: str) -> None:
    first = client.get("/healthz", headers={"X-Request-ID": given}).headers["X-Request-ID"]
    second = client.get("/healthz", headers={"X-Request-ID": given}).headers["X-Request-ID"]
    assert first != given and second != given and first != second
    assert len(first) == 32 and int(first, 16) >= 0


@pytest.mark.parametrize(
    ("path", "status"),
    [("/no-such-page", 404), ("/partners/p_x%00/permission", 400), ("/api/v1/partners/p_x", 401)],
)
def test_refusals_carry_the_request_id_too(client: FlaskClient, path: str, status: int) -> None:
    response = client.get(path, headers={"X-Request-ID": "trace-me"})
    assert response.status_code == status
    assert response.headers["X-Request-ID"] == "trace-me"


# --- logs --------------------------------------------------------------------------------------


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def log_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_logs_carry_the_request_id_and_never_the_query(
    app: Flask, restore_logging: None
) -> None:
    @app.get("/test-logs")
    def _logs() -> str:
        logging.getLogger("onboarding.test").warning("inside the view")
        return "ok"

    stream = io.StringIO()
    logs.install("json", "INFO", stream)
    client = app.test_client()
    secret_query = "state=s3cret-state&email=someone%40client.example&flow=tok3n"
    response = client.get(f"/test-logs?{secret_query}", headers={"X-Request-ID": "req-42"})
    other = client.get("/healthz")
    logging.getLogger("onboarding.test").info("outside any request")

    lines = log_lines(stream)
    inside = [line for line in lines if line["message"] == "inside the view"]
    assert inside and inside[0]["request_id"] == "req-42" == response.headers["X-Request-ID"]
    assert inside[0]["level"] == "WARNING" and inside[0]["name"] == "onboarding.test"
    access = [line for line in lines if line["name"] == "onboarding.access"]
    assert [(a["path"], a["request_id"]) for a in access] == [
        ("/test-logs", "req-42"),
        ("/healthz", other.headers["X-Request-ID"]),
    ]
    assert access[0]["method"] == "GET" and access[0]["status"] == 200
    assert access[0]["endpoint"] == "_logs"
    assert isinstance(access[0]["duration_ms"], float | int) and access[0]["duration_ms"] >= 0
    assert access[1]["endpoint"] == "observability.healthz"
    assert lines[-1]["message"] == "outside any request" and lines[-1]["request_id"] is None
    output = stream.getvalue()
    for secret in ("s3cret-state", "someone", "tok3n", "client.example"):
        assert secret not in output


def test_text_logs_carry_the_request_id_and_escape_control_characters(
    client: FlaskClient, restore_logging: None
) -> None:
    stream = io.StringIO()
    logs.install("text", "INFO", stream)
    client.get("/forged%0A2026-01-01 INFO fake", headers={"X-Request-ID": "req-7"})
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    assert "[req-7]" in lines[0] and "/forged\\n2026-01-01 INFO fake" in lines[0]


@pytest.mark.parametrize(
    ("config", "installed"),
    [
        ({"LOG_FORMAT": "json"}, "json"),
        ({"LOG_FORMAT": "text"}, "text"),
        ({"LOG_FORMAT": None}, None),
        ({"LOG_FORMAT": "json", "TESTING": True}, None),
    ],
)
def test_log_format_from_config(
    tmp_path: Path, restore_logging: None, config: dict[str, Any], installed: str | None
) -> None:
    create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "SECRET_KEY": "k", **config})
    ours = [h for h in logging.getLogger().handlers if isinstance(h, logs._Handler)]
    if installed is None:
        assert ours == []
    else:
        (handler,) = ours
        is_json = type(handler.formatter).__name__ == "JsonFormatter"
        assert is_json == (installed == "json")


def test_installing_twice_keeps_one_handler(restore_logging: None) -> None:
    logs.install("json", "INFO", io.StringIO())
    logs.install("text", "INFO", io.StringIO())
    assert len([h for h in logging.getLogger().handlers if isinstance(h, logs._Handler)]) == 1


def test_an_unknown_log_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "LOG_FORMAT": "xml"})
