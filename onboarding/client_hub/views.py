from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from werkzeug.wrappers import Response

from onboarding.auth.forms import FlowForm
from onboarding.auth.session import current_client_user
from onboarding.permissions.service import is_shared

bp = Blueprint("client_hub", __name__, url_prefix="/client")


@bp.get("/")
def home() -> Response | str:
    user = current_client_user()
    if user is None:
        return redirect(url_for("auth.login"), 303)
    return render_template(
        "client_hub/home.html",
        user=user,
        client=user.client,
        is_shared=is_shared,
        logout_form=FlowForm(),
    )
