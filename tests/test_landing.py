"""GET /: a page that says what the hub is and links to both hubs and the API reference."""

from __future__ import annotations

import re

from flask.testing import FlaskClient


def test_the_landing_page_names_the_doors(client: FlaskClient) -> None:
    response = client.get("/")

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    links = set(re.findall(r'href="([^"]+)"', response.text))
    assert {"/client/", "/hub/", "/api/docs", "/api/v1/openapi.json"} <= links
    assert "docs/integration-guide.md" in response.text


def test_each_hub_it_links_to_answers(client: FlaskClient) -> None:
    """The two hubs lead to their logins: a link from the landing page is never a dead end."""
    for path, login in (("/client/", "/login"), ("/hub/", "/hub/login")):
        response = client.get(path)
        assert response.status_code in (302, 303)
        assert response.headers["Location"].split("?")[0].endswith(login)


def test_it_changes_nothing_and_is_never_cached(client: FlaskClient) -> None:
    response = client.get("/")

    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def test_it_takes_no_post(client: FlaskClient) -> None:
    assert client.post("/").status_code == 405
