"""Signed permission links (SPEC §5.1 `sig`): who may set `partner_payload`, and that a link the
hub or the partner made cannot be changed by whoever holds it.

Signatures are made and checked here by tests/link_signatures.py, which shares no code with the
product.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict
from werkzeug.test import TestResponse

from onboarding.consent.request import TamperedLink, parse_request
from onboarding.db import utcnow
from onboarding.models import AuditEvent, Client, Partner
from onboarding.partners.service import create_partner_user
from onboarding.webhooks.service import rotate_signing_secret
from tests.api import API, api_headers, make_account
from tests.conftest import csrf_token
from tests.factories import (
    PASSWORD,
    REDIRECT_URL,
    ClientAccount,
    make_channel,
    make_client,
    make_partner,
)
from tests.link_signatures import (
    link_is_signed,
    link_params,
    link_signature,
    signed_query,
)
from tests.test_consent_http import (
    arrange,
    assert_refused,
    new_client,
    sign_up,
    snapshot,
    start,
)

TAMPERED = "was changed after"


def open_link(client: FlaskClient, url: str) -> TestResponse:
    """GET a link exactly as given (its query bytes untouched)."""
    parts = urlsplit(url)
    return client.get(parts.path, query_string=parts.query)


def with_query(url: str, params: list[tuple[str, str]]) -> str:
    return f"{url.split('?', 1)[0]}?{urlencode(params)}"


def client_created(db: Session, customer: Client) -> dict[str, Any]:
    event = db.scalars(
        select(AuditEvent).where(
            AuditEvent.type == "client.created", AuditEvent.client_id == customer.id
        )
    ).one()
    return event.data


# --- partner_payload only from a signed link (the hole) ----------------------------------------


def test_an_unsigned_link_cannot_set_partner_payload(client: FlaskClient, db: Session) -> None:
    """The hole: whoever opened a link chose the reference shown to the partner ("Your
    reference") and sent in client.created. Unsigned, the payload is now ignored, not refused,
    so that old links keep working."""
    partner = make_partner(db)
    db.commit()

    signed_up = sign_up(client, partner, partner_payload="attacker")

    assert signed_up.status_code == 303
    customer = new_client(db, partner)
    assert customer.partner_payload is None
    assert client_created(db, customer)["partner_payload"] is None


def test_a_signed_link_sets_partner_payload(client: FlaskClient, db: Session) -> None:
    partner = make_partner(db)
    db.commit()
    query = signed_query(
        partner.signing_secret, {"next": "signup", "partner_payload": "crm:42 ü&x"}
    )

    signed_up = sign_up(client, partner, **query)

    assert signed_up.status_code == 303
    customer = new_client(db, partner)
    assert customer.partner_payload == "crm:42 ü&x"
    assert client_created(db, customer)["partner_payload"] == "crm:42 ü&x"


def test_the_partner_reads_no_unsigned_payload_through_the_api(
    client: FlaskClient, db: Session
) -> None:
    account = make_account(db)
    db.commit()
    sign_up(client, account.partner, partner_payload="attacker")

    listed = client.get(f"{API}/partners/{account.id}/clients", headers=api_headers(account))
    events = client.get(f"{API}/partners/{account.id}/events", headers=api_headers(account))

    assert [c["partner_payload"] for c in listed.get_json()["clients"]] == [None]
    created = [e for e in events.get_json()["events"] if e["type"] == "client.created"]
    assert [e["data"]["partner_payload"] for e in created] == [None]


# --- the request records whether it was signed --------------------------------------------------


def request_of(app: Flask, partner: Partner, params: list[tuple[str, str]]) -> Any:
    with app.test_request_context():
        return parse_request(partner, MultiDict(params))


def test_parse_request_records_a_signed_link(app: Flask, db: Session) -> None:
    partner = make_partner(db)
    params = {"state": "s", "partner_payload": "crm-1"}

    signed = request_of(app, partner, list(signed_query(partner.signing_secret, params).items()))
    unsigned = request_of(app, partner, list(params.items()))

    assert (signed.signed, signed.partner_payload, signed.state) == (True, "crm-1", "s")
    assert (unsigned.signed, unsigned.partner_payload, unsigned.state) == (False, None, "s")


def test_an_unsigned_payload_of_any_length_is_ignored(app: Flask, db: Session) -> None:
    partner = make_partner(db)

    asked = request_of(app, partner, [("partner_payload", "p" * 513)])

    assert (asked.signed, asked.partner_payload) == (False, None)


def test_a_signed_payload_longer_than_512_is_refused(
    client: FlaskClient, account: ClientAccount, db: Session
) -> None:
    secret = account.partner.signing_secret
    before = snapshot(db)

    response = start(
        client, account.partner.public_id, signed_query(secret, {"partner_payload": "p" * 513})
    )

    html = assert_refused(response, 400)
    assert "partner_payload parameter is longer than 512" in html
    assert snapshot(db) == before


@pytest.fixture
def account(db: Session) -> ClientAccount:
    return arrange(db)


# --- a signed link cannot be changed -------------------------------------------------------------


def full_params(account: ClientAccount) -> dict[str, str]:
    """A link using every parameter of the screen."""
    return {
        "redirect_url": REDIRECT_URL,
        "state": "order 42 & more=1",
        "channels": f"[{account.ids[0]},{account.ids[1]}]",
        "number": account.channels[2].phone_number,
        "email": "owner@client.example",
        "name": "Beispiel Bäckerei",
        "next": "signup",
        "partner_payload": "crm:42 ü&x",
        "lang": "de",
    }


NAMES = ["redirect_url", "state", "channels", "number", "email", "name", "next"]
NAMES += ["partner_payload", "lang"]
CHANGES = [
    *[("changed", name) for name in [*NAMES, "sig"]],
    *[("removed", name) for name in NAMES],
    ("added", "utm_source"),
    ("repeated", "state"),
    ("repeated", "sig"),
    ("uppercase", "sig"),
    ("truncated", "sig"),
    ("empty", "sig"),
    ("not-hex", "sig"),
    ("padded", "sig"),
]


def changed(pairs: list[tuple[str, str]], kind: str, name: str) -> list[tuple[str, str]]:
    """The link's parameters after a holder changed them in one way."""
    values = dict(pairs)
    edits = {
        "changed": values.get(name, "") + "x",
        "uppercase": values["sig"].upper(),
        "truncated": values["sig"][:-2],
        "empty": "",
        "not-hex": "z" * 64,
        "padded": " " + values["sig"],
    }
    if kind == "removed":
        return [(n, v) for n, v in pairs if n != name]
    if kind == "added":
        return [*pairs, (name, "mail")]
    if kind == "repeated":
        return [*pairs, (name, values[name])]
    return [(n, edits[kind] if n == name else v) for n, v in pairs]


@pytest.mark.parametrize(("kind", "name"), CHANGES, ids=[f"{n}-{k}" for k, n in CHANGES])
def test_any_change_to_a_signed_link_is_refused_without_redirect(
    client: FlaskClient, account: ClientAccount, db: Session, kind: str, name: str
) -> None:
    """A wrong, malformed or repeated sig is a 400 page saying the link was changed."""
    params = list(signed_query(account.partner.signing_secret, full_params(account)).items())
    assert [n for n, _ in params] == [*NAMES, "sig"]
    query = changed(params, kind, name)
    assert query != params
    before = snapshot(db)

    response = start(client, account.partner.public_id, query)

    html = assert_refused(response, 400)
    assert TAMPERED in html
    assert account.partner.brand_name in html
    assert snapshot(db) == before


def test_a_value_cannot_be_smuggled_into_another(
    client: FlaskClient, account: ClientAccount, db: Session
) -> None:
    """Signed as two parameters, sent as one value holding both (and back): canonical form v2
    encodes names and values, so the signature does not carry over."""
    secret = account.partner.signing_secret
    two = signed_query(secret, {"state": "s1", "partner_payload": "crm-7"})
    one = [("state", "s1&partner_payload=crm-7"), ("sig", two["sig"])]
    joined = signed_query(secret, {"state": "s1&partner_payload=crm-7"})
    split = [("state", "s1"), ("partner_payload", "crm-7"), ("sig", joined["sig"])]

    for query in (one, split):
        html = assert_refused(start(client, account.partner.public_id, query), 400)
        assert TAMPERED in html


def test_another_partners_key_does_not_sign_this_partners_link(
    client: FlaskClient, account: ClientAccount, db: Session
) -> None:
    other = make_partner(db)
    db.commit()

    query = signed_query(other.signing_secret, {"partner_payload": "crm-7"})

    assert TAMPERED in assert_refused(start(client, account.partner.public_id, query), 400)


def test_a_signed_link_with_every_parameter_is_accepted(
    client: FlaskClient, account: ClientAccount
) -> None:
    query = signed_query(account.partner.signing_secret, full_params(account))

    response = start(client, account.partner.public_id, query)

    assert response.status_code == 303
    assert response.headers["Location"].startswith("/signup?flow=")


def test_the_signature_covers_decoded_values_not_their_spelling(
    client: FlaskClient, account: ClientAccount
) -> None:
    """`+` and `%20` are the same space once decoded, as SPEC §5.3 reads a query."""
    query = signed_query(account.partner.signing_secret, {"state": "a b", "partner_payload": "x y"})
    spelled = urlencode(query).replace("+", "%20")
    assert "%20" in spelled

    response = client.get(f"/partners/{account.partner.public_id}/permission", query_string=spelled)

    assert response.status_code == 303


def test_the_360dialog_path_keeps_a_signed_link_valid(
    client: FlaskClient, account: ClientAccount
) -> None:
    query = urlencode(signed_query(account.partner.signing_secret, {"partner_payload": "crm-7"}))
    moved = client.get(
        f"/dashboard/app/{account.partner.public_id}/permissions", query_string=query
    )
    assert moved.status_code == 308

    assert open_link(client, moved.headers["Location"]).status_code == 303


def test_an_unsigned_link_still_works(client: FlaskClient, account: ClientAccount) -> None:
    response = start(client, account.partner.public_id, {"state": "s", "partner_payload": "x"})

    assert response.status_code == 303


# --- signing-secret rotation ----------------------------------------------------------------------


def test_during_a_rotation_links_signed_with_either_key_are_accepted(
    client: FlaskClient, account: ClientAccount, db: Session
) -> None:
    partner = db.get_one(Partner, account.partner.id)
    old = partner.signing_secret
    new = rotate_signing_secret(db, partner, overlap=timedelta(hours=24))
    db.commit()

    for secret in (old, new):
        query = signed_query(secret, {"partner_payload": "crm-7"})
        assert start(client, partner.public_id, query).status_code == 303


@pytest.mark.parametrize("overlap", [timedelta(0), timedelta(hours=24)], ids=["none", "over"])
def test_after_a_rotation_the_old_key_no_longer_signs(
    client: FlaskClient, account: ClientAccount, db: Session, overlap: timedelta
) -> None:
    partner = db.get_one(Partner, account.partner.id)
    old = partner.signing_secret
    rotate_signing_secret(db, partner, overlap=overlap)
    if overlap:
        partner.previous_signing_secret_until = utcnow() - timedelta(seconds=1)
    db.commit()

    query = signed_query(old, {"partner_payload": "crm-7"})

    assert TAMPERED in assert_refused(start(client, partner.public_id, query), 400)


def test_tampered_link_is_a_kind_of_invalid_input(app: Flask, db: Session) -> None:
    """So every door that shows InvalidInput as a 400 shows this one too."""
    partner = make_partner(db)
    with pytest.raises(TamperedLink, match=TAMPERED):
        request_of(app, partner, [("state", "s"), ("sig", link_signature("whsec_AAAA", []))])


# --- every link the hub hands out is signed -------------------------------------------------------


def assert_tamper_proof(client: FlaskClient, partner: Partner, url: str) -> None:
    """The link verifies independently and opens the screen; changing any one of its
    parameters is refused; without its sig it is an unsigned link (still usable)."""
    assert link_is_signed(partner.signing_secret, url), url
    assert open_link(client, url).status_code == 303
    params = link_params(url)
    assert params[-1][0] == "sig" and len(params) >= 2
    for index, (name, value) in enumerate(params):
        changed = [*params[:index], (name, value + "x"), *params[index + 1 :]]
        response = open_link(client, with_query(url, changed))
        assert response.status_code == 400, f"{name} changed: {response.status}"
        assert TAMPERED in response.get_data(as_text=True)
    unsigned = open_link(client, with_query(url, params[:-1]))
    assert unsigned.status_code == 303


def test_api_permission_links_are_signed(client: FlaskClient, db: Session) -> None:
    account = make_account(db)
    customer = make_client(db, account.partner)[0]
    channel = make_channel(db, customer)
    db.commit()
    body = {
        "client_id": customer.public_id,
        "channels": [channel.public_id],
        "redirect_url": REDIRECT_URL,
        "state": "order 42 & more=1 ü",
        "number": channel.phone_number,
        "email": "owner@client.example",
        "name": "Acme",
        "next": "signup",
        "partner_payload": "crm:42",
        "lang": "de",
    }

    response = client.post(
        f"{API}/partners/{account.id}/permission_links", json=body, headers=api_headers(account)
    )

    assert response.status_code == 201, response.text
    url = response.get_json()["url"]
    assert dict(link_params(url))["partner_payload"] == "crm:42"
    assert_tamper_proof(client, account.partner, url)


def test_api_permission_link_with_defaults_is_signed(client: FlaskClient, db: Session) -> None:
    account = make_account(db)
    db.commit()

    response = client.post(
        f"{API}/partners/{account.id}/permission_links", json={}, headers=api_headers(account)
    )

    url = response.get_json()["url"]
    assert [name for name, _ in link_params(url)] == ["sig"]
    assert link_is_signed(account.partner.signing_secret, url)
    assert open_link(client, url).status_code == 303


def test_the_permission_url_of_a_403_is_signed(client: FlaskClient, db: Session) -> None:
    account = make_account(db)
    channel = make_channel(db, make_client(db, account.partner)[0])
    db.commit()

    response = client.post(
        f"{API}/partners/{account.id}/channels/{channel.public_id}/api_keys",
        headers=api_headers(account),
    )

    assert response.status_code == 403
    assert_tamper_proof(client, account.partner, response.get_json()["permission_url"])


def hub_login(client: FlaskClient, db: Session, partner: Partner) -> None:
    user = create_partner_user(
        db, partner, email=f"owner-{partner.public_id}@p.example", password=PASSWORD, role="owner"
    )
    db.commit()
    page = client.get("/hub/login").text
    response = client.post(
        "/hub/login",
        data={"csrf_token": csrf_token(page), "email": user.email, "password": PASSWORD},
    )
    assert response.status_code == 303


def link_fields(html: str) -> list[str]:
    found = re.findall(r'class="link-field" type="text" readonly value="([^"]+)"', html)
    return [value.replace("&amp;", "&") for value in found]


def test_partner_hub_links_are_signed(client: FlaskClient, db: Session) -> None:
    """The link builder and the link beside a Missing channel."""
    partner = make_partner(db)
    customer = make_client(db, partner)[0]
    channel = make_channel(db, customer)
    hub_login(client, db, partner)
    built = client.get(
        "/hub/permission-link",
        query_string={
            "client": customer.public_id,
            "listed_for": customer.public_id,
            "channels": channel.public_id,
            "redirect_url": REDIRECT_URL,
            "state": "order 42 & more",
            "build": "1",
        },
    )
    on_client_page = link_fields(client.get(f"/hub/clients/{customer.public_id}").text)

    assert built.status_code == 200
    (built_link,) = link_fields(built.text)
    assert_tamper_proof(client, partner, built_link)
    assert len(on_client_page) == 1
    assert_tamper_proof(client, partner, on_client_page[0])


# --- the integration guide's signers, run as printed ----------------------------------------------

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "integration-guide.md"
EXAMPLES = [
    {"state": "s-81f2", "partner_payload": "crm-4711", "next": "signup"},
    {"state": "a+b c&d=e%f ü 😀 !'()*~", "partner_payload": "x=y&z", "lang": "de"},
    {"partner_payload": "", "state": ""},
    {},
]


def guide_code(language: str) -> str:
    section = GUIDE.read_text().split("### Signing a link", 1)[1].split("\n### ", 1)[0]
    match = re.search(rf"```{language}\n(.*?)```", section, re.S)
    assert match, f"no {language} example under 'Signing a link'"
    return match.group(1)


def python_links(partner: Partner) -> list[str]:
    namespace: dict[str, Any] = {}
    # The guide's own code, run as a partner would paste it (our file, not untrusted input).
    exec(guide_code("python"), namespace)  # noqa: S102
    make = namespace["permission_link"]
    return [
        make("https://hub.test", partner.public_id, partner.signing_secret, p) for p in EXAMPLES
    ]


def javascript_links(partner: Partner, tmp_path: Path) -> list[str]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    module = tmp_path / "sign.mjs"
    module.write_text(
        guide_code("js")
        + "\nconst [hub, id, secret, examples] = process.argv.slice(2);\n"
        + "for (const params of JSON.parse(examples)) "
        + "console.log(permissionLink(hub, id, secret, params));\n"
    )
    args = ["https://hub.test", partner.public_id, partner.signing_secret, json.dumps(EXAMPLES)]
    command = [node, str(module), *args]  # no shell; arguments made by this test
    done = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603
    return done.stdout.splitlines()


def test_the_guides_python_signer_makes_links_the_hub_accepts(
    app: Flask, client: FlaskClient, account: ClientAccount
) -> None:
    partner = account.partner

    links = python_links(partner)

    for url, params in zip(links, EXAMPLES, strict=True):
        assert link_is_signed(partner.signing_secret, url)
        assert open_link(client, url).status_code == 303
        asked = request_of(app, partner, link_params(url))
        assert asked.signed and asked.partner_payload == params.get("partner_payload")


def test_the_guides_javascript_signer_agrees_with_python(
    app: Flask, client: FlaskClient, account: ClientAccount, tmp_path: Path
) -> None:
    partner = account.partner

    links = javascript_links(partner, tmp_path)

    assert len(links) == len(EXAMPLES)
    for url, python_url in zip(links, python_links(partner), strict=True):
        # The two spell some characters differently (`~`, `*`); the decoded query is the same.
        assert link_params(url) == link_params(python_url)
        assert open_link(client, url).status_code == 303
        assert request_of(app, partner, link_params(url)).signed


def test_the_restart_link_of_an_expired_flow_carries_no_payload(app: Flask, db: Session) -> None:
    """The hub rebuilds it unsigned (it is not the partner's link), so partner_payload, which
    only a signed link may carry, is left out rather than offered to whoever holds it."""
    partner = make_partner(db)
    params = {"state": "s", "partner_payload": "crm-1", "next": "signup"}
    asked = request_of(app, partner, list(signed_query(partner.signing_secret, params).items()))

    assert asked.query() == {
        "redirect_url": REDIRECT_URL,
        "state": "s",
        "next": "signup",
        "lang": "en",
    }
