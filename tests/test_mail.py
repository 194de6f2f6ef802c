"""Mail (onboarding/mail.py): sent over real SMTP, only after the transaction commits, in text and
HTML, printed to the console when no server is set, and a failing server is no 500."""

from __future__ import annotations

import logging

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.orm import Session

from onboarding import create_app, mail
from tests.mailbox import Mailbox


def _compose(app: Flask, to: str = "someone@example.com") -> mail.EmailMultiAlternatives:
    return mail.compose(
        "password_reset", to, kind="client", link="https://hub.test/password/reset/x", minutes=30
    )


def test_a_mail_goes_out_over_smtp_in_text_and_html(
    app: Flask, db: Session, mailbox: Mailbox
) -> None:
    with app.test_request_context():
        delivery = mail.send_after_commit(db, _compose(app), "test")
        db.commit()
    assert delivery.sent is True
    arrived = mailbox.last("someone@example.com")
    assert arrived.subject == "Reset your password"
    assert arrived.message.get_content_type() == "multipart/alternative"
    assert "https://hub.test/password/reset/x" in arrived.text
    assert 'href="https://hub.test/password/reset/x"' in arrived.html
    assert "within 30 minutes" in arrived.text
    assert arrived.sender == "no-reply@localhost"


def test_nothing_is_sent_before_the_commit_nor_after_a_rollback(
    app: Flask, db: Session, mailbox: Mailbox
) -> None:
    with app.test_request_context():
        kept = mail.send_after_commit(db, _compose(app, "kept@example.com"), "test")
        db.flush()
        assert mailbox.mails == [] and kept.sent is None  # queued, not sent
        db.rollback()
        assert kept.sent is False
        sent = mail.send_after_commit(db, _compose(app, "sent@example.com"), "test")
        db.commit()
    assert sent.sent is True
    assert [m.recipients for m in mailbox.mails] == [["sent@example.com"]]


def test_the_smtp_conversation_happens_outside_any_transaction(
    app: Flask, db: Session, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bool] = []  # whether a transaction was open while the mail went out
    real_send = mail._send

    def send(delivery: mail.Delivery) -> bool:
        transaction = db.get_transaction()
        seen.append(transaction is not None and transaction.is_active)
        return real_send(delivery)

    monkeypatch.setattr(mail, "_send", send)
    with app.test_request_context():
        db.execute(text("SELECT 1"))
        assert db.in_transaction()
        mail.send_after_commit(db, _compose(app), "test")
        db.commit()
    assert seen == [False]
    assert len(mailbox.mails) == 1


def test_a_failing_server_is_logged_not_raised(
    app: Flask, db: Session, no_mail_server: None, caplog: pytest.LogCaptureFixture
) -> None:
    with app.test_request_context(), caplog.at_level(logging.ERROR, logger="onboarding.mail"):
        delivery = mail.send_after_commit(db, _compose(app), "password_reset")
        db.commit()
    assert delivery.sent is False
    assert "Could not send the password_reset mail" in caplog.text


def test_a_server_refusing_the_mail_is_a_failure_too(
    app: Flask, db: Session, mailbox: Mailbox
) -> None:
    mailbox.handler.refuse = True
    with app.test_request_context():
        delivery = mail.send_after_commit(db, _compose(app), "test")
        db.commit()
    assert delivery.sent is False


def test_without_a_server_mails_are_printed_to_the_console(
    capsys: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": "sqlite://"})
    assert app.config["MAIL_BACKEND"] == "console"
    with app.test_request_context():
        sent = _compose(app, "console@example.com").send()
    assert sent == 1
    printed = capsys.readouterr().out
    assert "To: console@example.com" in printed
    assert "Subject: Reset your password" in printed
    assert "https://hub.test/password/reset/x" in printed


def test_links_in_mails_use_the_base_url_not_the_requests_host(app: Flask) -> None:
    with app.test_request_context("/", headers={"Host": "attacker.example"}):
        link = mail.absolute_url("accounts.reset_password", token="abc")
    assert link == "https://hub.test/password/reset/abc"
