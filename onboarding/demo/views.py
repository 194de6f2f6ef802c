"""A stand-in for the demo partner's web app: checks the callback as a partner would.

Registered only with ONBOARDING_DEMO_RECEIVER=1 (as `make run` does). It plays the partner, so
it shares no code with the hub's signing: it runs the very verifier the integration guide ships
(docs/verify/verify_callback.py) with what a partner has, its signing secret and the hub's issuer.
"""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl

from flask import Blueprint, current_app, render_template, request
from sqlalchemy import select

from onboarding import ROOT
from onboarding.db import get_session
from onboarding.models import Client

bp = Blueprint("demo", __name__, url_prefix="/demo")
VERIFIER = ROOT / "docs" / "verify" / "verify_callback.py"


@cache
def partner_verifier() -> ModuleType:
    """docs/verify/verify_callback.py, loaded from its file as a partner would copy it."""
    spec = importlib.util.spec_from_file_location("demo_verify_callback", VERIFIER)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"Cannot load {VERIFIER}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up while being made
    spec.loader.exec_module(module)
    return module


@bp.get("/callback")
def callback() -> str:
    query = request.query_string.decode("utf-8", "replace")
    params = parse_qsl(query, keep_blank_values=True)
    client = get_session().scalar(
        select(Client).where(Client.public_id == dict(params).get("client"))
    )
    verifier = partner_verifier()
    answer: Any = None
    refusal = "the client is not one of the demo's" if client is None else None
    if client is not None:
        try:
            answer = verifier.verify_callback(
                f"?{query}",
                signing_secret=client.partner.signing_secret,
                issuer=current_app.config["ISSUER"] or current_app.config["BASE_URL"],
                # A real partner compares with the state it kept in the user's session; the
                # demo sent no session along, so it takes the one that came back.
                state=dict(params).get("state"),
            )
        except verifier.CallbackError as error:
            refusal = str(error)
    return render_template(
        "demo/callback.html",
        params=params,
        answer=answer,
        refusal=refusal,
        partner_id=client.partner.public_id if client is not None else None,
    )
