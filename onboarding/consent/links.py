"""Ready links to the permission screen, built from the same rules that will read them."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import current_app, url_for
from werkzeug.datastructures import MultiDict

from onboarding.consent.request import parse_request
from onboarding.models import Partner


def permission_link(partner: Partner, params: dict[str, str]) -> str:
    """An absolute link; raises InvalidInput if the screen would refuse these parameters."""
    parse_request(partner, MultiDict(params))
    path = url_for("consent.permission", partner_id=partner.public_id)
    query = f"?{urlencode(params)}" if params else ""
    return f"{current_app.config['BASE_URL']}{path}{query}"
