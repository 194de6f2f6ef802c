"""Sandbox partners (SPEC R9, issue 9): their clients' numbers run as soon as they are added, so a
partner integrates end to end before any number is real; "Sandbox" shows wherever the partner is
named. A number that already runs elsewhere cannot run twice: a sandbox client's copy is added
pending, in the words of any pending number, and nothing says where the number runs.

The domain (`create_partner`, `add_channel`), the CLI, both hubs, the consent screen, the Partner
API (documented by the OpenAPI document) and `make run`'s demo, whose printed link leads to a key
that works on /messaging/v1/channel with no operator step.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from onboarding.errors import Conflict
from onboarding.models import (
    AuditEvent,
    BillingModel,
    Channel,
    ChannelStatus,
    Client,
    ClientUser,
    Partner,
    Side,
)
from onboarding.partner_api.openapi import document
from onboarding.partners.service import create_partner, create_partner_user
from onboarding.permissions.keys import can_generate, generate_api_key
from onboarding.permissions.lifecycle import set_status
from onboarding.permissions.service import add_channel
from onboarding.phones import readable
from tests.api import (
    PARTNER,
    add_client,
    api_headers,
    assert_documented,
    make_account,
    row_counts,
    table_rows,
)
from tests.conftest import csrf_token, flow_token
from tests.factories import PASSWORD, make_channel, make_client, make_partner, new_number

SANDBOX_LABEL = "Sandbox — test integration"
BADGE = '<span class="badge sandbox">'


def words(page: str | TestResponse) -> str:
    """A page's words, entities decoded and white space collapsed."""
    text = page if isinstance(page, str) else page.get_data(as_text=True)
    return " ".join(html.unescape(text).split())


def flashes(page: str) -> list[str]:
    found = re.findall(r'class="flash[^"]*"[^>]*>([^<]*)<', page)
    return [" ".join(html.unescape(message).split()) for message in found]


def sandbox_client(
    db: Session, billing: BillingModel = BillingModel.DIRECT_PAYMENT
) -> tuple[Client, ClientUser]:
    return make_client(db, make_partner(db, billing=billing, sandbox=True))


def statuses(db: Session, number: str) -> list[tuple[int, str]]:
    db.expire_all()
    query = select(Channel.client_id, Channel.status).where(Channel.phone_number == number)
    return sorted((client_id, status) for client_id, status in db.execute(query))


# --- the domain -----------------------------------------------------------------------------------


def test_a_partner_is_a_sandbox_only_when_created_as_one(db: Session) -> None:
    direct = BillingModel.DIRECT_PAYMENT
    plain, _ = create_partner(db, name="Plain", billing_model=direct)
    sandbox, _ = create_partner(db, name="Trial", billing_model=direct, sandbox=True)
    db.flush()
    db.expire_all()
    assert (plain.sandbox, sandbox.sandbox) == (False, True)


@pytest.mark.parametrize("billing", list(BillingModel))
def test_a_sandbox_clients_number_runs_as_soon_as_it_is_added(
    db: Session, billing: BillingModel
) -> None:
    client, _ = sandbox_client(db, billing)

    channel = add_channel(db, client, new_number(), "Trial line", actor="t")

    assert channel.status == ChannelStatus.RUNNING
    assert statuses(db, channel.phone_number) == [(client.id, "running")]
    # Keys at once for whoever holds them (R6), with no operator step.
    holder = Side.PARTNER if billing == BillingModel.PARTNER_PAYMENT else Side.CLIENT
    assert can_generate(channel, holder) is None
    assert generate_api_key(db, channel, side=holder, actor="t").secret
    # Added running, not moved: channel.created and no channel.status_changed.
    types = db.scalars(select(AuditEvent.type).where(AuditEvent.client_id == client.id)).all()
    assert "channel.created" in types and "channel.status_changed" not in types


def test_any_other_partners_number_starts_pending(db: Session) -> None:
    client, _ = make_client(db, make_partner(db))
    assert add_channel(db, client, new_number(), "Real line", actor="t").status == "pending"


@pytest.mark.parametrize(
    ("sandbox", "override"),
    [(True, ChannelStatus.PENDING), (False, ChannelStatus.RUNNING)],
    ids=["sandbox-held-pending", "plain-started-running"],
)
def test_the_operators_status_overrides_the_partners(
    db: Session, sandbox: bool, override: ChannelStatus
) -> None:
    client, _ = make_client(db, make_partner(db, sandbox=sandbox))
    channel = add_channel(db, client, new_number(), "Line", actor="operator", status=override)
    assert statuses(db, channel.phone_number) == [(client.id, override.value)]


@pytest.mark.parametrize("same_partner", [True, False], ids=["same-partner", "other-partner"])
def test_a_number_running_elsewhere_is_added_pending_and_reveals_nothing(
    db: Session, same_partner: bool
) -> None:
    """No error, no 500: the partial unique index refuses the start inside a savepoint, and the
    copy stays pending. There is no look before the write, so a holder that starts the number
    at the same moment meets this same path."""
    newcomer, _ = sandbox_client(db)
    holder_partner = newcomer.partner if same_partner else make_partner(db)
    holder = make_client(db, holder_partner)[0]
    theirs = make_channel(db, holder, status=ChannelStatus.RUNNING)

    mine = add_channel(db, newcomer, theirs.phone_number, "mine", actor="t")

    assert mine.status == ChannelStatus.PENDING
    assert statuses(db, theirs.phone_number) == sorted(
        [(holder.id, "running"), (newcomer.id, "pending")]
    )
    [created] = db.scalars(
        select(AuditEvent).where(
            AuditEvent.client_id == newcomer.id, AuditEvent.type == "channel.created"
        )
    ).all()
    recorded = json.dumps(created.data)
    assert theirs.public_id not in recorded and holder.public_id not in recorded
    # The transaction stays usable, and the operator settles the clash later (R9).
    with pytest.raises(Conflict, match=theirs.public_id):
        set_status(db, mine, "running", actor="operator")
    assert set_status(db, theirs, "pending", actor="operator") is True
    assert set_status(db, mine, "running", actor="operator") is True


def test_a_number_pending_elsewhere_does_not_keep_a_sandbox_copy_from_running(
    db: Session,
) -> None:
    holder = make_client(db, make_partner(db))[0]
    theirs = make_channel(db, holder, status=ChannelStatus.PENDING)

    mine = add_channel(db, sandbox_client(db)[0], theirs.phone_number, "mine", actor="t")

    assert mine.status == ChannelStatus.RUNNING
    with pytest.raises(Conflict, match=mine.public_id):  # now the other copy waits
        set_status(db, theirs, "running", actor="operator")


def test_the_operator_asking_for_running_elsewhere_is_told_where(db: Session) -> None:
    holder = make_client(db, make_partner(db))[0]
    theirs = make_channel(db, holder, status=ChannelStatus.RUNNING)
    client, _ = make_client(db, make_partner(db))

    with pytest.raises(Conflict) as refused:
        add_channel(
            db, client, theirs.phone_number, "x", actor="operator", status=ChannelStatus.RUNNING
        )

    assert str(refused.value) == (
        f"{theirs.phone_number} is already running as channel {theirs.public_id} of client"
        f" {holder.public_id}. A number runs on one WhatsApp Business account at a time: add"
        " it pending, or set that channel to pending first."
    )


# --- the CLI --------------------------------------------------------------------------------------


def run_json(runner: FlaskCliRunner, *args: str) -> dict[str, Any]:
    result = runner.invoke(args=[*args, "--json"])
    assert result.exit_code == 0, result.output
    parsed: dict[str, Any] = json.loads(result.output)
    return parsed


def cli_client(runner: FlaskCliRunner, *partner_flags: str) -> dict[str, Any]:
    partner = run_json(
        runner, "create-partner", "--name", "Trial GmbH", "--billing", "direct_payment",
        *partner_flags,
    )  # fmt: skip
    return run_json(
        runner, "create-client", "--partner", partner["partner_id"], "--name", "Bakery",
        "--email", f"{len(partner_flags)}@bakery.example", "--password", PASSWORD,
    ) | {"partner": partner}  # fmt: skip


def test_cli_create_partner_sandbox(runner: FlaskCliRunner, db: Session) -> None:
    sandbox = cli_client(runner, "--sandbox")["partner"]
    plain = cli_client(runner)["partner"]

    assert (sandbox["sandbox"], plain["sandbox"]) == (True, False)
    stored = {pid: flag for pid, flag in db.execute(select(Partner.public_id, Partner.sandbox))}
    assert stored == {sandbox["partner_id"]: True, plain["partner_id"]: False}


def test_cli_add_channel_lets_the_partner_decide_unless_told(runner: FlaskCliRunner) -> None:
    sandbox = cli_client(runner, "--sandbox")["client_id"]
    plain = cli_client(runner)["client_id"]

    def add(client_id: str, *status: str) -> str:
        out = run_json(
            runner, "add-channel", "--client", client_id, "--phone", new_number(), *status
        )
        return str(out["status"])

    assert add(sandbox) == "running"
    assert add(plain) == "pending"
    assert add(sandbox, "--status", "pending") == "pending"
    assert add(plain, "--status", "running") == "running"


def test_cli_add_channel_running_elsewhere_is_refused_naming_it_and_changes_nothing(
    runner: FlaskCliRunner, db: Session
) -> None:
    first = cli_client(runner)["client_id"]
    second = cli_client(runner, "--sandbox")["client_id"]
    number = new_number()
    held = run_json(
        runner, "add-channel", "--client", first, "--phone", number, "--status", "running"
    )
    before = table_rows(db)

    result = runner.invoke(
        args=["add-channel", "--client", second, "--phone", number, "--status", "running"]
    )

    assert result.exit_code == 1
    assert f"already running as channel {held['channel_id']} of client {first}" in result.output
    assert "Traceback" not in result.output
    assert table_rows(db) == before


# --- HTTP: the Client Hub and the permission flow -------------------------------------------------


def client_login(client: FlaskClient, user: ClientUser) -> None:
    page = client.get("/login").text
    response = client.post(
        "/login", data={"csrf_token": csrf_token(page), "email": user.email, "password": PASSWORD}
    )
    assert response.headers["Location"] == "/client/"


def hub_add(client: FlaskClient, phone: str) -> list[str]:
    """The Client Hub's flash after adding `phone`, the number itself blanked."""
    token = csrf_token(client.get("/client/numbers/new").text)
    response = client.post("/client/numbers/new", data={"csrf_token": token, "phone": phone})
    assert response.status_code == 303, words(response)
    page = client.get(response.headers["Location"]).text
    return [message.replace(readable(phone), "NUMBER") for message in flashes(page)]


def test_client_hub_adds_a_sandbox_number_running(client: FlaskClient, db: Session) -> None:
    customer, user = sandbox_client(db)
    db.commit()
    client_login(client, user)
    number = new_number()

    assert hub_add(client, number) == [
        "Added NUMBER. It is running: you can generate its API key now."
    ]
    page = client.get("/client/").text
    assert f'action="/client/numbers/{customer.channels[0].public_id}/api-key"' in page
    assert statuses(db, number) == [(customer.id, "running")]


def test_client_hub_says_a_shared_sandbox_number_runs_and_with_whom(
    client: FlaskClient, db: Session
) -> None:
    customer, user = sandbox_client(db, BillingModel.PARTNER_PAYMENT)
    db.commit()
    client_login(client, user)

    assert hub_add(client, new_number()) == [
        f"Added NUMBER. It is running. It is shared with {customer.partner.brand_name}"
        " (Billing default)."
    ]


def test_client_hub_adds_a_number_running_elsewhere_as_any_pending_number(
    client: FlaskClient, db: Session
) -> None:
    """The same words as a new number of a partner that is not a sandbox; nothing of the holder."""
    holder, _ = make_client(db, make_partner(db))
    taken = make_channel(db, holder, status=ChannelStatus.RUNNING)
    customer, user = sandbox_client(db)
    _plain, plain_user = make_client(db, make_partner(db))
    db.commit()

    client_login(client, plain_user)
    as_plain = hub_add(client, new_number())
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/client/").text)})
    client_login(client, user)
    as_taken = hub_add(client, taken.phone_number)

    assert as_taken == as_plain
    assert as_taken[0].startswith("Added NUMBER. It is pending until WhatsApp has verified it")
    page = words(client.get("/client/"))
    for secret in (holder.public_id, holder.name, taken.public_id, taken.name):
        assert secret not in page
    assert (customer.id, "pending") in statuses(db, taken.phone_number)


def signup_through(client: FlaskClient, link: str, email: str) -> str:
    """Follow a permission link as a newcomer: login page → Create an account → sign up.
    Returns the flow token, on the numbers step."""
    response = client.get(link)
    assert response.status_code == 303, words(response)
    login = client.get(response.headers["Location"]).text
    signup = re.search(r'href="(/signup\?flow=[^"]+)"', login)
    assert signup, "the login page offers no signup"
    page = client.get(html.unescape(signup.group(1))).text
    token = flow_token(page)
    response = client.post(
        "/signup",
        data={
            "csrf_token": csrf_token(page),
            "flow": token,
            "company": "Trial Bakery",
            "email": email,
            "password": PASSWORD,
        },
    )
    assert response.headers["Location"] == f"/signup/numbers?flow={token}", words(response)
    return token


def add_on_numbers_step(client: FlaskClient, token: str, phone: str) -> list[str]:
    page = client.get(f"/signup/numbers?flow={token}").text
    response = client.post(
        "/signup/numbers", data={"csrf_token": csrf_token(page), "flow": token, "phone": phone}
    )
    assert response.status_code == 303, words(response)
    page = client.get(response.headers["Location"]).text
    return [message.replace(readable(phone), "NUMBER") for message in flashes(page)]


def test_numbers_step_adds_a_number_running_elsewhere_like_a_free_one(
    client: FlaskClient, db: Session
) -> None:
    partner = make_partner(db, sandbox=True)
    taken = make_channel(db, make_client(db, make_partner(db))[0], status=ChannelStatus.RUNNING)
    db.commit()
    token = signup_through(client, f"/partners/{partner.public_id}/permission", "new@trial.example")
    free = new_number()

    assert add_on_numbers_step(client, token, free) == ["Added NUMBER."]
    assert add_on_numbers_step(client, token, taken.phone_number) == ["Added NUMBER."]

    newcomer = db.scalars(select(Client).where(Client.name == "Trial Bakery")).one()
    assert statuses(db, free) == [(newcomer.id, "running")]
    assert (newcomer.id, "pending") in statuses(db, taken.phone_number)


# --- "Sandbox" wherever the partner is named ------------------------------------------------------


@pytest.mark.parametrize("sandbox", [True, False])
def test_the_consent_screen_labels_a_sandbox_partner(
    client: FlaskClient, db: Session, sandbox: bool
) -> None:
    partner = make_partner(db, sandbox=sandbox)
    db.commit()
    token = signup_through(client, f"/partners/{partner.public_id}/permission", "c@trial.example")

    page = words(client.get(f"/permission/consent?flow={token}"))

    assert page.count(SANDBOX_LABEL) == (1 if sandbox else 0)
    assert ("is testing its integration" in page) is sandbox
    if sandbox:  # next to the partner's name: right under the heading that names it
        heading = f"Share your numbers with {partner.brand_name}</h1>"
        assert page.index(heading) < page.index(SANDBOX_LABEL) < page.index("asks for permission")


@pytest.mark.parametrize("sandbox", [True, False])
def test_the_partner_hub_header_shows_sandbox(
    client: FlaskClient, db: Session, sandbox: bool
) -> None:
    partner = make_partner(db, sandbox=sandbox)
    user = create_partner_user(db, partner, email="o@trial.example", password=PASSWORD)
    db.commit()
    page = client.get("/hub/login").text
    client.post(
        "/hub/login",
        data={"csrf_token": csrf_token(page), "email": user.email, "password": PASSWORD},
    )

    for path in ("/hub/clients", "/hub/activity", "/hub/settings"):
        header = re.search(r'<p class="who hub-who">(.*?)</p>', client.get(path).text, re.S)
        assert header, path
        assert (f"{partner.brand_name} {BADGE}Sandbox</span>" in header.group(1)) is sandbox


@pytest.mark.parametrize("sandbox", [True, False])
def test_the_client_hub_shows_its_partner_is_a_sandbox(
    client: FlaskClient, db: Session, sandbox: bool
) -> None:
    _customer, user = make_client(db, make_partner(db, sandbox=sandbox))
    db.commit()
    client_login(client, user)

    numbers = client.get("/client/").text
    settings = words(client.get("/client/settings/partner"))
    add_page = words(client.get("/client/numbers/new"))

    assert (f"{BADGE}Sandbox</span>" in numbers) is sandbox
    assert (SANDBOX_LABEL in settings) is sandbox
    assert (SANDBOX_LABEL in add_page) is sandbox
    # What a new number will be, as it will be.
    assert ("new numbers <strong>run</strong> at once" in add_page) is sandbox
    assert ("New numbers start as <strong>pending</strong>" in add_page) is not sandbox


# --- the Partner API ------------------------------------------------------------------------------


def test_the_partner_json_says_sandbox(client: FlaskClient, db: Session) -> None:
    sandbox, plain = make_account(db, sandbox=True), make_account(db)
    db.commit()

    for account, expected in ((sandbox, True), (plain, False)):
        response = client.get(account.path(), headers=api_headers(account))
        assert assert_documented(response, "get", PARTNER, 200)["sandbox"] is expected


def test_the_openapi_document_declares_sandbox_read_only() -> None:
    schemas = document()["components"]["schemas"]
    assert schemas["Partner"]["properties"]["sandbox"]["type"] == "boolean"
    assert schemas["Partner"]["properties"]["sandbox"]["readOnly"] is True
    assert "sandbox" in schemas["Partner"]["required"]
    assert "sandbox" not in schemas["PartnerUpdate"]["properties"]


def test_a_sandbox_partner_cannot_leave_the_sandbox_through_the_api(
    client: FlaskClient, db: Session
) -> None:
    account = make_account(db, sandbox=True)
    db.commit()
    before = row_counts(db)

    response = client.patch(account.path(), json={"sandbox": False}, headers=api_headers(account))

    assert response.status_code == 400 and "sandbox is read-only" in response.get_json()["detail"]
    assert row_counts(db) == before
    db.expire_all()
    assert db.get_one(Partner, account.partner.id).sandbox is True


def test_a_sandbox_number_gets_a_key_from_the_api_at_once(client: FlaskClient, db: Session) -> None:
    account = make_account(db, billing=BillingModel.PARTNER_PAYMENT, sandbox=True)
    customer = add_client(db, account)
    channel = add_channel(db, customer, new_number(), "Trial", actor="t")
    db.commit()

    response = client.post(
        account.path(f"/channels/{channel.public_id}/api_keys"), headers=api_headers(account)
    )

    assert response.status_code == 201, response.get_json()


# --- make run's demo: the printed link leads to a working key -------------------------------------


@pytest.fixture
def demo(runner: FlaskCliRunner) -> dict[str, Any]:
    return run_json(runner, "demo")


def test_the_demo_partner_is_a_sandbox(db: Session, demo: dict[str, Any]) -> None:
    partner = db.scalars(select(Partner).where(Partner.public_id == demo["partner_id"])).one()
    assert demo["sandbox"] is True and partner.sandbox is True
    by_name = {channel.name: channel.status for channel in db.scalars(select(Channel))}
    # The sandbox runs its numbers; the operator holds one pending, to show that state.
    assert by_name == {
        "Store Berlin": "running",
        "Store Hamburg": "running",
        "Support line": "pending",
    }


def test_a_demo_seeded_before_sandboxes_becomes_one(
    app: Flask, runner: FlaskCliRunner, db: Session, demo: dict[str, Any]
) -> None:
    saved = Path(app.instance_path) / "demo.json"
    old = {key: value for key, value in json.loads(saved.read_text()).items() if key != "sandbox"}
    saved.write_text(json.dumps(old))
    db.execute(Partner.__table__.update().values(sandbox=False))
    db.commit()

    again = run_json(runner, "demo")

    assert again == demo
    db.expire_all()
    assert db.scalars(select(Partner.sandbox)).one() is True


def test_the_demo_link_leads_to_a_key_that_works_with_no_operator_step(
    client: FlaskClient, db: Session, runner: FlaskCliRunner
) -> None:
    """Signup through the printed link → add a number → Allow → the Partner API generates a
    key → /messaging/v1/channel answers 200. (With the hub's own receiver the printed link is
    its start page, which leads to such a link: tests/test_callback_demo.py.)"""
    demo = run_json(runner, "demo", "--redirect-url", "https://partner.test/callback")
    link = urlsplit(demo["permission_link"])
    token = signup_through(client, f"{link.path}?{link.query}", "tester@trial.example")
    number = new_number()
    assert add_on_numbers_step(client, token, number) == ["Added NUMBER."]
    consent = client.get(f"/permission/consent?flow={token}").text
    assert SANDBOX_LABEL in words(consent)
    [channel_id] = re.findall(r'name="channels" value="([^"]+)"', consent)

    answer = client.post(
        "/permission/consent",
        data={
            "csrf_token": csrf_token(consent),
            "flow": flow_token(consent),
            "channels": channel_id,
            "action": "allow",
        },
    )
    assert answer.status_code == 303, words(answer)
    callback = urlsplit(answer.headers["Location"])
    assert (
        f"{callback.scheme}://{callback.netloc}{callback.path}"
        == parse_qs(link.query)["redirect_url"][0]
    )
    assert parse_qs(callback.query)["channels"] == [f"[{channel_id}]"]

    headers = {"X-API-Key": demo["api_key"]}
    created = client.post(
        f"/api/v1/partners/{demo['partner_id']}/channels/{channel_id}/api_keys", headers=headers
    )
    assert created.status_code == 201, created.get_json()
    used = client.get(
        "/messaging/v1/channel",
        headers={"Authorization": f"Bearer {created.get_json()['api_key']}"},
    )
    assert used.status_code == 200, used.get_json()
    assert used.get_json() == {
        "channel_id": channel_id,
        "client_id": parse_qs(callback.query)["client"][0],
        "phone_number": number,
    }
