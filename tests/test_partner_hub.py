"""The Partner Hub (/hub/) over HTTP: every page and action, and every refusal.

Access control is one set of tables at the top (who, what, expected answer); the tests below it
walk through each page and action, checking the answer, the flash message and the database.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Connection, event, func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from onboarding.db import utcnow
from onboarding.models import (
    ApiKey,
    AuditEvent,
    BillingModel,
    Channel,
    ChannelStatus,
    Client,
    ClientUser,
    GrantedVia,
    LoginSession,
    OAuthClient,
    Partner,
    PartnerApiKey,
    PartnerUser,
    WebhookAttempt,
    WebhookOutbox,
)
from onboarding.partners.service import create_partner, create_partner_user
from onboarding.permissions.keys import KeyOwner, channel_for_key
from onboarding.permissions.service import grant
from onboarding.phones import readable
from onboarding.security import hash_secret
from onboarding.webhooks.delivery import deliver_due
from tests.api import table_rows
from tests.conftest import csrf_token, submit_login
from tests.factories import PASSWORD, REDIRECT_URL, make_channel, make_client
from tests.link_signatures import link_is_signed

A_SECOND_URL = "https://a.example/second-callback"
B_URL = "https://b.example/callback"
WEBHOOK_URL = "https://a.example/webhooks"


@dataclass
class World:
    """Partner A (owner, member, two clients) and partner B (owner, one client)."""

    a: Partner
    b: Partner
    a_api_key: str  # the secret, as create-partner printed it
    owner: PartnerUser
    member: PartnerUser
    b_owner: PartnerUser
    client: Client
    other_client: Client
    b_client: Client
    shared: Channel  # running, shared with A: keys may be generated
    missing: Channel  # running, not shared: refused (403)
    pending: Channel  # shared but pending: refused (409)
    other: Channel  # of A's other client
    b_channel: Channel

    def ids(self, db: Session) -> dict[str, str]:
        """What the path templates of the tables below name."""
        return {
            "client": self.client.public_id,
            "shared": self.shared.public_id,
            "missing": self.missing.public_id,
            "other": self.other.public_id,
            "b_client": self.b_client.public_id,
            "b_channel": self.b_channel.public_id,
            "api_key": _first(db, PartnerApiKey.public_id, PartnerApiKey.partner_id, self.a.id),
            "oauth": _first(db, OAuthClient.client_id, OAuthClient.partner_id, self.a.id),
            "b_api_key": _first(db, PartnerApiKey.public_id, PartnerApiKey.partner_id, self.b.id),
            "b_oauth": _first(db, OAuthClient.client_id, OAuthClient.partner_id, self.b.id),
            "event": _first(db, AuditEvent.public_id, AuditEvent.partner_id, self.a.id),
            "delivery": _delivered(db, self.a),
            "member": self.member.public_id,
        }


def _first_delivery(db: Session, partner: Partner) -> WebhookOutbox:
    row = db.scalars(
        select(WebhookOutbox)
        .where(WebhookOutbox.partner_id == partner.id)
        .order_by(WebhookOutbox.id)
    ).first()
    assert row is not None
    return row


def _delivered(db: Session, partner: Partner) -> str:
    """The event id of the partner's first webhook delivery, which the world delivered."""
    return _first_delivery(db, partner).event.public_id


def _first(db: Session, column: Any, owner: Any, partner_id: int) -> str:
    value: str = db.scalars(select(column).where(owner == partner_id)).first()
    return value


def _partner(db: Session, urls: list[str], webhook_url: str | None = None) -> tuple[Partner, str]:
    partner, credentials = create_partner(
        db,
        name="Hub Partner",
        billing_model=BillingModel.DIRECT_PAYMENT,
        redirect_urls=urls,
        webhook_url=webhook_url,
    )
    return partner, credentials.api_key


_emails = iter(range(1, 1_000_000))


def _user(db: Session, partner: Partner, role: str) -> PartnerUser:
    email = f"{role}{next(_emails)}@partner.example"
    return create_partner_user(db, partner, email=email, password=PASSWORD, role=role)


@pytest.fixture
def world(db: Session) -> World:
    a, a_api_key = _partner(db, [REDIRECT_URL, A_SECOND_URL], webhook_url=WEBHOOK_URL)
    b, _ = _partner(db, [B_URL])
    client, _ = make_client(db, a)
    shared = make_channel(db, client)
    missing = make_channel(db, client)
    pending = make_channel(db, client, status=ChannelStatus.PENDING)
    grant(db, client, [shared, pending], via=GrantedVia.OPERATOR, actor="operator")
    other_client, _ = make_client(db, a)
    other = make_channel(db, other_client)
    grant(db, other_client, [other], via=GrantedVia.OPERATOR, actor="operator")
    b_client, _ = make_client(db, b)
    b_channel = make_channel(db, b_client)
    grant(db, b_client, [b_channel], via=GrantedVia.OPERATOR, actor="operator")
    world = World(
        a=a,
        b=b,
        a_api_key=a_api_key,
        owner=_user(db, a, "owner"),
        member=_user(db, a, "member"),
        b_owner=_user(db, b, "owner"),
        client=client,
        other_client=other_client,
        b_client=b_client,
        shared=shared,
        missing=missing,
        pending=pending,
        other=other,
        b_channel=b_channel,
    )
    db.flush()
    row = _first_delivery(db, a)  # delivered: Resend may send it again
    row.status, row.delivered_at = "delivered", utcnow()
    db.commit()
    return world


@pytest.fixture
def new_owner(db: Session) -> PartnerUser:
    """The owner of a partner just created: no clients, no webhook URL, nothing done yet."""
    partner, _ = _partner(db, [REDIRECT_URL])
    owner = _user(db, partner, "owner")
    db.commit()
    return owner


# -- browsing helpers ---------------------------------------------------------------------------


def log_in(client: FlaskClient, user: PartnerUser) -> None:
    response = submit_login(client, "/hub/login", user.email)
    assert response.status_code == 303, response.text


def token(client: FlaskClient) -> str:
    """The session's CSRF token, read from a hub form as a browser would."""
    page = client.get("/hub/login")
    if page.status_code == 303:  # logged in: the login form is not shown
        page = client.get("/hub/team")
    return csrf_token(page.text)


def post(client: FlaskClient, path: str, data: dict[str, str] | None = None) -> TestResponse:
    return client.post(path, data={"csrf_token": token(client), **(data or {})})


def flashes(html: str) -> list[str]:
    return [re.sub(r"\s+", " ", m) for m in re.findall(r'class="flash[^"]*"[^>]*>([^<]*)<', html)]


def follow(client: FlaskClient, response: TestResponse) -> str:
    assert response.status_code == 303, response.text
    return client.get(response.headers["Location"]).text


# -- access control: one table per kind of refusal ------------------------------------------------

PAGES = ["/hub/", "/hub/clients", "/hub/clients/{client}", "/hub/settings", "/hub/webhooks"]
PAGES += ["/hub/activity", "/hub/team", "/hub/permission-link"]
# Ask first (GET, owners only): each names the consequence of the POST below it.
CONFIRMATIONS = [
    f"/hub/settings/redirect-urls/remove?url={A_SECOND_URL}",
    "/hub/settings/api-keys/{api_key}/revoke",
    "/hub/settings/oauth-clients/{oauth}/revoke",
    "/hub/settings/signing-secret",
]
# (path, form data, owner only)
ACTIONS: list[tuple[str, dict[str, str], bool]] = [
    ("/hub/clients/{client}/channels/{shared}/api-key", {}, False),
    ("/hub/settings/webhook/test", {}, False),
    ("/hub/webhooks/{delivery}/resend", {}, False),
    ("/hub/settings/redirect-urls", {"url": "https://a.example/new"}, True),
    ("/hub/settings/redirect-urls/remove", {"url": A_SECOND_URL}, True),
    ("/hub/settings/webhook", {"webhook_url": "https://a.example/other-hook"}, True),
    ("/hub/settings/signing-secret", {}, True),
    ("/hub/settings/api-keys", {}, True),
    ("/hub/settings/api-keys/{api_key}/revoke", {}, True),
    ("/hub/settings/oauth-clients", {}, True),
    ("/hub/settings/oauth-clients/{oauth}/revoke", {}, True),
    ("/hub/team/invites", {"email": "new@partner.example", "role": "member"}, True),
    ("/hub/team/members/{member}/role", {"role": "owner"}, True),
    ("/hub/team/members/{member}/remove", {}, True),
]
OWNER_ACTIONS = [(path, data) for path, data, owner_only in ACTIONS if owner_only]
MEMBER_ACTIONS = [(path, data) for path, data, owner_only in ACTIONS if not owner_only]
# Partner B's owner naming A's objects (or A's owner naming a channel under the wrong client).
FOREIGN: list[tuple[str, str, str, dict[str, str]]] = [
    ("b_owner", "get", "/hub/clients/{client}", {}),
    ("b_owner", "post", "/hub/clients/{client}/channels/{shared}/api-key", {}),
    ("b_owner", "post", "/hub/clients/{b_client}/channels/{shared}/api-key", {}),
    ("owner", "post", "/hub/clients/{client}/channels/{other}/api-key", {}),
    ("owner", "post", "/hub/clients/{client}/channels/{b_channel}/api-key", {}),
    ("b_owner", "post", "/hub/settings/api-keys/{api_key}/revoke", {}),
    ("b_owner", "post", "/hub/settings/oauth-clients/{oauth}/revoke", {}),
    ("b_owner", "post", "/hub/settings/redirect-urls/remove", {"url": REDIRECT_URL}),
    ("owner", "post", "/hub/settings/api-keys/{b_api_key}/revoke", {}),
    ("owner", "post", "/hub/settings/oauth-clients/{b_oauth}/revoke", {}),
    ("owner", "post", "/hub/settings/redirect-urls/remove", {"url": B_URL}),
    ("b_owner", "get", "/hub/settings/api-keys/{api_key}/revoke", {}),
    ("b_owner", "get", "/hub/settings/oauth-clients/{oauth}/revoke", {}),
    ("b_owner", "get", f"/hub/settings/redirect-urls/remove?url={REDIRECT_URL}", {}),
    ("owner", "get", "/hub/settings/api-keys/{b_api_key}/revoke", {}),
    ("owner", "get", "/hub/settings/oauth-clients/{b_oauth}/revoke", {}),
    ("owner", "get", f"/hub/settings/redirect-urls/remove?url={B_URL}", {}),
    ("b_owner", "get", "/hub/permission-link?client={client}", {}),
    (
        "owner",
        "get",
        "/hub/permission-link?client={client}&listed_for={client}&channels={other}&build=1"
        f"&redirect_url={REDIRECT_URL}",
        {},
    ),
    ("b_owner", "post", "/hub/webhooks/{delivery}/resend", {}),
    ("b_owner", "get", "/hub/activity?before={event}", {}),
    ("b_owner", "post", "/hub/team/members/{member}/remove", {}),
    ("b_owner", "post", "/hub/team/members/{member}/role", {"role": "owner"}),
]


def _fill(template: str, ids: dict[str, str]) -> str:
    return template.format(**ids)


@pytest.mark.parametrize("path", PAGES + CONFIRMATIONS + [path for path, _, _ in ACTIONS])
def test_every_page_and_action_needs_a_login(
    client: FlaskClient, db: Session, world: World, path: str
) -> None:
    path = _fill(path, world.ids(db))
    before = table_rows(db)
    if path in _fill_all(PAGES + CONFIRMATIONS, world.ids(db)):
        response = client.get(path)
    else:
        response = client.post(path, data={"csrf_token": token(client)})
    assert response.status_code == 303
    assert response.headers["Location"] == "/hub/login"
    assert table_rows(db) == before


def _fill_all(paths: list[str], ids: dict[str, str]) -> list[str]:
    return [_fill(path, ids) for path in paths]


@pytest.mark.parametrize(("path", "data"), OWNER_ACTIONS)
def test_members_cannot_do_an_owners_tasks(
    client: FlaskClient, db: Session, world: World, path: str, data: dict[str, str]
) -> None:
    log_in(client, world.member)
    before = table_rows(db)
    response = post(client, _fill(path, world.ids(db)), data)
    assert response.status_code == 403
    assert "Only an owner of your partner account can do this." in response.text
    assert table_rows(db) == before


@pytest.mark.parametrize("path", CONFIRMATIONS)
def test_members_cannot_open_an_owners_confirmation(
    client: FlaskClient, db: Session, world: World, path: str
) -> None:
    log_in(client, world.member)
    response = client.get(_fill(path, world.ids(db)))
    assert response.status_code == 403
    assert "Only an owner of your partner account can do this." in response.text
    assert '<form method="post"' not in response.text.split("</nav>", 1)[1]


@pytest.mark.parametrize(("path", "data"), MEMBER_ACTIONS)
def test_members_work_with_clients_keys_links_and_webhooks(
    client: FlaskClient, db: Session, world: World, path: str, data: dict[str, str]
) -> None:
    log_in(client, world.member)
    response = post(client, _fill(path, world.ids(db)), data)
    assert response.status_code in (200, 201, 303), response.text


@pytest.mark.parametrize(("who", "method", "path", "data"), FOREIGN)
def test_another_partners_objects_are_not_found(
    client: FlaskClient,
    db: Session,
    world: World,
    who: str,
    method: str,
    path: str,
    data: dict[str, str],
) -> None:
    ids = world.ids(db)
    log_in(client, getattr(world, who))
    before = table_rows(db)
    filled = {name: _fill(value, ids) for name, value in data.items()}
    if method == "get":
        response = client.get(_fill(path, ids))
    else:
        response = post(client, _fill(path, ids), filled)
    assert response.status_code == 404, response.text
    assert table_rows(db) == before


@pytest.mark.parametrize("path", [path for path, _, _ in ACTIONS] + ["/hub/logout"])
def test_every_post_needs_its_csrf_token(
    client: FlaskClient, db: Session, world: World, path: str
) -> None:
    log_in(client, world.owner)
    before = table_rows(db)
    data = next((data for p, data, _ in ACTIONS if p == path), {})
    response = client.post(_fill(path, world.ids(db)), data=data)
    assert response.status_code == 400
    assert "Your form expired" in response.text
    assert table_rows(db) == before
    assert client.get("/hub/clients").status_code == 200  # still logged in


# -- logging in and out ---------------------------------------------------------------------------


def test_login_opens_the_clients_list(client: FlaskClient, db: Session, world: World) -> None:
    page = client.get("/hub/login")
    assert page.status_code == 200
    assert "Log in to the Partner Hub" in page.text
    response = client.post(
        "/hub/login",
        data={
            "csrf_token": csrf_token(page.text),
            "email": world.owner.email.upper(),
            "password": PASSWORD,
        },
    )
    assert response.headers["Location"] == "/hub/clients"
    html = follow(client, response)
    assert f"Logged in as {world.owner.email}." in flashes(html)
    assert world.client.name in html
    with client.session_transaction() as session:
        token = session["login"]
    login = db.scalar(select(LoginSession).where(LoginSession.token_hash == hash_secret(token)))
    assert login is not None and login.partner_user_id == world.owner.id
    assert client.get("/hub/login").headers["Location"] == "/hub/clients"


@pytest.mark.parametrize("email", ["owner", "nobody@nowhere.example", "client"])
def test_wrong_credentials_are_refused_alike(
    client: FlaskClient, db: Session, world: World, email: str
) -> None:
    """A wrong password, an unknown email and a client user's login all get the same 401."""
    _client, client_user = make_client(db, world.a, password=PASSWORD)
    db.commit()
    address = {"owner": world.owner.email, "client": client_user.email}.get(email, email)
    password = "wrong password" if email == "owner" else PASSWORD
    page = client.get("/hub/login").text
    response = client.post(
        "/hub/login",
        data={"csrf_token": csrf_token(page), "email": address, "password": password},
    )
    assert response.status_code == 401
    assert "Wrong email or password." in response.text
    assert client.get("/hub/clients").status_code == 303


def test_login_needs_its_csrf_token_and_both_fields(client: FlaskClient, world: World) -> None:
    data = {"email": world.owner.email, "password": PASSWORD}
    assert client.post("/hub/login", data=data).status_code == 400
    page = client.get("/hub/login").text
    response = client.post("/hub/login", data={"csrf_token": csrf_token(page), "email": "x"})
    assert response.status_code == 400
    assert client.get("/hub/clients").status_code == 303


def test_logout_ends_the_session(client: FlaskClient, world: World) -> None:
    log_in(client, world.owner)
    response = post(client, "/hub/logout")
    assert response.headers["Location"] == "/hub/login"
    assert "You are logged out." in flashes(follow(client, response))
    assert client.get("/hub/clients").headers["Location"] == "/hub/login"


def test_a_client_users_session_does_not_open_the_hub(
    client: FlaskClient, db: Session, world: World
) -> None:
    _client, client_user = make_client(db, world.a, password=PASSWORD)
    db.commit()
    page = client.get("/login").text
    client.post(
        "/login",
        data={"csrf_token": csrf_token(page), "email": client_user.email, "password": PASSWORD},
    )
    assert client.get("/hub/clients").headers["Location"] == "/hub/login"


def test_hub_pages_are_not_cached_and_carry_the_security_headers(
    client: FlaskClient, world: World
) -> None:
    log_in(client, world.owner)
    response = client.get("/hub/settings")
    assert response.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


# -- clients --------------------------------------------------------------------------------------


def test_home_redirects_to_the_clients(client: FlaskClient, world: World) -> None:
    log_in(client, world.member)
    assert client.get("/hub/").headers["Location"] == "/hub/clients"


def test_clients_list_shows_only_own_clients(client: FlaskClient, world: World) -> None:
    log_in(client, world.owner)
    html = client.get("/hub/clients").text
    assert world.client.name in html and world.other_client.name in html
    assert world.b_client.name not in html
    assert 'aria-current="page">Clients<' in html
    assert "2 of 3" in html  # shared numbers of the first client


def test_the_clients_list_counts_numbers_without_loading_them(
    client: FlaskClient, db: Session, connection: Connection, world: World
) -> None:
    """A big client must not make the list load its numbers: the database counts them, in the
    same statements whatever the counts."""
    make_client(db, world.a)  # a client without numbers
    db.commit()
    log_in(client, world.owner)

    def statements_of_the_list() -> int:
        seen: list[str] = []

        def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            seen.append(statement)

        event.listen(connection, "before_cursor_execute", record)
        try:
            html = client.get("/hub/clients").text
        finally:
            event.remove(connection, "before_cursor_execute", record)
        assert "0 of 0" in html  # the client without numbers
        assert not [s for s in seen if "channel.phone_number" in s]  # no number was loaded
        return len(seen)

    before = statements_of_the_list()
    for _ in range(30):
        make_channel(db, world.client)
    db.commit()

    assert statements_of_the_list() == before
    assert "2 of 33" in client.get("/hub/clients").text


def test_clients_search_by_name_and_by_partner_payload(
    client: FlaskClient, db: Session, world: World
) -> None:
    world.client.name = "Bäckerei Sonnenschein"
    world.other_client.partner_payload = "crm-100%"
    db.commit()
    log_in(client, world.owner)

    by_name = client.get("/hub/clients", query_string={"q": "sonnen"}).text
    assert "Bäckerei Sonnenschein" in by_name and world.other_client.name not in by_name

    by_payload = client.get("/hub/clients", query_string={"q": "crm-100%"}).text
    assert world.other_client.name in by_payload and "Sonnenschein" not in by_payload

    wildcard = client.get("/hub/clients", query_string={"q": "%"}).text  # literal, not "any"
    assert world.other_client.name in wildcard and "Sonnenschein" not in wildcard

    nothing = client.get("/hub/clients", query_string={"q": "zzz"})
    assert nothing.status_code == 200
    assert "name or reference contains \u201czzz\u201d." in nothing.text


def test_clients_are_paginated(client: FlaskClient, db: Session, world: World) -> None:
    for _ in range(26):
        make_client(db, world.a)
    db.commit()
    log_in(client, world.owner)
    first = client.get("/hub/clients").text
    assert first.count('href="/hub/clients/cl_') == 25
    assert 'href="/hub/clients?page=2"' in first
    second = client.get("/hub/clients?page=2").text
    assert second.count('href="/hub/clients/cl_') == 3  # 28 in all
    assert 'href="/hub/clients?page=1"' in second
    assert "Next" not in second
    assert "There are no more clients." in client.get("/hub/clients?page=9").text
    assert client.get("/hub/clients?page=abc").status_code == 200


def test_clients_empty_state(client: FlaskClient, new_owner: PartnerUser) -> None:
    log_in(client, new_owner)
    html = client.get("/hub/clients").text
    assert "No clients yet." in html
    assert "Settings → Permission link" in html


def test_client_page_shows_each_channels_permission_and_key_action(
    client: FlaskClient, db: Session, world: World
) -> None:
    log_in(client, world.member)
    html = client.get(f"/hub/clients/{world.client.public_id}").text
    rows = {ch.public_id: _row(html, ch.public_id) for ch in world.client.channels}

    shared = rows[world.shared.public_id]
    assert readable(world.shared.phone_number) in shared
    assert '<span class="status shared">Shared</span>' in shared
    assert '<span class="status running">Running</span>' in shared
    assert re.search(r'<button type="submit"[^>]*>Generate API Key</button>', shared)
    assert "disabled" not in shared

    missing = rows[world.missing.public_id]
    assert '<span class="status missing">Missing</span>' in missing
    assert re.search(r"<button[^>]*disabled[^>]*>Generate API Key</button>", missing)
    assert "The client has not shared this number with you. Ask for permission first." in missing
    link = re.search(r'class="link-field" type="text" readonly value="([^"]+)"', missing)
    assert link, missing
    assert link.group(1).startswith(f"https://hub.test/partners/{world.a.public_id}/permission?")
    url = link.group(1).replace("&amp;", "&")
    assert link_is_signed(world.a.signing_secret, url)
    query = dict(parse_qsl(urlsplit(url).query))
    assert query.pop("sig")
    assert query == {"channels": f"[{world.missing.public_id}]"}
    assert f'data-copy="#link-{world.missing.public_id}"' in missing

    pending = rows[world.pending.public_id]
    assert '<span class="status shared">Shared</span>' in pending
    assert re.search(r"<button[^>]*disabled[^>]*>Generate API Key</button>", pending)
    ch = world.pending.public_id
    assert "This number is still pending: it can get API keys once it is connected" in pending
    assert f"(onboarding set-status {ch} running, or PUT /ops/v1/channels/{ch}/status)" in pending
    assert "link-field" not in pending  # shared already: nothing to ask for


def _row(html: str, channel_id: str) -> str:
    match = re.search(rf'<tr id="{channel_id}">(.*?)</tr>', html, re.S)
    assert match, f"no row for {channel_id}"
    return match.group(1)


def test_client_page_without_a_redirect_url_says_how_to_get_a_link(
    client: FlaskClient, db: Session
) -> None:
    partner, _ = _partner(db, [])
    owner = _user(db, partner, "owner")
    own, _ = make_client(db, partner)
    make_channel(db, own)
    db.commit()
    log_in(client, owner)
    html = client.get(f"/hub/clients/{own.public_id}").text
    assert "To get a permission link, register a redirect URL" in html
    assert "link-field" not in html


def test_client_without_numbers_has_an_empty_state(
    client: FlaskClient, db: Session, world: World
) -> None:
    empty, _ = make_client(db, world.a)
    db.commit()
    log_in(client, world.owner)
    html = client.get(f"/hub/clients/{empty.public_id}").text
    assert "This client has not added a WhatsApp number yet." in html


# -- generating a channel's API key (R1, R8) ------------------------------------------------------


def generate(client: FlaskClient, world: World, channel: Channel) -> TestResponse:
    path = f"/hub/clients/{channel.client.public_id}/channels/{channel.public_id}/api-key"
    return post(client, path)


def shown_key(html: str) -> str:
    match = re.search(r'<code id="new-api-key" class="secret">([^<]+)</code>', html)
    assert match, "no key shown"
    return match.group(1)


def test_generate_shows_the_key_once(client: FlaskClient, db: Session, world: World) -> None:
    log_in(client, world.member)
    response = generate(client, world, world.shared)
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    secret = shown_key(response.text)
    assert 'data-copy="#new-api-key"' in response.text
    assert f"New API key for {readable(world.shared.phone_number)}" in response.text
    assert any("shown only once" in text for text in flashes(response.text))

    db.expire_all()
    key = db.scalars(select(ApiKey).where(ApiKey.channel_id == world.shared.id)).one()
    assert key.key_hash == hash_secret(secret) and key.created_by == "partner"
    assert channel_for_key(db, secret) == KeyOwner.of(world.shared)
    event = db.scalars(select(AuditEvent).where(AuditEvent.type == "api_key.created")).one()
    assert event.actor == f"partner_user:{world.member.public_id}"

    later = client.get(f"/hub/clients/{world.client.public_id}").text
    assert secret not in later
    assert "Generating a new key revokes the current one" in later  # the regeneration warning
    assert f"<code>{key.prefix}…</code>" in later
    with client.session_transaction() as session:
        assert secret not in str(dict(session))


def test_regenerating_revokes_the_previous_key(
    client: FlaskClient, db: Session, world: World
) -> None:
    log_in(client, world.owner)
    first = shown_key(generate(client, world, world.shared).text)
    second = shown_key(generate(client, world, world.shared).text)
    assert first != second
    db.expire_all()
    assert channel_for_key(db, first) is None
    assert channel_for_key(db, second) == KeyOwner.of(world.shared)


def test_the_generated_key_works_on_the_messaging_api(client: FlaskClient, world: World) -> None:
    log_in(client, world.owner)
    secret = shown_key(generate(client, world, world.shared).text)
    response = client.get("/messaging/v1/channel", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    assert response.json and response.json["channel_id"] == world.shared.public_id


def test_generate_for_a_missing_channel_is_refused(
    client: FlaskClient, db: Session, world: World
) -> None:
    log_in(client, world.owner)
    before = table_rows(db)
    response = generate(client, world, world.missing)
    assert response.status_code == 403
    assert "The client has not shared this number with you." in response.text
    assert f'href="/hub/clients/{world.client.public_id}"' in response.text  # the way back
    assert table_rows(db) == before


def test_generate_for_a_pending_channel_is_refused(
    client: FlaskClient, db: Session, world: World
) -> None:
    log_in(client, world.owner)
    before = table_rows(db)
    response = generate(client, world, world.pending)
    assert response.status_code == 409
    assert "This number is still pending: it can get API keys once" in response.text
    assert f"onboarding set-status {world.pending.public_id} running" in response.text
    assert table_rows(db) == before


def test_unknown_client_is_not_found(client: FlaskClient, world: World) -> None:
    log_in(client, world.owner)
    response = client.get("/hub/clients/cl_nope")
    assert response.status_code == 404
    assert "There is no such client among yours." in response.text


# -- settings: redirect URLs ----------------------------------------------------------------------


def redirect_urls(db: Session, partner: Partner) -> list[str]:
    db.expire_all()
    return [entry.url for entry in db.get_one(Partner, partner.id).redirect_urls]


@pytest.mark.parametrize("url", ["https://a.example/new?x=1", "http://localhost:8000/cb"])
def test_owner_adds_a_redirect_url(
    client: FlaskClient, db: Session, world: World, url: str
) -> None:
    log_in(client, world.owner)
    response = post(client, "/hub/settings/redirect-urls", {"url": url})
    assert response.headers["Location"] == "/hub/settings#redirect-urls"
    assert f"Registered {url}." in flashes(follow(client, response))
    assert redirect_urls(db, world.a) == [REDIRECT_URL, A_SECOND_URL, url]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://a.example/cb", "must use https (http only for localhost)"),
        ("ftp://a.example/cb", "must be an absolute https URL"),
        ("/relative/cb", "must be an absolute https URL"),
        ("https://a.example/cb#top", "has no fragment"),
        ("https://a.example/cb?state=1", "may not use the callback&#39;s parameters: state"),
        (REDIRECT_URL, "This redirect URL is registered already."),
        ("", "This field is required."),
    ],
)
def test_invalid_redirect_urls_are_refused(
    client: FlaskClient, db: Session, world: World, url: str, message: str
) -> None:
    log_in(client, world.owner)
    before = table_rows(db)
    response = post(client, "/hub/settings/redirect-urls", {"url": url})
    assert response.status_code == 400
    assert message in response.text
    assert 'aria-invalid="true"' in response.text
    assert table_rows(db) == before


def test_owner_removes_a_redirect_url(client: FlaskClient, db: Session, world: World) -> None:
    log_in(client, world.owner)
    response = post(client, "/hub/settings/redirect-urls/remove", {"url": REDIRECT_URL})
    assert f"Removed {REDIRECT_URL}" in flashes(follow(client, response))[0]
    assert redirect_urls(db, world.a) == [A_SECOND_URL]
    assert db.get_one(Partner, world.a.id).redirect_urls[0].position == 0  # the new default


# -- settings: webhooks and the signing secret ----------------------------------------------------


def test_owner_sets_and_clears_the_webhook_url(
    client: FlaskClient, db: Session, world: World
) -> None:
    log_in(client, world.owner)
    url = "https://a.example/new-hook"
    response = post(client, "/hub/settings/webhook", {"webhook_url": url})
    assert response.headers["Location"] == "/hub/settings#webhooks"
    assert "Webhook URL saved." in flashes(follow(client, response))
    db.expire_all()
    assert db.get_one(Partner, world.a.id).webhook_url == url

    response = post(client, "/hub/settings/webhook", {"webhook_url": ""})
    assert "Webhook URL removed: no events are sent." in flashes(follow(client, response))
    db.expire_all()
    assert db.get_one(Partner, world.a.id).webhook_url is None


@pytest.mark.parametrize("url", ["http://a.example/hook", "https://user:pw@a.example/hook"])
def test_invalid_webhook_urls_are_refused(
    client: FlaskClient, db: Session, world: World, url: str
) -> None:
    log_in(client, world.owner)
    before = table_rows(db)
    response = post(client, "/hub/settings/webhook", {"webhook_url": url})
    assert response.status_code == 400
    assert "A webhook URL" in response.text
    assert table_rows(db) == before


def test_test_event_is_queued_and_shown_in_the_log(
    client: FlaskClient, db: Session, world: World
) -> None:
    log_in(client, world.member)
    response = post(client, "/hub/settings/webhook/test")
    assert response.headers["Location"] == "/hub/webhooks"
    html = follow(client, response)
    assert "Test event queued. Its delivery attempts appear below." in flashes(html)
    assert "<code>webhook.test</code>" in html
    assert "Not attempted yet." in html
    db.expire_all()
    event = db.scalars(select(AuditEvent).where(AuditEvent.type == "webhook.test")).one()
    assert event.actor == f"partner_user:{world.member.public_id}"


def test_test_event_without_a_webhook_url_is_refused(
    client: FlaskClient, db: Session, world: World
) -> None:
    world.a.webhook_url = None
    db.commit()
    log_in(client, world.owner)
    before = table_rows(db)
    response = post(client, "/hub/settings/webhook/test")
    assert response.status_code == 400
    assert "Set a webhook URL before sending a test event." in response.text
    assert table_rows(db) == before


@pytest.mark.parametrize("at_once", [False, True])
def test_owner_rotates_the_signing_secret_and_sees_it_once(
    client: FlaskClient, db: Session, world: World, at_once: bool
) -> None:
    old = world.a.signing_secret
    log_in(client, world.owner)
    response = post(client, "/hub/settings/signing-secret", {"at_once": "y"} if at_once else {})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "The signing secret was rotated." in flashes(response.text)
    db.expire_all()
    partner = db.get_one(Partner, world.a.id)
    assert partner.signing_secret != old
    assert partner.signing_secret in response.text
    assert base64.b64decode(partner.signing_secret.removeprefix("whsec_"))
    assert (partner.previous_signing_secret is None) is at_once
    later = client.get("/hub/settings").text
    assert partner.signing_secret not in later
    assert ("The previous secret still signs webhooks until" in later) is not at_once


# -- settings: Partner API keys and OAuth clients -------------------------------------------------


def shown_values(html: str) -> list[str]:
    return re.findall(r'<code id="shown-\d+" class="secret">([^<]+)</code>', html)


def test_owner_creates_an_api_key_shown_once_that_works(
    client: FlaskClient, db: Session, world: World
) -> None:
    log_in(client, world.owner)
    response = post(client, "/hub/settings/api-keys")
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    [secret] = shown_values(response.text)
    assert secret.startswith("obk_")
    assert 'data-copy="#shown-1"' in response.text
    db.expire_all()
    assert db.scalar(select(PartnerApiKey).where(PartnerApiKey.key_hash == hash_secret(secret)))
    api = client.get(f"/api/v1/partners/{world.a.public_id}", headers={"X-API-Key": secret})
    assert api.status_code == 200
    assert secret not in client.get("/hub/settings").text


def test_owner_revokes_an_api_key(client: FlaskClient, db: Session, world: World) -> None:
    key_id = world.ids(db)["api_key"]
    log_in(client, world.owner)
    response = post(client, f"/hub/settings/api-keys/{key_id}/revoke")
    assert response.headers["Location"] == "/hub/settings#api-keys"
    assert "revoked: it no longer works" in flashes(follow(client, response))[0]
    headers = {"X-API-Key": world.a_api_key}
    assert client.get(f"/api/v1/partners/{world.a.public_id}", headers=headers).status_code == 401
    assert "Revoked" in client.get("/hub/settings").text


def test_owner_creates_and_revokes_an_oauth_client(
    client: FlaskClient, db: Session, world: World
) -> None:
    log_in(client, world.owner)
    response = post(client, "/hub/settings/oauth-clients")
    assert response.status_code == 201
    client_id, secret = shown_values(response.text)
    assert client_id.startswith("oc_") and secret.startswith("ocs_")
    db.expire_all()
    stored = db.scalars(select(OAuthClient).where(OAuthClient.client_id == client_id)).one()
    assert stored.secret_hash == hash_secret(secret)

    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    issued = client.post(
        "/api/v1/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert issued.status_code == 200, issued.text
    bearer = {"Authorization": f"Bearer {issued.json['access_token']}"}  # type: ignore[index]
    partner_path = f"/api/v1/partners/{world.a.public_id}"
    assert client.get(partner_path, headers=bearer).status_code == 200

    later = client.get("/hub/settings").text
    assert client_id in later and secret not in later
    response = post(client, f"/hub/settings/oauth-clients/{client_id}/revoke")
    assert "revoked, and its access tokens with it" in flashes(follow(client, response))[0]
    assert client.get(partner_path, headers=bearer).status_code == 401


def test_revoking_twice_keeps_the_first_time(
    client: FlaskClient, db: Session, world: World
) -> None:
    key_id = world.ids(db)["api_key"]
    log_in(client, world.owner)
    post(client, f"/hub/settings/api-keys/{key_id}/revoke")
    db.expire_all()
    first = db.scalars(select(PartnerApiKey.revoked_at).where(PartnerApiKey.public_id == key_id))
    when = first.one()
    post(client, f"/hub/settings/api-keys/{key_id}/revoke")
    db.expire_all()
    again = db.scalars(select(PartnerApiKey.revoked_at).where(PartnerApiKey.public_id == key_id))
    assert again.one() == when


def test_members_see_settings_without_owner_controls(client: FlaskClient, world: World) -> None:
    log_in(client, world.member)
    html = client.get("/hub/settings").text
    assert "Only an owner can change these settings." in html
    assert world.a.public_id in html and 'data-copy="#partner-id"' in html
    for action in ("Add redirect URL", "Save webhook URL", "Rotate signing secret"):
        assert action not in html
    assert "Create API key" not in html and "Create OAuth client" not in html
    assert "Build a permission link" in html and "Send test event" in html


def test_owner_sees_every_setting(client: FlaskClient, world: World) -> None:
    log_in(client, world.owner)
    html = client.get("/hub/settings").text
    for text in (world.a.public_id, REDIRECT_URL, A_SECOND_URL, WEBHOOK_URL):
        assert text in html
    for action in ("Add redirect URL", "Save webhook URL", "Rotate signing secret"):
        assert action in html
    assert "Create API key" in html and "Create OAuth client" in html
    assert B_URL not in html


# -- ask first: the confirmation pages -----------------------------------------------------------


def confirm_form(html: str) -> tuple[str, dict[str, str]]:
    """The confirmation page's POST form: its action and its hidden fields, CSRF token included."""
    section = html.split('class="panel confirm-page"', 1)[1]
    form = re.search(r'<form method="post" action="([^"]+)"(.*?)</form>', section, re.S)
    assert form, section
    inputs = [
        dict(re.findall(r'(\w+)="([^"]*)"', tag)) for tag in re.findall(r"<input[^>]*>", form[2])
    ]
    fields = {attrs["name"]: attrs["value"] for attrs in inputs if attrs.get("type") == "hidden"}
    return form[1], {name: value.replace("&amp;", "&") for name, value in fields.items()}


def consequences(html: str) -> str:
    found = re.search(r'<ul class="consequences">(.*?)</ul>', html, re.S)
    assert found, html
    return re.sub(r"\s+", " ", found[1].replace("&#34;", '"'))


def test_removing_a_redirect_url_asks_first_and_names_the_consequence(
    client: FlaskClient, db: Session, world: World
) -> None:
    log_in(client, world.owner)
    settings = client.get("/hub/settings").text
    assert 'href="/hub/settings/redirect-urls/remove?url=' in settings
    assert 'action="/hub/settings/redirect-urls/remove"' not in settings  # no one-click removal
    before = table_rows(db)

    page = client.get("/hub/settings/redirect-urls/remove", query_string={"url": A_SECOND_URL})

    assert page.status_code == 200
    said = consequences(page.text)
    assert f"Clients sent back to {A_SECOND_URL} will see an error page" in said
    assert "default" not in said and "only redirect URL" not in said
    assert table_rows(db) == before
    action, fields = confirm_form(page.text)
    assert (action, fields["url"]) == ("/hub/settings/redirect-urls/remove", A_SECOND_URL)
    response = client.post(action, data=fields)
    assert f"Removed {A_SECOND_URL}" in flashes(follow(client, response))[0]
    assert redirect_urls(db, world.a) == [REDIRECT_URL]


def test_removing_the_default_and_the_only_redirect_url_say_so(
    client: FlaskClient, db: Session, world: World
) -> None:
    log_in(client, world.owner)
    default = client.get("/hub/settings/redirect-urls/remove", query_string={"url": REDIRECT_URL})
    assert f"It is your default: links without a redirect_url send clients to {A_SECOND_URL}" in (
        consequences(default.text)
    )
    post(client, "/hub/settings/redirect-urls/remove", {"url": A_SECOND_URL})
    only = client.get("/hub/settings/redirect-urls/remove", query_string={"url": REDIRECT_URL})
    assert "the permission screen refuses every request until you add one" in consequences(
        only.text
    )


def test_an_unregistered_redirect_url_has_no_confirmation(
    client: FlaskClient, world: World
) -> None:
    log_in(client, world.owner)
    page = client.get("/hub/settings/redirect-urls/remove?url=https://a.example/never")
    assert page.status_code == 404
    assert "This redirect URL is not registered." in page.text


def test_revoking_an_api_key_asks_first_and_names_the_key(
    client: FlaskClient, db: Session, world: World
) -> None:
    key_id = world.ids(db)["api_key"]
    prefix = db.scalars(select(PartnerApiKey.prefix).where(PartnerApiKey.public_id == key_id))
    log_in(client, world.owner)
    assert f'href="/hub/settings/api-keys/{key_id}/revoke"' in client.get("/hub/settings").text

    page = client.get(f"/hub/settings/api-keys/{key_id}/revoke")

    said = consequences(page.text)
    assert f"Integrations using key {prefix.one()}… stop working at once" in said
    assert "It is your last active API key." in said
    headers = {"X-API-Key": world.a_api_key}
    assert client.get(f"/api/v1/partners/{world.a.public_id}", headers=headers).status_code == 200
    action, fields = confirm_form(page.text)
    follow(client, client.post(action, data=fields))
    assert client.get(f"/api/v1/partners/{world.a.public_id}", headers=headers).status_code == 401
    # Revoked: nothing left to ask about.
    assert client.get(f"/hub/settings/api-keys/{key_id}/revoke").status_code == 404


def test_revoking_an_oauth_client_asks_first(
    client: FlaskClient, db: Session, world: World
) -> None:
    oauth = world.ids(db)["oauth"]
    log_in(client, world.owner)
    page = client.get(f"/hub/settings/oauth-clients/{oauth}/revoke")
    said = consequences(page.text)
    assert "Its access tokens stop working at once" in said and oauth in said
    action, fields = confirm_form(page.text)
    follow(client, client.post(action, data=fields))
    db.expire_all()
    stored = db.scalars(select(OAuthClient).where(OAuthClient.client_id == oauth)).one()
    assert stored.revoked_at is not None


@pytest.mark.parametrize("at_once", [False, True])
def test_rotating_the_signing_secret_asks_first_and_names_the_overlap(
    client: FlaskClient, db: Session, world: World, at_once: bool
) -> None:
    old = world.a.signing_secret
    log_in(client, world.owner)
    settings = client.get("/hub/settings").text
    assert '<form method="get" action="/hub/settings/signing-secret">' in settings

    page = client.get(
        "/hub/settings/signing-secret", query_string={"at_once": "y"} if at_once else {}
    )

    said = consequences(page.text)
    assert "Permission callbacks are signed with the new secret at once" in said
    assert ("stop using the current secret at once" in said) is at_once
    assert ("The current secret stays valid for the overlap, until" in said) is not at_once
    db.expire_all()
    assert db.get_one(Partner, world.a.id).signing_secret == old
    action, fields = confirm_form(page.text)
    assert ("at_once" in fields) is at_once
    response = client.post(action, data=fields)
    assert "The signing secret was rotated." in flashes(response.text)
    db.expire_all()
    assert (db.get_one(Partner, world.a.id).previous_signing_secret == old) is not at_once


# -- the permission-link builder -----------------------------------------------------------------


def built_link(html: str) -> dict[str, str]:
    match = re.search(
        r'id="built-link" class="link-field" type="text" readonly value="([^"]+)"', html
    )
    assert match, "no link built"
    url = match.group(1).replace("&amp;", "&")
    assert url.startswith("https://hub.test/partners/")
    query = dict(parse_qsl(urlsplit(url).query))
    assert query.pop("sig")  # verified in tests/test_signed_links.py
    return query


def checkboxes(html: str) -> list[str]:
    return re.findall(r'<input type="checkbox" name="channels" value="([^"]+)"', html)


def build(browser: FlaskClient, **args: Any) -> TestResponse:
    """The builder's GET form, sent with its Build link button (`client` is the form's field)."""
    return browser.get("/hub/permission-link", query_string={"build": "1", **args})


def client_email(db: Session, customer: Client) -> str:
    return db.scalars(select(ClientUser.email).where(ClientUser.client_id == customer.id)).one()


def test_builder_lists_the_chosen_clients_numbers_as_checkboxes(
    client: FlaskClient, db: Session, world: World
) -> None:
    log_in(client, world.member)
    first = client.get("/hub/permission-link").text
    assert '<form method="get" action="/hub/permission-link"' in first
    assert checkboxes(first) == []
    assert world.client.name in first and world.other_client.name in first

    page = client.get(f"/hub/permission-link?client={world.client.public_id}&show=1").text

    ids = [world.shared.public_id, world.missing.public_id, world.pending.public_id]
    assert checkboxes(page) == ids
    assert world.other.public_id not in page


def test_builder_makes_a_link_for_the_chosen_client_and_ticked_numbers(
    client: FlaskClient, db: Session, world: World
) -> None:
    log_in(client, world.member)
    customer = world.client.public_id
    response = build(
        client,
        client=customer,
        listed_for=customer,
        channels=[world.shared.public_id, world.missing.public_id],
        redirect_url=A_SECOND_URL,
        state="order 42 & more",
    )
    assert response.status_code == 200
    assert built_link(response.text) == {
        "redirect_url": A_SECOND_URL,
        "email": client_email(db, world.client),
        "channels": f"[{world.shared.public_id},{world.missing.public_id}]",
        "state": "order 42 & more",
    }
    assert 'data-copy="#built-link"' in response.text
    assert checkboxes(response.text) == [
        world.shared.public_id,
        world.missing.public_id,
        world.pending.public_id,
    ]
    assert response.text.count(" checked>") == 2  # the ticks stay


def test_the_client_choice_changes_the_link(client: FlaskClient, db: Session, world: World) -> None:
    log_in(client, world.owner)
    for_one = built_link(build(client, client=world.client.public_id).text)
    other = world.other_client.public_id
    # The numbers ticked under the first client's list are not carried to the other client.
    changed = build(
        client, client=other, listed_for=world.client.public_id, channels=world.shared.public_id
    )
    for_other = built_link(changed.text)
    anyone = built_link(build(client).text)

    assert for_one["email"] == client_email(db, world.client)
    assert for_other == {
        "redirect_url": REDIRECT_URL,
        "email": client_email(db, world.other_client),
    }
    assert "You chose another client" in changed.text
    assert checkboxes(changed.text) == [world.other.public_id]
    assert anyone == {"redirect_url": REDIRECT_URL}


def test_builder_keeps_ticks_that_a_filter_hides(
    client: FlaskClient, db: Session, world: World
) -> None:
    log_in(client, world.owner)
    customer = world.client.public_id
    ticked = [world.shared.public_id, world.missing.public_id]
    filtered = client.get(
        "/hub/permission-link",
        query_string={
            "client": customer,
            "listed_for": customer,
            "channels": ticked,
            "q": world.missing.name,
            "show": "1",
        },
    ).text
    assert checkboxes(filtered) == [world.missing.public_id]
    assert f'<input type="hidden" name="channels" value="{world.shared.public_id}">' in filtered
    assert "1 more ticked number is kept, outside this list." in filtered

    built = build(client, client=customer, listed_for=customer, channels=ticked, q="zzz")
    assert "No number matches “zzz”." in built.text
    assert (
        built_link(built.text)["channels"]
        == f"[{world.shared.public_id},{world.missing.public_id}]"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"redirect_url": "https://evil.example/cb"}, "is not one that"),
        ({"redirect_url": REDIRECT_URL, "state": "x" * 513}, "Field cannot be longer than 512"),
    ],
)
def test_builder_refuses_invalid_input(
    client: FlaskClient, world: World, args: dict[str, str], message: str
) -> None:
    log_in(client, world.owner)
    response = build(client, **args)
    assert response.status_code == 400
    assert message in response.text
    assert 'id="built-link"' not in response.text


def test_client_page_opens_the_builder_for_its_client(client: FlaskClient, world: World) -> None:
    log_in(client, world.member)
    html = client.get(f"/hub/clients/{world.client.public_id}").text
    assert f'href="/hub/permission-link?client={world.client.public_id}&amp;show=1"' in html


# -- webhook deliveries ---------------------------------------------------------------------------


def outbox_row(db: Session, event_id: str) -> WebhookOutbox:
    db.expire_all()
    return db.scalars(
        select(WebhookOutbox).join(WebhookOutbox.event).where(AuditEvent.public_id == event_id)
    ).one()


def delivery_article(html: str, event_id: str) -> str:
    found = re.search(rf'<article class="panel delivery" id="{event_id}".*?</article>', html, re.S)
    assert found, f"no delivery {event_id}"
    return found[0]


def test_webhook_log_shows_each_attempt_payload_and_client(
    client: FlaskClient, db: Session, world: World
) -> None:
    event_id = world.ids(db)["delivery"]
    row = outbox_row(db, event_id)
    row.attempts = 2
    db.add_all(
        [
            WebhookAttempt(outbox_id=row.id, url=WEBHOOK_URL, error="could not connect"),
            WebhookAttempt(outbox_id=row.id, url=WEBHOOK_URL, status_code=204, duration_ms=87),
        ]
    )
    b_event = db.scalars(select(AuditEvent).where(AuditEvent.partner_id == world.b.id)).first()
    assert b_event is not None
    db.add(WebhookOutbox(event_id=b_event.id, partner_id=world.b.id))
    db.commit()

    log_in(client, world.member)
    html = client.get("/hub/webhooks").text
    article = delivery_article(html, event_id)
    event = row.event
    assert f"<code>{event.type}</code>" in article
    assert '<span class="status delivered">Delivered ' in article
    assert "could not connect" in article and "HTTP 204" in article and "87 ms" in article
    assert "<summary>Payload</summary>" in article
    assert f"&#34;id&#34;: &#34;{event_id}&#34;" in article  # pretty JSON, escaped
    assert world.client.name in article
    assert "Resend" in article
    assert b_event.public_id not in html
    assert WEBHOOK_URL in html


def test_a_failed_delivery_reads_failed_not_pending(
    client: FlaskClient, db: Session, world: World
) -> None:
    event_id = world.ids(db)["delivery"]
    row = outbox_row(db, event_id)
    row.status, row.attempts, row.delivered_at = "failed", 19, None
    retrying = db.scalars(
        select(WebhookOutbox)
        .where(WebhookOutbox.partner_id == world.a.id, WebhookOutbox.status == "pending")
        .order_by(WebhookOutbox.id)
    ).first()
    assert retrying is not None
    retrying.attempts = 1
    db.add(WebhookAttempt(outbox_id=retrying.id, url=WEBHOOK_URL, status_code=500))
    db.commit()

    log_in(client, world.member)
    html = client.get("/hub/webhooks").text

    failed = delivery_article(html, event_id)
    assert '<span class="status failed">Failed after 19 attempts</span>' in failed
    assert "Pending" not in failed
    again = delivery_article(html, retrying.event.public_id)
    assert '<span class="status failed">Failed 1 time, retrying at ' in again
    assert "Resend" not in again  # already on its way


def test_resend_queues_the_delivery_again_and_the_worker_sends_it(
    client: FlaskClient, db: Session, world: World
) -> None:
    event_id = world.ids(db)["delivery"]
    log_in(client, world.member)
    page = client.get("/hub/webhooks").text
    assert f'action="/hub/webhooks/{event_id}/resend"' in delivery_article(page, event_id)

    response = post(client, f"/hub/webhooks/{event_id}/resend")

    assert response.headers["Location"] == f"/hub/webhooks#{event_id}"
    html = follow(client, response)
    assert "Queued to be sent again" in flashes(html)[0]
    assert outbox_row(db, event_id).status == "pending"
    sent: list[bytes] = []
    deliver_due(db, post=lambda url, body, headers, deadline: sent.append(body) or 204)
    assert event_id.encode() in sent[0]
    row = outbox_row(db, event_id)
    assert row.status == "delivered"
    assert (
        len(db.scalars(select(WebhookAttempt).where(WebhookAttempt.outbox_id == row.id)).all()) == 1
    )
    article = delivery_article(client.get("/hub/webhooks").text, event_id)
    assert "HTTP 204" in article


def test_resending_a_pending_delivery_is_refused(
    client: FlaskClient, db: Session, world: World
) -> None:
    pending = db.scalars(
        select(WebhookOutbox).where(
            WebhookOutbox.partner_id == world.a.id, WebhookOutbox.status == "pending"
        )
    ).first()
    assert pending is not None
    log_in(client, world.owner)
    before = table_rows(db)
    response = post(client, f"/hub/webhooks/{pending.event.public_id}/resend")
    assert response.status_code == 409
    assert "is still pending" in response.text
    assert table_rows(db) == before


def test_webhook_log_is_paginated(client: FlaskClient, db: Session, world: World) -> None:
    for _ in range(30):
        make_channel(db, world.client)  # each a channel.created delivery
    db.commit()
    log_in(client, world.owner)
    first = client.get("/hub/webhooks").text
    assert first.count('<article class="panel delivery"') == 25
    assert 'href="/hub/webhooks?page=2"' in first
    second = client.get("/hub/webhooks?page=2").text
    assert second.count('<article class="panel delivery"') >= 5


def test_webhook_log_empty_state(client: FlaskClient, new_owner: PartnerUser) -> None:
    log_in(client, new_owner)
    html = client.get("/hub/webhooks").text
    assert "No webhook URL is set, so no events are sent." in html
    assert "No deliveries yet." in html


# -- activity -------------------------------------------------------------------------------------


def test_activity_shows_who_did_what_to_which_client_and_number(
    client: FlaskClient, db: Session, world: World
) -> None:
    log_in(client, world.member)
    generate(client, world, world.shared)
    html = client.get("/hub/activity").text
    first = re.search(r"<tbody>\s*<tr>(.*?)</tr>", html, re.S)
    assert first, html
    newest = first.group(1)
    assert "API key generated (wak_" in newest and "by the partner" in newest
    assert world.member.email in newest
    assert world.client.name in newest
    assert readable(world.shared.phone_number) in newest
    assert "Permission granted (via hub operator)" in html
    assert "Operator (hub staff)" in html
    assert world.b_client.name not in html
    assert world.b_channel.phone_number not in html


def test_activity_is_paginated_by_event(client: FlaskClient, db: Session, world: World) -> None:
    for _ in range(30):
        make_channel(db, world.client)
    db.commit()
    total = db.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.partner_id == world.a.id)
    )
    log_in(client, world.owner)
    first = client.get("/hub/activity").text
    assert first.count("<time ") == 25
    older = re.search(r'href="/hub/activity\?before=([^"]+)"', first)
    assert older
    second = client.get(f"/hub/activity?before={older.group(1)}").text
    assert second.count("<time ") == min(25, (total or 0) - 25)
    assert "Newest" in second


def test_activity_empty_state(client: FlaskClient, new_owner: PartnerUser) -> None:
    log_in(client, new_owner)
    assert "Nothing has happened yet." in client.get("/hub/activity").text


# -- the team: tests/test_team.py (invitations, removals, roles) --------------------------------


# -- languages ------------------------------------------------------------------------------------


def test_the_hub_speaks_the_readers_language(
    client: FlaskClient, db: Session, world: World
) -> None:
    """The new pages and the domain's refusals, worded through the catalogs (`lang` is kept)."""
    ids = world.ids(db)
    row = outbox_row(db, ids["delivery"])
    row.status, row.attempts = "failed", 19
    db.commit()
    log_in(client, world.owner)
    client.get("/hub/clients?lang=de")

    log = client.get("/hub/webhooks").text
    confirm = client.get(f"/hub/settings/api-keys/{ids['api_key']}/revoke").text
    refused = client.get("/hub/settings/redirect-urls/remove?url=https://a.example/never")
    builder = client.get("/hub/permission-link").text

    assert "Fehlgeschlagen nach 19 Versuchen" in log and "Erneut senden" in log
    assert "funktionieren sofort nicht mehr" in confirm and 'lang="de"' in confirm
    assert "Diese Weiterleitungs-URL ist nicht registriert." in refused.text
    assert "Nummern anzeigen" in builder
    page = client.get(f"/hub/clients/{ids['client']}").text
    assert "Der Kunde hat diese Nummer nicht für Sie freigegeben." in page  # world.missing

    client.get("/hub/clients?lang=pt")
    log = client.get("/hub/webhooks").text
    assert "Falhou após 19 tentativas" in log and "Reenviar" in log
    team = post(client, "/hub/team/invites", {"email": world.member.email, "role": "member"})
    assert f"{world.member.email} já está na sua equipe." in team.text
