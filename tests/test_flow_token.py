"""The signed, expiring, single-use flow token (SPEC §5.2)."""

from __future__ import annotations

import time

import pytest
from flask import Flask
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from onboarding.consent import flow
from onboarding.consent.request import PermissionRequest

REQUEST = PermissionRequest(
    partner_id="pa_x", redirect_url="https://p.example/cb", state="a&b=c ü", channels=["ch_1"]
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
        # The signer's clock, moved past the 15 minutes.
        fifteen_minutes_later = int(time.time()) + 15 * 60 + 1
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda _: fifteen_minutes_later)
        with pytest.raises(flow.FlowError, match="expired") as refused:
            flow.read(token)
    assert refused.value.request == REQUEST


def test_a_token_signed_with_another_salt_is_refused(app: Flask) -> None:
    with app.app_context():
        foreign = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="other-purpose")
        token = foreign.dumps({"request": REQUEST.to_dict(), "nonce": "n"})
        with pytest.raises(flow.FlowError):
            flow.read(token)


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
