"""Every mail in templates/mail/ in German and Brazilian Portuguese: rendered in each language
(subject, text and HTML), no sentence is left as its English one, names and links aside."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask

from onboarding import ROOT, create_app, mail

BRAND = "Acme Messaging"
CLIENT = "Demo Bakery"
LINK = "https://hub.test/password/reset/abc"
# What a mail may say alike in every language: names, addresses and links.
ALIKE = re.compile(
    rf"https?://\S+|\S+@\S+|{BRAND}|{CLIENT}|Onboarding Hub|Partner Hub|\d+|[^\w\s]", re.UNICODE
)
PARTNER = SimpleNamespace(brand_name=BRAND)
MAILS: dict[str, list[dict[str, Any]]] = {
    "password_reset": [
        {"kind": "client", "link": LINK, "minutes": 30},
        {"kind": "partner", "link": LINK, "minutes": 30},
    ],
    "password_reset_unknown": [
        {"kind": "client", "email": "someone@example.com", "link": LINK},
        {"kind": "partner", "email": "someone@example.com", "link": LINK},
    ],
    "staff_invite": [
        {
            "partner": PARTNER,
            "invited_by": "owner@acme.example",
            "role": role,
            "expires_at": datetime(2026, 12, 8, 9, 30, tzinfo=UTC),
            "link": LINK,
        }
        for role in ("owner", "member")
    ],
    "verify_email": [
        {"client": SimpleNamespace(name=CLIENT, partner=PARTNER), "link": LINK},
    ],
}
CASES = [(name, i) for name, contexts in MAILS.items() for i in range(len(contexts))]


@pytest.fixture(scope="module")
def app() -> Flask:
    return create_app(
        {"DATABASE_URL": "sqlite://", "SECRET_KEY": "mail", "BASE_URL": "https://hub.test"}
    )


def rendered(app: Flask, name: str, context: dict[str, Any], lang: str) -> tuple[str, str]:
    """The mail's subject, text and HTML's text, one after the other; and its HTML."""
    with app.test_request_context(f"/?lang={lang}"):
        message = mail.compose(name, "someone@example.com", **context)
    [(html, _type)] = message.alternatives
    text = re.sub(r"<[^>]+>", "\n", str(html))
    return "\n".join([message.subject, message.body, text]), str(html)


def sentences(text: str) -> set[str]:
    """Each sentence (or line) with its words only: what a translation has to change."""
    parts = re.split(r"(?<=[.:;!?])\s+|\n+", text)
    words = (" ".join(ALIKE.sub(" ", part).split()) for part in parts)
    return {part for part in words if part}


def test_every_mail_template_is_covered() -> None:
    names = {path.name.split(".")[0] for path in (ROOT / "templates" / "mail").glob("*.txt")}
    assert names - {"layout"} == set(MAILS)


@pytest.mark.parametrize("lang", ["de", "pt"])
@pytest.mark.parametrize(("name", "index"), CASES)
def test_no_english_sentence_is_left(app: Flask, name: str, index: int, lang: str) -> None:
    context = MAILS[name][index]
    english = sentences(rendered(app, name, context, "en")[0])
    translated, html = rendered(app, name, context, lang)

    assert len(english) >= 4, "the English mail says something"
    assert sentences(translated) & english == set(), translated
    assert f'<html lang="{"pt-BR" if lang == "pt" else lang}">' in html
