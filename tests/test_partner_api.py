"""The Partner API through HTTP (SPEC §6): each endpoint's answers and refusals. Every response is
checked against the OpenAPI document, so the document is proven to describe reality."""

from __future__ import annotations

import base64
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from sqlalchemy import insert, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from onboarding.db import utcnow
from onboarding.models import (
    ApiKey,
    BillingModel,
    Channel,
    GrantedVia,
    Partner,
    PartnerApiKey,
)
from onboarding.partner_api.openapi import document
from onboarding.partner_api.pagination import encode_cursor
from onboarding.partners.redirects import CALLBACK_PARAMS
from onboarding.permissions.service import grant, revoke
from onboarding.security import hash_secret
from tests.api import (
    API,
    API_KEYS,
    CHANNELS,
    CLIENT,
    CLIENTS,
    EVENTS,
    LINKS,
    PARTNER,
    PERMISSION,
    SECRET,
    PartnerAccount,
    access_token,
    add_client,
    add_line,
    api_headers,
    assert_documented,
    assert_problem,
    assert_schema,
    bearer,
    make_account,
    partner_settings,
    table_rows,
)
from tests.factories import REDIRECT_URL
from tests.link_signatures import link_is_signed

OTHER_REDIRECT = "http://localhost:8000/callback"
WEBHOOK = "https://partner.example/hooks"


@pytest.fixture
def account(db: Session) -> PartnerAccount:
    account = make_account(db, redirect_urls=[REDIRECT_URL, OTHER_REDIRECT], webhook_url=WEBHOOK)
    db.commit()
    return account


def get(client: FlaskClient, account: PartnerAccount, rest: str = "", **query: Any) -> TestResponse:
    return client.get(account.path(rest), query_string=query, headers=api_headers(account))


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


def fill(value: Any, names: dict[str, str]) -> Any:
    """`value` with "{name}" placeholders in its strings (and lists of strings) filled in."""
    if isinstance(value, list):
        return [fill(item, names) for item in value]
    return value.format(**names) if isinstance(value, str) else value


def channel_summary(channel: dict[str, Any]) -> tuple[str, ...]:
    keys = ("id", "client_id", "phone_number", "status", "permission")
    return tuple(channel[key] for key in keys)


# --- GET / PATCH /partners/{pid} ---------------------------------------------------------------


def test_get_partner_shows_its_settings(client: FlaskClient, account: PartnerAccount) -> None:
    body = assert_documented(get(client, account), "get", PARTNER, 200)

    assert body == {
        "id": account.id,
        "name": account.partner.name,
        "brand_name": account.partner.brand_name,
        "billing_model": "direct_payment",
        "sandbox": False,
        "redirect_urls": [REDIRECT_URL, OTHER_REDIRECT],
        "webhook_url": WEBHOOK,
        "created_at": body["created_at"],
    }


@pytest.mark.parametrize(
    ("change", "normalised"),
    [
        ({"brand_name": "  Acme Connect  "}, {"brand_name": "Acme Connect"}),
        ({"webhook_url": "https://hooks.example/v2?tenant=7"}, {}),
        ({"webhook_url": None}, {}),
        (
            {"redirect_urls": ["https://partner.example/a", "http://127.0.0.1:9000/cb?x=1"]},
            {},
        ),
        ({"redirect_urls": [REDIRECT_URL, "https://partner.example/b"]}, {}),
        ({"redirect_urls": []}, {}),
        ({}, {}),
        ({"brand_name": "Acme", "redirect_urls": [REDIRECT_URL], "webhook_url": None}, {}),
    ],
    ids=[
        "brand_name",
        "webhook_url set",
        "webhook_url cleared",
        "redirect_urls replaced",
        "redirect_urls extended",
        "redirect_urls emptied",
        "nothing",
        "several",
    ],
)
def test_patch_changes_exactly_the_fields_sent(
    client: FlaskClient,
    db: Session,
    account: PartnerAccount,
    change: dict[str, Any],
    normalised: dict[str, Any],
) -> None:
    before = partner_settings(db, account.partner)

    response = client.patch(account.path(), json=change, headers=api_headers(account))

    body = assert_documented(response, "patch", PARTNER, 200)
    after = partner_settings(db, account.partner)
    assert after == before | change | normalised
    assert {name: body[name] for name in after} == after
    assert assert_documented(get(client, account), "get", PARTNER, 200) == body


def test_patch_keeps_the_order_of_redirect_urls(
    client: FlaskClient, db: Session, account: PartnerAccount
) -> None:
    wanted = ["https://partner.example/new-default", REDIRECT_URL]

    response = client.patch(
        account.path(), json={"redirect_urls": wanted}, headers=api_headers(account)
    )

    assert assert_documented(response, "patch", PARTNER, 200)["redirect_urls"] == wanted
    assert assert_documented(get(client, account), "get", PARTNER, 200)["redirect_urls"] == wanted


def _urls(*urls: str) -> dict[str, Any]:
    return {"redirect_urls": list(urls)}


# URLs the hub will not register are 409 `conflict`: their rules (https, no fragment, a public
# webhook host, ...) are more than the document's schema can say (docs/api.md).
URL_REFUSALS: list[Any] = [
    pytest.param(_urls("http://partner.example/cb"), id="http not localhost"),
    pytest.param(_urls("https://partner.example/cb#done"), id="fragment"),
    pytest.param(_urls("/onboarding/callback"), id="relative"),
    pytest.param(_urls("https://user:pw@partner.example/cb"), id="credentials"),
    pytest.param(_urls("https://partner.example/ok", "http://bad.example/"), id="one bad"),
    *[
        pytest.param(_urls(f"https://partner.example/cb?tenant=1&{name}=x"), id=f"?{name}=")
        for name in sorted(CALLBACK_PARAMS)
    ],
    pytest.param({"webhook_url": "http://partner.example/hooks"}, id="webhook http"),
    pytest.param(
        {
            "redirect_urls": ["https://partner.example/new"],
            "brand_name": "Fine",
            "webhook_url": "x",
        },
        id="valid fields with one invalid",
    ),
]
PATCH_REFUSALS: list[Any] = [
    pytest.param(_urls("https://partner.example/a", "https://partner.example/a"), id="twice"),
    pytest.param({"redirect_urls": REDIRECT_URL}, id="urls not a list"),
    pytest.param({"redirect_urls": [1]}, id="url not a string"),
    pytest.param({"webhook_url": 5}, id="webhook not a string"),
    pytest.param({"webhook_url": ""}, id="webhook empty (null removes it)"),
    pytest.param({"billing_model": "free"}, id="billing_model unknown"),
    pytest.param({"billing_model": None}, id="billing_model null"),
    # R2: the billing model is the operator's (tests/test_operator_api.py)
    pytest.param({"billing_model": "partner_payment"}, id="billing_model"),
    pytest.param({"billing_model": "direct_payment"}, id="billing_model unchanged"),
    pytest.param({"sandbox": True}, id="sandbox"),
    pytest.param({"brand_name": "Fine", "billing_model": "partner_payment"}, id="with billing"),
    pytest.param({"brand_name": "   "}, id="brand_name blank"),
    pytest.param({"brand_name": "x" * 201}, id="brand_name too long"),
    pytest.param({"brand_name": 7}, id="brand_name not a string"),
    pytest.param({"colour": "red"}, id="unknown field"),
    pytest.param({"brand_name": "Fine", "name": "Renamed"}, id="known and unknown field"),
    pytest.param(["brand_name"], id="array body"),
]


@pytest.mark.parametrize("change", URL_REFUSALS)
def test_patch_refuses_urls_it_will_not_register_and_changes_nothing(
    client: FlaskClient, db: Session, account: PartnerAccount, change: Any
) -> None:
    before = table_rows(db)

    response = client.patch(account.path(), json=change, headers=api_headers(account))

    assert_problem(response, "patch", PARTNER, 409, "conflict")
    assert table_rows(db) == before


@pytest.mark.parametrize("change", PATCH_REFUSALS)
def test_patch_refuses_invalid_settings_and_changes_nothing(
    client: FlaskClient, db: Session, account: PartnerAccount, change: Any
) -> None:
    before = table_rows(db)

    response = client.patch(account.path(), json=change, headers=api_headers(account))

    assert_problem(response, "patch", PARTNER, 400, "invalid_request")
    assert table_rows(db) == before


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        ("brand_name=Acme", "application/x-www-form-urlencoded", 415),
        ('{"brand_name": "Acme"}', "text/plain", 415),
        ("", None, 415),
        ('{"brand_name": "Acme"', "application/json", 400),
        ("", "application/json", 400),
    ],
    ids=["form", "json as text/plain", "no body", "malformed json", "empty json"],
)
def test_patch_wants_a_json_object(
    client: FlaskClient,
    db: Session,
    account: PartnerAccount,
    data: str,
    content_type: str | None,
    status: int,
) -> None:
    before = table_rows(db)

    response = client.patch(
        account.path(), data=data, content_type=content_type, headers=api_headers(account)
    )

    assert_problem(response, "patch", PARTNER, status, "invalid_request")
    assert table_rows(db) == before


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"billing_model": "partner_payment"}, "billing_model is read-only"),
        ({"sandbox": False}, "sandbox is read-only"),
        ({"billing_model": "partner_payment", "sandbox": True}, "billing_model and sandbox are"),
    ],
)
def test_patch_names_the_operators_fields_as_read_only(
    client: FlaskClient, db: Session, account: PartnerAccount, change: dict[str, Any], named: str
) -> None:
    """R2: a partner that set its own billing model could grant itself default permission."""
    before = table_rows(db)

    response = client.patch(account.path(), json=change, headers=api_headers(account))

    assert named in assert_problem(response, "patch", PARTNER, 400, "invalid_request")["detail"]
    assert table_rows(db) == before


def test_the_billing_model_is_not_in_the_documented_update() -> None:
    update = document()["components"]["schemas"]["PartnerUpdate"]
    assert set(update["properties"]) == {"redirect_urls", "webhook_url", "brand_name"}
    assert update["additionalProperties"] is False


# --- clients -----------------------------------------------------------------------------------

DIRECTORY = {
    "percent": ("Acme 100% Ltd", None),
    "digits": ("Acme 1000 Ltd", None),
    "underscore": ("snake_case GmbH", "crm_42"),
    "letter": ("snakeXcase GmbH", "crmX42"),
    "payload": ("Zeta AG", "ref: Müller & Co"),
}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("100%", {"percent"}),
        ("%", {"percent"}),
        ("_case", {"underscore"}),
        ("_", {"underscore"}),
        ("crm_42", {"underscore"}),
        ("crmX", {"letter"}),
        ("acme", {"percent", "digits"}),
        ("ACME 1000", {"digits"}),
        ("müller & co", {"payload"}),
        ("  Zeta  ", {"payload"}),
        ("nobody", set()),
        ("", set(DIRECTORY)),
    ],
)
def test_clients_search_name_and_payload_literally(
    client: FlaskClient, db: Session, account: PartnerAccount, q: str, expected: set[str]
) -> None:
    made = {key: add_client(db, account, name=n, payload=p) for key, (n, p) in DIRECTORY.items()}
    add_client(db, make_account(db), name="Acme 100% Ltd", payload="crm_42")  # another partner's
    db.commit()

    body = assert_documented(get(client, account, "/clients", q=q), "get", CLIENTS, 200)

    assert ids(body["clients"]) == [made[key].public_id for key in DIRECTORY if key in expected]
    assert body["next_cursor"] is None


def test_client_list_shows_each_clients_fields(
    client: FlaskClient, db: Session, account: PartnerAccount
) -> None:
    customer = add_client(db, account, name="Acme Ltd", payload="crm-7")
    db.commit()

    body = assert_documented(get(client, account, "/clients"), "get", CLIENTS, 200)

    assert body["clients"] == [
        {
            "id": customer.public_id,
            "name": "Acme Ltd",
            "partner_payload": "crm-7",
            "all_channels": False,
            "email_verified": False,
            "created_at": body["clients"][0]["created_at"],
        }
    ]


@pytest.mark.parametrize(("count", "sizes"), [(5, [2, 2, 1]), (4, [2, 2]), (1, [1]), (0, [0])])
def test_clients_pages_list_each_client_exactly_once(
    client: FlaskClient, db: Session, account: PartnerAccount, count: int, sizes: list[int]
) -> None:
    made = [add_client(db, account).public_id for _ in range(count)]
    db.commit()

    seen: list[str] = []
    pages: list[int] = []
    query: dict[str, Any] = {"limit": 2}
    while True:
        body = assert_documented(get(client, account, "/clients", **query), "get", CLIENTS, 200)
        seen += ids(body["clients"])
        pages.append(len(body["clients"]))
        if body["next_cursor"] is None:
            break
        query["cursor"] = body["next_cursor"]
        assert len(pages) <= count, "pagination does not end"

    assert seen == made  # oldest first, none twice, none left out
    assert pages == sizes


LIST_PATHS = [
    (CLIENTS, "/clients"),
    (CHANNELS, "/channels"),
    (EVENTS, "/events"),
    (API_KEYS, "/channels/{channel}/api_keys"),
]


@pytest.mark.parametrize(
    "limit",
    [
        "0",
        "501",
        "abc",
        "-1",
        "1.5",
        "",
        " 5",
        pytest.param(
            "²",
        ),
    ],
)
@pytest.mark.parametrize(("template", "rest"), LIST_PATHS, ids=[p for _, p in LIST_PATHS])
def test_lists_refuse_an_invalid_limit(
    client: FlaskClient,
    db: Session,
    account: PartnerAccount,
    template: str,
    rest: str,
    limit: str,
) -> None:
    channel = add_line(db, add_client(db, account))
    db.commit()

    response = get(client, account, rest.format(channel=channel.public_id), limit=limit)

    assert_problem(response, "get", template, 400, "invalid_request")


@pytest.mark.parametrize("limit", ["1", "500"])
def test_lists_accept_the_limits_bounds(
    client: FlaskClient, db: Session, account: PartnerAccount, limit: str
) -> None:
    add_client(db, account)
    add_client(db, account)
    db.commit()

    body = assert_documented(get(client, account, "/clients", limit=limit), "get", CLIENTS, 200)

    assert len(body["clients"]) == min(2, int(limit))
    assert (body["next_cursor"] is None) == (limit == "500")


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("cursor", "status"),
    [
        # Not of the documented shape: a bad request.
        ("!!!", 400),
        ("a b", 400),
        ("x" * 65, 400),
        # Of the shape, but never given by the hub: it leads nowhere.
        ("zzz", 404),
        (_b64("after:x"), 404),
        (_b64("before:1"), 404),
        (_b64("after:-1"), 404),
        (_b64("after:"), 404),
        (_b64("1"), 404),
    ],
)
@pytest.mark.parametrize(("template", "rest"), LIST_PATHS, ids=[p for _, p in LIST_PATHS])
def test_lists_refuse_a_tampered_cursor(
    client: FlaskClient,
    db: Session,
    account: PartnerAccount,
    template: str,
    rest: str,
    cursor: str,
    status: int,
) -> None:
    channel = add_line(db, add_client(db, account))
    db.commit()

    response = get(client, account, rest.format(channel=channel.public_id), cursor=cursor)

    code = "invalid_request" if status == 400 else "not_found"
    assert_problem(response, "get", template, status, code)


def test_a_cursor_past_every_row_is_an_empty_last_page(
    client: FlaskClient, db: Session, account: PartnerAccount
) -> None:
    add_client(db, account)
    db.commit()

    response = get(client, account, "/clients", cursor=encode_cursor(2**63))

    assert assert_documented(response, "get", CLIENTS, 200) == {"clients": [], "next_cursor": None}


NUL_REQUESTS = [
    (CLIENTS, "/clients", {"q": "a\x00b"}),
    (CHANNELS, "/channels", {"client_id": "cl_\x00"}),
    (CLIENT, "/clients/cl_a%00b", {}),
    (PERMISSION, "/channels/ch_a%00b/permission", {}),
    (EVENTS, "/events", {"after": "ev_\x00"}),
]


@pytest.mark.parametrize(
    ("template", "rest", "query"),
    NUL_REQUESTS,
    ids=["q", "client_id filter", "client id", "channel id", "after"],
)
def test_a_nul_character_anywhere_is_a_clear_refusal(
    client: FlaskClient,
    account: PartnerAccount,
    template: str,
    rest: str,
    query: dict[str, str],
) -> None:
    """PostgreSQL's text columns refuse NUL; the hub refuses it first, on every engine."""
    response = get(client, account, rest, **query)

    body = assert_documented(response, "get", template, 400)
    assert body["code"] == "invalid_request"
    assert "NUL" in body["detail"]


def test_client_detail_lists_its_channels_and_their_permission(
    client: FlaskClient, db: Session, account: PartnerAccount
) -> None:
    customer = add_client(db, account, name="Acme Ltd", payload="crm-7")
    shared = add_line(db, customer, shared=True)
    pending = add_line(db, customer, running=False)
    add_line(db, add_client(db, account))  # another client's
    db.commit()

    response = get(client, account, f"/clients/{customer.public_id}")

    body = assert_documented(response, "get", CLIENT, 200)
    assert (body["id"], body["name"], body["partner_payload"], body["all_channels"]) == (
        customer.public_id,
        "Acme Ltd",
        "crm-7",
        False,
    )
    assert [channel_summary(c) for c in body["channels"]] == [
        (shared.public_id, customer.public_id, shared.phone_number, "running", "shared"),
        (pending.public_id, customer.public_id, pending.phone_number, "pending", "missing"),
    ]
    assert [c["name"] for c in body["channels"]] == [shared.name, pending.name]
    assert body["channels_next_cursor"] is None
    assert body["channels_url"] == account.path(f"/channels?client_id={customer.public_id}")


def test_client_detail_embeds_a_first_page_and_points_to_the_rest(
    client: FlaskClient, db: Session, account: PartnerAccount
) -> None:
    """Issue 8: the answer does not grow with the client's numbers."""
    customer = add_client(db, account)
    db.execute(
        insert(Channel),
        [
            {"client_id": customer.id, "phone_number": f"+4930555{n:04d}", "name": f"L{n}",
             "status": "running"}
            for n in range(250)
        ],
    )  # fmt: skip
    db.commit()
    every = list(db.scalars(select(Channel.public_id).where(Channel.client_id == customer.id)
                            .order_by(Channel.id)))  # fmt: skip

    body = assert_documented(
        get(client, account, f"/clients/{customer.public_id}"), "get", CLIENT, 200
    )

    assert ids(body["channels"]) == every[:100]
    seen = ids(body["channels"])
    cursor = body["channels_next_cursor"]
    while cursor:
        page = get(client, account, "/channels", client_id=customer.public_id, cursor=cursor).json
        assert page is not None
        seen += ids(page["channels"])
        cursor = page["next_cursor"]
    assert seen == every


def test_unknown_client_is_not_found(client: FlaskClient, account: PartnerAccount) -> None:
    response = get(client, account, "/clients/cl_unknown")

    assert_problem(response, "get", CLIENT, 404, "not_found")


# --- channels ----------------------------------------------------------------------------------


@pytest.fixture
def lines(db: Session, account: PartnerAccount) -> SimpleNamespace:
    """Two clients of the account: first with a shared and a missing channel, second with a
    shared one; and a shared channel of another partner."""
    first, second = add_client(db, account), add_client(db, account)
    stranger = add_client(db, make_account(db, billing=BillingModel.PARTNER_PAYMENT))
    made = SimpleNamespace(
        first=first,
        second=second,
        stranger=stranger,
        first_shared=add_line(db, first, shared=True),
        first_missing=add_line(db, first, running=False),
        second_shared=add_line(db, second, shared=True),
        foreign=add_line(db, stranger),
    )
    db.commit()
    return made


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["first_shared", "first_missing", "second_shared"]),
        ({"client_id": "first"}, ["first_shared", "first_missing"]),
        ({"permission": "shared"}, ["first_shared", "second_shared"]),
        ({"permission": "missing"}, ["first_missing"]),
        ({"client_id": "first", "permission": "shared"}, ["first_shared"]),
        ({"client_id": "second", "permission": "missing"}, []),
        ({"client_id": "stranger"}, []),
        ({"client_id": "cl_unknown"}, []),
    ],
)
def test_channels_filter_by_client_and_permission(
    client: FlaskClient,
    account: PartnerAccount,
    lines: SimpleNamespace,
    query: dict[str, str],
    expected: list[str],
) -> None:
    if "client_id" in query and hasattr(lines, query["client_id"]):
        query = query | {"client_id": getattr(lines, query["client_id"]).public_id}

    body = assert_documented(get(client, account, "/channels", **query), "get", CHANNELS, 200)

    assert ids(body["channels"]) == [getattr(lines, name).public_id for name in expected]
    assert body["next_cursor"] is None


def test_channel_list_shows_each_channels_fields(
    client: FlaskClient, account: PartnerAccount, lines: SimpleNamespace
) -> None:
    body = assert_documented(
        get(client, account, "/channels", permission="missing"), "get", CHANNELS, 200
    )

    channel = lines.first_missing
    assert body["channels"] == [
        {
            "id": channel.public_id,
            "client_id": lines.first.public_id,
            "phone_number": channel.phone_number,
            "name": channel.name,
            "status": "pending",
            "permission": "missing",
            "created_at": body["channels"][0]["created_at"],
        }
    ]


@pytest.mark.parametrize("value", ["Shared", "all", "", "granted"])
def test_channels_refuse_an_unknown_permission_filter(
    client: FlaskClient, account: PartnerAccount, value: str
) -> None:
    response = get(client, account, "/channels", permission=value)

    assert_problem(response, "get", CHANNELS, 400, "invalid_request")


@pytest.mark.parametrize(
    ("billing", "shared", "via"),
    [
        (BillingModel.DIRECT_PAYMENT, True, GrantedVia.PERMISSION_SCREEN),
        (BillingModel.DIRECT_PAYMENT, True, GrantedVia.CLIENT_HUB),
        (BillingModel.DIRECT_PAYMENT, True, GrantedVia.ALL_CHANNELS),
        (BillingModel.PARTNER_PAYMENT, None, GrantedVia.BILLING_DEFAULT),
    ],
)
def test_permission_of_a_shared_channel_says_when_and_how(
    client: FlaskClient,
    db: Session,
    billing: BillingModel,
    shared: bool | None,
    via: GrantedVia,
) -> None:
    account = make_account(db, billing=billing)
    customer = add_client(db, account)
    channel = add_line(db, customer, shared=shared, via=via)
    db.commit()
    granted_at = channel.permission.granted_at if channel.permission else None
    assert granted_at is not None

    response = get(client, account, f"/channels/{channel.public_id}/permission")

    assert assert_documented(response, "get", PERMISSION, 200) == {
        "channel_id": channel.public_id,
        "client_id": customer.public_id,
        "status": "shared",
        "granted_at": granted_at.isoformat().replace("+00:00", "Z"),
        "granted_via": via.value,
    }


def test_permission_of_a_missing_channel_has_no_grant(
    client: FlaskClient, db: Session, account: PartnerAccount
) -> None:
    customer = add_client(db, account)
    channel = add_line(db, customer, shared=True)
    revoke(db, customer, [channel], via=GrantedVia.CLIENT_HUB, actor="test")
    db.commit()

    response = get(client, account, f"/channels/{channel.public_id}/permission")

    assert assert_documented(response, "get", PERMISSION, 200) == {
        "channel_id": channel.public_id,
        "client_id": customer.public_id,
        "status": "missing",
        "granted_at": None,
        "granted_via": None,
    }


@pytest.mark.parametrize(
    ("template", "method", "rest"),
    [
        (PERMISSION, "get", "/channels/ch_unknown/permission"),
        (API_KEYS, "get", "/channels/ch_unknown/api_keys"),
        (API_KEYS, "post", "/channels/ch_unknown/api_keys"),
    ],
)
def test_unknown_channel_is_not_found(
    client: FlaskClient, account: PartnerAccount, template: str, method: str, rest: str
) -> None:
    response = client.open(account.path(rest), method=method, headers=api_headers(account))

    assert_problem(response, method, template, 404, "not_found")


# --- API keys ----------------------------------------------------------------------------------


def post_key(client: FlaskClient, account: PartnerAccount, channel: Channel) -> TestResponse:
    return client.post(
        account.path(f"/channels/{channel.public_id}/api_keys"), headers=api_headers(account)
    )


def test_new_api_key_is_shown_once_and_stored_as_a_hash(
    client: FlaskClient, db: Session, account: PartnerAccount
) -> None:
    channel = add_line(db, add_client(db, account), shared=True)
    db.commit()

    body = assert_documented(post_key(client, account, channel), "post", API_KEYS, 201)

    secret = body["api_key"]
    assert secret.startswith("wak_") and len(secret) >= 4 + 43
    assert secret.startswith(body["prefix"]) and len(body["prefix"]) < len(secret)
    assert (body["channel_id"], body["created_by"], body["revoked_at"]) == (
        channel.public_id,
        "partner",
        None,
    )
    db.expire_all()
    stored = db.scalars(select(ApiKey).where(ApiKey.channel_id == channel.id)).one()
    assert (stored.public_id, stored.key_hash) == (body["id"], hash_secret(secret))

    listed = get(client, account, f"/channels/{channel.public_id}/api_keys")
    assert secret not in listed.get_data(as_text=True)
    metadata = {name: value for name, value in body.items() if name != "api_key"}
    assert assert_documented(listed, "get", API_KEYS, 200) == {
        "api_keys": [metadata],
        "next_cursor": None,
    }


def test_a_new_key_revokes_the_previous_one_in_the_list(
    client: FlaskClient, db: Session, account: PartnerAccount
) -> None:
    """R8."""
    channel = add_line(db, add_client(db, account), shared=True)
    db.commit()
    first = assert_documented(post_key(client, account, channel), "post", API_KEYS, 201)
    second = assert_documented(post_key(client, account, channel), "post", API_KEYS, 201)

    listed = get(client, account, f"/channels/{channel.public_id}/api_keys")

    keys = assert_documented(listed, "get", API_KEYS, 200)["api_keys"]
    assert ids(keys) == [first["id"], second["id"]]
    assert keys[0]["revoked_at"] is not None and keys[1]["revoked_at"] is None
    assert first["api_key"] not in listed.get_data(as_text=True)
    assert second["api_key"] not in listed.get_data(as_text=True)


def test_key_without_permission_is_refused_with_a_link_to_ask_for_it(
    client: FlaskClient, db: Session, account: PartnerAccount
) -> None:
    """R1: 403 permission_missing, and a permission_url preselecting the channel."""
    channel = add_line(db, add_client(db, account))
    db.commit()
    before = table_rows(db)

    response = post_key(client, account, channel)

    body = assert_problem(response, "post", API_KEYS, 403, "permission_missing")
    assert table_rows(db) == before
    link = urlsplit(body["permission_url"])
    assert (link.scheme, link.netloc, link.path) == (
        "https",
        "hub.test",
        f"/partners/{account.id}/permission",
    )
    assert link_is_signed(account.partner.signing_secret, body["permission_url"])
    query = dict(parse_qsl(link.query))
    assert query.pop("sig")
    assert len(body["state"]) >= 16  # fresh, so that a receiver checking state accepts it
    assert query == {"channels": f"[{channel.public_id}]", "state": body["state"]}
    assert "Send the client to permission_url" in body["detail"]
    again = assert_problem(
        post_key(client, account, channel), "post", API_KEYS, 403, "permission_missing"
    )
    assert again["state"] != body["state"]
    screen = client.get(link.path, query_string=link.query)
    assert screen.status_code == 303
    assert screen.headers["Location"].startswith("/login?flow=")


def test_key_without_permission_is_refused_even_without_redirect_urls(
    client: FlaskClient, db: Session
) -> None:
    account = make_account(db, redirect_urls=[])
    channel = add_line(db, add_client(db, account))
    db.commit()

    response = post_key(client, account, channel)

    body = assert_problem(response, "post", API_KEYS, 403, "permission_missing")
    assert "permission_url" not in body
    assert "Register a redirect URL first" in body["detail"]


def test_key_without_permission_uses_the_state_the_partner_chose(
    client: FlaskClient, db: Session, account: PartnerAccount
) -> None:
    channel = add_line(db, add_client(db, account))
    db.commit()

    response = client.post(
        f"{account.path()}/channels/{channel.public_id}/api_keys",
        query_string={"state": "order 42 & more"},
        headers=api_headers(account),
    )

    body = assert_problem(response, "post", API_KEYS, 403, "permission_missing")
    assert body["state"] == "order 42 & more"
    query = dict(parse_qsl(urlsplit(body["permission_url"]).query))
    assert query["state"] == "order 42 & more"
    assert link_is_signed(account.partner.signing_secret, body["permission_url"])


def test_key_for_a_pending_channel_is_refused(
    client: FlaskClient, db: Session, account: PartnerAccount
) -> None:
    """R8: only running channels get keys."""
    channel = add_line(db, add_client(db, account), running=False, shared=True)
    db.commit()
    before = table_rows(db)

    response = post_key(client, account, channel)

    body = assert_problem(response, "post", API_KEYS, 409, "channel_not_running")
    # R9: the detail says what will make it running.
    assert body["detail"] == (
        "This number is still pending: it can get API keys once it is connected to WhatsApp."
        f" The hub's operator marks it running (onboarding set-status {channel.public_id}"
        f" running, or PUT /ops/v1/channels/{channel.public_id}/status); a"
        " channel.status_changed event tells you when."
    )
    assert table_rows(db) == before


# --- permission links --------------------------------------------------------------------------


def post_link(client: FlaskClient, account: PartnerAccount, body: Any) -> TestResponse:
    return client.post(account.path("/permission_links"), json=body, headers=api_headers(account))


@pytest.mark.parametrize(
    ("body", "query", "screen"),
    [
        ({}, {}, "/login?flow="),
        (
            {"client_id": "{client}", "channels": ["{channel}"], "state": "a+b &c=ü"},
            {"channels": "[{channel}]", "state": "a+b &c=ü"},
            "/login?flow=",
        ),
        (
            {"redirect_url": OTHER_REDIRECT, "state": "😀" * 512, "next": "signup"},
            {"redirect_url": OTHER_REDIRECT, "state": "😀" * 512, "next": "signup"},
            "/signup?flow=",
        ),
        (
            {"channels": ["{channel}"], "number": "{number}", "email": "a@b.example"},
            {"channels": "[{channel}]", "number": "{number}", "email": "a@b.example"},
            "/login?flow=",
        ),
    ],
    ids=["defaults", "client and channels", "redirect_url and long state", "prefill"],
)
def test_permission_link_is_accepted_by_the_permission_screen(
    client: FlaskClient,
    db: Session,
    account: PartnerAccount,
    body: dict[str, Any],
    query: dict[str, str],
    screen: str,
) -> None:
    customer = add_client(db, account)
    channel = add_line(db, customer)
    db.commit()
    names = {
        "client": customer.public_id,
        "channel": channel.public_id,
        "number": channel.phone_number,
    }
    body = {name: fill(value, names) for name, value in body.items()}

    response = post_link(client, account, body)

    answer = assert_documented(response, "post", LINKS, 201)
    assert answer["client_id"] == body.get("client_id")
    link = urlsplit(answer["url"])
    assert (link.scheme, link.netloc, link.path) == (
        "https",
        "hub.test",
        f"/partners/{account.id}/permission",
    )
    assert link_is_signed(account.partner.signing_secret, answer["url"])
    given = dict(parse_qsl(link.query))
    assert given.pop("sig")
    assert given == {name: fill(v, names) for name, v in query.items()}
    opened = client.get(link.path, query_string=link.query)
    assert opened.status_code == 303
    assert opened.headers["Location"].startswith(screen)


LINK_REFUSALS: list[Any] = [
    # Not registered: 409, "register it first" (the document can't say which URLs are).
    ({"redirect_url": "https://partner.example/other"}, 409),
    ({"redirect_url": REDIRECT_URL + "/"}, 409),
    ({"lang": "fr"}, 400),
    ({"state": "x" * 513}, 400),
    ({"state": 5}, 400),
    ({"channels": "{channel}"}, 400),
    ({"channels": [1]}, 400),
    ({"next": "register"}, 400),
    ({"number": "not a number"}, 400),
    ({"partner_payload": "p" * 513}, 400),
    ({"client_id": "{client}", "channels": ["{channel}", "{neighbour}"]}, 404),
    ({"client_id": "cl_unknown"}, 404),
    ({"channels": ["ch_unknown"]}, 404),
    ({"channels": ["{foreign}"]}, 404),
]


@pytest.mark.parametrize(("body", "status"), LINK_REFUSALS)
def test_permission_link_refuses_what_the_screen_would_refuse(
    client: FlaskClient, db: Session, account: PartnerAccount, body: dict[str, Any], status: int
) -> None:
    customer = add_client(db, account)
    names = {
        "client": customer.public_id,
        "channel": add_line(db, customer).public_id,
        "neighbour": add_line(db, add_client(db, account)).public_id,
        "foreign": add_line(db, add_client(db, make_account(db))).public_id,
    }
    db.commit()
    filled = {name: fill(value, names) for name, value in body.items()}

    response = post_link(client, account, filled)

    codes = {400: "invalid_request", 404: "not_found", 409: "conflict"}
    assert_problem(response, "post", LINKS, status, codes[status])


def test_permission_link_wants_a_json_object(client: FlaskClient, account: PartnerAccount) -> None:
    response = client.post(
        account.path("/permission_links"), data="state=x", headers=api_headers(account)
    )

    assert_problem(response, "post", LINKS, 415, "invalid_request")


# --- events ------------------------------------------------------------------------------------


@pytest.fixture
def history(
    client: FlaskClient, db: Session, account: PartnerAccount
) -> tuple[SimpleNamespace, dict[str, Any]]:
    """client.created, channel.created, permission.granted, api_key.created, permission.revoked,
    each for the account; and some events of another partner in between."""
    customer = add_client(db, account, name="Acme Ltd", payload="crm-7")
    channel = add_line(db, customer)
    add_line(db, add_client(db, make_account(db, billing=BillingModel.PARTNER_PAYMENT)))
    grant(db, customer, [channel], via=GrantedVia.PERMISSION_SCREEN, actor="test")
    db.commit()
    key = assert_documented(post_key(client, account, channel), "post", API_KEYS, 201)
    db.expire_all()
    revoke(db, customer, [channel], via=GrantedVia.CLIENT_HUB, actor="test")
    db.commit()
    return SimpleNamespace(customer=customer, channel=channel), key


def all_events(client: FlaskClient, account: PartnerAccount, **query: Any) -> list[dict[str, Any]]:
    body = assert_documented(get(client, account, "/events", **query), "get", EVENTS, 200)
    assert body["next_cursor"] is None
    events: list[dict[str, Any]] = body["events"]
    return events


def test_events_feed_lists_what_happened_oldest_first(
    client: FlaskClient,
    db: Session,
    account: PartnerAccount,
    history: tuple[SimpleNamespace, dict[str, Any]],
) -> None:
    made, key = history
    client_id, channel_id = made.customer.public_id, made.channel.public_id

    events = all_events(client, account)

    assert [(event["type"], event["data"]) for event in events] == [
        (
            "client.created",
            {"client_id": client_id, "name": "Acme Ltd", "partner_payload": "crm-7"},
        ),
        (
            "channel.created",
            {
                "client_id": client_id,
                "channel_ids": [channel_id],
                "channel_id": channel_id,
                "phone_number": made.channel.phone_number,
            },
        ),
        (
            "permission.granted",
            {"client_id": client_id, "channel_ids": [channel_id], "via": "permission_screen"},
        ),
        (
            "api_key.created",
            {
                "client_id": client_id,
                "channel_ids": [channel_id],
                "channel_id": channel_id,
                "api_key_id": key["id"],
                "prefix": key["prefix"],
                "created_by": "partner",
            },
        ),
        (
            "permission.revoked",
            {"client_id": client_id, "channel_ids": [channel_id], "via": "client_hub"},
        ),
    ]
    # One actor shape; the ids of the partner's own credentials only.
    key_id = db.scalar(
        select(PartnerApiKey.public_id).where(PartnerApiKey.partner_id == account.partner.id)
    )
    assert [event["actor"] for event in events] == [
        {"type": "hub", "id": None},  # "test": no actor the hub knows
        {"type": "hub", "id": None},
        {"type": "hub", "id": None},
        {"type": "partner_api_key", "id": key_id},
        {"type": "hub", "id": None},
    ]
    times = [event["created_at"] for event in events]
    assert times == sorted(times)
    assert len(set(ids(events))) == len(events)


def test_events_feed_pages_and_resumes_after_an_event(
    client: FlaskClient, account: PartnerAccount, history: tuple[SimpleNamespace, dict[str, Any]]
) -> None:
    everything = all_events(client, account)
    assert len(everything) == 5

    paged: list[dict[str, Any]] = []
    query: dict[str, Any] = {"limit": 2}
    for expected_cursor in (True, True, False):
        body = assert_documented(get(client, account, "/events", **query), "get", EVENTS, 200)
        paged += body["events"]
        assert (body["next_cursor"] is not None) == expected_cursor
        query["cursor"] = body["next_cursor"]

    assert paged == everything
    assert all_events(client, account, after=everything[1]["id"]) == everything[2:]
    assert all_events(client, account, after=everything[-1]["id"]) == []
    after_and_limit = get(client, account, "/events", after=everything[0]["id"], limit=3)
    body = assert_documented(after_and_limit, "get", EVENTS, 200)
    assert body["events"] == everything[1:4] and body["next_cursor"] is not None


def test_events_after_an_unknown_event_is_not_found(
    client: FlaskClient, account: PartnerAccount
) -> None:
    response = get(client, account, "/events", after="ev_unknown")

    assert_problem(response, "get", EVENTS, 404, "not_found")


@pytest.mark.parametrize(
    "query",
    [{"after": "not an id"}, {"after": ""}, {"colour": "red"}, {"limit": ["1", "2"]}],
    ids=["after not an id", "after empty", "undeclared parameter", "repeated parameter"],
)
def test_queries_hold_only_what_the_document_declares(
    client: FlaskClient, account: PartnerAccount, query: dict[str, Any]
) -> None:
    response = get(client, account, "/events", **query)

    assert_problem(response, "get", EVENTS, 400, "invalid_request")


# --- authentication, errors, rate limit --------------------------------------------------------

UNAUTHORIZED: list[Any] = [
    pytest.param(lambda account: {}, id="no credentials"),
    pytest.param(lambda account: {"X-API-Key": "obk_not-a-key"}, id="unknown api key"),
    pytest.param(lambda account: {"X-API-Key": ""}, id="empty api key"),
    pytest.param(lambda account: {"Authorization": "Bearer garbage"}, id="garbage bearer"),
    pytest.param(lambda account: {"Authorization": "Bearer "}, id="empty bearer"),
    pytest.param(lambda account: {"Authorization": "Basic b2M6c2VjcmV0"}, id="basic auth"),
    pytest.param(
        lambda account: {"Authorization": f"Bearer {account.api_key}"}, id="api key as bearer"
    ),
]


@pytest.mark.parametrize("headers", UNAUTHORIZED)
def test_requests_without_valid_credentials_are_unauthorized(
    client: FlaskClient,
    account: PartnerAccount,
    headers: Callable[[PartnerAccount], dict[str, str]],
) -> None:
    response = client.get(account.path(), headers=headers(account))

    assert_problem(response, "get", PARTNER, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_both_kinds_of_credentials_at_once_are_refused(
    client: FlaskClient, account: PartnerAccount
) -> None:
    """Which one would count is not obvious to a reader of the request: neither does."""
    headers = {**api_headers(account), **bearer(access_token(client, account))}

    response = client.get(account.path(), headers=headers)

    assert_problem(response, "get", PARTNER, 400, "invalid_request")


def test_a_revoked_partner_api_key_is_unauthorized(
    client: FlaskClient, db: Session, account: PartnerAccount
) -> None:
    assert_documented(get(client, account), "get", PARTNER, 200)
    key = db.scalars(
        select(PartnerApiKey).where(PartnerApiKey.partner_id == account.partner.id)
    ).one()
    key.revoked_at = utcnow()
    db.commit()

    response = get(client, account)

    assert_problem(response, "get", PARTNER, 401, "unauthorized")


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("get", f"{API}/nothing-here", 404), ("delete", f"{API}/partners/{{pid}}", 405)],
)
def test_unrouted_api_requests_are_problems_too(
    client: FlaskClient, account: PartnerAccount, method: str, path: str, status: int
) -> None:
    response = client.open(path.format(pid=account.id), method=method, headers=api_headers(account))

    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert_schema(response.get_json(), "Problem")


def test_too_many_requests_are_rate_limited_per_partner(
    app: Flask, client: FlaskClient, db: Session, account: PartnerAccount
) -> None:
    other = make_account(db)
    db.commit()
    app.config["API_RATE_LIMIT"] = 2

    for _ in range(2):
        assert_documented(get(client, account, "/clients"), "get", CLIENTS, 200)
    limited = get(client, account, "/clients")
    also_limited = client.post(
        account.path("/permission_links"), json={}, headers=api_headers(account)
    )

    assert 1 <= assert_problem(limited, "get", CLIENTS, 429, "rate_limited")["retry_after"] <= 60
    assert assert_problem(also_limited, "post", LINKS, 429, "rate_limited")["retry_after"] >= 1
    assert_documented(get(client, other), "get", PARTNER, 200)


def test_a_rate_limited_answer_has_a_retry_after_header(
    app: Flask, client: FlaskClient, account: PartnerAccount
) -> None:
    app.config["API_RATE_LIMIT"] = 1
    get(client, account)

    response = get(client, account)

    body = assert_problem(response, "get", PARTNER, 429, "rate_limited")
    assert response.headers.get("Retry-After") == str(body["retry_after"])


# --- the OpenAPI document ----------------------------------------------------------------------


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def test_openapi_document_is_served_and_well_formed(client: FlaskClient) -> None:
    response = client.get(f"{API}/openapi.json")

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    doc = response.get_json()
    assert doc == document()
    assert doc["openapi"] == "3.1.0"
    assert doc["info"]["title"] and doc["info"]["version"]
    assert doc["servers"] == [{"url": API}]
    for schema in doc["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    refs = _refs(doc)
    assert refs, "the document uses no $ref at all"
    for ref in refs:
        _resolve(doc, ref)
    for template, path_item in doc["paths"].items():
        assert template.startswith("/")
        placeholders = {part[1:-1] for part in template.split("/") if part.startswith("{")}
        operations = {key: value for key, value in path_item.items() if key != "servers"}
        assert all(server["url"].startswith("/") for server in path_item.get("servers", []))
        for method, operation in operations.items():
            assert method in {"get", "put", "post", "delete", "patch"}, (template, method)
            assert operation["responses"], (template, method)
            for status, answer in operation["responses"].items():
                assert status.isdigit() and 100 <= int(status) < 600, (template, method, status)
                assert answer["description"], (template, method, status)
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == placeholders, (template, method)
            assert all(p["required"] for p in operation.get("parameters", []) if p["in"] == "path")


def test_openapi_document_describes_every_api_route(app: Flask) -> None:
    """Each route under /api/v1 (but the document itself), /ops/v1 and /messaging/v1 is documented,
    and nothing more; a path's own `servers` (the operator API's) replaces the document's."""
    servers = (API, "/ops/v1", "/messaging/v1")
    routed = {
        (rule.rule.replace("<", "{").replace(">", "}"), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(tuple(f"{server}/" for server in servers))
        and rule.rule != f"{API}/openapi.json"
        for method in rule.methods or ()
        if method not in {"HEAD", "OPTIONS"}
    }
    documented = {
        (f"{server['url']}{template}", method)
        for template, path_item in document()["paths"].items()
        for server in path_item.get("servers", document()["servers"])
        for method in path_item
        if method != "servers"
    }

    assert routed == documented


def test_rotating_the_signing_secret_shows_the_new_one_once(
    client: FlaskClient, db: Session, account: PartnerAccount
) -> None:
    old = account.partner.signing_secret

    response = client.post(
        f"{API}/partners/{account.id}/signing_secret", headers=api_headers(account)
    )

    body = assert_documented(response, "post", SECRET, 201)
    assert response.headers["Cache-Control"] == "no-store"
    assert body["signing_secret"].startswith("whsec_") and body["signing_secret"] != old
    assert body["previous_secret_valid_until"] is not None
    db.expire_all()
    partner = db.get_one(Partner, account.partner.id)
    assert (partner.signing_secret, partner.previous_signing_secret) == (
        body["signing_secret"],
        old,
    )
    settings = assert_documented(get(client, account), "get", PARTNER, 200)
    assert body["signing_secret"] not in str(settings)
