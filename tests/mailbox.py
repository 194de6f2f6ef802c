"""A real SMTP server for the suite (aiosmtpd on a free port) and what arrived at it.

The app sends through flask-mailman's SMTP backend exactly as in production; the tests parse the
mails that arrived and follow the links in them.
"""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from flask import Flask

from onboarding import mail

LINK = re.compile(r"https?://[^\s<>\"]+")


@dataclass
class Arrived:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def to(self) -> str:
        return str(self.message["To"])

    def part(self, content_type: str) -> str:
        found = next(p for p in self.message.walk() if p.get_content_type() == content_type)
        assert isinstance(found, EmailMessage)
        return str(found.get_content())

    @property
    def text(self) -> str:
        return self.part("text/plain")

    @property
    def html(self) -> str:
        return self.part("text/html")

    def link(self) -> str:
        """The one link of the text part that leads to a page of the hub, as a path and query
        for the test client."""
        links = [url for url in LINK.findall(self.text) if urlsplit(url).path not in ("", "/")]
        assert len(links) == 1, links  # the footer names the hub's bare address only
        parts = urlsplit(links[0])
        return f"{parts.path}?{parts.query}" if parts.query else parts.path


@dataclass
class Handler:
    """aiosmtpd calls handle_DATA for each mail; `refuse` makes it answer a permanent error."""

    arrived: list[Arrived] = field(default_factory=list)
    refuse: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return "554 Transaction failed"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.arrived.append(Arrived(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"


@dataclass
class Mailbox:
    handler: Handler
    port: int

    @property
    def mails(self) -> list[Arrived]:
        with self.handler.lock:
            return list(self.handler.arrived)

    def to(self, address: str) -> list[Arrived]:
        return [m for m in self.mails if address in m.recipients]

    def last(self, address: str) -> Arrived:
        found = self.to(address)
        assert found, f"no mail for {address}; arrived: {[m.recipients for m in self.mails]}"
        return found[-1]

    def clear(self) -> None:
        with self.handler.lock:
            self.handler.arrived.clear()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def use_mail_server(app: Flask, port: int) -> None:
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_TIMEOUT=5)
    mail.configure(app)


@pytest.fixture
def mailbox(app: Flask) -> Iterator[Mailbox]:
    """The app's mail goes to a real SMTP server on 127.0.0.1, started for this test."""
    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        use_mail_server(app, controller.port)
        yield Mailbox(handler, controller.port)
    finally:
        controller.stop()


@pytest.fixture
def no_mail_server(app: Flask) -> None:
    """The app's mail server is down: nothing listens at the configured port."""
    use_mail_server(app, free_port())
