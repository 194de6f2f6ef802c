"""A stand-in for the demo partner's web app: shows the callback and checks its signature.

Registered only with ONBOARDING_DEMO_RECEIVER=1 (as `make run` does); real partners verify
callbacks in their own backend (docs/integration-guide.md).
"""

from __future__ import annotations

import hmac
from urllib.parse import parse_qsl

from flask import Blueprint, render_template, request
from sqlalchemy import select

from onboarding.consent.callback import sign
from onboarding.db import get_session
from onboarding.models import Client

bp = Blueprint("demo", __name__, url_prefix="/demo")


@bp.get("/callback")
def callback() -> str:
    params = parse_qsl(request.query_string.decode(), keep_blank_values=True)
    given = dict(params).get("signature", "")
    client = get_session().scalar(
        select(Client).where(Client.public_id == dict(params).get("client"))
    )
    valid = client is not None and hmac.compare_digest(
        sign(client.partner.signing_secret, params), given
    )
    return render_template("demo/callback.html", params=params, valid=valid)
