"""The permission flow's server-side rules behind its screens (issue 10): the choice between
all numbers and a selection, what Allow says it does, the confirmation before sharing nothing,
the numbers step's Continue, and error pages that speak to clients.

The browser side of the same traps is in e2e/test_consent_traps.py.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from onboarding.models import Channel, GrantedVia, UsedFlowNonce
from onboarding.permissions.service import grant
from tests.conftest import csrf_token, flow_token
from tests.factories import ClientAccount, make_partner, new_number
from tests.test_consent_http import (
    CONSENT,
    arrange,
    assert_refused,
    buttons,
    callback,
    checkboxes,
    controls,
    id_list,
    new_client,
    open_consent,
    radios,
    shared_ids,
    sign_up,
    snapshot,
    start,
    ticked,
)


@pytest.fixture
def account(db: Session) -> ClientAccount:
    return arrange(db)


def screen_post(html: str, *, ticked_ids: list[str], action: str, **extra: Any) -> dict[str, Any]:
    """The consent form as the screen submits it: with the ids it listed and its hidden state."""
    listed = re.search(r'name="listed" value="([^"]*)"', html)
    assert listed, "the screen lists its numbers"
    return {
        "csrf_token": csrf_token(html),
        "flow": flow_token(html),
        "listed": listed.group(1),
        "picked": "",
        "unpicked": "",
        "channels": ticked_ids,
        "all_channels": "0",
        "action": action,
        **extra,
    }


def allow_text(html: str) -> str:
    return next(text for text, b in buttons(html).items() if b.attrs.get("value") == "allow")


def visible_text(html: str) -> str:
    """What a client reads: the page without tags, scripts and the developers' folded part."""
    body = re.sub(r"<details.*?</details>", "", html, flags=re.S)
    body = re.sub(r"<(head|script)\b.*?</\1>", "", body, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", body).split())


def shared_account(db: Session, shared: int) -> ClientAccount:
    account = arrange(db)
    grant(db, account.customer, account.channels[:shared], via=GrantedVia.CLIENT_HUB, actor="t")
    db.commit()
    return account


def test_the_removal_pointer_links_to_the_client_hubs_partner_page(
    client: FlaskClient, account: ClientAccount
) -> None:
    html = open_consent(client, account)
    assert '<a href="/client/settings/partner">Organization Settings → Partner</a>' in html


class TestChoice:
    def test_all_numbers_shares_every_number_whatever_the_boxes_say(
        self, client: FlaskClient, account: ClientAccount, db: Session
    ) -> None:
        html = open_consent(client, account)
        form = screen_post(html, ticked_ids=[], action="allow", all_channels="1")

        params = callback(client.post(CONSENT, data=form), account.partner)

        assert id_list(params["channels"]) == account.ids
        db.refresh(account.customer)
        assert account.customer.all_channels is True

    def test_only_the_selected_numbers_shares_the_ticked_ones(
        self, client: FlaskClient, account: ClientAccount, db: Session
    ) -> None:
        html = open_consent(client, account)
        form = screen_post(html, ticked_ids=account.ids[:1], action="allow")

        params = callback(client.post(CONSENT, data=form), account.partner)

        assert id_list(params["channels"]) == account.ids[:1]
        db.refresh(account.customer)
        assert account.customer.all_channels is False

    def test_only_is_the_choice_shown_when_all_was_not_chosen(
        self, client: FlaskClient, account: ClientAccount
    ) -> None:
        html = open_consent(client, account)

        assert "checked" in radios(html, "all_channels")["0"].attrs
        assert "checked" not in radios(html, "all_channels")["1"].attrs


class TestEnter:
    def test_the_first_submit_button_redraws_and_never_answers(
        self, client: FlaskClient, account: ClientAccount, db: Session
    ) -> None:
        html = open_consent(client, account)
        first = next(c for c in controls(html) if c.tag == "button" and c.form_action == CONSENT)
        assert (first.attrs.get("value"), "hidden" in first.attrs) == ("filter", True)
        before = snapshot(db)

        form = screen_post(html, ticked_ids=account.ids[1:2], action="filter")
        redrawn = client.post(CONSENT, data=form)

        assert redrawn.status_code == 200
        assert ticked(redrawn.get_data(as_text=True)) == {account.ids[1]}
        assert snapshot(db) == before


class TestWhatAllowSays:
    def test_the_button_counts_what_is_shared(self, client: FlaskClient, db: Session) -> None:
        account = shared_account(db, 2)

        html = open_consent(client, account)

        assert allow_text(html) == "Allow Share 2"

    def test_a_cleared_shared_number_is_named_as_losing_its_keys(
        self, client: FlaskClient, db: Session
    ) -> None:
        account = shared_account(db, 2)
        kept, dropped, added = account.ids
        html = open_consent(client, account)

        form = screen_post(html, ticked_ids=[kept, added], action="filter")
        redrawn = client.post(CONSENT, data=form).get_data(as_text=True)

        assert allow_text(redrawn) == "Allow Share 2 · Remove 1"
        notes = re.findall(r'<p class="losing" id="note-([^"]+)"( hidden)?>', redrawn)
        assert sorted(notes) == sorted([(kept, " hidden"), (dropped, "")])
        described = checkboxes(redrawn, "channels")[dropped].attrs["aria-describedby"]
        assert described == f"status-{dropped} note-{dropped}"
        assert "Shared now" not in checkboxes(redrawn, "channels")[dropped].text

    def test_all_numbers_says_it_shares_every_number(
        self, client: FlaskClient, db: Session
    ) -> None:
        account = shared_account(db, 1)
        account.customer.all_channels = True
        db.commit()

        html = open_consent(client, account)

        assert allow_text(html) == "Allow Share 3"
        assert ticked(html) == set(account.ids)


class TestSharingNothing:
    def test_allow_with_nothing_selected_asks_first_and_changes_nothing(
        self, client: FlaskClient, db: Session
    ) -> None:
        account = shared_account(db, 1)
        html = open_consent(client, account)
        before = snapshot(db)

        asked = client.post(CONSENT, data=screen_post(html, ticked_ids=[], action="allow"))

        assert asked.status_code == 200
        page = asked.get_data(as_text=True)
        assert "Share no number with" in page
        assert account.channels[0].phone_number in page  # the number that would lose its keys
        assert snapshot(db) == before  # not answered: the flow token is not spent either
        assert db.scalar(select(func.count()).select_from(UsedFlowNonce)) == 0

    def test_confirming_shares_nothing_and_reports_the_removal(
        self, client: FlaskClient, db: Session
    ) -> None:
        account = shared_account(db, 1)
        html = open_consent(client, account)
        asked = client.post(CONSENT, data=screen_post(html, ticked_ids=[], action="allow"))
        page = asked.get_data(as_text=True)
        form = {
            c.attrs["name"]: c.attrs.get("value") or ""
            for c in controls(page)
            if c.tag == "input" and c.attrs.get("name") and c.form_action == CONSENT
        }

        params = callback(client.post(CONSENT, data={**form, "action": "allow"}), account.partner)

        assert params["channels"] == "[]"
        assert id_list(params["revoked"]) == account.ids[:1]
        assert shared_ids(db, account) == set()

    def test_go_back_returns_to_the_screen_with_the_choice_kept(
        self, client: FlaskClient, db: Session
    ) -> None:
        account = shared_account(db, 1)
        html = open_consent(client, account)
        asked = client.post(CONSENT, data=screen_post(html, ticked_ids=[], action="allow"))
        page = asked.get_data(as_text=True)
        form = {
            c.attrs["name"]: c.attrs.get("value") or ""
            for c in controls(page)
            if c.tag == "input" and c.attrs.get("name") and c.form_action == CONSENT
        }
        form.pop("share_nothing")

        back = client.post(CONSENT, data={**form, "action": "filter"})

        assert back.status_code == 200
        assert ticked(back.get_data(as_text=True)) == set()
        assert shared_ids(db, account) == {account.ids[0]}

    def test_a_plain_post_of_no_boxes_still_answers_at_once(
        self, client: FlaskClient, account: ClientAccount
    ) -> None:
        html = open_consent(client, account)
        form = {"csrf_token": csrf_token(html), "flow": flow_token(html), "action": "allow"}

        assert callback(client.post(CONSENT, data=form), account.partner)["channels"] == "[]"


class TestNumbersStep:
    def numbers_page(self, client: FlaskClient, db: Session) -> tuple[str, str, Any]:
        partner = make_partner(db)
        db.commit()
        signed_up = sign_up(client, partner)
        assert signed_up.status_code == 303
        location = signed_up.headers["Location"]
        return location, client.get(location).get_data(as_text=True), partner

    def post(self, client: FlaskClient, html: str, phone: str, action: str) -> TestResponse:
        data = {"csrf_token": csrf_token(html), "flow": flow_token(html), "phone": phone}
        return client.post("/signup/numbers", data={**data, "name": "", "action": action})

    def test_continue_adds_a_typed_number_then_goes_on(
        self, client: FlaskClient, db: Session
    ) -> None:
        _location, html, partner = self.numbers_page(client, db)
        number = new_number()

        response = self.post(client, html, number, "continue")

        assert response.status_code == 303
        assert response.headers["Location"].startswith(f"{CONSENT}?flow=")
        assert [c.phone_number for c in new_client(db, partner).channels] == [number]

    def test_continue_with_a_wrong_number_stays_and_says_so(
        self, client: FlaskClient, db: Session
    ) -> None:
        _location, html, _partner = self.numbers_page(client, db)
        before = db.scalar(select(func.count()).select_from(Channel))

        response = self.post(client, html, "0301234567", "continue")

        page = assert_refused(response, 400)
        assert "Not added yet" in page
        assert db.scalar(select(func.count()).select_from(Channel)) == before

    def test_continue_with_nothing_typed_goes_on(self, client: FlaskClient, db: Session) -> None:
        _location, html, partner = self.numbers_page(client, db)

        response = self.post(client, html, "  ", "continue")

        assert response.status_code == 303
        assert response.headers["Location"].startswith(f"{CONSENT}?flow=")
        assert new_client(db, partner).channels == []

    def test_continue_without_csrf_is_refused(self, client: FlaskClient, db: Session) -> None:
        _location, html, partner = self.numbers_page(client, db)
        data = {"flow": flow_token(html), "phone": new_number(), "action": "continue"}

        assert_refused(client.post("/signup/numbers", data=data), 400)
        assert new_client(db, partner).channels == []

    def test_the_empty_consent_screen_leads_back_to_adding_a_number(
        self, client: FlaskClient, db: Session
    ) -> None:
        _location, html, _partner = self.numbers_page(client, db)
        consent = client.get(self.post(client, html, "", "continue").headers["Location"])

        links = [c for c in controls(consent.get_data(as_text=True)) if c.tag == "a"]
        adding = [c for c in links if c.text == "Add a WhatsApp number"]
        assert len(adding) == 1
        assert str(adding[0].attrs["href"]).startswith("/signup/numbers?flow=")


class TestClearerScreens:
    def test_numbers_are_grouped_for_reading_and_labelled_in_e164(
        self, client: FlaskClient, account: ClientAccount
    ) -> None:
        html = open_consent(client, account)

        for channel in account.channels:
            box = checkboxes(html, "channels")[channel.public_id]
            assert channel.phone_number in box.text
            number = channel.phone_number
            assert f'<span aria-hidden="true">+49 {number[3:7]} {number[7:]}</span>' in html

    def test_log_out_keeps_the_request(self, client: FlaskClient, account: ClientAccount) -> None:
        html = open_consent(client, account)
        token = flow_token(html)
        logout = {"csrf_token": csrf_token(html), "flow": token}

        response = client.post("/logout", data=logout)

        assert response.status_code == 303
        assert response.headers["Location"] == f"/login?flow={token}"
        assert client.get(f"{CONSENT}?flow={token}").status_code == 303  # logged out indeed

    def test_a_logo_is_let_in_by_the_page_policy_and_only_https(
        self, client: FlaskClient, account: ClientAccount, db: Session
    ) -> None:
        account.partner.logo_url = "https://cdn.acme.example/logo.png"
        account.partner.website = "https://acme.example/about"
        db.commit()
        started = start(client, account.partner.public_id)
        login = client.get(started.headers["Location"])

        policy = login.headers["Content-Security-Policy"]
        assert "img-src 'self' data: https://cdn.acme.example;" in policy
        html = login.get_data(as_text=True)
        assert 'src="https://cdn.acme.example/logo.png"' in html
        assert 'href="https://acme.example/about"' in html

        account.partner.logo_url = "javascript:alert(1)"
        account.partner.website = "javascript:alert(1)"
        db.commit()
        again = client.get(started.headers["Location"])
        assert "javascript:" not in again.get_data(as_text=True)
        assert "img-src 'self' data:;" in again.headers["Content-Security-Policy"]


class TestErrorPages:
    def test_a_bad_link_speaks_to_the_client_and_tells_the_developers_where_to_fix_it(
        self, client: FlaskClient, account: ClientAccount
    ) -> None:
        response = start(
            client, account.partner.public_id, {"redirect_url": "https://evil.example/cb"}
        )

        html = assert_refused(response, 400)
        shown = visible_text(html)
        assert "redirect_url" not in shown
        assert "Error 400" not in shown
        assert "open their link again" in shown
        details = re.search(r"<details.*?</details>", html, flags=re.S)
        assert details and "Partner Hub → Settings → Redirect URLs" in details.group(0)

    def test_start_again_goes_to_the_same_request(
        self, client: FlaskClient, account: ClientAccount
    ) -> None:
        html = open_consent(client, account, state="s-1")
        allowed = screen_post(html, ticked_ids=account.ids, action="allow")
        callback(client.post(CONSENT, data=allowed), account.partner)

        refused = assert_refused(
            client.post(CONSENT, data=screen_post(html, ticked_ids=[], action="deny")), 400
        )

        assert "Press Start again" in visible_text(refused)
        start_again = [c for c in controls(refused) if c.text == "Start again"]
        href = str(start_again[0].attrs["href"])
        assert href.startswith(f"/partners/{account.partner.public_id}/permission?")
        assert "state=s-1" in href

    def test_an_unknown_partner_page_shows_no_error_code(
        self, client: FlaskClient, account: ClientAccount
    ) -> None:
        response = client.get(f"/partners/{account.partner.public_id}x/permission")

        html = assert_refused(response, 404)
        assert "Error 404" not in visible_text(html)
