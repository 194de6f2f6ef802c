"""The docs' claims that a program can check (issue 11: a trial found doc lines that were wrong).

The quickstart's commands run in tests/test_quickstart.py; the verifiers shown in the guide are
compared with their files in tests/test_callback_verifiers.py."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from onboarding.permissions.events import as_document
from onboarding.webhooks.service import send_test_event
from tests.factories import make_partner

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^```.*?^```$", flags=re.DOTALL | re.MULTILINE)
LINK = re.compile(r"\]\(([^)\s]+)\)")


def prose(page: Path) -> str:
    """The page without its code blocks (whose text is code, not links)."""
    return FENCE.sub("", page.read_text())


def anchors(page: Path) -> set[str]:
    """GitHub's heading ids: lower case, punctuation dropped, spaces to hyphens, -1 for repeats."""
    seen: Counter[str] = Counter()
    found = set()
    for heading in re.findall(r"^#{1,6} (.+)$", prose(page), flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(f"{slug}-{seen[slug]}" if seen[slug] else slug)
        seen[slug] += 1
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_no_page_hard_codes_port_5000(page: Path) -> None:
    """The port is the reader's (`PORT=`, `serve --port`); only the Makefile holds the default."""
    assert not re.findall(r".{0,40}:5000\b.{0,20}", page.read_text())


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_relative_link_leads_to_a_file_and_heading_that_exist(page: Path) -> None:
    broken = []
    for target in LINK.findall(prose(page)):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        missing_heading = anchor and linked.suffix == ".md" and anchor not in anchors(linked)
        if not linked.exists() or missing_heading:
            broken.append(target)
    assert broken == []


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_no_page_sends_the_reader_to_the_spec_for_the_rules(page: Path) -> None:
    """SPEC.md is not in the repository: the rules are explained in the integration guide."""
    assert not re.findall(r"SPEC §2|SPEC R\d", page.read_text())


def test_the_guide_explains_every_rule_and_both_billing_models() -> None:
    guide = (ROOT / "docs" / "integration-guide.md").read_text()
    rules = guide.split("### The rules R1-R9", 1)[1].split("\n## ", 1)[0]

    assert re.findall(r"^- \*\*(R\d)\.\*\* \w", rules, flags=re.MULTILINE) == [
        f"R{n}" for n in range(1, 10)
    ]
    billing = guide.split("## Permission and billing models", 1)[1].split("### ", 1)[0]
    assert "`partner_payment`" in billing and "`direct_payment`" in billing
    assert "sandbox" in billing


def test_the_webhook_test_payload_is_the_one_the_hub_sends(db: Session) -> None:
    row = re.search(
        r"^\| `webhook\.test` \| `(\{.*?\})`", (ROOT / "docs" / "api.md").read_text(), re.M
    )
    assert row, "api.md has no webhook.test row with a JSON payload"
    partner = make_partner(db, webhook_url="https://partner.example/hooks")

    sent = as_document(send_test_event(db, partner, actor="test"))

    assert sent["type"] == "webhook.test"
    assert sent["data"] == json.loads(row.group(1))


def test_the_openapi_document_api_md_names_is_served(client: FlaskClient) -> None:
    api = (ROOT / "docs" / "api.md").read_text()
    intro = api.split("## Authentication", 1)[0]
    [path] = set(re.findall(r"https://<hub>(/api/v1/openapi\.json)", intro))
    assert ".py)" not in intro  # the link is the served document, not the code making it

    response = client.get(path)

    assert response.status_code == 200
    assert response.get_json()["openapi"].startswith("3.1")


SCREENSHOTS = ROOT / "docs" / "screenshots"
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+\.png)\)")


def screenshot_names() -> list[re.Pattern[str]]:
    """What the browser tests photograph: `screenshot(page, "name")` makes name-desktop.png
    and name-phone.png (an f-string's {...} stands for any one word)."""
    calls = re.findall(
        r'screenshot\(page, f?"([^"]+)"\)',
        "\n".join(path.read_text() for path in (ROOT / "e2e").glob("*.py")),
    )
    return [
        re.compile(re.sub(r"\\\{[^}]*\\\}", r"\\w+", re.escape(name)) + r"-(desktop|phone)\.png")
        for name in calls
    ]


def test_the_readme_shows_the_flow_both_hubs_and_two_languages_at_both_widths() -> None:
    images = [Path(target).name for target in IMAGE.findall(prose(ROOT / "README.md"))]
    for name in ("consent", "hub-client", "client-numbers", "consent-de", "consent-pt"):
        assert {f"{name}-phone.png", f"{name}-desktop.png"} <= set(images), name


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_image_a_page_shows_exists_and_a_browser_test_makes_it(page: Path) -> None:
    made = screenshot_names()
    for target in IMAGE.findall(prose(page)):
        image = (page.parent / target).resolve()
        assert image.exists(), target
        if image.parent == SCREENSHOTS:
            assert any(pattern.fullmatch(image.name) for pattern in made), target


def test_every_kept_screenshot_is_one_a_browser_test_makes() -> None:
    """No stale picture: each file in docs/screenshots is remade by every e2e run."""
    made = screenshot_names()
    stale = [
        p.name for p in SCREENSHOTS.glob("*.png") if not any(m.fullmatch(p.name) for m in made)
    ]
    assert stale == []
