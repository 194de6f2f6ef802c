"""What every browser test may need: screenshots for the docs, an accessibility check and the
login form."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 812}
SERIOUS = ("serious", "critical")
# The login form's labels in English; a test in another language passes its own.
LOGIN_WORDS = {"email": "Email", "password": "Password", "log_in": "Log in"}

_axe = Axe()


def screenshot(page: Page, name: str) -> None:
    """docs/screenshots/<name>-desktop.png and <name>-phone.png of the page as it is now."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=SCREENSHOTS / f"{name}-desktop.png", full_page=True, animations="disabled")
    page.set_viewport_size(PHONE)
    page.screenshot(path=SCREENSHOTS / f"{name}-phone.png", full_page=True, animations="disabled")
    page.set_viewport_size(DESKTOP)


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical findings on the page as it is now."""
    results = _axe.run(page)
    violations: list[dict[str, Any]] = results.response["violations"]
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in violations
        if v["impact"] in SERIOUS
    ]


def assert_accessible(page: Page) -> None:
    """No serious or critical axe-core violation, at desktop and at phone width."""
    for size in (DESKTOP, PHONE):
        page.set_viewport_size(size)
        assert serious_violations(page) == [], f"axe-core at {size['width']} px"
    page.set_viewport_size(DESKTOP)


def submit_login(
    page: Page, email: str, password: str, words: dict[str, str] = LOGIN_WORDS
) -> None:
    """Fill in and send the login form the page shows (either hub's, or the permission flow's),
    by its labels, as a person reads them."""
    page.get_by_label(words["email"], exact=True).fill(email)
    page.get_by_label(words["password"], exact=True).fill(password)
    page.get_by_role("button", name=words["log_in"]).click()
