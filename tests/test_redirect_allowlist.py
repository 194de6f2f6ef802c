"""Redirect URLs: registered ones only, compared as exact strings (SPEC §3, §5.1; RFC 9700)."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from onboarding.consent.callback import MAX_REDIRECT_URL
from onboarding.errors import InvalidInput
from onboarding.models import Partner
from onboarding.partners.redirects import CALLBACK_PARAMS, check_redirect_url
from tests.factories import REDIRECT_URL, make_partner

# REDIRECT_URL is "https://partner.example/onboarding/callback".
LOOKALIKES = [
    pytest.param("http://partner.example/onboarding/callback", id="http"),
    pytest.param("HTTPS://partner.example/onboarding/callback", id="uppercase-scheme"),
    pytest.param("https://partner.example:443/onboarding/callback", id="explicit-443"),
    pytest.param("https://partner.example:8443/onboarding/callback", id="other-port"),
    pytest.param("https://partner.example:/onboarding/callback", id="empty-port"),
    pytest.param("https://partner.example.evil.com/onboarding/callback", id="host-suffix"),
    pytest.param("https://evilpartner.example/onboarding/callback", id="host-prefix"),
    pytest.param("https://sub.partner.example/onboarding/callback", id="subdomain"),
    pytest.param("https://partner.example@evil.com/onboarding/callback", id="userinfo-host"),
    pytest.param("https://evil.com@partner.example/onboarding/callback", id="userinfo-evil"),
    pytest.param("https://partner.example/onboarding", id="path-prefix"),
    pytest.param("https://partner.example/onboarding/callback/x", id="path-suffix"),
    pytest.param("https://partner.example/onboarding/callback/", id="trailing-slash"),
    pytest.param("https://partner.example//onboarding/callback", id="double-slash"),
    pytest.param("https://partner.example/onboarding/./callback", id="dot-segment"),
    pytest.param("https://partner.example/x/../onboarding/callback", id="dot-dot-segment"),
    pytest.param("https://PARTNER.EXAMPLE/onboarding/callback", id="uppercase-host"),
    pytest.param("https://partner.example/Onboarding/Callback", id="uppercase-path"),
    pytest.param("https://partner.example/onboarding%2Fcallback", id="encoded-slash"),
    pytest.param("https://partner.example/onboarding/%63allback", id="encoded-letter"),
    pytest.param("https://partner.example/onboarding/callback%00", id="encoded-nul"),
    pytest.param("//evil.com/onboarding/callback", id="scheme-relative"),
    pytest.param("/onboarding/callback", id="relative"),
    pytest.param("https:/\\evil.com/onboarding/callback", id="slash-backslash"),
    pytest.param("https://partner.example\\@evil.com/onboarding/callback", id="backslash"),
    pytest.param("https://partner.example/onboarding/callback#x", id="fragment"),
    pytest.param("https://partner.example/onboarding/callback#", id="empty-fragment"),
    pytest.param("https://partner.example/onboarding/callback?a=1", id="added-query"),
    pytest.param("https://partner.example/onboarding/callback?", id="empty-query"),
    pytest.param("https://partner.example/onboarding/callback;x", id="path-parameter"),
    pytest.param("https://partner.example/onboarding/callback ", id="trailing-space"),
    pytest.param(" https://partner.example/onboarding/callback", id="leading-space"),
    pytest.param("https://partner.example/onboarding/callback\n", id="trailing-newline"),
    pytest.param("https://partner.example./onboarding/callback", id="trailing-dot-host"),
    pytest.param("https://p\u0430rtner.example/onboarding/callback", id="cyrillic-a"),
    pytest.param("https://xn--prtner-2wf.example/onboarding/callback", id="punycode-homoglyph"),
    pytest.param("https://partner.example/onboarding/callbaçk", id="unicode-path"),
    pytest.param("", id="empty"),
]


@pytest.fixture
def partner(db: Session) -> Partner:
    partner = make_partner(db, redirect_urls=[REDIRECT_URL])
    db.commit()
    return partner


def ask(client: FlaskClient, partner: Partner, redirect_url: str) -> TestResponse:
    return client.get(
        f"/partners/{partner.public_id}/permission",
        query_string={"redirect_url": redirect_url, "state": "s"},
    )


def test_lookalikes_are_different_urls() -> None:
    urls = [param.values[0] for param in LOOKALIKES]
    assert REDIRECT_URL not in urls
    assert len(set(urls)) == len(urls)


@pytest.mark.parametrize("redirect_url", LOOKALIKES)
def test_a_lookalike_of_the_registered_url_is_refused(
    client: FlaskClient, partner: Partner, redirect_url: str
) -> None:
    response = ask(client, partner, redirect_url)

    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "is not one that" in response.get_data(as_text=True)


def test_the_registered_url_is_accepted(client: FlaskClient, partner: Partner) -> None:
    response = ask(client, partner, REDIRECT_URL)

    assert response.status_code == 303
    assert response.headers["Location"].startswith("/login?flow=")


def test_another_partners_registered_url_is_refused(
    client: FlaskClient, partner: Partner, db: Session
) -> None:
    make_partner(db, redirect_urls=["https://other.example/cb"])
    db.commit()

    response = ask(client, partner, "https://other.example/cb")

    assert response.status_code == 400
    assert "Location" not in response.headers


# --- which URLs a partner may register ---------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://partner.example/cb",
        "https://partner.example",
        "https://partner.example:8443/a/b?tenant=a%20b&x=1",
        "https://partner.example/cb?email=a@b.example",
        "https://xn--bcher-kva.example/r%C3%BCckruf",
        "http://localhost:3000/cb",
        "http://localhost/cb",
        "http://127.0.0.1/cb",
        "http://127.0.0.1:8080/cb?x=1",
        "https://partner.example/" + "a" * (MAX_REDIRECT_URL - len("https://partner.example/")),
    ],
)
def test_check_redirect_url_accepts(url: str) -> None:
    assert check_redirect_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("http://partner.example/cb", id="http"),
        pytest.param("http://localhost.evil.example/cb", id="http-localhost-suffix"),
        pytest.param("http://127.0.0.2/cb", id="http-other-loopback"),
        pytest.param("http://[::1]/cb", id="http-ipv6-loopback"),
        pytest.param("/cb", id="relative-path"),
        pytest.param("cb", id="relative-name"),
        pytest.param("//partner.example/cb", id="scheme-relative"),
        pytest.param("https:///cb", id="no-host"),
        pytest.param("https:partner.example/cb", id="no-slashes"),
        pytest.param("javascript:alert(1)", id="javascript"),
        pytest.param("javascript://partner.example/%0aalert(1)", id="javascript-with-host"),
        pytest.param("data:text/html,hi", id="data"),
        pytest.param("ftp://partner.example/cb", id="ftp"),
        pytest.param("https://partner.example/cb#x", id="fragment"),
        pytest.param("https://partner.example/cb#", id="empty-fragment"),
        pytest.param("https://user@partner.example/cb", id="user"),
        pytest.param("https://user:pw@partner.example/cb", id="user-password"),
        pytest.param("https://@partner.example/cb", id="empty-userinfo"),
        pytest.param("https://partner.example:99999/cb", id="port-out-of-range"),
        pytest.param("https://partner.example:0/cb", id="port-zero"),
        pytest.param("https://partner.example/c b", id="space"),
        pytest.param(" https://partner.example/cb", id="leading-space"),
        pytest.param("https://partner.example/cb\t", id="tab"),
        pytest.param("https://partner.example\\@evil.example/cb", id="backslash"),
        pytest.param(
            "https://partner.example/"
            + "a" * (MAX_REDIRECT_URL + 1 - len("https://partner.example/")),
            id="over-1400-chars",
        ),
        pytest.param("https://partner.example/" + "a" * 2000, id="over-2000-chars"),
        pytest.param("https://b\u00fccher.example/r\u00fcckruf", id="not-encoded-unicode"),
        pytest.param("https://Partner.example/cb", id="uppercase-host"),
        pytest.param("https://partner.example/cb?ids=[1]", id="not-encoded-brackets"),
    ],
)
def test_check_redirect_url_refuses(url: str) -> None:
    with pytest.raises(InvalidInput):
        check_redirect_url(url)


def test_a_url_that_would_be_rewritten_is_refused_with_its_encoded_form() -> None:
    """The Location header goes out URI-encoded; only that form can then match exactly."""
    encoded = re.escape("https://xn--bcher-kva.example/r%C3%BCckruf")
    with pytest.raises(InvalidInput, match=encoded):
        check_redirect_url("https://b\u00fccher.example/r\u00fcckruf")


@pytest.mark.parametrize("name", sorted(CALLBACK_PARAMS))
@pytest.mark.parametrize(
    "query", ["{name}=1", "a=1&{name}=", "{name}", "x=1&{name}=1&y=2"], ids=str
)
def test_check_redirect_url_refuses_a_callback_parameter_in_the_query(
    name: str, query: str
) -> None:
    with pytest.raises(InvalidInput, match=name):
        check_redirect_url("https://partner.example/cb?" + query.format(name=name))


def test_every_callback_parameter_is_reserved() -> None:
    assert {
        "client",
        "channels",
        "revoked",
        "consent",
        "lists",
        "state",
        "iss",
        "ts",
        "signature",
        "error",
    } == CALLBACK_PARAMS


@pytest.mark.parametrize("url", ["https://partner.example/cb?%73tate=1", "https://p.example?ts"])
def test_check_redirect_url_reads_the_query_as_the_callback_will(url: str) -> None:
    with pytest.raises(InvalidInput):
        check_redirect_url(url)
