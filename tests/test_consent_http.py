"""The permission screen through HTTP (SPEC §5): link → login or signup → consent → signed 303."""

from __future__ import annotations

import html as html_lib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from onboarding.consent import flow as flows
from onboarding.models import (
    ApiKey,
    AuditEvent,
    BillingModel,
    Channel,
    Client,
    ClientUser,
    Consent,
    GrantedVia,
    Partner,
    Permission,
    UsedFlowNonce,
    WebhookOutbox,
)
from onboarding.partners.service import add_redirect_url
from onboarding.permissions.service import grant
from tests.conftest import csrf_token, flow_token, submit_login
from tests.factories import (
    PASSWORD,
    REDIRECT_URL,
    ClientAccount,
    make_client_account,
    make_partner,
    new_number,
)
from tests.link_signatures import signed_query
from tests.signatures import query_params, signature_is_valid

CONSENT = "/permission/consent"


# --- arranging ---------------------------------------------------------------------------------


def arrange(db: Session, *, channels: int = 3, **settings: Any) -> ClientAccount:
    """A client with `channels` running numbers, three unless told: some to pick, some to leave."""
    return make_client_account(db, running=channels, **settings)


@pytest.fixture
def account(db: Session) -> ClientAccount:
    return arrange(db)


def snapshot(db: Session) -> dict[str, Any]:
    """Everything a permission flow could change, to compare before and after a request."""
    db.expire_all()
    tables = (
        Client,
        ClientUser,
        Channel,
        Consent,
        Permission,
        ApiKey,
        AuditEvent,
        WebhookOutbox,
        UsedFlowNonce,
    )
    counts = {
        table.__tablename__: db.scalar(select(func.count()).select_from(table)) for table in tables
    }
    permissions = db.execute(
        select(Channel.public_id, Permission.granted_via, Permission.granted_at).join(Permission)
    )
    clients = db.execute(select(Client.public_id, Client.all_channels, Client.partner_payload))
    return counts | {"permissions": set(permissions), "clients": set(clients)}


def shared_ids(db: Session, account: ClientAccount) -> set[str]:
    db.expire_all()
    return {channel.public_id for channel in account.channels if channel.permission is not None}


# --- driving the flow --------------------------------------------------------------------------


def start(
    client: FlaskClient,
    partner_id: str,
    query: dict[str, str] | list[tuple[str, str]] | None = None,
    **kwargs: Any,
) -> TestResponse:
    """GET the permission link of a partner, the query encoded as a browser would."""
    return client.get(
        f"/partners/{partner_id}/permission", query_string=urlencode(query or {}), **kwargs
    )


def open_consent(client: FlaskClient, account: ClientAccount, **query: str) -> str:
    """Follow the permission link through login; return the consent page."""
    started = start(client, account.partner.public_id, query)
    assert started.status_code == 303
    logged_in = submit_login(client, started.headers["Location"], account.user.email)
    assert logged_in.status_code == 303
    page = client.get(logged_in.headers["Location"])
    assert page.status_code == 200
    return page.get_data(as_text=True)


def answer(
    client: FlaskClient,
    consent_page: str,
    *,
    channels: Sequence[str] = (),
    all_channels: bool = False,
    action: str = "allow",
) -> TestResponse:
    """Submit the consent form as a browser would (csrf_token, flow, channels, action)."""
    form: dict[str, Any] = {
        "csrf_token": csrf_token(consent_page),
        "flow": flow_token(consent_page),
        "channels": list(channels),
        "action": action,
    }
    if all_channels:
        form["all_channels"] = "1"
    return client.post(CONSENT, data=form)


def callback(
    response: TestResponse, partner: Partner, redirect_url: str = REDIRECT_URL
) -> dict[str, str]:
    """The callback's parameters, after checking where it goes and its signature."""
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith(redirect_url)
    assert location[len(redirect_url)] in "?&"
    assert signature_is_valid(partner.signing_secret, location)
    params = query_params(location)
    assert len({name for name, _ in params}) == len(params), "a parameter is repeated"
    assert len(location.encode()) <= 8000
    return dict(params)


def recorded(db: Session, params: dict[str, str]) -> Consent:
    """The consent a callback names, read afresh; it belongs to the callback's client."""
    db.expire_all()
    consent = db.scalar(select(Consent).where(Consent.public_id == params["consent"]))
    assert consent is not None, f"no consent {params['consent']}"
    assert consent.client.public_id == params["client"]
    assert consent.partner_id == consent.client.partner_id
    return consent


def id_list(value: str) -> list[str]:
    assert value.startswith("[") and value.endswith("]")
    return [part for part in value[1:-1].split(",") if part]


def assert_refused(response: TestResponse, status: int) -> str:
    assert response.status_code == status
    assert "Location" not in response.headers
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def restart_link(html: str) -> str | None:
    links = [control for control in controls(html) if control.text == "Start again"]
    return links[0].attrs["href"] if links else None


# --- reading pages -----------------------------------------------------------------------------


@dataclass
class Control:
    """An input, button or link, with the text a person reads for it (its label's, or its own)."""

    tag: str
    attrs: dict[str, str | None]
    text: str = ""
    form_action: str | None = None


class _Reader(HTMLParser):
    """Collects inputs, buttons and links; each gets the text of its label (or its own)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[Control] = []
        self._open: list[tuple[str, list[str], list[Control]]] = []  # (tag, text, controls)
        self._form_action: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form":
            self._form_action = attributes.get("action")
        named: list[Control] = []
        if tag in ("input", "button", "a"):
            control = Control(tag, attributes, form_action=self._form_action)
            self.found.append(control)
            for _tag, _text, inside in self._open:
                inside.append(control)
            named = [control] if tag != "input" else []
        if tag in ("label", "button", "a"):
            self._open.append((tag, [], named))

    def handle_data(self, data: str) -> None:
        for _tag, text, _inside in self._open:
            text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form_action = None
        if self._open and self._open[-1][0] == tag:
            _tag, text, inside = self._open.pop()
            for control in inside:
                control.text = " ".join("".join(text).split())


def controls(html: str) -> list[Control]:
    reader = _Reader()
    reader.feed(html)
    return reader.found


def checkboxes(html: str, name: str) -> dict[str, Control]:
    return {
        str(c.attrs["value"]): c
        for c in controls(html)
        if c.tag == "input" and c.attrs.get("type") == "checkbox" and c.attrs.get("name") == name
    }


def radios(html: str, name: str) -> dict[str, Control]:
    return {
        str(c.attrs["value"]): c
        for c in controls(html)
        if c.tag == "input" and c.attrs.get("type") == "radio" and c.attrs.get("name") == name
    }


def ticked(html: str) -> set[str]:
    return {value for value, box in checkboxes(html, "channels").items() if "checked" in box.attrs}


def buttons(html: str) -> dict[str, Control]:
    return {c.text: c for c in controls(html) if c.tag == "button"}


# --- the request -------------------------------------------------------------------------------


class TestPermissionLink:
    def test_sends_a_visitor_to_login_with_a_flow(
        self, client: FlaskClient, account: ClientAccount
    ) -> None:
        response = start(client, account.partner.public_id)

        assert response.status_code == 303
        assert response.headers["Location"].startswith("/login?flow=")

    def test_next_signup_sends_the_visitor_to_signup(
        self, client: FlaskClient, account: ClientAccount
    ) -> None:
        response = start(client, account.partner.public_id, {"next": "signup"})

        assert response.status_code == 303
        assert response.headers["Location"].startswith("/signup?flow=")

    def test_a_logged_in_client_user_goes_straight_to_consent(
        self, client: FlaskClient, account: ClientAccount
    ) -> None:
        assert submit_login(client, "/login", account.user.email).status_code == 303

        response = start(client, account.partner.public_id)

        assert response.status_code == 303
        assert response.headers["Location"].startswith(f"{CONSENT}?flow=")

    @pytest.mark.parametrize(
        "query",
        [
            "",
            "x",
            "state=a%2Bb+c%26d%3D%F0%9F%98%80&channels=%5Bch_1%5D&next=signup&lang=de",
        ],
    )
    def test_360dialog_path_answers_308_to_the_screen_with_the_same_query(
        self, client: FlaskClient, account: ClientAccount, query: str
    ) -> None:
        partner_id = account.partner.public_id

        response = client.get(f"/dashboard/app/{partner_id}/permissions", query_string=query)

        assert response.status_code == 308
        expected = f"/partners/{partner_id}/permission" + (f"?{query}" if query else "")
        assert response.headers["Location"] == expected


class TestLogin:
    def test_wrong_password_is_refused_and_logs_no_one_in(
        self, client: FlaskClient, account: ClientAccount
    ) -> None:
        started = start(client, account.partner.public_id)

        response = submit_login(
            client, started.headers["Location"], account.user.email, "wrong" * 3
        )

        assert_refused(response, 401)
        with client.session_transaction() as session:
            assert "login" not in session

    def test_login_inside_a_flow_continues_to_consent_with_the_same_flow(
        self, client: FlaskClient, account: ClientAccount
    ) -> None:
        started = start(client, account.partner.public_id)
        token = dict(parse_qsl(urlsplit(started.headers["Location"]).query))["flow"]

        response = submit_login(client, started.headers["Location"], account.user.email)

        assert response.status_code == 303
        assert response.headers["Location"] == f"{CONSENT}?{urlencode({'flow': token})}"


# --- the consent screen ------------------------------------------------------------------------


class TestConsentScreen:
    def test_shows_the_partner_every_number_and_the_choices(
        self, client: FlaskClient, account: ClientAccount
    ) -> None:
        html = open_consent(client, account)

        assert html_lib.escape(account.partner.brand_name) in html
        boxes = checkboxes(html, "channels")
        assert set(boxes) == set(account.ids)
        for channel in account.channels:
            assert channel.phone_number in boxes[channel.public_id].text
        labels = [c.text for c in controls(html) if c.tag == "input"]
        assert "Select all" in labels
        assert {value: radio.text for value, radio in radios(html, "all_channels").items()} == {
            "1": "All numbers, now and later",
            "0": "Only the numbers I select",
        }
        answers = {n: b.attrs["value"] for n, b in buttons(html).items() if b.attrs.get("name")}
        assert answers == {
            "Update": "filter",  # hidden, first: what Enter presses (it never answers)
            "Allow Share none": "allow",
            "Cancel": "deny",
        }

    def test_pre_ticks_shared_channels_and_those_the_partner_named(
        self, client: FlaskClient, db: Session
    ) -> None:
        account = arrange(db, channels=5)
        shared, named, by_number, _untouched, also_named = account.channels
        grant(db, account.customer, [shared], via=GrantedVia.CLIENT_HUB, actor="test")
        db.commit()
        number = by_number.phone_number  # "+49151…", asked for as "+49 151 …"
        spaced = f"{number[:3]} {number[3:6]} {number[6:]}"

        html = open_consent(
            client,
            account,
            channels=f"[{named.public_id},{also_named.public_id}]",
            number=spaced,
        )

        expected = {c.public_id for c in (shared, named, by_number, also_named)}
        assert ticked(html) == expected

    def test_pre_ticks_all_numbers_when_the_client_chose_it_before(
        self, client: FlaskClient, account: ClientAccount, db: Session
    ) -> None:
        account.customer.all_channels = True
        db.commit()

        html = open_consent(client, account)

        assert "checked" in radios(html, "all_channels")["1"].attrs
        assert "checked" not in radios(html, "all_channels")["0"].attrs
        assert ticked(html) == set(account.ids)  # the boxes show what All shares


# --- the answer --------------------------------------------------------------------------------


class TestAllow:
    def test_shares_the_ticked_channels_and_returns_a_signed_callback(
        self, client: FlaskClient, account: ClientAccount, db: Session
    ) -> None:
        first, second, _third = account.ids
        html = open_consent(client, account)

        params = callback(answer(client, html, channels=[first, second]), account.partner)

        assert params.keys() == {"client", "channels", "consent", "iss", "ts", "signature"}
        assert params["client"] == account.customer.public_id
        assert id_list(params["channels"]) == [first, second]
        assert abs(int(params["ts"]) - time.time()) <= 10
        assert shared_ids(db, account) == {first, second}
        assert account.channels[0].permission.granted_via == GrantedVia.PERMISSION_SCREEN
        consent = recorded(db, params)
        assert (consent.action, consent.channels, consent.revoked) == ("allow", [first, second], [])
        assert (consent.all_channels, consent.state) == (False, None)
        assert consent.public_id.startswith("cs_")

    def test_every_answer_has_its_own_consent(
        self, client: FlaskClient, account: ClientAccount, db: Session
    ) -> None:
        first = callback(answer(client, open_consent(client, account)), account.partner)
        second = callback(answer(client, open_consent(client, account)), account.partner)

        assert first["consent"] != second["consent"]
        assert recorded(db, first).id != recorded(db, second).id

    def test_nothing_ticked_answers_an_empty_list(
        self, client: FlaskClient, account: ClientAccount, db: Session
    ) -> None:
        html = open_consent(client, account)

        params = callback(answer(client, html), account.partner)

        assert params["channels"] == "[]"
        assert shared_ids(db, account) == set()

    @pytest.mark.parametrize(
        "state",
        [
            "opaque-123",
            "a&b=c",
            "x+y z",
            "=%25&+?#/",
            " ünïcödé 日本語 😀 ",
            "",
        ],
    )
    def test_state_is_echoed_exactly(
        self, client: FlaskClient, account: ClientAccount, db: Session, state: str
    ) -> None:
        html = open_consent(client, account, state=state)

        params = callback(answer(client, html), account.partner)

        assert params["state"] == state
        assert recorded(db, params).state == state

    def test_unticking_a_shared_channel_revokes_it(self, client: FlaskClient, db: Session) -> None:
        account = arrange(db, billing=BillingModel.PARTNER_PAYMENT)
        kept, dropped, also_dropped = account.ids
        html = open_consent(client, account)
        assert ticked(html) == set(account.ids)

        params = callback(answer(client, html, channels=[kept]), account.partner)

        assert id_list(params["channels"]) == [kept]
        assert id_list(params["revoked"]) == [dropped, also_dropped]
        assert shared_ids(db, account) == {kept}
        consent = recorded(db, params)
        assert (consent.channels, consent.revoked) == ([kept], [dropped, also_dropped])
        revoked = db.scalars(select(AuditEvent).where(AuditEvent.type == "permission.revoked"))
        assert [event.data["channel_ids"] for event in revoked] == [[dropped, also_dropped]]

    @pytest.mark.parametrize("unticked", ["0", "false", "off", ""])
    def test_an_unticked_all_numbers_value_from_a_script_shares_nothing_extra(
        self, client: FlaskClient, account: ClientAccount, db: Session, unticked: str
    ) -> None:
        first = account.ids[0]
        html = open_consent(client, account)
        form = {
            "csrf_token": csrf_token(html),
            "flow": flow_token(html),
            "channels": [first],
            "all_channels": unticked,
            "action": "allow",
        }

        params = callback(client.post(CONSENT, data=form), account.partner)

        assert id_list(params["channels"]) == [first]
        assert shared_ids(db, account) == {first}
        db.refresh(account.customer)
        assert not account.customer.all_channels

    def test_all_numbers_shares_every_channel_whatever_is_ticked(
        self, client: FlaskClient, account: ClientAccount, db: Session
    ) -> None:
        html = open_consent(client, account)

        params = callback(answer(client, html, all_channels=True), account.partner)

        assert id_list(params["channels"]) == account.ids
        assert shared_ids(db, account) == set(account.ids)
        assert account.customer.all_channels is True
        assert (recorded(db, params).all_channels, recorded(db, params).channels) == (
            True,
            account.ids,
        )

    def test_answering_without_all_numbers_ends_it(
        self, client: FlaskClient, account: ClientAccount, db: Session
    ) -> None:
        account.customer.all_channels = True
        db.commit()
        html = open_consent(client, account)

        callback(answer(client, html, channels=account.ids[:1]), account.partner)

        db.expire_all()
        assert account.customer.all_channels is False

    def test_iss_defaults_to_the_configured_base_url(
        self, client: FlaskClient, account: ClientAccount
    ) -> None:
        html = open_consent(client, account)

        assert callback(answer(client, html), account.partner)["iss"] == "https://hub.test"

    def test_iss_is_the_configured_issuer_exactly(
        self, app: Flask, client: FlaskClient, account: ClientAccount
    ) -> None:
        app.config["ISSUER"] = "https://hub.example/tenant/"
        html = open_consent(client, account)

        assert callback(answer(client, html), account.partner)["iss"] == (
            "https://hub.example/tenant/"
        )

    def test_a_chosen_redirect_url_keeps_its_own_query_and_it_is_signed(
        self, client: FlaskClient, db: Session
    ) -> None:
        own = "https://partner.example/cb?tenant=a%20b&x=1"
        account = arrange(db, redirect_urls=[REDIRECT_URL, own])
        html = open_consent(client, account, redirect_url=own, state="s")

        params = callback(answer(client, html), account.partner, redirect_url=own)

        assert (params["tenant"], params["x"], params["state"]) == ("a b", "1", "s")

    def test_the_first_registered_url_is_the_default(
        self, client: FlaskClient, db: Session
    ) -> None:
        first = "https://partner.example/first"
        account = arrange(db, redirect_urls=[first, REDIRECT_URL])
        html = open_consent(client, account)

        assert answer(client, html).location.startswith(f"{first}?client=")


class TestCancel:
    def test_cancel_answers_access_denied_and_changes_nothing(
        self, client: FlaskClient, db: Session
    ) -> None:
        account = arrange(db, billing=BillingModel.PARTNER_PAYMENT)
        html = open_consent(client, account, state="s t")
        before = snapshot(db)

        params = callback(answer(client, html, channels=[], action="deny"), account.partner)

        assert params.keys() == {"client", "error", "consent", "state", "iss", "ts", "signature"}
        assert (params["error"], params["state"]) == ("access_denied", "s t")
        after = snapshot(db)
        assert after.pop("used_flow_nonce") == before.pop("used_flow_nonce") + 1
        assert after.pop("consent") == before.pop("consent") + 1
        assert after == before
        consent = recorded(db, params)
        assert (consent.action, consent.revoked, consent.state) == ("deny", [], "s t")
        assert consent.channels == account.ids  # what stays shared (partner_payment default)
        assert consent.all_channels is False

    def test_cancel_without_state_sends_no_state(
        self, client: FlaskClient, account: ClientAccount
    ) -> None:
        html = open_consent(client, account)

        params = callback(answer(client, html, action="deny"), account.partner)

        assert "state" not in params

    def test_cancel_uses_up_the_token(
        self, client: FlaskClient, account: ClientAccount, db: Session
    ) -> None:
        html = open_consent(client, account)
        callback(answer(client, html, action="deny"), account.partner)
        before = snapshot(db)

        again = answer(client, html, channels=account.ids)

        assert_refused(again, 400)
        assert snapshot(db) == before


# --- signup inside the flow --------------------------------------------------------------------


def sign_up(client: FlaskClient, partner: Partner, **query: str) -> TestResponse:
    started = start(client, partner.public_id, {"next": "signup", **query})
    page = client.get(started.headers["Location"])
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    return client.post(
        "/signup",
        data={
            "csrf_token": csrf_token(html),
            "flow": flow_token(html),
            "company": "Beispiel Bäckerei GmbH",
            "email": "owner@baeckerei.example",
            "password": PASSWORD,
        },
    )


def add_number(client: FlaskClient, numbers_page: str, phone: str) -> TestResponse:
    page = client.get(numbers_page)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    return client.post(
        "/signup/numbers",
        data={
            "csrf_token": csrf_token(html),
            "flow": flow_token(html),
            "phone": phone,
            "name": "",
        },
    )


def new_client(db: Session, partner: Partner) -> Client:
    db.expire_all()
    customer = db.scalar(select(Client).where(Client.partner_id == partner.id))
    assert customer is not None
    return customer


class TestSignup:
    def test_signup_stores_the_payload_adds_a_number_and_reaches_consent(
        self, client: FlaskClient, db: Session
    ) -> None:
        partner = make_partner(db)
        db.commit()
        number = new_number()
        spaced = f"{number[:3]} {number[3:6]} {number[6:]}"

        # partner_payload counts only on a link the partner signed (SPEC §5.1)
        query = signed_query(
            partner.signing_secret, {"next": "signup", "partner_payload": "crm:42 ü&x"}
        )
        signed_up = sign_up(client, partner, **query)
        assert signed_up.status_code == 303
        numbers_page = signed_up.headers["Location"]
        assert numbers_page.startswith("/signup/numbers?flow=")
        customer = new_client(db, partner)
        assert (customer.name, customer.partner_payload) == ("Beispiel Bäckerei GmbH", "crm:42 ü&x")

        added = add_number(client, numbers_page, spaced)
        assert added.status_code == 303
        assert [c.phone_number for c in new_client(db, partner).channels] == [number]

        consent = client.get(numbers_page.replace("/signup/numbers", CONSENT, 1))
        html = consent.get_data(as_text=True)
        (channel_id,) = checkboxes(html, "channels")
        params = callback(answer(client, html, channels=[channel_id]), partner)
        assert params["client"] == customer.public_id
        assert id_list(params["channels"]) == [channel_id]

    @pytest.mark.parametrize(
        "phone",
        ["030 1234567", "+49 12", "+1 555 0100", "+999 1234567", "call me", "+49 151 " + "1" * 30],
    )
    def test_an_invalid_number_is_refused_and_nothing_added(
        self, client: FlaskClient, db: Session, phone: str
    ) -> None:
        partner = make_partner(db)
        db.commit()
        numbers_page = sign_up(client, partner).headers["Location"]
        before = snapshot(db)

        response = add_number(client, numbers_page, phone)

        assert_refused(response, 400)
        assert snapshot(db) == before


# --- refusals before the flow starts -----------------------------------------------------------


def test_unknown_partner_is_a_404_page(
    client: FlaskClient, account: ClientAccount, db: Session
) -> None:
    before = snapshot(db)

    html = assert_refused(start(client, "pa_doesNotExist"), 404)

    assert "This link doesn&#39;t lead anywhere" in html
    assert "No partner has the id" in html  # for the developers, folded away
    assert snapshot(db) == before


def test_partner_without_a_redirect_url_is_refused(client: FlaskClient, db: Session) -> None:
    partner = make_partner(db, redirect_urls=[])
    db.commit()
    before = snapshot(db)

    html = assert_refused(start(client, partner.public_id), 400)

    assert "has not registered a redirect URL" in html
    assert snapshot(db) == before


MALFORMED: list[Any] = [
    pytest.param({"state": "😀" * 513}, id="state-513-code-points"),
    pytest.param({"state": "x" * 513}, id="state-513-ascii"),
    pytest.param({"channels": "[ch 1]"}, id="channels-space"),
    pytest.param({"channels": "[ch_1;ch_2]"}, id="channels-semicolon"),
    pytest.param({"channels": "{ch_1}"}, id="channels-braces"),
    pytest.param({"channels": "[[ch_1]]"}, id="channels-nested"),
    pytest.param({"channels": f"[{'a' * 65}]"}, id="channels-id-too-long"),
    pytest.param({"channels": "[ch_1,ch_2\u00e9]"}, id="channels-non-ascii"),
    pytest.param({"next": "bogus"}, id="next-bogus"),
    pytest.param({"next": "https://evil.example/"}, id="next-url"),
    pytest.param({"number": "12345"}, id="number-without-country"),
    pytest.param({"number": "+49 12"}, id="number-too-short"),
    pytest.param({"number": "+49 151 abc"}, id="number-letters"),
    pytest.param([("state", "a"), ("state", "b")], id="state-twice"),
    pytest.param([("state", "a"), ("state", "a")], id="state-twice-same"),
    pytest.param([("channels", "[]"), ("channels", "[]")], id="channels-twice"),
    pytest.param([("redirect_url", REDIRECT_URL)] * 2, id="redirect-url-twice"),
    pytest.param({"redirect_url": "https://evil.example/cb"}, id="redirect-url-unregistered"),
]
# An unsigned partner_payload is ignored, whatever its length; signed and too long, it is refused
# (tests/test_signed_links.py).


@pytest.mark.parametrize("query", MALFORMED)
def test_a_malformed_link_is_refused_without_redirect(
    client: FlaskClient, account: ClientAccount, db: Session, query: Any
) -> None:
    before = snapshot(db)

    html = assert_refused(start(client, account.partner.public_id, query), 400)

    assert "doesn&#39;t work" in html
    assert "Details for the partner's developers" in html
    assert snapshot(db) == before


@pytest.mark.parametrize("state", ["😀" * 512, "é" * 512, "x" * 512])
def test_a_state_of_512_code_points_is_accepted(
    client: FlaskClient, account: ClientAccount, state: str
) -> None:
    html = open_consent(client, account, state=state)

    assert callback(answer(client, html), account.partner)["state"] == state


def test_a_state_that_is_not_utf8_is_refused(client: FlaskClient, account: ClientAccount) -> None:
    response = client.get(
        f"/partners/{account.partner.public_id}/permission", query_string="state=%FF"
    )

    assert_refused(response, 400)


# --- refusals of the answer --------------------------------------------------------------------


def tampered(token: str) -> str:
    """The token with one character changed in the middle (a full 6-bit base64 digit)."""
    at = len(token) // 2
    return token[:at] + ("A" if token[at] != "A" else "B") + token[at + 1 :]


class TestRefusedAnswers:
    def test_a_tampered_flow_token_is_refused(
        self, client: FlaskClient, account: ClientAccount, db: Session
    ) -> None:
        html = open_consent(client, account, state="s")
        forged = html.replace(flow_token(html), tampered(flow_token(html)))
        before = snapshot(db)

        refused = assert_refused(answer(client, forged, channels=account.ids), 400)

        assert "not valid" in refused
        assert snapshot(db) == before

    @pytest.mark.parametrize("page", [CONSENT, "/login", "/signup", "/signup/numbers"])
    def test_every_flow_page_refuses_a_tampered_token(
        self, client: FlaskClient, account: ClientAccount, page: str
    ) -> None:
        login_page = start(client, account.partner.public_id).location
        token = dict(parse_qsl(urlsplit(login_page).query))["flow"]

        response = client.get(page, query_string={"flow": tampered(token)})

        assert_refused(response, 400)

    def test_an_expired_flow_token_is_refused_with_a_way_to_start_again(
        self,
        client: FlaskClient,
        account: ClientAccount,
        db: Session,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        html = open_consent(client, account, state="a&b", channels=f"[{account.ids[0]}]")
        before = snapshot(db)
        later = int(time.time()) + 15 * 60 + 1
        monkeypatch.setattr(flows, "_now", lambda: later)

        refused = assert_refused(answer(client, html, channels=account.ids), 400)

        assert "expired" in refused
        restart = restart_link(refused)
        assert restart is not None
        path, _, query = restart.partition("?")
        assert path == f"/partners/{account.partner.public_id}/permission"
        asked = dict(parse_qsl(query))
        assert (asked["state"], asked["channels"]) == ("a&b", f"[{account.ids[0]}]")
        assert snapshot(db) == before

    def test_a_fourteen_minute_old_token_still_works(
        self, client: FlaskClient, account: ClientAccount, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        html = open_consent(client, account)
        later = int(time.time()) + 14 * 60
        monkeypatch.setattr(flows, "_now", lambda: later)

        assert callback(answer(client, html), account.partner)["channels"] == "[]"

    def test_a_replayed_flow_token_is_refused_with_a_way_to_start_again(
        self, client: FlaskClient, account: ClientAccount, db: Session
    ) -> None:
        html = open_consent(client, account)
        callback(answer(client, html, channels=account.ids[:1]), account.partner)
        before = snapshot(db)

        refused = assert_refused(answer(client, html, channels=account.ids), 400)

        assert "already answered" in refused
        restart = restart_link(refused)
        assert restart is not None
        assert restart.startswith(f"/partners/{account.partner.public_id}/permission?")
        assert snapshot(db) == before

    def test_an_answer_without_csrf_token_is_refused(
        self, client: FlaskClient, account: ClientAccount, db: Session
    ) -> None:
        html = open_consent(client, account)
        before = snapshot(db)

        response = client.post(
            CONSENT, data={"flow": flow_token(html), "channels": account.ids, "action": "allow"}
        )

        assert_refused(response, 400)
        assert snapshot(db) == before

    def test_an_answer_with_a_wrong_csrf_token_is_refused(
        self, client: FlaskClient, account: ClientAccount, db: Session
    ) -> None:
        html = open_consent(client, account)
        forged = html.replace(csrf_token(html), tampered(csrf_token(html)))
        before = snapshot(db)

        assert_refused(answer(client, forged, channels=account.ids), 400)
        assert snapshot(db) == before

    def test_a_channel_that_is_not_the_clients_own_changes_nothing(
        self, client: FlaskClient, account: ClientAccount, db: Session
    ) -> None:
        other = arrange(db, partner=account.partner, channels=1)
        html = open_consent(client, account)
        before = snapshot(db)

        response = answer(client, html, channels=[account.ids[0], other.ids[0]], all_channels=True)

        assert "Nothing was changed" in assert_refused(response, 400)
        assert snapshot(db) == before

    def test_an_unknown_channel_id_changes_nothing(
        self, client: FlaskClient, account: ClientAccount, db: Session
    ) -> None:
        html = open_consent(client, account)
        before = snapshot(db)

        response = answer(client, html, channels=[account.ids[0], "ch_doesNotExist"])

        assert_refused(response, 400)
        assert snapshot(db) == before

    def test_a_redirect_url_removed_meanwhile_is_not_used(
        self, client: FlaskClient, account: ClientAccount, db: Session
    ) -> None:
        html = open_consent(client, account)
        account.partner.redirect_urls.clear()
        add_redirect_url(account.partner, "https://partner.example/new-callback")
        db.commit()
        before = snapshot(db)

        response = answer(client, html, channels=account.ids)

        assert_refused(response, 400)
        assert snapshot(db) == before


class TestAnotherPartnersClient:
    def test_gets_a_403_page_that_offers_to_log_out_and_continue(
        self, client: FlaskClient, account: ClientAccount, db: Session
    ) -> None:
        stranger = arrange(db)  # a client of another partner
        assert submit_login(client, "/login", stranger.user.email).status_code == 303
        started = start(client, account.partner.public_id)
        before = snapshot(db)

        html = assert_refused(client.get(started.headers["Location"]), 403)

        logout = buttons(html)["Log out and continue"]
        assert logout.form_action == "/logout"
        assert snapshot(db) == before

    def test_can_log_out_and_continue_as_the_right_client(
        self, client: FlaskClient, account: ClientAccount, db: Session
    ) -> None:
        stranger = arrange(db)
        assert submit_login(client, "/login", stranger.user.email).status_code == 303
        started = start(client, account.partner.public_id, {"state": "s"})
        html = client.get(started.headers["Location"]).get_data(as_text=True)

        logged_out = client.post(
            "/logout", data={"csrf_token": csrf_token(html), "flow": flow_token(html)}
        )
        assert logged_out.status_code == 303
        logged_in = submit_login(client, logged_out.headers["Location"], account.user.email)
        consent = client.get(logged_in.headers["Location"]).get_data(as_text=True)

        assert callback(answer(client, consent), account.partner)["state"] == "s"

    def test_cannot_answer_for_another_partner(
        self, client: FlaskClient, account: ClientAccount, db: Session
    ) -> None:
        """A consent page of the stranger's own partner, submitted with another partner's flow."""
        stranger = arrange(db)
        own_page = open_consent(client, stranger)
        foreign_flow = start(client, account.partner.public_id).headers["Location"]
        token = dict(parse_qsl(urlsplit(foreign_flow).query))["flow"]
        before = snapshot(db)

        response = answer(
            client, own_page.replace(flow_token(own_page), token), channels=stranger.ids
        )

        assert_refused(response, 403)
        assert snapshot(db) == before


# --- security headers --------------------------------------------------------------------------


def _permission_link(client: FlaskClient, account: ClientAccount, db: Session) -> TestResponse:
    return start(client, account.partner.public_id)


def _refused_link(client: FlaskClient, account: ClientAccount, db: Session) -> TestResponse:
    return start(client, account.partner.public_id, {"next": "bogus"})


def _unknown_partner(client: FlaskClient, account: ClientAccount, db: Session) -> TestResponse:
    return start(client, "pa_doesNotExist")


def _login_page(client: FlaskClient, account: ClientAccount, db: Session) -> TestResponse:
    return client.get(start(client, account.partner.public_id).location)


def _signup_page(client: FlaskClient, account: ClientAccount, db: Session) -> TestResponse:
    return client.get(start(client, account.partner.public_id, {"next": "signup"}).location)


def _numbers_page(client: FlaskClient, account: ClientAccount, db: Session) -> TestResponse:
    return client.get(sign_up(client, account.partner).location)


def _consent_page(client: FlaskClient, account: ClientAccount, db: Session) -> TestResponse:
    started = start(client, account.partner.public_id)
    return client.get(submit_login(client, started.location, account.user.email).location)


def _callback(client: FlaskClient, account: ClientAccount, db: Session) -> TestResponse:
    return answer(client, _consent_page(client, account, db).get_data(as_text=True))


def _replayed(client: FlaskClient, account: ClientAccount, db: Session) -> TestResponse:
    html = _consent_page(client, account, db).get_data(as_text=True)
    answer(client, html)
    return answer(client, html)


def _wrong_account(client: FlaskClient, account: ClientAccount, db: Session) -> TestResponse:
    other = make_partner(db)
    db.commit()
    submit_login(client, "/login", account.user.email)
    return client.get(start(client, other.public_id).location)


FLOW_PAGES: list[Callable[[FlaskClient, ClientAccount, Session], TestResponse]] = [
    _permission_link,
    _refused_link,
    _unknown_partner,
    _login_page,
    _signup_page,
    _numbers_page,
    _consent_page,
    _callback,
    _replayed,
    _wrong_account,
]


@pytest.mark.parametrize("visit", FLOW_PAGES, ids=lambda visit: visit.__name__.strip("_"))
def test_flow_pages_send_the_security_headers(
    client: FlaskClient,
    account: ClientAccount,
    db: Session,
    visit: Callable[[FlaskClient, ClientAccount, Session], TestResponse],
) -> None:
    response = visit(client, account, db)

    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert "form-action" not in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def session_cookie(response: TestResponse) -> list[str]:
    """The attributes of the session cookie this response sets, lower-cased."""
    (cookie,) = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    return [part.strip().lower() for part in cookie.split(";")[1:]]


@pytest.mark.parametrize(
    ("base_url", "secure"), [("http://hub.test", False), ("https://hub.test", True)]
)
def test_session_cookie_is_httponly_lax_and_secure_over_https(
    client: FlaskClient, account: ClientAccount, base_url: str, secure: bool
) -> None:
    started = start(client, account.partner.public_id, base_url=base_url)

    login_page = client.get(started.location, base_url=base_url)  # its CSRF token starts a session

    attributes = session_cookie(login_page)
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert ("secure" in attributes) is secure


def test_a_browser_can_log_in_over_https(client: FlaskClient, account: ClientAccount) -> None:
    """Like a browser after `Referrer-Policy: no-referrer`: the POST carries no Referer."""
    started = start(client, account.partner.public_id, base_url="https://hub.test")

    response = submit_login(
        client, started.location, account.user.email, base_url="https://hub.test"
    )

    assert response.status_code == 303
    assert response.location.startswith(f"{CONSENT}?flow=")
