"""Ready links to the permission screen, built from the same rules that will read them."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import current_app, url_for
from werkzeug.datastructures import MultiDict

from onboarding.consent.request import SIGNATURE, link_signature, parse_request
from onboarding.errors import InvalidInput
from onboarding.models import Partner
from onboarding.urls import base_url


def permission_link(partner: Partner, params: dict[str, str]) -> str:
    """An absolute link, signed with the partner's key (SPEC §5.1) so that whoever holds it
    cannot change it, and so it may carry `partner_payload`. Raises InvalidInput if the screen
    would refuse these parameters."""
    if SIGNATURE in params:
        raise InvalidInput(f"{SIGNATURE} is added by the hub.")
    signed = {**params, SIGNATURE: link_signature(partner.signing_secret, params.items())}
    parse_request(partner, MultiDict(signed))  # also proves that the signature verifies
    path = url_for("consent.permission", partner_id=partner.public_id)
    return f"{base_url(current_app)}{path}?{urlencode(signed)}"
