"""`GET /`: a page for whoever arrives at the hub's address with no link: what this is, and
the doors (both hubs, the API reference, the repository's docs). It reads and changes nothing."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("landing", __name__)


@bp.get("/")
def home() -> str:
    return render_template("landing.html")
