"""Helpers of the Partner API tests: partners that keep their plaintext credentials, their clients
and channels, request headers, and the check that a response is the one the OpenAPI document
describes (SPEC §6: "OpenAPI 3.1 at /api/v1/openapi.json, matching the responses")."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask.testing import FlaskClient
from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from onboarding.accounts import new_login
from onboarding.clients.service import create_client
from onboarding.db import Base
from onboarding.models import (
    BillingModel,
    Channel,
    ChannelStatus,
    Client,
    GrantedVia,
    Partner,
    PartnerRedirectUrl,
)
from onboarding.partner_api.openapi import document
from onboarding.partners.service import PartnerCredentials, create_partner
from onboarding.permissions.service import add_channel, grant, is_shared, revoke
from tests.factories import PASSWORD, REDIRECT_URL, new_number

API = "/api/v1"
# The document's path templates, relative to its server URL /api/v1.
PARTNER = "/partners/{partner_id}"
CLIENTS = "/partners/{partner_id}/clients"
CLIENT = "/partners/{partner_id}/clients/{client_id}"
CHANNELS = "/partners/{partner_id}/channels"
PERMISSION = "/partners/{partner_id}/channels/{channel_id}/permission"
API_KEYS = "/partners/{partner_id}/channels/{channel_id}/api_keys"
LINKS = "/partners/{partner_id}/permission_links"
EVENTS = "/partners/{partner_id}/events"
CONSENT = "/partners/{partner_id}/consents/{consent_id}"
SECRET = "/partners/{partner_id}/signing_secret"
WEBHOOK_TEST = "/partners/{partner_id}/webhooks/test"
DELIVERIES = "/partners/{partner_id}/webhooks/deliveries"
DELIVERY = "/partners/{partner_id}/webhooks/deliveries/{delivery_id}"
REDELIVER = "/partners/{partner_id}/webhooks/deliveries/{delivery_id}/redeliver"
TOKEN = "/token"
_serial = itertools.count(1)


# --- arranging ---------------------------------------------------------------------------------


@dataclass
class PartnerAccount:
    """A partner and the credentials create_partner showed once."""

    partner: Partner
    credentials: PartnerCredentials

    @property
    def id(self) -> str:
        return self.partner.public_id

    @property
    def api_key(self) -> str:
        return self.credentials.api_key

    def path(self, rest: str = "") -> str:
        """An API path under this partner, e.g. path("/clients")."""
        return f"{API}/partners/{self.id}{rest}"


def make_account(
    db: Session,
    *,
    billing: BillingModel = BillingModel.DIRECT_PAYMENT,
    redirect_urls: list[str] | None = None,
    webhook_url: str | None = None,
    sandbox: bool = False,
) -> PartnerAccount:
    n = next(_serial)
    partner, credentials = create_partner(
        db,
        name=f"API Partner {n} GmbH",
        brand_name=f"API Partner {n}",
        billing_model=billing,
        redirect_urls=[REDIRECT_URL] if redirect_urls is None else redirect_urls,
        webhook_url=webhook_url,
        sandbox=sandbox,
    )
    db.flush()
    return PartnerAccount(partner, credentials)


def add_client(
    db: Session, account: PartnerAccount, *, name: str | None = None, payload: str | None = None
) -> Client:
    n = next(_serial)
    client, _user = create_client(
        db,
        account.partner,
        name=name or f"API Client {n}",
        login=new_login(f"user{n}@api-client{n}.example", PASSWORD),
        partner_payload=payload,
        actor="test",
    )
    return client


def add_line(
    db: Session,
    client: Client,
    *,
    running: bool = True,
    shared: bool | None = None,
    via: GrantedVia = GrantedVia.PERMISSION_SCREEN,
) -> Channel:
    """A channel (running or pending). `shared` forces permission on or off; None leaves the
    billing default (R2) in place."""
    number = new_number()
    status = ChannelStatus.RUNNING if running else ChannelStatus.PENDING
    channel = add_channel(db, client, number, f"Line {number[-4:]}", actor="test", status=status)
    if shared and not is_shared(channel):
        grant(db, client, [channel], via=via, actor="test")
    if shared is False and is_shared(channel):
        revoke(db, client, [channel], via=GrantedVia.CLIENT_HUB, actor="test")
    return channel


def api_headers(account: PartnerAccount) -> dict[str, str]:
    return {"X-API-Key": account.api_key}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def request_token(client: FlaskClient, account: PartnerAccount) -> TestResponse:
    """POST /token with HTTP Basic client authentication."""
    return client.post(
        f"{API}/token",
        data={"grant_type": "client_credentials"},
        auth=(account.credentials.oauth_client_id, account.credentials.oauth_client_secret),
    )


def access_token(client: FlaskClient, account: PartnerAccount) -> str:
    response = request_token(client, account)
    body = assert_documented(response, "post", TOKEN, 200)
    token: str = body["access_token"]
    return token


# --- reading the database ----------------------------------------------------------------------


def table_rows(db: Session) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table, values as text, in a stable order."""
    db.expire_all()
    return {
        table.name: sorted(tuple(str(value) for value in row) for row in db.execute(table.select()))
        for table in Base.metadata.sorted_tables
    }


def row_counts(db: Session) -> dict[str, int]:
    db.expire_all()
    return {
        table.name: db.scalar(select(func.count()).select_from(table)) or 0
        for table in Base.metadata.sorted_tables
    }


def partner_settings(db: Session, partner: Partner) -> dict[str, Any]:
    """The partner's settings as stored, read afresh."""
    db.expire_all()
    row = db.get_one(Partner, partner.id)
    urls = db.scalars(
        select(PartnerRedirectUrl.url)
        .where(PartnerRedirectUrl.partner_id == partner.id)
        .order_by(PartnerRedirectUrl.id)
    )
    return {
        "brand_name": row.brand_name,
        "billing_model": row.billing_model,
        "webhook_url": row.webhook_url,
        "redirect_urls": list(urls),
    }


# --- the OpenAPI document ----------------------------------------------------------------------

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
# jsonschema checks neither format without optional packages; the document relies on both.
FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    return bool(_RFC3339.match(value)) and bool(datetime.fromisoformat(value))


@FORMATS.checks("uri")
def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme and parts.netloc) and not re.search(r"\s", value)


def schema_errors(instance: Any, schema: dict[str, Any]) -> list[str]:
    """Why `instance` does not match `schema` (whose refs point into the document)."""
    validator = Draft202012Validator(
        {**schema, "components": document()["components"]}, format_checker=FORMATS
    )
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(body)'}: {error.message}"
        for error in validator.iter_errors(instance)
    ]


def assert_schema(instance: Any, name: str) -> None:
    errors = schema_errors(instance, {"$ref": f"#/components/schemas/{name}"})
    assert not errors, f"{name}: {errors}"


def assert_documented(
    response: TestResponse, method: str, template: str, status: int | None = None
) -> Any:
    """The response is one the document describes for `method template`: its status is listed,
    its content type is the documented one, and its JSON body matches the documented schema.
    Returns the body. With `status`, also checks that the response has that status."""
    if status is not None:
        assert response.status_code == status, response.get_data(as_text=True)
    operation = document()["paths"][template][method.lower()]
    documented = operation["responses"].get(str(response.status_code))
    assert documented is not None, f"{method} {template} does not document {response.status}"
    content = documented.get("content")
    assert content is not None, (
        f"{method} {template} {response.status_code} documents no body, but one came: "
        f"{response.content_type} {response.get_data(as_text=True)}"
    )
    assert response.mimetype in content, (
        f"{method} {template} {response.status_code} is {response.mimetype}, "
        f"documented: {sorted(content)}"
    )
    body = response.get_json()
    errors = schema_errors(body, content[response.mimetype]["schema"])
    assert not errors, f"{method} {template} {response.status_code}: {errors}\n{body}"
    return body


def assert_problem(
    response: TestResponse, method: str, template: str, status: int, code: str
) -> dict[str, Any]:
    """A documented RFC 9457 refusal with this status and code."""
    body: dict[str, Any] = assert_documented(response, method, template, status)
    assert response.mimetype == "application/problem+json"
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] and body["title"] and body["detail"]
    return body
