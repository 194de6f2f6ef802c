"""The API contract, declared once: every path, query and body the Partner API, the operator API
and the messaging endpoint accept, and every answer they give, as pydantic models. flask-openapi3
validates requests with them (a refusal is a 400 problem+json, `errors.invalid_request`) and
generates /api/v1/openapi.json from them (`openapi.py`); the event payloads are in
`permissions/payloads.py`.

Request models forbid unknown fields and parameters, and bodies are strict (no "1" for 1), so
that what the document says is refused is refused. Rules more than a schema can say (which URLs
the hub registers, whose objects these are) stay in the domain and answer 404 or 409.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from onboarding.consent.request import MAX_CHANNELS
from onboarding.partner_api.pagination import DEFAULT_LIMIT, MAX_LIMIT
from onboarding.partners.service import read_only_refusal

ID_PATTERN = r"^[A-Za-z0-9_-]+$"
NO_NUL = r"^[^\x00]*$"  # any text but one with a NUL, which every input refuses
Id = Annotated[str, Field(pattern=ID_PATTERN)]
# Left out, never null: a query parameter has no null, and some body fields have none either.
Unset = SkipJsonSchema[None]
Cursor = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Text = Annotated[str, Field(pattern=NO_NUL)]
State = Annotated[str, Field(min_length=1, max_length=512, pattern=NO_NUL)]
BrandName = Annotated[str, Field(max_length=200, pattern=r"^[^\x00]*[^\s\x00][^\x00]*$")]
Uri = Annotated[str, Field(json_schema_extra={"format": "uri"})]
Time = datetime
BillingModel = Literal["partner_payment", "direct_payment"]
ChannelStatusName = Literal["pending", "running"]
GrantedVia = Literal[
    "billing_default", "permission_screen", "client_hub", "all_channels", "operator"
]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Body(_Request):
    model_config = ConfigDict(extra="forbid", strict=True)


# --- paths -------------------------------------------------------------------------------------


class PartnerPath(_Request):
    partner_id: Id


class ClientPath(PartnerPath):
    client_id: Id


class ChannelPath(PartnerPath):
    channel_id: Id


class ConsentPath(PartnerPath):
    consent_id: Id


class DeliveryPath(PartnerPath):
    delivery_id: Id = Field(description="The event's id, also the `webhook-id` header")


class OperatorChannelPath(_Request):
    channel_id: Id


# --- queries -----------------------------------------------------------------------------------


class Paging(_Request):
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: Cursor | Unset = Field(
        None,
        description="The next_cursor of the previous page; one the hub did not give is 404.",
    )


class ClientsQuery(Paging):
    q: Text | Unset = Field(None, description="Search in name and partner_payload")


class ChannelsQuery(Paging):
    client_id: Id | Unset = None
    permission: Literal["shared", "missing"] | Unset = None


class EventsQuery(Paging):
    after: Id | Unset = Field(None, description="Only events after this event id")


class DeliveriesQuery(Paging):
    status: Literal["pending", "delivered", "failed"] | Unset = None


class NewKeyQuery(_Request):
    state: State | Unset = Field(
        None,
        description="The `state` for a 403's permission_url (a fresh one when left out)",
    )


# --- bodies ------------------------------------------------------------------------------------


class PartnerUpdate(_Body):
    """billing_model and sandbox are the operator's (R2): sending them is 400. A URL the hub
    refuses to register (plain http, a fragment, a callback parameter in its query, an internal
    webhook host) is 409 `conflict`; null removes the webhook URL."""

    redirect_urls: list[Uri] | Unset = Field(None, json_schema_extra={"uniqueItems": True})
    webhook_url: Uri | None = Field(None, min_length=1)
    brand_name: BrandName | Unset = None  # not blank, no NUL

    @model_validator(mode="before")
    @classmethod
    def _operators_fields(cls, data: Any) -> Any:
        """Name the read-only fields, as the domain does, rather than "extra input"."""
        if isinstance(data, dict) and (refusal := read_only_refusal(data)):
            raise ValueError(refusal)
        return data


class PermissionLinkRequest(_Body):
    """A redirect_url that is not one of the partner's registered URLs is 409 `conflict`
    (register it first with PATCH /partners/{partner_id}). null is the same as leaving a field
    out. The screen's own limits (onboarding/consent/request.py) apply before any lookup."""

    client_id: Id | None = None
    channels: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]] | None = Field(
        None, max_length=MAX_CHANNELS
    )
    redirect_url: Uri | None = None
    state: str | None = Field(None, max_length=512, pattern=NO_NUL)
    number: str | None = Field(None, pattern=r"^\+[1-9][0-9]{6,14}$")
    email: str | None = Field(None, max_length=254, pattern=NO_NUL)
    name: str | None = Field(None, max_length=200, pattern=NO_NUL)
    next: Literal["login", "signup"] | None = None
    partner_payload: str | None = Field(None, max_length=512, pattern=NO_NUL)
    lang: Literal["en", "de", "pt"] | None = None


class BillingModelUpdate(_Body):
    billing_model: BillingModel


class ChannelStatusUpdate(_Body):
    status: ChannelStatusName


# --- answers -----------------------------------------------------------------------------------


class Problem(BaseModel):
    """RFC 9457 problem details; `detail` names the next step."""

    type: str
    title: str
    status: int
    detail: str
    code: Literal[
        "invalid_request",
        "unauthorized",
        "forbidden",
        "not_found",
        "permission_missing",
        "channel_not_running",
        "conflict",
        "rate_limited",
        "internal_error",
        "database_unavailable",
    ]
    permission_url: Uri | None = Field(
        None,
        description="permission_missing: a signed link to the permission screen for the "
        "channel; send the client there",
    )
    state: str | None = Field(
        None,
        description="permission_missing: the `state` in permission_url (the request's "
        "`?state=`, or a fresh one): the callback carries it back",
    )
    retry_after: int | None = None


class Partner(BaseModel):
    id: Id
    name: str
    brand_name: str
    billing_model: BillingModel
    sandbox: bool = Field(
        json_schema_extra={"readOnly": True},
        description="A test integration (R9): your clients' numbers run as soon as they are "
        "added, so keys can be generated before any number is real. Set by the hub's operator.",
    )
    redirect_urls: list[Uri]
    webhook_url: Uri | None
    created_at: Time


class Client(BaseModel):
    id: Id
    name: str
    partner_payload: str | None
    all_channels: bool
    email_verified: bool = Field(
        description="The client's user followed the verification link mailed at signup "
        "(SPEC §5.4). Clients made by the operator's CLI start unverified."
    )
    created_at: Time


class Channel(BaseModel):
    id: Id
    client_id: Id
    phone_number: str = Field(pattern=r"^\+[1-9][0-9]{6,14}$")
    name: str
    status: ChannelStatusName
    permission: Literal["shared", "missing"]
    created_at: Time


class ClientWithChannels(Client):
    channels: list[Channel] = Field(max_length=100, description="The first 100, oldest first")
    channels_next_cursor: str | None = Field(
        description="The `cursor` of the next page of GET channels_url; null when `channels` "
        "holds them all."
    )
    channels_url: str = Field(
        description="GET /partners/{partner_id}/channels?client_id=…: every channel of the "
        "client, paginated."
    )


class Permission(BaseModel):
    channel_id: Id
    client_id: Id
    status: Literal["shared", "missing"]
    granted_at: Time | None
    granted_via: GrantedVia | None


class Consent(BaseModel):
    id: Id
    client_id: Id
    action: Literal["allow", "deny"]
    channels: list[Id] = Field(description="Every channel shared with the partner after this")
    revoked: list[Id] = Field(description="The channels this answer took away from the partner")
    all_channels: bool = Field(description="All numbers, including numbers added later")
    state: str | None = Field(max_length=512)
    created_at: Time


class ApiKey(BaseModel):
    id: Id
    prefix: str
    channel_id: Id
    created_by: Literal["partner", "client"]
    created_at: Time
    revoked_at: Time | None


class NewApiKey(ApiKey):
    api_key: str = Field(description="Shown once; store it now.")


class PermissionLink(BaseModel):
    url: Uri
    client_id: str | None


class Event(BaseModel):
    """One event of the feed; its `data` is typed per `type` (the document's oneOf)."""

    id: Id
    type: str
    created_at: Time
    actor: dict[str, Any]
    data: dict[str, Any]


class DeliveryAttempt(BaseModel):
    attempted_at: Time
    url: str
    status_code: int | None
    error: str | None = Field(
        description="Why no 2xx came: could not connect, timed out, TLS error, ..."
    )
    duration_ms: int


class Delivery(BaseModel):
    id: Id = Field(description="The event's id, also the `webhook-id` header")
    type: str
    status: Literal["pending", "delivered", "failed"]
    payload: Event = Field(description="The body sent")
    created_at: Time
    next_attempt_at: Time | None = Field(description="When a worker attempts it next (pending)")
    delivered_at: Time | None
    attempts: list[DeliveryAttempt]


class ClientList(BaseModel):
    clients: list[Client]
    next_cursor: str | None


class ChannelList(BaseModel):
    channels: list[Channel]
    next_cursor: str | None


class ApiKeyList(BaseModel):
    api_keys: list[ApiKey]
    next_cursor: str | None


class EventList(BaseModel):
    events: list[Event]
    next_cursor: str | None


class DeliveryList(BaseModel):
    deliveries: list[Delivery]
    next_cursor: str | None


class SigningSecret(BaseModel):
    signing_secret: str = Field(pattern=r"^whsec_[A-Za-z0-9+/]+=*$")
    previous_secret_valid_until: Time | None


class Token(BaseModel):
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int


class TokenForm(_Request):
    grant_type: Literal["client_credentials"]
    client_id: str | None = Field(None, pattern=NO_NUL)
    client_secret: str | None = Field(None, pattern=NO_NUL)


class OAuthError(BaseModel):
    error: str
    error_description: str | None = None


class MessagingChannel(BaseModel):
    channel_id: Id
    client_id: Id
    phone_number: str


class PartnerBillingModel(BaseModel):
    id: Id
    billing_model: BillingModel


class ChannelStatus(BaseModel):
    id: Id
    client_id: Id
    phone_number: str = Field(pattern=r"^\+[1-9][0-9]{6,14}$")
    status: ChannelStatusName
