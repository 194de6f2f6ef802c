"""The callback's size budget (SPEC §5.3): at most 8,000 bytes; past it `channels` and `revoked`
move out (`lists=omitted`) and the partner reads them from the consent; `state` always fits."""

from __future__ import annotations

import itertools
from typing import Any
from urllib.parse import quote_plus

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from onboarding import create_app
from onboarding.consent.callback import (
    BUDGET,
    MAX_ISSUER,
    MAX_REDIRECT_URL,
    CallbackTooLong,
    callback_url,
    check_issuer,
)
from onboarding.errors import InvalidInput
from onboarding.ids import new_id
from onboarding.models import Channel, ChannelStatus, PartnerRedirectUrl
from onboarding.partners.redirects import check_redirect_url
from tests.api import CONSENT, PartnerAccount, api_headers, assert_documented, make_account
from tests.callback_verifiers import py
from tests.factories import REDIRECT_URL, ClientAccount, make_channel, make_client, make_partner
from tests.signatures import query_params, signature_is_valid
from tests.test_consent_http import (
    answer,
    assert_refused,
    callback,
    open_consent,
    snapshot,
)

SECRET = "whsec_c2VjcmV0LWtleS1mb3ItY2FsbGJhY2stdGVzdHMtMzI="
ISSUER = "https://hub.example"
NOW = 1_700_000_000
LONGEST_STATE = "\U0010ffff" * 512  # 4 UTF-8 bytes each, 12 once percent-encoded
LONGEST_ID = "x" * 64  # the width of a public id's column
_numbers = itertools.count(1)


def ids(n: int, prefix: str = "ch") -> list[str]:
    return [new_id(prefix) for _ in range(n)]


def names(url: str) -> list[str]:
    return [name for name, _ in query_params(url)]


def size(url: str) -> int:
    return len(url.encode())


def longest_redirect_url(length: int = MAX_REDIRECT_URL) -> str:
    """A URL of `length` characters, with its own query."""
    start = "https://partner.example/cb?tenant="
    return start + "7" * (length - len(start))


def longest_issuer() -> str:
    """An issuer of exactly MAX_ISSUER bytes once percent-encoded."""
    start = "https://hub.example/"
    issuer = start + "i" * (MAX_ISSUER - len(quote_plus(start)))
    assert len(quote_plus(issuer)) == MAX_ISSUER
    return issuer


def build(redirect_url: str = REDIRECT_URL, **overrides: object) -> str:
    arguments: dict[str, object] = {
        "client_id": "cl_1",
        "consent_id": "cs_1",
        "issuer": ISSUER,
        "state": "s",
        "now": NOW,
    }
    return callback_url(redirect_url, SECRET, **(arguments | overrides))  # type: ignore[arg-type]


# --- the worst case --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param({"shared": ids(10_000), "revoked": ids(10_000)}, id="allow"),
        pytest.param({"error": "access_denied"}, id="cancel"),
    ],
)
def test_the_longest_state_fits_behind_the_longest_registrable_url(
    answer: dict[str, object],
) -> None:
    url = build(
        longest_redirect_url(),
        client_id=LONGEST_ID,
        consent_id=LONGEST_ID,
        issuer=longest_issuer(),
        state=LONGEST_STATE,
        now=10**11 - 1,  # an 11-digit ts (the year 5138)
        **answer,
    )

    assert size(url) <= BUDGET
    assert dict(query_params(url))["state"] == LONGEST_STATE
    assert signature_is_valid(SECRET, url)
    assert "channels" not in names(url) and "revoked" not in names(url)


def test_a_2000_character_redirect_url_could_not_carry_the_longest_state() -> None:
    """Why registration stops at MAX_REDIRECT_URL: a URL of the old limit cannot always fit."""
    with pytest.raises(CallbackTooLong):
        build(longest_redirect_url(2000), state=LONGEST_STATE, error="access_denied")
    assert build(longest_redirect_url(2000), state="short", shared=ids(3))


def test_registration_refuses_a_url_that_could_take_a_callback_past_the_budget() -> None:
    assert check_redirect_url(longest_redirect_url()) == longest_redirect_url()

    with pytest.raises(InvalidInput, match=f"at most {MAX_REDIRECT_URL} characters"):
        check_redirect_url(longest_redirect_url(MAX_REDIRECT_URL + 1))


def test_the_partner_api_refuses_such_a_url_and_changes_nothing(
    client: FlaskClient, db: Session
) -> None:
    account = make_account(db)
    db.commit()
    too_long = longest_redirect_url(MAX_REDIRECT_URL + 1)

    response = client.patch(
        account.path(), json={"redirect_urls": [too_long]}, headers=api_headers(account)
    )

    assert response.status_code == 409  # a URL the hub will not register
    assert response.get_json()["code"] == "conflict"
    db.expire_all()
    assert [entry.url for entry in account.partner.redirect_urls] == [REDIRECT_URL]


def test_check_issuer_allows_what_fits_and_refuses_one_byte_more() -> None:
    assert check_issuer(longest_issuer()) == longest_issuer()

    with pytest.raises(ValueError, match=f"at most {MAX_ISSUER} bytes"):
        check_issuer(longest_issuer() + "i")


def test_the_hub_does_not_start_with_an_issuer_too_long_for_the_budget() -> None:
    config = {"DATABASE_URL": "sqlite://", "SECRET_KEY": "k"}
    assert create_app({**config, "ISSUER": longest_issuer()})

    with pytest.raises(ValueError, match="ONBOARDING_ISSUER"):
        create_app({**config, "ISSUER": longest_issuer() + "/"})
    with pytest.raises(ValueError, match="ONBOARDING_ISSUER"):
        create_app({**config, "BASE_URL": longest_issuer() + "/"})


# --- lists=omitted ---------------------------------------------------------------------------


def test_short_lists_stay_in_the_url() -> None:
    shared, revoked = ids(3), ids(2)

    url = build(shared=shared, revoked=revoked)

    assert names(url) == [
        "client",
        "channels",
        "revoked",
        "consent",
        "state",
        "iss",
        "ts",
        "signature",
    ]


@pytest.mark.parametrize(
    ("shared", "revoked"),
    [
        pytest.param(1_000, 0, id="1000-shared"),
        pytest.param(10_000, 0, id="10000-shared"),
        pytest.param(1, 1_000, id="1000-revoked"),
        pytest.param(5_000, 5_000, id="both-long"),
    ],
)
def test_long_lists_are_left_out_together_and_said_so(shared: int, revoked: int) -> None:
    url = build(shared=ids(shared), revoked=ids(revoked), state="a&b")

    assert size(url) <= BUDGET
    assert names(url) == ["client", "lists", "consent", "state", "iss", "ts", "signature"]
    assert dict(query_params(url))["lists"] == "omitted"
    assert signature_is_valid(SECRET, url)
    answer = py.verify_callback(url, signing_secret=SECRET, issuer=ISSUER, state="a&b", now=NOW)
    assert (answer.lists_omitted, answer.channels, answer.revoked) == (True, None, None)


def test_lists_omitted_is_signed() -> None:
    url = build(shared=ids(1_000))

    assert signature_is_valid(SECRET, url)
    assert not signature_is_valid(SECRET, url.replace("lists=omitted", "lists=omitted2"))
    assert not signature_is_valid(SECRET, url.replace("&lists=omitted", ""))


def test_the_lists_stay_up_to_the_last_byte_of_the_budget() -> None:
    """Exactly 8,000 bytes keeps the lists; one byte more leaves them out."""
    shared = ids(200)
    filler = BUDGET - size(build(shared=shared, state=""))
    assert filler > 0

    at_budget = build(shared=shared, state="x" * filler)
    one_over = build(shared=shared, state="x" * (filler + 1))

    assert size(at_budget) == BUDGET
    assert "channels" in names(at_budget) and "lists" not in names(at_budget)
    assert "channels" not in names(one_over) and dict(query_params(one_over))["lists"] == "omitted"


def test_a_cancel_never_carries_lists() -> None:
    url = build(error="access_denied", shared=ids(1_000), revoked=ids(1_000))

    assert names(url) == ["client", "error", "consent", "state", "iss", "ts", "signature"]


# --- through the permission screen, and read back from the API -------------------------------


def many_channels(db: Session, account: PartnerAccount, n: int) -> ClientAccount:
    """A client of the partner with n numbers, inserted in one go."""
    customer, user = make_client(db, account.partner)
    db.add_all(
        Channel(
            client=customer,
            phone_number=f"+4917{next(_numbers):09d}",
            name=f"Line {i}",
            status=ChannelStatus.RUNNING,
        )
        for i in range(n)
    )
    db.commit()
    db.refresh(customer)
    return ClientAccount(account.partner, customer, user, list(customer.channels))


def read_consent(client: FlaskClient, account: PartnerAccount, consent_id: str) -> dict[str, Any]:
    response = client.get(account.path(f"/consents/{consent_id}"), headers=api_headers(account))
    body: dict[str, Any] = assert_documented(response, "get", CONSENT, 200)
    return body


@pytest.mark.parametrize(
    ("n", "tick"),
    [
        pytest.param(1_000, "each", id="1000-ticked-one-by-one"),
        pytest.param(10_000, "all", id="10000-all-numbers"),
    ],
)
def test_many_numbers_give_a_short_callback_and_the_consent_has_the_full_lists(
    client: FlaskClient, db: Session, n: int, tick: str
) -> None:
    partner = make_account(db)
    db.commit()
    account = many_channels(db, partner, n)
    html = open_consent(client, account, state="s&t")

    ticked = account.ids if tick == "each" else []
    response = answer(client, html, channels=ticked, all_channels=tick == "all")

    params = callback(response, account.partner)  # signed, each name once, <= 8,000 bytes
    assert params.keys() == {"client", "lists", "consent", "state", "iss", "ts", "signature"}
    assert (params["lists"], params["state"]) == ("omitted", "s&t")
    consent = read_consent(client, partner, params["consent"])
    assert consent["channels"] == account.ids
    assert (consent["revoked"], consent["all_channels"]) == ([], tick == "all")
    assert (consent["client_id"], consent["state"]) == (account.customer.public_id, "s&t")


def test_revoking_many_numbers_leaves_the_lists_out_too(client: FlaskClient, db: Session) -> None:
    partner = make_account(db)
    db.commit()
    account = many_channels(db, partner, 1_000)
    callback(answer(client, open_consent(client, account), all_channels=True), account.partner)

    params = callback(answer(client, open_consent(client, account)), account.partner)

    assert params["lists"] == "omitted" and "revoked" not in params
    consent = read_consent(client, partner, params["consent"])
    assert (consent["channels"], consent["revoked"]) == ([], account.ids)


def test_the_docs_verifier_reads_lists_omitted(client: FlaskClient, db: Session) -> None:
    partner = make_account(db)
    db.commit()
    account = many_channels(db, partner, 1_000)

    response = answer(client, open_consent(client, account), all_channels=True)

    result = py.verify_callback(
        response.location,
        signing_secret=account.partner.signing_secret,
        issuer="https://hub.test",
        state=None,
    )
    assert (result.lists_omitted, result.channels, result.error) == (True, None, None)
    assert read_consent(client, partner, result.consent)["channels"] == account.ids


def test_a_callback_that_cannot_fit_changes_nothing(client: FlaskClient, db: Session) -> None:
    """A redirect URL registered before the limit, with the longest state: the answer is refused
    before anything is changed (and the flow can be started again with a shorter state)."""
    legacy = longest_redirect_url(2000)
    partner = make_partner(db)
    partner.redirect_urls.append(PartnerRedirectUrl(url=legacy, position=1))  # past the check
    customer, user = make_client(db, partner)
    line = make_channel(db, customer)
    db.commit()
    account = ClientAccount(partner, customer, user, [line])
    html = open_consent(client, account, redirect_url=legacy, state=LONGEST_STATE)
    before = snapshot(db)

    refused = assert_refused(answer(client, html, channels=account.ids), 400)

    assert "Nothing was changed" in refused
    assert snapshot(db) == before
    shorter = open_consent(client, account, redirect_url=legacy, state="s")
    params = callback(answer(client, shorter, channels=account.ids), partner, redirect_url=legacy)
    assert params["channels"] == f"[{line.public_id}]"
