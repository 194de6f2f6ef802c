"""The encrypted, expiring, single-use flow token (SPEC §5.2; issue 7, hole 10)."""

from __future__ import annotations

import base64
import binascii
import html
import re
import time
import zlib
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy.orm import Session

from onboarding.consent import flow
from onboarding.consent.request import PermissionRequest
from onboarding.ids import new_id
from tests.factories import make_partner

REQUEST = PermissionRequest(
    partner_id="pa_x", redirect_url="https://p.example/cb", state="a&b=c ü", channels=["ch_1"]
)
# Personal data and the partner's values, each easy to spot in any encoding.
PERSONAL = PermissionRequest(
    partner_id="pa_Partner7Identity",
    redirect_url="https://partner.example/onboarding/callback",
    state="state-S3cr3t-of-the-partner",
    channels=["ch_FirstChannelId0"],
    number="+4915112345678",
    email="jane.doe@client-company.example",
    name="Jane Doe Plumbing GmbH",
    next="signup",
    partner_payload="crm-customer-4711-payload",
)


def test_round_trip_keeps_the_request(app: Flask) -> None:
    with app.app_context():
        request, nonce = flow.read(flow.issue(REQUEST))
    assert request == REQUEST
    assert len(nonce) >= 20


def test_each_token_has_its_own_nonce(app: Flask) -> None:
    with app.app_context():
        nonces = {flow.read(flow.issue(REQUEST))[1] for _ in range(5)}
    assert len(nonces) == 5


def test_tampered_token_is_refused_without_a_request(app: Flask) -> None:
    with app.app_context():
        token = flow.issue(REQUEST)
        tampered = token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB")
        with pytest.raises(flow.FlowError) as refused:
            flow.read(tampered)
    assert refused.value.request is None


def test_expired_token_is_refused_but_offers_a_restart(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    with app.app_context():
        token = flow.issue(REQUEST)
        # The token's clock, moved to the last second of the 15 minutes, then past them.
        issued = int(time.time())
        monkeypatch.setattr(flow, "_now", lambda: issued + 15 * 60)
        assert flow.read(token)[0] == REQUEST
        monkeypatch.setattr(flow, "_now", lambda: issued + 15 * 60 + 2)
        with pytest.raises(flow.FlowError, match="expired") as refused:
            flow.read(token)
    assert refused.value.request == REQUEST


def test_a_token_from_the_future_is_refused(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    with app.app_context():
        monkeypatch.setattr(flow, "_now", lambda: int(time.time()) + 5 * 60)
        token = flow.issue(REQUEST)
        monkeypatch.undo()
        with pytest.raises(flow.FlowError, match="not valid") as refused:
            flow.read(token)
    assert refused.value.request is None


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(lambda secret: Fernet.generate_key(), id="a random key"),
        pytest.param(
            lambda secret: base64.urlsafe_b64encode(secret.encode().ljust(32, b"\0")[:32]),
            id="the secret key itself",
        ),
    ],
)
def test_a_token_encrypted_with_another_key_is_refused(app: Flask, key: object) -> None:
    """Only the key derived for flow tokens opens them, not SECRET_KEY as such."""
    with app.app_context():
        plain = flow._pack({"request": REQUEST.to_dict(), "nonce": "n" * 22})
        foreign = Fernet(key(app.config["SECRET_KEY"])).encrypt(plain)  # type: ignore[operator]
        with pytest.raises(flow.FlowError, match="not valid") as refused:
            flow.read(foreign.decode().rstrip("="))
    assert refused.value.request is None


def test_a_token_of_the_signed_kind_from_before_is_refused(app: Flask) -> None:
    """Tokens of the previous revision (itsdangerous, signed, readable) open nothing."""
    with app.app_context():
        old = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="onboarding.consent.flow")
        token = old.dumps({"request": REQUEST.to_dict(), "nonce": "n"})
        with pytest.raises(flow.FlowError, match="not valid"):
            flow.read(token)


@pytest.mark.parametrize("garbage", ["", "=", "a", "AAAA", "ä" * 40, "gAAAA.bad", "x" * 8001])
def test_garbage_is_refused_as_invalid(app: Flask, garbage: str) -> None:
    with app.app_context(), pytest.raises(flow.FlowError, match="not valid") as refused:
        flow.read(garbage)
    assert refused.value.request is None


# -- nothing personal can be read from a token --------------------------------------------------


def readable_forms(token: str) -> Iterator[bytes]:
    """The token and whatever decoding anyone could try: base64 of each dot-separated part, with
    or without padding, and zlib on top (itsdangerous deflates long payloads)."""
    yield token.encode()
    for part in re.split(r"[.]", token.lstrip(".")):
        for start in range(4):  # every alignment of the base64 digits
            chunk = part[start:]
            try:
                decoded = base64.urlsafe_b64decode(chunk + "=" * (-len(chunk) % 4))
            except (binascii.Error, ValueError):
                continue
            yield decoded
            for offset in range(len(decoded)):
                try:
                    yield zlib.decompressobj().decompress(decoded[offset:], 100_000)
                except zlib.error:
                    continue


SECRETS_OF_THE_REQUEST = [
    PERSONAL.email,
    PERSONAL.name,
    PERSONAL.state,
    PERSONAL.partner_payload,
    PERSONAL.number,
    "jane.doe",
    "Plumbing",
    "S3cr3t",
    "4711",
    "Partner7Identity",
    "FirstChannelId0",
]


@pytest.mark.parametrize("secret", SECRETS_OF_THE_REQUEST)
def test_the_token_reveals_nothing_of_the_request(app: Flask, secret: str) -> None:
    with app.app_context():
        token = flow.issue(PERSONAL)
        assert flow.read(token)[0] == PERSONAL  # it is all in there, for the hub only
    for form in readable_forms(token):
        assert secret.encode() not in form


def test_the_token_is_one_url_safe_word_of_modest_length(app: Flask) -> None:
    with app.app_context():
        token = flow.issue(PERSONAL)
        many = flow.issue(PermissionRequest(**{**REQUEST.to_dict(), "channels": _ids(100)}))
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert len(token) < 600  # measured: about 460 characters
    assert len(many) < 2300  # 100 random channel ids; measured: about 2,170


def _ids(count: int) -> list[str]:
    return [new_id("ch") for _ in range(count)]


@pytest.mark.parametrize("position", [0, 1, 10, 30, 60, 100, 150, -20, -5, -2])
def test_a_token_changed_anywhere_is_invalid(app: Flask, position: int) -> None:
    with app.app_context():
        token = flow.issue(PERSONAL)
        at = position % len(token)
        changed = token[:at] + ("A" if token[at] != "A" else "B") + token[at + 1 :]
        with pytest.raises(flow.FlowError, match="not valid") as refused:
            flow.read(changed)
    assert refused.value.request is None


def test_previous_secret_key_is_accepted_during_rotation(app: Flask) -> None:
    with app.app_context():
        token = flow.issue(REQUEST)
    app.config["SECRET_KEY_FALLBACKS"] = [app.config["SECRET_KEY"]]
    app.config["SECRET_KEY"] = "the-new-key"
    with app.app_context():
        assert flow.read(token)[0] == REQUEST
        assert flow.read(flow.issue(REQUEST))[0] == REQUEST
    app.config["SECRET_KEY_FALLBACKS"] = []
    with app.app_context(), pytest.raises(flow.FlowError):
        flow.read(token)


def test_a_token_is_spent_once(app: Flask, db: Session) -> None:
    with app.app_context():
        _request, nonce = flow.read(flow.issue(REQUEST))
        flow.spend(db, nonce, REQUEST)
        with pytest.raises(flow.FlowError, match="already answered") as refused:
            flow.spend(db, nonce, REQUEST)
    assert refused.value.request == REQUEST


def test_flow_lifetime_is_capped_at_fifteen_minutes() -> None:
    from onboarding import create_app

    with pytest.raises(ValueError, match="FLOW_MAX_AGE"):
        create_app({"FLOW_MAX_AGE": 16 * 60, "DATABASE_URL": "sqlite://", "SECRET_KEY": "k"})


def test_no_url_of_the_flow_carries_the_request(client: FlaskClient, db: Session) -> None:
    """Over HTTP: the screen's 303 to signup, and the links of the signup page, name the flow by
    its token alone."""
    partner = make_partner(db)
    db.commit()
    query = {
        "email": PERSONAL.email,
        "name": PERSONAL.name,
        "state": PERSONAL.state,
        "partner_payload": PERSONAL.partner_payload,
    }
    started = client.get(
        f"/partners/{partner.public_id}/permission", query_string={**query, "next": "signup"}
    )
    assert started.status_code == 303
    signup = client.get(started.headers["Location"])
    assert signup.status_code == 200
    urls = [started.headers["Location"], *re.findall(r'(?:href|action)="([^"]+)"', signup.text)]
    for url in urls:
        token = parse_qs(urlsplit(html.unescape(url)).query).get("flow", [url])[0]
        for form in readable_forms(token):
            assert not any(value.encode() in form for value in query.values() if value)


def test_a_token_opened_before_is_refused_once_its_key_is_gone(app: Flask) -> None:
    """Each token is decrypted once per key set (flow._opened): what a retired key opened
    opens nothing under the new keys, and every read gets a request of its own."""
    with app.app_context():
        token = flow.issue(REQUEST)
        first, _nonce = flow.read(token)
        first.channels.append("ch_changed_by_one_request")
        assert flow.read(token)[0] == REQUEST
        app.config["SECRET_KEY"] = "rotated, with no fallback to the old key"
        with pytest.raises(flow.FlowError, match="not valid"):
            flow.read(token)
