"""Every text marked for translation has a German and a Brazilian Portuguese translation.

The texts are extracted here, from the code and templates as they are now (babel.cfg, the same
as `make messages`), so a new `_()` or `{% trans %}` without a catalog entry fails the suite
rather than showing English on a German page.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from onboarding.i18n import CATALOGS, LANGUAGES

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
TRANSLATED = [code for code in LANGUAGES if code != "en"]


def marked() -> dict[str, str]:
    """Each marked text (the singular of a plural), with where it was found."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found: dict[str, str] = {}
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "N_": None}
    for filename, line, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options_map, keywords=keywords
    ):
        singular = message[0] if isinstance(message, tuple) else message
        found.setdefault(singular, f"{filename}:{line}")
    return found


def catalog(code: str) -> Catalog:
    with (CATALOGS / code / "LC_MESSAGES" / "messages.po").open("rb") as source:
        return read_po(source, locale=code)


def test_the_extraction_finds_the_marked_texts() -> None:
    """A positive control: were the extraction broken, the tests below would pass on nothing."""
    texts = marked()
    assert "Log in to the Partner Hub" in texts  # a template
    assert "Webhook URL saved." in texts  # a flash message in Python
    assert "Owners also manage the team and the integration settings." in texts  # a form


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_marked_text_is_translated(code: str) -> None:
    messages = catalog(code)
    missing = []
    for text, where in marked().items():
        entry = messages.get(text)
        strings = entry.string if entry is not None else ""
        forms = strings if isinstance(strings, tuple) else (strings,)
        if entry is None or entry.fuzzy or not all(forms):
            missing.append(f"{where}: {text!r}")
    assert not missing, f"{len(missing)} texts lack a {code} translation (make messages):\n" + (
        "\n".join(missing)
    )


@pytest.mark.parametrize("code", TRANSLATED)
def test_translations_keep_their_placeholders(code: str) -> None:
    """A translation that drops or misspells `%(brand)s` would fail only at run time."""
    wrong = []
    for entry in catalog(code):
        if not entry.id:
            continue
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        expected = set(PLACEHOLDER.findall(" ".join(ids)))
        for string in strings:
            if string and set(PLACEHOLDER.findall(string)) != expected:
                wrong.append(f"{entry.id!r} -> {string!r}")
    assert not wrong, "\n".join(wrong)
