"""The contract is served: /api/v1/openapi.json generated from the models (webhooks, the operator
API and the messaging endpoint included), and /api/docs for people, with every asset from the
hub under the same Content-Security-Policy as every other page."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from onboarding.partner_api.openapi import SWAGGER_STYLE, document
from onboarding.permissions.payloads import WEBHOOK_EVENTS
from onboarding.security import CONTENT_SECURITY_POLICY


def test_the_served_document_is_the_generated_one(client: FlaskClient) -> None:
    served = client.get("/api/v1/openapi.json").get_json()
    assert served == document()
    assert served["openapi"] == "3.1.0"
    assert set(served["webhooks"]) == set(WEBHOOK_EVENTS)
    assert served["paths"]["/channel"]["servers"] == [{"url": "/messaging/v1"}]
    assert served["paths"]["/channels/{channel_id}/status"]["servers"] == [{"url": "/ops/v1"}]
    assert "ValidationErrorModel" not in served["components"]["schemas"]


def test_api_docs_are_served_by_the_hub_under_its_csp(client: FlaskClient) -> None:
    assert client.get("/api/docs").headers["Location"].endswith("/api/docs/swagger")
    page = client.get("/api/docs/swagger")
    assert page.status_code == 200
    # The hub's policy with one hash added for Swagger UI's inline style; nothing loosened.
    policy = page.headers["Content-Security-Policy"]
    assert policy == CONTENT_SECURITY_POLICY.replace(
        "style-src 'self'", f"style-src 'self' '{SWAGGER_STYLE}'"
    )
    assert "unsafe" not in policy
    other = client.get("/login")
    assert other.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    html = page.get_data(as_text=True)
    assert 'data-url="/api/v1/openapi.json"' in html
    assert "<style" not in html and "<script>" not in html  # nothing inline for the CSP
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert len(assets) == 5  # Swagger UI: css, js, preset; ours: its colours, its start-up
    for asset in assets:
        assert "://" not in asset  # no CDN
        url = asset if asset.startswith("/") else f"/api/docs/{asset}"
        answer = client.get(url)
        size = len(answer.data)
        answer.close()  # a file response holds its file open until closed
        assert answer.status_code == 200, url
        assert size > 100, url
