"""The Partner Hub (`/hub/`): the dashboard a partner's staff use every day.

Views parse the request, call a service, commit and redirect (303); the rules they rely on live
in `onboarding.partners.service` (roles, credentials), `onboarding.permissions` (keys, audit)
and `onboarding.webhooks.service`. Every object named in a URL or form is looked up within the
signed-in user's own partner (`access.py`), so another partner's answers 404.
"""

from flask import Blueprint

bp = Blueprint("partner_hub", __name__, url_prefix="/hub")

# The modules add their routes to `bp` when imported (Flask's "package" pattern).
from onboarding.partner_hub import account, confirm, links, settings, team, views  # noqa: E402, F401

__all__ = ["bp"]
