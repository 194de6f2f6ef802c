"""Three languages: which one a page speaks (lang > cookie > Accept-Language > en), the switcher,
dates and counts in the reader's language, a mail in the language of its request, and `lang`
outside a link's signature."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from onboarding import i18n
from onboarding.partners.service import create_partner_user
from tests.conftest import csrf_token
from tests.factories import PASSWORD, make_client, make_partner
from tests.link_signatures import signed_query
from tests.mailbox import Mailbox

PAGE = "/hub/login"
HEADING = {
    "en": "Log in to the Partner Hub",
    "de": "Im Partner Hub anmelden",
    "pt-BR": "Entrar no Partner Hub",
}


def html_lang(html: str) -> str:
    match = re.search(r'<html lang="([^"]+)">', html)
    assert match, html[:200]
    return match.group(1)


def visible(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.mark.parametrize(
    ("query", "cookie", "accept", "expected"),
    [
        ("", None, None, "en"),  # nothing said: English
        ("", None, "de-DE,de;q=0.9,en;q=0.5", "de"),
        ("", None, "pt-PT,en;q=0.5", "pt-BR"),  # any Portuguese is Brazilian Portuguese
        ("", None, "fr-FR, de;q=0.3", "de"),  # the first language there is, in the reader's order
        ("", None, "fr-FR", "en"),
        ("", "pt_BR", "de", "pt-BR"),  # the cookie before Accept-Language
        ("?lang=de", "pt_BR", "pt", "de"),  # the link before the cookie
        ("?lang=pt", None, None, "pt-BR"),
        ("?lang=pt-BR", None, "de", "pt-BR"),
        ("?lang=EN", "de", "de", "en"),
        ("?lang=fr", "de", None, "de"),  # an unknown lang is no choice
        ("?lang=xx", None, "pt-BR", "pt-BR"),
    ],
)
def test_the_language_of_a_page(
    client: FlaskClient, query: str, cookie: str | None, accept: str | None, expected: str
) -> None:
    if cookie:
        client.set_cookie(i18n.COOKIE, cookie)
    headers = {"Accept-Language": accept} if accept else {}

    html = client.get(PAGE + query, headers=headers).text

    assert html_lang(html) == expected
    assert HEADING[expected] in html


def test_lang_on_a_link_is_remembered_for_the_pages_that_follow(client: FlaskClient) -> None:
    first = client.get(f"{PAGE}?lang=de", headers={"Accept-Language": "en"})
    cookie = first.headers["Set-Cookie"]
    assert cookie.startswith("lang=de;") and "HttpOnly" in cookie and "SameSite=Lax" in cookie

    later = client.get("/password/forgot", headers={"Accept-Language": "en"})

    assert html_lang(later.text) == "de"
    assert "Passwort vergessen?" in later.text
    assert "Set-Cookie" not in later.headers or "lang=" not in later.headers["Set-Cookie"]


def test_the_switcher_links_to_this_page_in_each_language(client: FlaskClient) -> None:
    html = client.get("/password/forgot?flow=abc&lang=pt").text

    nav = re.search(r'<nav class="lang-switch"[^>]*>(.*?)</nav>', html, re.S)
    assert nav, "no language switcher"
    links = re.findall(
        r'<a href="([^"]+)" hreflang="([^"]+)"[^>]*?( aria-current="true")?>', nav[1]
    )
    assert [lang for _href, lang, _current in links] == ["en", "de", "pt-BR"]
    assert [bool(current) for *_rest, current in links] == [False, False, True]
    for href, lang, _current in links:
        url = urlsplit(href.replace("&amp;", "&"))
        assert url.path == "/password/forgot"
        # the page's own parameters stay (a flow token, a page number); only lang changes
        assert parse_qsl(url.query) == [("flow", "abc"), ("lang", lang.replace("-", "_"))]
    assert "Português (Brasil)" in nav[1]


def test_a_german_and_a_portuguese_page(client: FlaskClient, db: Session) -> None:
    partner = make_partner(db)
    user = create_partner_user(db, partner, email="owner@p.example", password=PASSWORD)
    user.role = "owner"
    db.commit()
    page = client.get(f"{PAGE}?lang=de").text
    client.post(
        PAGE,
        data={"csrf_token": csrf_token(page), "email": user.email, "password": PASSWORD},
    )

    german = visible(client.get("/hub/settings").text)
    portuguese = visible(client.get("/hub/settings?lang=pt").text)

    assert "Integrationseinstellungen" in german and "Partner-API-Schlüssel" in german
    assert "Neue Weiterleitungs-URL" in german  # a form's label
    assert "Integration settings" not in german
    assert "Configurações da integração" in portuguese and "Chaves da API de parceiro" in portuguese
    assert "Nova URL de redirecionamento" in portuguese


@pytest.mark.parametrize(
    ("lang", "message"),
    [("de", "Dieses Feld wird benötigt."), ("pt", "Campo obrigatório."), ("en", "required")],
)
def test_validation_messages_follow_the_language(
    client: FlaskClient, lang: str, message: str
) -> None:
    page = client.get(f"/password/forgot?lang={lang}").text

    answer = client.post("/password/forgot", data={"csrf_token": csrf_token(page), "email": ""})

    assert answer.status_code == 400
    assert message in answer.text


@pytest.mark.parametrize(
    ("lang", "date", "count"),
    [
        ("en", "Dec 1, 2026, 2:05 PM UTC", "1,234"),
        ("de", "01.12.2026, 14:05 UTC", "1.234"),
        ("pt", "1 de dez. de 2026 14:05 UTC", "1.234"),
    ],
)
def test_dates_and_counts_follow_the_language(app: Flask, lang: str, date: str, count: str) -> None:
    moment = datetime(2026, 12, 1, 14, 5, 59, tzinfo=UTC)
    with app.test_request_context(f"/?lang={lang}"):
        rendered = app.jinja_env.from_string("{{ at|when }}|{{ n|number }}").render(
            at=moment, n=1234
        )
        naive = i18n.when(moment.replace(tzinfo=None))  # as SQLite gives it back: UTC

    assert rendered.replace("\u202f", " ") == f"{date}|{count}"
    assert naive == rendered.split("|")[0]


def test_the_clients_page_shows_dates_in_german(client: FlaskClient, db: Session) -> None:
    partner = make_partner(db)
    user = create_partner_user(db, partner, email="member@p.example", password=PASSWORD)
    customer = make_client(db, partner)[0]
    customer.created_at = datetime(2026, 3, 4, 9, 30, tzinfo=UTC)
    db.commit()
    page = client.get(f"{PAGE}?lang=de").text
    client.post(
        PAGE, data={"csrf_token": csrf_token(page), "email": user.email, "password": PASSWORD}
    )

    html = client.get("/hub/clients").text

    assert "04.03.2026, 09:30 UTC" in html
    assert "0 von 0" in html  # "shared with you" of the client's numbers


def test_a_mail_goes_out_in_the_language_of_its_request(
    client: FlaskClient, mailbox: Mailbox
) -> None:
    page = client.get("/password/forgot?lang=de").text

    client.post(
        "/password/forgot",
        data={"csrf_token": csrf_token(page), "email": "niemand@nirgends.example"},
    )

    mail = mailbox.last("niemand@nirgends.example")
    assert mail.subject.strip() == "Passwort-Zurücksetzung für niemand@nirgends.example angefordert"
    assert "Ein solches Konto gibt es nicht, also wurde nichts geändert." in mail.text
    assert "Mit einer anderen Adresse anfragen" in mail.html
    assert '<html lang="de">' in mail.html
    assert "nothing was changed" not in mail.text + mail.html


def test_lang_may_be_added_to_a_link_signed_without_it(client: FlaskClient, db: Session) -> None:
    """The signature need not cover `lang`: a partner signs once and adds each client's language;
    the hub honours it (and keeps it), and the link is still a signed one."""
    partner = make_partner(db)
    db.commit()
    signed = signed_query(partner.signing_secret, {"state": "s-1", "partner_payload": "crm-1"})
    path = f"/partners/{partner.public_id}/permission"

    for lang in ("de", "pt", "en"):
        answer = client.get(f"{path}?{urlencode({**signed, 'lang': lang})}")
        assert answer.status_code == 303, answer.text
        assert answer.headers["Set-Cookie"].startswith(f"lang={i18n.locale_of(lang)};")


def test_a_signature_that_covers_lang_holds_it(client: FlaskClient, db: Session) -> None:
    partner = make_partner(db)
    db.commit()
    signed = signed_query(partner.signing_secret, {"state": "s-1", "lang": "de"})
    path = f"/partners/{partner.public_id}/permission"

    assert client.get(f"{path}?{urlencode(signed)}").status_code == 303
    changed = client.get(f"{path}?{urlencode({**signed, 'lang': 'pt'})}")
    assert changed.status_code == 400
    assert "was changed after" in changed.text
    removed = client.get(f"{path}?{urlencode({k: v for k, v in signed.items() if k != 'lang'})}")
    assert removed.status_code == 400


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/no/such/page?lang=de", 404, ["Seite nicht gefunden", "Unter dieser Adresse gibt"]),
        (
            "/password/reset/not-a-token?lang=de",
            400,
            ["Dieser Link kann nicht verwendet werden", "Dieser Link ist ungültig.", "Neuen Link"],
        ),
        (
            "/verify-email/not-a-token?lang=pt",
            400,
            ["Este link não pode ser usado", "Este link não é válido."],
        ),
        (
            "/hub/invite/not-a-token?lang=pt",
            400,
            ["Este convite não pode ser usado", "Este link de convite não é válido."],
        ),
    ],
)
def test_refused_links_and_unknown_pages_speak_the_readers_language(
    client: FlaskClient, path: str, status: int, words: list[str]
) -> None:
    response = client.get(path)

    assert response.status_code == status
    for text in words:
        assert text in visible(response.text)


def test_the_landing_page_in_portuguese(client: FlaskClient) -> None:
    page = visible(client.get("/?lang=pt").text)

    assert "Está construindo uma integração?" in page
    assert "Para empresas: seus números" in page
