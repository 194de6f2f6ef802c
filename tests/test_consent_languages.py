"""The permission flow in German and Brazilian Portuguese (issue 10, "Three languages"): the
screens over HTTP with `lang` on the permission link, plural forms, the error pages, and the
domain's refusal codes worded by the screens while the API keeps one English text per code."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from onboarding.errors import (
    ChannelNotRunning,
    Conflict,
    DomainError,
    ForeignChannel,
    InvalidInput,
    NotAllowed,
    NotFound,
    PermissionMissing,
    RefusedUrl,
)
from onboarding.pages import worded
from onboarding.partner_api.errors import from_domain
from onboarding.refusals import TEXTS
from tests.conftest import csrf_token, flow_token
from tests.test_consent_http import CONSENT, open_consent, sign_up
from tests.test_consent_screens import allow_text, screen_post, shared_account, visible_text

# What each language says on the consent screen, with two of three numbers shared.
SCREEN = {
    "de": {
        "lang": "de",
        "heading": "Ihre Nummern für {brand} freigeben",
        "allow": "Erlauben 2 freigeben",  # the test reads text with spaces normalised
        "mode": "Nur die Nummern, die ich auswähle",
        "counts": "2 von 3 ausgewählt",
        "shared": "Nicht freigegeben",
    },
    "pt": {
        "lang": "pt-BR",
        "heading": "Compartilhe seus números com {brand}",
        "allow": "Permitir Compartilhar 2",
        "mode": "Só os números que eu selecionar",
        "counts": "2 de 3 selecionados",
        "shared": "Não compartilhado",
    },
}


def html_lang(html: str) -> str:
    match = re.search(r'<html lang="([^"]+)">', html)
    assert match
    return match.group(1)


@pytest.mark.parametrize("lang", ["de", "pt"])
def test_the_consent_screen_speaks_the_links_language(
    client: FlaskClient, db: Session, lang: str
) -> None:
    account = shared_account(db, 2)
    words = SCREEN[lang]

    html = open_consent(client, account, lang=lang)

    text = visible_text(html)
    assert html_lang(html) == words["lang"]
    assert words["heading"].format(brand=account.partner.brand_name) in text
    assert allow_text(html) == words["allow"]
    for key in ("mode", "counts", "shared"):
        assert words[key] in text, key
    # No English left on the screen a client reads (the positive control is the English run).
    for english in ("Share your numbers", "Only the numbers I select", "Logged in as", "Allow"):
        assert english not in text


def test_the_english_screen_is_the_positive_control(client: FlaskClient, db: Session) -> None:
    html = open_consent(client, shared_account(db, 2))

    assert allow_text(html) == "Allow Share 2"
    assert "Only the numbers I select" in visible_text(html)


@pytest.mark.parametrize(
    ("lang", "one", "other"),
    [
        ("de", "{n}\u00a0freigeben", "{n}\u00a0freigeben"),  # no break inside a part
        ("pt", "Compartilhar\u00a0{n}", "Compartilhar\u00a0{n}"),
        ("en", "Share {n}", "Share {n}"),
    ],
)
def test_the_script_gets_the_labels_patterns_in_the_pages_language(
    client: FlaskClient, db: Session, lang: str, one: str, other: str
) -> None:
    html = open_consent(client, shared_account(db, 1), lang=lang)

    assert f'data-share-one="{one}"' in html
    assert f'data-share-other="{other}"' in html


@pytest.mark.parametrize(
    ("lang", "shared", "expected"),
    [
        ("de", 1, "verliert die Berechtigung für 1 jetzt freigegebene Nummer,"),
        ("de", 2, "verliert die Berechtigung für 2 jetzt freigegebene Nummern,"),
        ("pt", 1, "perde a permissão para 1 número compartilhado agora"),
        ("pt", 2, "perde a permissão para 2 números compartilhados agora"),
    ],
)
def test_the_confirmation_counts_in_the_languages_plural(
    client: FlaskClient, db: Session, lang: str, shared: int, expected: str
) -> None:
    account = shared_account(db, shared)
    html = open_consent(client, account, lang=lang)

    asked = client.post(CONSENT, data=screen_post(html, ticked_ids=[], action="allow"))

    assert asked.status_code == 200
    assert expected in visible_text(asked.text)


def test_an_error_page_in_german(client: FlaskClient) -> None:
    refused = client.get(f"{CONSENT}?flow=not-a-token&lang=de")

    assert refused.status_code == 400
    text = visible_text(refused.text)
    assert html_lang(refused.text) == "de"
    assert "Diese Berechtigungsanfrage kann nicht verwendet werden" in text
    assert "Diese Berechtigungsanfrage ist ungültig. Es wurde nichts geändert." in text
    assert "permission request" not in text


def test_an_unknown_page_in_portuguese(client: FlaskClient) -> None:
    missing = client.get("/no/such/page", headers={"Accept-Language": "pt-BR"})

    assert missing.status_code == 404
    assert "Não há nada neste endereço." in visible_text(missing.text)


def test_a_refusal_code_is_worded_on_the_numbers_step(client: FlaskClient, db: Session) -> None:
    from tests.factories import make_partner

    partner = make_partner(db)
    db.commit()
    signed_up = sign_up(client, partner, lang="de")
    numbers = client.get(signed_up.headers["Location"]).text

    refused = client.post(
        "/signup/numbers",
        data={
            "csrf_token": csrf_token(numbers),
            "flow": flow_token(numbers),
            "phone": "030 1234567",
            "action": "add",
        },
    )

    assert refused.status_code == 400
    assert "Geben Sie die Nummer mit Ländervorwahl ein, beginnend mit +." in refused.text


def test_the_api_keeps_the_english_text_of_the_same_code(app: Flask) -> None:
    with app.test_request_context("/api/v1/x", headers={"Accept-Language": "de"}):
        error = InvalidInput("phone.no_plus")
        assert worded(error) == "Geben Sie die Nummer mit Ländervorwahl ein, beginnend mit +."
        assert from_domain(error).detail == TEXTS["phone.no_plus"]
        assert str(error) == "Enter the number with its country code, starting with +."


def test_a_text_given_instead_of_a_code_is_kept(app: Flask) -> None:
    with app.test_request_context("/", headers={"Accept-Language": "de"}):
        error = NotFound("No channel ch_1.")
        assert worded(error) == str(error) == "No channel ch_1."
        assert error.code == "invalid" and not error.worded


def test_params_fill_the_text_in_each_language(app: Flask) -> None:
    error = InvalidInput("password.length", min=12, max=200)
    assert str(error) == "Choose a password of 12 to 200 characters."
    with app.test_request_context("/?lang=pt"):
        assert worded(error) == "Escolha uma senha de 12 a 200 caracteres."


@pytest.mark.parametrize(
    ("error", "status", "problem"),
    [
        (InvalidInput("x"), 400, "invalid_request"),
        (ForeignChannel("channel.foreign"), 400, "invalid_request"),
        (RefusedUrl("x"), 409, "conflict"),
        (NotFound("x"), 404, "not_found"),
        (Conflict("number.added_already"), 409, "conflict"),
        (ChannelNotRunning("x"), 409, "channel_not_running"),
        (PermissionMissing("x"), 403, "permission_missing"),
        (NotAllowed("x"), 403, "forbidden"),
    ],
)
def test_the_status_lives_on_the_error(error: DomainError, status: int, problem: str) -> None:
    refusal = from_domain(error)

    assert (error.status, error.problem) == (status, problem)
    assert (refusal.status, refusal.code) == (status, problem)


def test_every_code_has_its_text_and_every_text_its_placeholders() -> None:
    """A code's English text must format with the params its raisers give (the catalogs'
    placeholders are tests/test_catalogs.py's)."""
    assert all(re.fullmatch(r"[a-z_]+\.[a-z_]+", code) for code in TEXTS)
    assert str(InvalidInput("email.invalid", reason="no @")) == (
        "This email address is not valid: no @"
    )
