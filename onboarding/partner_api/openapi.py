"""The OpenAPI 3.1 description of the Partner API, served at /api/v1/openapi.json.

Written by hand next to the views; tests/test_partner_api.py validates every response the tests
receive against the schema documented here for its path, method and status.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from pydantic import BaseModel

from onboarding.consent.request import MAX_CHANNELS
from onboarding.partner_api.errors import CODES
from onboarding.partner_api.pagination import DEFAULT_LIMIT, MAX_LIMIT
from onboarding.permissions import payloads

ID = {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"}
TIME = {"type": "string", "format": "date-time"}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
BILLING_MODEL = {"enum": ["partner_payment", "direct_payment"]}
CHANNEL_STATUS = {"enum": ["pending", "running"]}
PHONE_NUMBER = {"type": "string", "pattern": r"^\+[1-9][0-9]{6,14}$"}
# Text the hub stores or matches: any string but one with a NUL, which every input refuses (400).
NO_NUL = "^[^\\x00]*$"
CURSOR = {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
    }


def listing(name: str, item: str) -> dict[str, Any]:
    return obj(
        {name: {"type": "array", "items": ref(item)}, "next_cursor": {"type": ["string", "null"]}}
    )


def event_schema_name(event_type: str) -> str:
    """`permission.granted` → `PermissionGrantedEvent`."""
    return "".join(part.title() for part in re.split(r"[._]", event_type)) + "Event"


SCHEMAS: dict[str, Any] = {
    "Problem": obj(
        {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "code": {
                "type": "string",
                "enum": sorted(set(CODES.values()) | {"permission_missing", "channel_not_running"}),
            },
            "permission_url": {
                "type": "string",
                "format": "uri",
                "description": "permission_missing: a signed link to the permission screen for "
                "the channel; send the client there",
            },
            "state": {
                "type": "string",
                "description": "permission_missing: the `state` in permission_url (the "
                "request's `?state=`, or a fresh one): the callback carries it back",
            },
            "retry_after": {"type": "integer"},
        },
        required=["type", "title", "status", "detail", "code"],
    ),
    "Partner": obj(
        {
            "id": ID,
            "name": {"type": "string"},
            "brand_name": {"type": "string"},
            "billing_model": {"enum": ["partner_payment", "direct_payment"]},
            "sandbox": {
                "type": "boolean",
                "readOnly": True,
                "description": (
                    "A test integration (R9): your clients' numbers run as soon as they are"
                    " added, so keys can be generated before any number is real. Set by the"
                    " hub's operator."
                ),
            },
            "redirect_urls": {"type": "array", "items": {"type": "string", "format": "uri"}},
            "webhook_url": {"type": ["string", "null"], "format": "uri"},
            "created_at": TIME,
        }
    ),
    "PartnerUpdate": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "redirect_urls": {
                "type": "array",
                "items": {"type": "string", "format": "uri"},
                "uniqueItems": True,
            },
            "webhook_url": {"type": ["string", "null"], "format": "uri", "minLength": 1},
            "brand_name": {
                "type": "string",
                "maxLength": 200,
                "pattern": "^[^\\x00]*[^\\s\\x00][^\\x00]*$",  # not blank, no NUL
            },
        },
        "description": "billing_model and sandbox are the operator's (R2): sending them is 400. "
        "A URL the hub refuses to register (plain http, a fragment, a callback parameter in its "
        "query, an internal webhook host) is 409 `conflict`; null removes the webhook URL.",
    },
    "Client": obj(
        {
            "id": ID,
            "name": {"type": "string"},
            "partner_payload": {"type": ["string", "null"]},
            "all_channels": {"type": "boolean"},
            "email_verified": {
                "type": "boolean",
                "description": "The client's user followed the verification link mailed at "
                "signup (SPEC §5.4). Clients made by the operator's CLI start unverified.",
            },
            "created_at": TIME,
        }
    ),
    "Channel": obj(
        {
            "id": ID,
            "client_id": ID,
            "phone_number": {"type": "string", "pattern": r"^\+[1-9][0-9]{6,14}$"},
            "name": {"type": "string"},
            "status": {"enum": ["pending", "running"]},
            "permission": {"enum": ["shared", "missing"]},
            "created_at": TIME,
        }
    ),
    "ClientWithChannels": {
        "allOf": [
            ref("Client"),
            obj(
                {
                    "channels": {
                        "type": "array",
                        "items": ref("Channel"),
                        "maxItems": 100,
                        "description": "The first 100 channels, oldest first.",
                    },
                    "channels_next_cursor": {
                        "type": ["string", "null"],
                        "description": "The `cursor` of the next page of GET channels_url; "
                        "null when `channels` holds them all.",
                    },
                    "channels_url": {
                        "type": "string",
                        "description": "GET /partners/{partner_id}/channels?client_id=…: "
                        "every channel of the client, paginated.",
                    },
                }
            ),
        ]
    },
    "Permission": obj(
        {
            "channel_id": ID,
            "client_id": ID,
            "status": {"enum": ["shared", "missing"]},
            "granted_at": NULLABLE_TIME,
            "granted_via": {
                "enum": [
                    "billing_default",
                    "permission_screen",
                    "client_hub",
                    "all_channels",
                    "operator",
                    None,
                ]
            },
        }
    ),
    "Consent": obj(
        {
            "id": ID,
            "client_id": ID,
            "action": {"enum": ["allow", "deny"]},
            "channels": {
                "type": "array",
                "items": ID,
                "description": "Every channel shared with the partner after this answer",
            },
            "revoked": {
                "type": "array",
                "items": ID,
                "description": "The channels this answer took away from the partner",
            },
            "all_channels": {
                "type": "boolean",
                "description": "All numbers, including numbers added later, are shared",
            },
            "state": {"type": ["string", "null"], "maxLength": 512},
            "created_at": TIME,
        }
    ),
    "ApiKey": obj(
        {
            "id": ID,
            "prefix": {"type": "string"},
            "channel_id": ID,
            "created_by": {"enum": ["partner", "client"]},
            "created_at": TIME,
            "revoked_at": NULLABLE_TIME,
        }
    ),
    "NewApiKey": {
        "allOf": [
            ref("ApiKey"),
            obj({"api_key": {"type": "string", "description": "Shown once; store it now."}}),
        ]
    },
    "PermissionLinkRequest": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "client_id": ID,
            # The screen's own limits (onboarding/consent/request.py), checked before any lookup.
            "channels": {
                "type": "array",
                "items": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
                "maxItems": MAX_CHANNELS,
            },
            # null is the same as leaving the field out
            "redirect_url": {"type": ["string", "null"], "format": "uri"},
            "state": {"type": ["string", "null"], "maxLength": 512, "pattern": NO_NUL},
            "number": {**PHONE_NUMBER, "type": ["string", "null"]},
            "email": {"type": ["string", "null"], "maxLength": 254, "pattern": NO_NUL},
            "name": {"type": ["string", "null"], "maxLength": 200, "pattern": NO_NUL},
            "next": {"enum": ["login", "signup", None]},
            "partner_payload": {"type": ["string", "null"], "maxLength": 512, "pattern": NO_NUL},
            "lang": {"enum": ["en", "de", "pt", None]},
        },
        "description": "A redirect_url that is not one of the partner's registered URLs is 409 "
        "`conflict` (register it first with PATCH /partners/{partner_id}).",
    },
    "PermissionLink": obj(
        {"url": {"type": "string", "format": "uri"}, "client_id": {"type": ["string", "null"]}}
    ),
    "Event": {"oneOf": [ref(event_schema_name(name)) for name in payloads.EVENTS]},
    "DeliveryAttempt": obj(
        {
            "attempted_at": TIME,
            "url": {"type": "string"},
            "status_code": {"type": ["integer", "null"]},
            "error": {
                "type": ["string", "null"],
                "description": "Why no 2xx came: could not connect, timed out, TLS error, ...",
            },
            "duration_ms": {"type": "integer"},
        }
    ),
    "Delivery": obj(
        {
            "id": {**ID, "description": "The event's id, also the `webhook-id` header"},
            "type": {"type": "string"},
            "status": {"enum": ["pending", "delivered", "failed"]},
            "payload": ref("Event"),
            "created_at": TIME,
            "next_attempt_at": {
                **NULLABLE_TIME,
                "description": "When a worker attempts it next (pending only)",
            },
            "delivered_at": NULLABLE_TIME,
            "attempts": {"type": "array", "items": ref("DeliveryAttempt")},
        }
    ),
    "DeliveryList": listing("deliveries", "Delivery"),
    "ClientList": listing("clients", "Client"),
    "ChannelList": listing("channels", "Channel"),
    "ApiKeyList": listing("api_keys", "ApiKey"),
    "EventList": listing("events", "Event"),
    "Token": obj(
        {
            "access_token": {"type": "string"},
            "token_type": {"const": "Bearer"},
            "expires_in": {"type": "integer"},
        }
    ),
    "SigningSecret": obj(
        {
            "signing_secret": {"type": "string", "pattern": "^whsec_[A-Za-z0-9+/]+=*$"},
            "previous_secret_valid_until": NULLABLE_TIME,
        }
    ),
    "OAuthError": obj(
        {"error": {"type": "string"}, "error_description": {"type": "string"}},
        required=["error"],
    ),
    "MessagingChannel": obj(
        {"channel_id": ID, "client_id": ID, "phone_number": {"type": "string"}}
    ),
    # The operator API (/ops/v1)
    "BillingModelUpdate": {**obj({"billing_model": BILLING_MODEL}), "additionalProperties": False},
    "PartnerBillingModel": obj({"id": ID, "billing_model": BILLING_MODEL}),
    "ChannelStatusUpdate": {**obj({"status": CHANNEL_STATUS}), "additionalProperties": False},
    "ChannelStatus": obj(
        {"id": ID, "client_id": ID, "phone_number": PHONE_NUMBER, "status": CHANNEL_STATUS}
    ),
}


def _model(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")


def _event(event_type: str, data: type[BaseModel]) -> dict[str, Any]:
    return {
        **obj(
            {
                "id": {**ID, "description": "Also the `webhook-id` header"},
                "type": {"const": event_type},
                "created_at": TIME,
                "actor": ref("Actor"),
                "data": _model(data),
            }
        ),
        "title": event_schema_name(event_type),
    }


SCHEMAS.update(
    {"Actor": _model(payloads.Actor)}
    | {event_schema_name(name): _event(name, data) for name, data in payloads.EVENTS.items()}
)
# OpenAPI 3.1 `webhooks`: what the hub POSTs to the partner's webhook URL, one per event type.
WEBHOOKS = {
    name: {
        "post": {
            "summary": f"{name} (Standard Webhooks: verify webhook-signature first)",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": ref(event_schema_name(name))}},
            },
            "responses": {"200": {"description": "Any 2xx: delivered; anything else is retried"}},
        }
    }
    for name in payloads.WEBHOOK_EVENTS
}

PROBLEM = {"application/problem+json": {"schema": ref("Problem")}}


def answer(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ref(schema)}}}


def refusals(*statuses: int) -> dict[str, Any]:
    described = {
        400: "Invalid request (`invalid_request`)",
        401: "Missing or invalid credentials (`unauthorized`)",
        403: "Another partner's path (`forbidden`)",
        404: "Not one of this partner's objects, or a cursor the hub did not give (`not_found`)",
        409: "Conflict: e.g. a URL the hub will not register, or an unregistered redirect_url",
        413: "Body larger than the API accepts (64 KiB by default)",
        415: "Not a JSON body",
        429: "Rate limited (`rate_limited`); see `retry_after`",
    }
    return {str(s): {"description": described[s], "content": PROBLEM} for s in statuses}


def parameter(
    name: str, where: str, schema: dict[str, Any], description: str = ""
) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "schema": schema,
        "description": description,
    }


PARTNER = parameter("partner_id", "path", ID)
CLIENT = parameter("client_id", "path", ID)
CHANNEL = parameter("channel_id", "path", ID)
DELIVERY = parameter("delivery_id", "path", ID, "The event's id (`webhook-id`)")
PAGING = [
    parameter(
        "limit",
        "query",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    ),
    parameter(
        "cursor",
        "query",
        CURSOR,
        "The next_cursor of the previous page; one the hub did not give is 404.",
    ),
]
AUTHED = [400, 401, 403, 429]  # 400: e.g. a NUL character anywhere in the request


def operation(
    summary: str,
    responses: dict[str, Any],
    *,
    parameters: list[Any] = (),  # type: ignore[assignment]
    body: str | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "summary": summary,
        "parameters": list(parameters),
        "responses": responses,
    }
    if body:
        spec["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": ref(body)}},
        }
        spec["responses"] = {**responses, **refusals(413)}
    return spec


PATHS: dict[str, Any] = {
    "/partners/{partner_id}": {
        "get": operation(
            "The partner's integration settings",
            {"200": answer("Partner", "Settings"), **refusals(*AUTHED)},
            parameters=[PARTNER],
        ),
        "patch": operation(
            "Change settings (only the fields sent); redirect_urls replaces the list",
            {
                "200": answer("Partner", "Settings after the change"),
                **refusals(409, 415, *AUTHED),
            },
            parameters=[PARTNER],
            body="PartnerUpdate",
        ),
    },
    "/partners/{partner_id}/signing_secret": {
        "post": operation(
            "Rotate the signing secret (shown once); webhooks carry the old signature for 24 h",
            {"201": answer("SigningSecret", "The new secret"), **refusals(*AUTHED)},
            parameters=[PARTNER],
        )
    },
    "/partners/{partner_id}/clients": {
        "get": operation(
            "The partner's clients, oldest first",
            {"200": answer("ClientList", "A page of clients"), **refusals(404, *AUTHED)},
            parameters=[
                PARTNER,
                parameter(
                    "q",
                    "query",
                    {"type": "string", "pattern": NO_NUL},
                    "Search in name and partner_payload",
                ),
                *PAGING,
            ],
        )
    },
    "/partners/{partner_id}/clients/{client_id}": {
        "get": operation(
            "One client with its first 100 channels and where to page through the rest",
            {"200": answer("ClientWithChannels", "The client"), **refusals(404, *AUTHED)},
            parameters=[PARTNER, CLIENT],
        )
    },
    "/partners/{partner_id}/channels": {
        "get": operation(
            "Channels of the partner's clients",
            {"200": answer("ChannelList", "A page of channels"), **refusals(404, *AUTHED)},
            parameters=[
                PARTNER,
                parameter("client_id", "query", ID),
                parameter("permission", "query", {"enum": ["shared", "missing"]}),
                *PAGING,
            ],
        )
    },
    "/partners/{partner_id}/channels/{channel_id}/permission": {
        "get": operation(
            "Whether the partner may generate API keys for the channel (R4)",
            {"200": answer("Permission", "Shared or missing"), **refusals(404, *AUTHED)},
            parameters=[PARTNER, CHANNEL],
        )
    },
    "/partners/{partner_id}/consents/{consent_id}": {
        "get": operation(
            "One answer of the permission screen (the `consent` of its callback), with the full "
            "lists a callback leaves out past 8,000 bytes (`lists=omitted`)",
            {"200": answer("Consent", "The answer"), **refusals(404, *AUTHED)},
            parameters=[PARTNER, parameter("consent_id", "path", ID)],
        )
    },
    "/partners/{partner_id}/channels/{channel_id}/api_keys": {
        "post": operation(
            "Generate an API key (shown once); revokes the channel's previous keys",
            {
                "201": answer("NewApiKey", "The new key"),
                **refusals(400, 404, 401, 429),
                "403": {
                    "description": "`permission_missing` (with `permission_url`) or `forbidden`",
                    "content": PROBLEM,
                },
                "409": {
                    "description": (
                        "`channel_not_running`: the number is still pending; `detail` says what"
                        " makes it running (the operator, after which a"
                        " `channel.status_changed` event arrives)"
                    ),
                    "content": PROBLEM,
                },
            },
            parameters=[
                PARTNER,
                CHANNEL,
                parameter(
                    "state",
                    "query",
                    {"type": "string", "minLength": 1, "maxLength": 512, "pattern": NO_NUL},
                    "The `state` for the 403's permission_url (a fresh one when left out)",
                ),
            ],
        ),
        "get": operation(
            "The channel's keys, metadata only",
            {"200": answer("ApiKeyList", "A page of keys"), **refusals(404, *AUTHED)},
            parameters=[PARTNER, CHANNEL, *PAGING],
        ),
    },
    "/partners/{partner_id}/permission_links": {
        "post": operation(
            "A ready link to the permission screen",
            {"201": answer("PermissionLink", "The link"), **refusals(404, 409, 415, *AUTHED)},
            parameters=[PARTNER],
            body="PermissionLinkRequest",
        )
    },
    "/partners/{partner_id}/events": {
        "get": operation(
            "The partner's events feed, oldest first (the same events as the webhooks)",
            {"200": answer("EventList", "A page of events"), **refusals(404, *AUTHED)},
            parameters=[
                PARTNER,
                parameter("after", "query", ID, "Only events after this event id"),
                *PAGING,
            ],
        )
    },
    "/partners/{partner_id}/webhooks/test": {
        "post": operation(
            "Queue a `webhook.test` event to your webhook URL; answers its delivery",
            {
                "202": answer("Delivery", "Queued; a worker attempts it within seconds"),
                **refusals(*AUTHED),
            },
            parameters=[PARTNER],
        )
    },
    "/partners/{partner_id}/webhooks/deliveries": {
        "get": operation(
            "The webhook delivery log, oldest first: each event sent, its payload and attempts",
            {"200": answer("DeliveryList", "A page of deliveries"), **refusals(404, *AUTHED)},
            parameters=[
                PARTNER,
                parameter("status", "query", {"enum": ["pending", "delivered", "failed"]}),
                *PAGING,
            ],
        )
    },
    "/partners/{partner_id}/webhooks/deliveries/{delivery_id}": {
        "get": operation(
            "One delivery with its payload and attempts",
            {"200": answer("Delivery", "The delivery"), **refusals(404, *AUTHED)},
            parameters=[PARTNER, DELIVERY],
        )
    },
    "/partners/{partner_id}/webhooks/deliveries/{delivery_id}/redeliver": {
        "post": operation(
            "Deliver a delivered or failed event again, first in your line",
            {
                "202": answer("Delivery", "Pending again"),
                **refusals(404, *AUTHED),
                "409": {
                    "description": "`conflict`: still pending (already on its way), or no "
                    "webhook URL set",
                    "content": PROBLEM,
                },
            },
            parameters=[PARTNER, DELIVERY],
        )
    },
    "/token": {
        "post": {
            "summary": "OAuth 2.0 client credentials (form body or HTTP Basic)",
            "security": [],
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": obj(
                            {
                                "grant_type": {"const": "client_credentials"},
                                "client_id": {"type": "string", "pattern": NO_NUL},
                                "client_secret": {"type": "string", "pattern": NO_NUL},
                            },
                            required=["grant_type"],
                        )
                    }
                },
            },
            "responses": {
                "200": answer("Token", "A short-lived bearer token"),
                "400": {
                    "description": "RFC 6749 §5.2: `unsupported_grant_type`, `invalid_request` "
                    "(also over plain http to a non-loopback host: use HTTPS), or "
                    "`invalid_client` when the credentials came in the form body; a request "
                    "the hub refuses before OAuth reads it (a NUL character, an oversized body) "
                    "is problem+json",
                    "content": {
                        "application/json": {"schema": ref("OAuthError")},
                        **PROBLEM,
                    },
                },
                "401": answer("OAuthError", "`invalid_client` (HTTP Basic credentials)"),
                **refusals(413, 429),
            },
        }
    },
}


OPERATOR_REFUSALS = {
    400: "Invalid body (`invalid_request`)",
    401: "Missing or wrong operator token (`unauthorized`)",
    404: "No such object, or the operator API is off (`not_found`)",
    409: "The number runs on another channel (`conflict`)",
    415: "Not a JSON body",
}


def operator_operation(
    summary: str,
    description: str,
    *,
    path_parameter: dict[str, Any],
    body: str,
    result: str,
    refused: tuple[int, ...] = (400, 401, 404, 415),
) -> dict[str, Any]:
    """An operation of the operator API: its own tag and credentials."""
    responses = {
        "200": answer(result, "After the change"),
        **{str(s): {"description": OPERATOR_REFUSALS[s], "content": PROBLEM} for s in refused},
    }
    spec = operation(summary, responses, parameters=[path_parameter], body=body)
    return {
        **spec,
        "description": description,
        "tags": ["operator"],
        "security": [{"operatorToken": []}],
    }


# Relative to their own server, /ops/v1, given on each path.
OPERATOR_SERVER = [{"url": "/ops/v1", "description": "The operator API (SPEC §6.1)"}]
OPERATOR_PATHS: dict[str, Any] = {
    "/partners/{partner_id}/billing_model": {
        "servers": OPERATOR_SERVER,
        "put": operator_operation(
            "Set a partner's billing model (R2)",
            "Decides the default permission of the partner's channels created from now on; "
            "existing grants stay.",
            path_parameter=PARTNER,
            body="BillingModelUpdate",
            result="PartnerBillingModel",
        ),
    },
    "/channels/{channel_id}/status": {
        "servers": OPERATOR_SERVER,
        "put": operator_operation(
            "Move a channel to pending or running (R9)",
            "Records a `channel.status_changed` event. A number runs on one channel at a time: "
            "409 while another channel with the same number is running.",
            path_parameter=CHANNEL,
            body="ChannelStatusUpdate",
            result="ChannelStatus",
            refused=(400, 401, 404, 409, 415),
        ),
    },
}


@cache
def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Onboarding Hub Partner API",
            "version": "1",
            "description": "Check clients' permission per channel, generate API keys, and "
            "follow grants and removals. Errors are RFC 9457 problem+json.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"apiKey": []}, {"oauth2": []}],
        "paths": {**PATHS, **OPERATOR_PATHS},
        "webhooks": WEBHOOKS,
        "tags": [
            {
                "name": "operator",
                "description": "The hub operator's provisioning API under /ops/v1, with its own "
                "bearer token (ONBOARDING_OPERATOR_TOKEN); off (404) while none is set.",
            }
        ],
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "operatorToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The operator token, ONBOARDING_OPERATOR_TOKEN",
                },
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "oauth2": {
                    "type": "oauth2",
                    "flows": {"clientCredentials": {"tokenUrl": "/api/v1/token", "scopes": {}}},
                },
            },
        },
    }
