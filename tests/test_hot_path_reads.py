"""The lean hot paths give what the general ones gave: the API's inputs read by `Inputs` refuse
with flask-openapi3's own 400 problem, the consent screen drawn from rows shows each number as
before, and each path runs the statements it should and no more."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_openapi3.request import _validate_request
from sqlalchemy import event
from sqlalchemy.orm import Session

from onboarding.db import Prepared
from onboarding.models import GrantedVia, Side
from onboarding.partner_api import contract
from onboarding.partner_api.errors import ApiError
from onboarding.partner_api.routes import NoQuery
from onboarding.permissions.keys import generate_api_key
from onboarding.permissions.service import grant
from onboarding.phones import readable
from tests.api import add_client, add_line, api_headers, make_account
from tests.conftest import csrf_token, submit_login
from tests.test_consent_http import arrange, checkboxes, open_consent, start


def openapi3_refusal(app: Flask, url: str, **models: Any) -> str:
    """What flask-openapi3 itself answers for `url` with these models: the 400's detail."""
    with app.test_request_context(url), pytest.raises(ApiError) as refused:
        _validate_request(**models)
    assert refused.value.status == 400
    return refused.value.detail


@pytest.fixture
def statements(app: Flask, db: Session, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every SQL statement run while the fixture is open: through SQLAlchemy (its cursor event)
    and through db.Prepared (which runs on the DBAPI connection, below those events)."""
    ran: list[str] = []
    real = Prepared._run

    def counted(self: Prepared, *args: Any, **kwargs: Any) -> Any:
        ran.append(str(self.statement).split("\n", 1)[0])
        return real(self, *args, **kwargs)

    def cursor(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        ran.append(sql.split("\n", 1)[0])

    engine = db.get_bind().engine
    monkeypatch.setattr(Prepared, "_run", counted)
    event.listen(engine, "before_cursor_execute", cursor)
    try:
        yield ran
    finally:
        event.remove(engine, "before_cursor_execute", cursor)


class TestApiInputs:
    @pytest.mark.parametrize(
        ("rest", "query"),
        [
            ("/channels?limit=abc", contract.ChannelsQuery),
            ("/channels?permission=everything", contract.ChannelsQuery),
            ("/channels?unknown=1", contract.ChannelsQuery),
            ("/clients?limit=0", contract.ClientsQuery),
            ("/events?after=no%20spaces", contract.EventsQuery),
        ],
    )
    def test_a_bad_query_is_refused_as_flask_openapi3_refuses_it(
        self, app: Flask, client: FlaskClient, db: Session, rest: str, query: type[Any]
    ) -> None:
        account = make_account(db)
        db.commit()
        url = account.path(rest)
        answer = client.get(url, headers=api_headers(account))
        assert answer.status_code == 400
        assert answer.content_type == "application/problem+json"
        body = answer.get_json()
        assert body["code"] == "invalid_request"
        path = contract.PartnerPath
        path_values = {"partner_id": account.id}
        assert body["detail"] == openapi3_refusal(
            app, url, path=path, query=query, path_kwargs=path_values
        )

    def test_a_parameter_where_none_is_declared(
        self, app: Flask, client: FlaskClient, db: Session
    ) -> None:
        account = make_account(db)
        channel = add_line(db, add_client(db, account), shared=True)
        db.commit()
        url = account.path(f"/channels/{channel.public_id}/permission?verbose=1")
        body = client.get(url, headers=api_headers(account)).get_json()
        assert body["status"] == 400
        assert body["detail"] == openapi3_refusal(app, url, query=NoQuery)
        assert body["detail"].startswith("verbose: Extra inputs are not permitted.")

    def test_a_good_query_still_reads_its_values(self, client: FlaskClient, db: Session) -> None:
        account = make_account(db)
        customer = add_client(db, account)
        shared = add_line(db, customer, shared=True)
        add_line(db, customer, shared=False)
        db.commit()
        url = account.path("/channels?permission=shared&limit=5")
        listed = client.get(url, headers=api_headers(account)).get_json()
        assert [c["id"] for c in listed["channels"]] == [shared.public_id]

    def test_a_permission_check_runs_two_statements(
        self, client: FlaskClient, db: Session, statements: list[str]
    ) -> None:
        account = make_account(db)
        channel = add_line(db, add_client(db, account), shared=True)
        db.commit()
        statements.clear()
        url = account.path(f"/channels/{channel.public_id}/permission")
        answer = client.get(url, headers=api_headers(account))
        assert answer.get_json()["status"] == "shared"
        assert len(statements) == 2, statements  # the key's partner, the channel's permission

    def test_a_channel_key_check_runs_one_statement(
        self, client: FlaskClient, db: Session, statements: list[str]
    ) -> None:
        account = make_account(db)
        channel = add_line(db, add_client(db, account), shared=False)
        key = generate_api_key(db, channel, side=Side.CLIENT, actor="test")
        db.commit()
        statements.clear()
        bearer = {"Authorization": f"Bearer {key.secret}"}
        answer = client.get("/messaging/v1/channel", headers=bearer)
        assert answer.get_json()["channel_id"] == channel.public_id
        assert len(statements) == 1, statements


class TestConsentScreenFromRows:
    def test_each_number_is_shown_as_before(self, client: FlaskClient, db: Session) -> None:
        account = arrange(db, channels=3)
        first, second, third = account.channels
        third.name = third.phone_number  # a number named only by itself shows no name
        db.commit()
        html = open_consent(client, account, channels=first.public_id)
        boxes = checkboxes(html, "channels")
        assert set(boxes) == {c.public_id for c in account.channels}
        assert "checked" in boxes[first.public_id].attrs  # asked for by the partner
        assert "checked" not in boxes[second.public_id].attrs
        for channel in account.channels:
            # grouped for reading, and the E.164 form for screen readers
            assert f'<span aria-hidden="true">{readable(channel.phone_number)}</span>' in html
            assert f'<span class="visually-hidden">{channel.phone_number}</span>' in html
            assert f'id="status-{channel.public_id}">Not shared</span>' in html
        assert f'<span class="name">{first.name}</span>' in html
        assert f'<span class="name">{third.name}</span>' not in html
        assert f"Logged in as {account.user.email} ({account.customer.name})." in html

    def test_a_shared_number_carries_its_note_in_the_readers_language(
        self, client: FlaskClient, db: Session
    ) -> None:
        account = arrange(db, channels=2)
        grant(db, account.customer, [account.channels[0]], via=GrantedVia.CLIENT_HUB, actor="test")
        db.commit()
        html = open_consent(client, account, lang="de")
        shared = account.channels[0].public_id
        assert 'data-chosen="1" data-shared="1" checked' in html
        assert f'id="status-{shared}">Jetzt freigegeben</span>' in html
        assert f'<p class="losing" id="note-{shared}" hidden>' in html
        assert html.count('class="losing"') == 1  # only a shared number can lose permission

    def test_the_screen_runs_its_reads_and_no_more(
        self, client: FlaskClient, db: Session, statements: list[str]
    ) -> None:
        account = arrange(db, channels=3)
        started = start(client, account.partner.public_id, {"state": "s"})
        screen = submit_login(client, started.headers["Location"], account.user.email).location
        statements.clear()
        page = client.get(screen)
        assert page.status_code == 200
        # the login with its client and partner (the flow's partner: no second read), and
        # the listed rows, which for a short list hold every shared number
        assert len(statements) == 2, statements

    def test_kept_pieces_take_each_readers_own_values(self, app: Flask, db: Session) -> None:
        """Clients of one partner share the kept pieces of the screen, never what is theirs:
        their login, numbers, counts and tokens are slotted in for each page."""
        first = arrange(db, channels=2)
        second = arrange(db, channels=1, partner=first.partner)
        none = arrange(db, channels=0, partner=first.partner)
        pages = {}
        for account in (first, second, none, first):
            pages[account.user.email] = open_consent(app.test_client(), account)
        for account in (first, second):
            page = pages[account.user.email]
            assert f"Logged in as {account.user.email} ({account.customer.name})." in page
            assert set(checkboxes(page, "channels")) == {c.public_id for c in account.channels}
            total = len(account.channels)
            assert f'data-total="{total}"' in page
            assert f'<span id="chosen-count">0</span> of {total} selected' in page
        others = {a.user.email for a in (first, second, none)}
        for email, page in pages.items():
            assert not any(other in page for other in others - {email})
        assert "Your account has no WhatsApp numbers yet." in pages[none.user.email]
        assert 'name="channels"' not in pages[none.user.email]
        tokens = {csrf_token(page) for page in pages.values()}
        assert len(tokens) == len(pages)  # each browser's own session, its own token

    def test_kept_pieces_follow_their_partner_and_language(self, app: Flask, db: Session) -> None:
        """{% once %} keeps the screen's constant texts per key and language: another
        partner's or another language's page never shows a kept piece of the first."""
        first, second = arrange(db, channels=1), arrange(db, channels=1)
        pages = {}
        for account, lang in [(first, "en"), (second, "en"), (first, "de")]:
            browser = app.test_client()
            pages[account.partner.brand_name, lang] = open_consent(browser, account, lang=lang)
        for (brand, _lang), html in pages.items():
            heading = html.split("<h1>", 1)[1].split("</h1>", 1)[0]
            assert heading.endswith(brand) or f" {brand} " in heading, (heading, brand)
            others = {b for b, _ in pages} - {brand}
            assert not any(heading.endswith(other) for other in others)
        english = pages[first.partner.brand_name, "en"]
        assert f"<h1>Share your numbers with {first.partner.brand_name}</h1>" in english
        assert (
            f"<h1>Share your numbers with {second.partner.brand_name}</h1>"
            in pages[second.partner.brand_name, "en"]
        )
        german = pages[first.partner.brand_name, "de"]
        assert "Share your numbers with" not in german
        assert 'value="deny" class="button">Abbrechen</button>' in german
        assert 'value="deny" class="button">Cancel</button>' in english
