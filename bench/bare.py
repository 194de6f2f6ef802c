"""The yardstick: a bare Flask app answering a small JSON object, served exactly as the hub is."""

from __future__ import annotations

from flask import Flask, Response, jsonify


def create_bare_app() -> Flask:
    app = Flask(__name__)

    @app.get("/bare")
    def bare() -> Response:
        return jsonify({"channel_id": "ch_0123456789abcdef", "status": "ok"})

    return app
