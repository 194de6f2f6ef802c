"""The example app verifies callbacks with the verifier the docs ship, copied (the app imports
nothing from outside its own directory): the copy must not drift from docs/verify/."""

from __future__ import annotations

from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent
DOCUMENTED = EXAMPLE.parent.parent / "docs" / "verify" / "verify_callback.py"


def test_the_apps_verifier_is_the_documented_one() -> None:
    copy = EXAMPLE / "partner_app" / "verify_callback.py"
    assert copy.read_text() == DOCUMENTED.read_text()


def test_the_app_imports_nothing_of_the_hub() -> None:
    sources = sorted((EXAMPLE / "partner_app").glob("*.py"))
    assert sources
    for source in sources:
        text = source.read_text()
        assert "import onboarding" not in text and "from onboarding" not in text, source.name
