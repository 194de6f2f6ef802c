"""Partner API endpoints (SPEC §6). Each view: authenticate, look up within the partner, call the
domain, serialise. Objects of other partners are simply not found."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Response, current_app, jsonify, request, url_for
from flask_openapi3.blueprint import APIBlueprint
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from onboarding.clients.service import search_condition, verified_clients
from onboarding.consent.links import permission_link
from onboarding.consent.request import KNOWN
from onboarding.db import Prepared, end_reads, get_session, reader
from onboarding.errors import DomainError
from onboarding.limits import per_address
from onboarding.models import (
    ApiKey,
    AuditEvent,
    Channel,
    Client,
    Partner,
    Permission,
    Side,
    WebhookOutbox,
)
from onboarding.partner_api import contract, oauth
from onboarding.partner_api import queries as list_queries
from onboarding.partner_api.auth import Caller, caller_required, partner_required
from onboarding.partner_api.errors import ApiError, answer_in_problems, from_domain
from onboarding.partner_api.openapi import PARTNER_SECURITY, served
from onboarding.partner_api.pagination import DEFAULT_LIMIT, encode_cursor, listing, page
from onboarding.partner_api.routes import (
    AUTHED,
    PROBLEM,
    documented_only,
    json_body_first,
    operation,
    refusals,
    refuse_repeated_query,
)
from onboarding.partner_api.serializers import (
    api_key_json,
    channel_json,
    client_json,
    consent_json,
    delivery_json,
    partner_json,
    timestamp,
)
from onboarding.partners.redirects import is_registered
from onboarding.partners.service import check_settings, update_settings
from onboarding.permissions.consents import find_consent
from onboarding.permissions.events import as_document
from onboarding.permissions.keys import generate_api_key
from onboarding.security import secure_transport
from onboarding.webhooks import deliveries
from onboarding.webhooks import service as webhooks

OAUTH_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/OAuthError"}}}
bp = APIBlueprint("partner_api", __name__, url_prefix="/api/v1", abp_security=PARTNER_SECURITY)
LINK_PARAMS = tuple(name for name in KNOWN if name != "channels")  # the screen's own
bp.before_request(refuse_repeated_query)
bp.before_request(
    json_body_first({"partner_api.patch_partner", "partner_api.create_permission_link"})
)


answer_in_problems(bp)


@bp.post(
    "/token",
    summary="OAuth 2.0 client credentials (form body or HTTP Basic)",
    security=[],
    responses={
        200: contract.Token,
        400: {
            "description": "RFC 6749 §5.2: `unsupported_grant_type`, `invalid_request` (also "
            "over plain http to a non-loopback host: use HTTPS), or `invalid_client` when the "
            "credentials came in the form body; a request the hub refuses before OAuth reads it "
            "(a NUL character, an oversized body) is problem+json",
            "content": {**OAUTH_ERROR, **PROBLEM},
        },
        401: {"description": "`invalid_client` (HTTP Basic credentials)", "content": OAUTH_ERROR},
        **refusals(413, 429),
    },
)
@documented_only(form=contract.TokenForm)
@per_address("TOKEN_RATE_LIMIT")
def token() -> Response:
    """OAuth 2.0 client credentials; errors follow RFC 6749 §5.2 (`invalid_client`, ...)."""
    if not secure_transport():
        # Authlib would raise InsecureTransportError (a 500); RFC 6749 §1.6/§3.2 require TLS.
        return oauth_error(
            400, "invalid_request", "Use HTTPS: the token endpoint does not answer plain http."
        )
    response: Response = current_app.extensions["oauth_server"].create_token_response()
    if (
        response.status_code in (400, 401)
        and response.json
        and (response.json.get("error") == "invalid_client")
    ):
        # One answer for an unknown client and a wrong secret, so neither tells which ids exist.
        response = oauth_error(401, "invalid_client", "Client authentication failed.")
        response.headers["WWW-Authenticate"] = 'Basic realm="partner-api"'
    return response


def oauth_error(status: int, error: str, description: str) -> Response:
    """An RFC 6749 §5.2 error answer."""
    response = jsonify(error=error, error_description=description)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/openapi.json", doc_ui=False)
def openapi() -> Response:
    """This document, generated from the contract's models (contract.py)."""
    return jsonify(served())


@bp.get(
    "/partners/<partner_id>",
    summary="The partner's integration settings",
    responses={200: contract.Partner, **refusals(*AUTHED)},
)
@operation(path=contract.PartnerPath)
@partner_required
def get_partner(partner: Partner, actor: str) -> Response:
    return jsonify(partner_json(partner))


@bp.patch(
    "/partners/<partner_id>",
    summary="Change settings (only the fields sent); redirect_urls replaces the list",
    responses={
        200: contract.Partner,
        **refusals(
            409,
            413,
            415,
            *AUTHED,
            s409="A URL the hub will not register (plain http, a fragment, a callback parameter "
            "in its query, an internal webhook host): `conflict`",
        ),
    },
)
@operation(path=contract.PartnerPath, body=contract.PartnerUpdate)
@partner_required
def patch_partner(partner: Partner, actor: str, body: contract.PartnerUpdate) -> Response:
    session = get_session()
    end_reads(session)  # the checks may look a webhook host up: no lock held meanwhile
    change = check_settings(body.model_dump(exclude_unset=True))
    update_settings(session, partner, change)
    session.commit()
    return jsonify(partner_json(partner))


@bp.post(
    "/partners/<partner_id>/signing_secret",
    summary="Rotate the signing secret (shown once); webhooks carry the old signature for 24 h",
    responses={201: contract.SigningSecret, **refusals(*AUTHED)},
)
@operation(path=contract.PartnerPath)
@partner_required
def rotate_signing_secret(partner: Partner, actor: str) -> tuple[Response, int]:
    """A new signing secret, shown once; webhooks are signed with the old one too for 24 h."""
    session = get_session()
    secret = webhooks.rotate_signing_secret(session, partner)
    session.commit()
    response = jsonify(
        {
            "signing_secret": secret,
            "previous_secret_valid_until": timestamp(partner.previous_signing_secret_until),
        }
    )
    response.headers["Cache-Control"] = "no-store"
    return response, 201


@bp.get(
    "/partners/<partner_id>/clients",
    summary="The partner's clients, oldest first",
    responses={200: contract.ClientList, **refusals(404, *AUTHED)},
)
@operation(path=contract.PartnerPath, query=contract.ClientsQuery)
@partner_required
def list_clients(partner: Partner, actor: str, params: contract.ClientsQuery) -> Response:
    query = list_queries.clients(partner.id)
    if q := request.args.get("q", "").strip():
        query = query.where(search_condition(q))
    session = get_session()
    clients, next_cursor = page(session, query, Client.id)
    verified = verified_clients(session, clients)
    items = [client_json(c, email_verified=c.id in verified) for c in clients]
    return jsonify(listing("clients", items, next_cursor))


@bp.get(
    "/partners/<partner_id>/clients/<client_id>",
    summary="One client with its first 100 channels and where to page through the rest",
    responses={200: contract.ClientWithChannels, **refusals(404, *AUTHED)},
)
@operation(path=contract.ClientPath)
@partner_required
def get_client(partner: Partner, actor: str, client_id: str) -> Response:
    session = get_session()
    client = _client(session, partner, client_id)
    verified = client.id in verified_clients(session, [client])
    # The first page of channels only, so the answer does not grow with the client's numbers;
    # the rest come from GET /channels?client_id=…, starting at channels_next_cursor.
    channels = session.scalars(
        select(Channel)
        .where(Channel.client_id == client.id)
        .order_by(Channel.id)
        .limit(DEFAULT_LIMIT + 1)
    ).all()
    more = len(channels) > DEFAULT_LIMIT
    channels = channels[:DEFAULT_LIMIT]
    return jsonify(
        {
            **client_json(client, email_verified=verified),
            "channels": [channel_json(c) for c in channels],
            "channels_next_cursor": encode_cursor(channels[-1].id) if more else None,
            "channels_url": url_for(
                "partner_api.list_channels", partner_id=partner.public_id, client_id=client_id
            ),
        }
    )


@bp.get(
    "/partners/<partner_id>/channels",
    summary="Channels of the partner's clients",
    responses={200: contract.ChannelList, **refusals(404, *AUTHED)},
)
@operation(path=contract.PartnerPath, query=contract.ChannelsQuery)
@partner_required
def list_channels(partner: Partner, actor: str, params: contract.ChannelsQuery) -> Response:
    session = get_session()
    permission = request.args.get("permission")
    if permission not in (None, "shared", "missing"):
        raise ApiError(400, "permission is shared or missing; leave it out for every channel.")
    query, key = list_queries.channels(
        partner.id, client_id=request.args.get("client_id") or None, permission=permission
    )
    channels, next_cursor = page(session, query, key, "id")
    return jsonify(listing("channels", [channel_json(c) for c in channels], next_cursor))


@bp.get(
    "/partners/<partner_id>/channels/<channel_id>/permission",
    summary="Whether the partner may generate API keys for the channel (R4)",
    responses={200: contract.Permission, **refusals(404, *AUTHED)},
)
@operation(path=contract.ChannelPath)
@caller_required
def get_permission(caller: Caller, channel_id: str) -> Response:
    """R4, the hot path: the caller in one Core query, then the channel, its client's id and
    its permission in another; no ORM objects."""
    row = _PERMISSION.first(reader(), channel_id=channel_id, partner_id=caller.partner_id)
    if row is None:
        raise ApiError(404, no_such("channel", channel_id, "GET …/channels"))
    channel, client, granted_at, granted_via = row
    return jsonify(
        {
            "channel_id": channel,
            "client_id": client,
            "status": "shared" if granted_at is not None else "missing",
            "granted_at": timestamp(granted_at),
            "granted_via": granted_via,
        }
    )


_PERMISSION = Prepared(
    select(Channel.public_id, Client.public_id, Permission.granted_at, Permission.granted_via)
    .join(Client, Client.id == Channel.client_id)
    .outerjoin(Permission, Permission.channel_id == Channel.id)
    .where(
        Channel.public_id == bindparam("channel_id"),
        Client.partner_id == bindparam("partner_id"),
    )
)


@bp.get(
    "/partners/<partner_id>/consents/<consent_id>",
    summary="One answer of the permission screen (the `consent` of its callback), with the full "
    "lists a callback leaves out past 8,000 bytes (`lists=omitted`)",
    responses={200: contract.Consent, **refusals(404, *AUTHED)},
)
@operation(path=contract.ConsentPath)
@partner_required
def get_consent(partner: Partner, actor: str, consent_id: str) -> Response:
    """One answer of the permission screen, with the full lists its callback may have left out."""
    consent = find_consent(get_session(), partner, consent_id)
    if consent is None:
        raise ApiError(
            404, f"No consent {consent_id} among yours: its id is the consent of a callback."
        )
    return jsonify(consent_json(consent))


@bp.post(
    "/partners/<partner_id>/channels/<channel_id>/api_keys",
    summary="Generate an API key (shown once); revokes the channel's previous keys",
    responses={
        201: contract.NewApiKey,
        **refusals(
            400,
            401,
            403,
            404,
            409,
            429,
            s403="`permission_missing` (with `permission_url` and `state`) or `forbidden`",
            s409="`channel_not_running`: the number is still pending; `detail` says what makes "
            "it running (the operator, after which a `channel.status_changed` event arrives)",
        ),
    },
)
@operation(path=contract.ChannelPath, query=contract.NewKeyQuery)
@partner_required
def create_api_key(
    partner: Partner, actor: str, channel_id: str, params: contract.NewKeyQuery
) -> tuple[Response, int]:
    session = get_session()
    channel = _channel(session, partner, channel_id)
    try:
        new = generate_api_key(session, channel, side=Side.PARTNER, actor=actor)
    except DomainError as error:
        refusal = from_domain(error)
        if refusal.code == "permission_missing":
            _ask_for_permission(refusal, partner, channel, params.state)
        raise refusal from None
    session.commit()
    response = jsonify({**api_key_json(new.key, channel), "api_key": new.secret})
    response.headers["Cache-Control"] = "no-store"  # the key is shown this once
    return response, 201


def _ask_for_permission(
    refusal: ApiError, partner: Partner, channel: Channel, state: str | None
) -> None:
    """The next step of a 403: a signed link to the permission screen for this channel, with a
    `state` the callback will carry back: the request's own `?state=`, or else a fresh one,
    returned beside the link so that a receiver that checks `state` can store it first."""
    if not partner.redirect_urls:
        refusal.detail += (
            " Register a redirect URL first (PATCH /api/v1/partners/{partner_id} redirect_urls,"
            " or the Partner Hub's Settings): the answer then carries a permission_url."
        )
        return
    state = state or secrets.token_urlsafe(16)
    refusal.detail += " Send the client to permission_url; its callback carries state."
    refusal.extra["permission_url"] = permission_link(
        partner, {"channels": f"[{channel.public_id}]", "state": state}
    )
    refusal.extra["state"] = state


@bp.get(
    "/partners/<partner_id>/channels/<channel_id>/api_keys",
    summary="The channel's keys, metadata only",
    responses={200: contract.ApiKeyList, **refusals(404, *AUTHED)},
)
@operation(path=contract.ChannelPath, query=contract.Paging)
@partner_required
def list_api_keys(
    partner: Partner, actor: str, channel_id: str, params: contract.Paging
) -> Response:
    session = get_session()
    channel = _channel(session, partner, channel_id)
    keys, next_cursor = page(
        session, select(ApiKey).where(ApiKey.channel_id == channel.id), ApiKey.id
    )
    return jsonify(listing("api_keys", [api_key_json(k, channel) for k in keys], next_cursor))


@bp.post(
    "/partners/<partner_id>/permission_links",
    summary="A ready, signed link to the permission screen",
    responses={
        201: contract.PermissionLink,
        **refusals(
            404,
            409,
            413,
            415,
            *AUTHED,
            s409="`conflict`: a redirect_url you have not registered (register it first)",
        ),
    },
)
@operation(path=contract.PartnerPath, body=contract.PermissionLinkRequest)
@partner_required
def create_permission_link(
    partner: Partner, actor: str, body: contract.PermissionLinkRequest
) -> tuple[Response, int]:
    """Sizes and forms first, by the screen's own rules, so that an oversized request costs no
    query; then the client and all its channels in one query each."""
    given = body.model_dump(exclude_none=True)
    params: dict[str, str] = {name: given[name] for name in LINK_PARAMS if name in given}
    registered = [entry.url for entry in partner.redirect_urls]
    redirect_url = params.get("redirect_url", registered[0] if registered else None)
    if redirect_url is None or not is_registered(redirect_url, registered):
        raise ApiError(
            409,
            "redirect_url is not one of your registered redirect URLs: register it first "
            "(PATCH /partners/{partner_id} redirect_urls, or the Partner Hub's Settings).",
        )
    channel_ids = body.channels or []
    if channel_ids:
        params["channels"] = f"[{','.join(channel_ids)}]"
    link = permission_link(partner, params)  # InvalidInput: what the screen would refuse
    session = get_session()
    client_id = body.client_id or None
    client = _client(session, partner, client_id) if client_id else None
    if channel_ids:
        query = (
            select(Channel.public_id)
            .join(Client)
            .where(Client.partner_id == partner.id, Channel.public_id.in_(set(channel_ids)))
        )
        if client is not None:
            query = query.where(Channel.client_id == client.id)
        found = set(session.scalars(query))
        missing = next((i for i in channel_ids if i not in found), None)
        if missing is not None and client is not None:
            raise ApiError(
                404,
                "A channel in channels is not one of this client's: list them with "
                "GET …/channels?client_id=.",
            )
        if missing is not None:
            raise ApiError(404, no_such("channel", missing, "GET …/channels"))
    return jsonify({"url": link, "client_id": client_id}), 201


@bp.get(
    "/partners/<partner_id>/events",
    summary="The partner's events feed, oldest first (the same events as the webhooks)",
    responses={200: contract.EventList, **refusals(404, *AUTHED)},
)
@operation(path=contract.PartnerPath, query=contract.EventsQuery)
@partner_required
def list_events(partner: Partner, actor: str, params: contract.EventsQuery) -> Response:
    session = get_session()
    query = select(AuditEvent).where(AuditEvent.partner_id == partner.id)
    if after := request.args.get("after"):
        last = session.scalar(
            select(AuditEvent.id).where(
                AuditEvent.partner_id == partner.id, AuditEvent.public_id == after
            )
        )
        if last is None:
            raise ApiError(
                404, "No event with the id given in after: pass the id of an event of this feed."
            )
        query = query.where(AuditEvent.id > last)
    events, next_cursor = page(session, query, AuditEvent.id)
    return jsonify(listing("events", [as_document(e) for e in events], next_cursor))


@bp.post(
    "/partners/<partner_id>/webhooks/test",
    summary="Queue a `webhook.test` event to your webhook URL; answers its delivery",
    responses={202: contract.Delivery, **refusals(*AUTHED)},
)
@operation(path=contract.PartnerPath)
@partner_required
def send_test_event(partner: Partner, actor: str) -> tuple[Response, int]:
    """Queue a `webhook.test` event; answers its delivery, which a worker then attempts."""
    session = get_session()
    event = webhooks.send_test_event(session, partner, actor)
    delivery = deliveries.find_delivery(session, partner, event.public_id)
    session.commit()
    return jsonify(delivery_json(delivery)), 202


@bp.get(
    "/partners/<partner_id>/webhooks/deliveries",
    summary="The webhook delivery log, oldest first: each event sent, its payload and attempts",
    responses={200: contract.DeliveryList, **refusals(404, *AUTHED)},
)
@operation(path=contract.PartnerPath, query=contract.DeliveriesQuery)
@partner_required
def list_deliveries(partner: Partner, actor: str, params: contract.DeliveriesQuery) -> Response:
    session = get_session()
    found = deliveries.deliveries_query(partner, params.status)
    rows, next_cursor = page(session, found, WebhookOutbox.id)
    items = [delivery_json(d) for d in deliveries.with_attempts(session, rows)]
    return jsonify(listing("deliveries", items, next_cursor))


@bp.get(
    "/partners/<partner_id>/webhooks/deliveries/<delivery_id>",
    summary="One delivery with its payload and attempts",
    responses={200: contract.Delivery, **refusals(404, *AUTHED)},
)
@operation(path=contract.DeliveryPath)
@partner_required
def get_delivery(partner: Partner, actor: str, delivery_id: str) -> Response:
    return jsonify(delivery_json(deliveries.find_delivery(get_session(), partner, delivery_id)))


@bp.post(
    "/partners/<partner_id>/webhooks/deliveries/<delivery_id>/redeliver",
    summary="Deliver a delivered or failed event again, first in your line",
    responses={
        202: contract.Delivery,
        **refusals(
            404,
            409,
            *AUTHED,
            s409="`conflict`: still pending (already on its way), or no webhook URL set",
        ),
    },
)
@operation(path=contract.DeliveryPath)
@partner_required
def redeliver(partner: Partner, actor: str, delivery_id: str) -> tuple[Response, int]:
    """Deliver a delivered or failed event again; a pending one is 409 (already on its way)."""
    session = get_session()
    delivery = deliveries.redeliver(session, partner, delivery_id)
    session.commit()
    return jsonify(delivery_json(delivery)), 202


def _client(session: Session, partner: Partner, public_id: str) -> Client:
    client = session.scalar(
        select(Client).where(Client.public_id == public_id, Client.partner_id == partner.id)
    )
    if client is None:
        raise ApiError(404, no_such("client", public_id, "GET …/clients"))
    return client


def _channel(session: Session, partner: Partner, public_id: str) -> Channel:
    channel = session.scalar(
        select(Channel)
        .join(Client)
        .where(Channel.public_id == public_id, Client.partner_id == partner.id)
    )
    if channel is None:
        raise ApiError(404, no_such("channel", public_id, "GET …/channels"))
    return channel


def no_such(kind: str, public_id: str, where: str) -> str:
    """A 404's detail: what was not found among the partner's own, and where the ids are."""
    return f"No {kind} {public_id} among yours: {where} lists your {kind} ids."


def init_app(app: Any) -> None:
    from onboarding import csrf

    csrf.exempt(bp)
    oauth.init_app(app)
    app.register_api(bp)
