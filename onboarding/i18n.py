"""Three languages (flask-babel): which one a request speaks, the switcher's links, and the one
date filter and the one count filter of every translated page.

The language of a request: `lang` on the link (any page; the switcher's links are such links),
then the `lang` cookie that such a link leaves, then `Accept-Language`, then English. `pt`,
`pt-PT` and `pt-BR` all mean Brazilian Portuguese, the only Portuguese there is.

The catalogs are the `.po` files under `onboarding/translations/`; each process compiles them in
memory the first time a language is asked for, so there is no build step and no binary `.mo`
file to keep in step with its source.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from io import BytesIO
from pathlib import Path
from types import SimpleNamespace

from babel import Locale
from babel.dates import format_date, format_time, get_datetime_format
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations
from flask import Flask, Response, g, has_request_context, request
from flask_babel import Babel, Domain, get_locale

CATALOGS = Path(__file__).resolve().parent / "translations"
DEFAULT = "en"
# The switcher's order and names, each in its own language.
LANGUAGES = {"en": "English", "de": "Deutsch", "pt_BR": "Português (Brasil)"}
COOKIE = "lang"
COOKIE_AGE = 365 * 24 * 3600


def locale_of(value: str | None) -> str | None:
    """The catalog a `lang` value or cookie names (`de`, `pt`, `pt-PT`, `pt_BR`, `EN`), or None."""
    if not value or len(value) > 16:
        return None
    primary = value.replace("-", "_").split("_", 1)[0].lower()
    return {"en": "en", "de": "de", "pt": "pt_BR"}.get(primary)


def select_locale() -> str:
    asked = locale_of(request.args.get("lang")) or locale_of(request.cookies.get(COOKIE))
    if asked:
        return asked
    # By primary language, in the browser's order: werkzeug's best_match would prefer an exact
    # `en;q=0.5` to the `pt-PT` the reader put first.
    for value, _quality in request.accept_languages:
        if chosen := locale_of(value):
            return chosen
    return DEFAULT


def html_lang() -> str:
    """BCP 47, as `<html lang>` wants it: `en`, `de`, `pt-BR`."""
    return locale_name().replace("_", "-")


def switch_base() -> str:
    """This page's address, ready for a `lang=` to be added: the switcher's links. The query
    is kept as it came, less any `lang` (re-encoding a flow token costs ~20 µs)."""
    query = request.query_string.decode("latin-1")
    others = [part for part in query.split("&") if part and part.split("=", 1)[0] != "lang"]
    path = request.script_root + request.path
    return f"{path}?{'&'.join(others)}&" if others else f"{path}?"


def languages() -> list[tuple[str, str, bool]]:
    """(locale, name, current) for each language, in the switcher's order."""
    current = locale_name()
    return [(code, name, code == current) for code, name in LANGUAGES.items()]


def when(value: datetime | None, seconds: bool = False) -> str:
    """A moment as every page shows it: in the reader's language, in UTC (as the API and the
    webhooks give times), to the second only where retries are seconds apart."""
    if value is None:
        return ""
    locale = get_locale() or Locale.parse(DEFAULT)
    moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    date = format_date(moment, "medium", locale=locale)
    time = format_time(moment, "medium" if seconds else "short", tzinfo=UTC, locale=locale)
    pattern = str(get_datetime_format("medium", locale=locale))  # "{1}, {0}": date, then time
    return f"{pattern.format(time, date)} UTC"


def number(value: int) -> str:
    """A count in the reader's language: 1,234 / 1.234."""
    if isinstance(value, int) and 0 <= value < 1000:  # no separator in any of our languages
        return str(value)
    return format_decimal(value, locale=get_locale() or DEFAULT)


def plural(count: int) -> int:
    """Which plural form this request's language gives `count` (0: English's "one"): for the
    key of a kept page or piece whose wording depends on a count (onboarding/fragments.py)."""
    catalog = translations()
    rule = getattr(catalog, "plural", None)  # English has no catalog: n != 1
    return int(rule(count)) if rule is not None else int(count != 1)


@cache
def _compiled(locale: str) -> Translations | NullTranslations:
    path = CATALOGS / locale / "LC_MESSAGES" / "messages.po"
    if not path.exists():  # English: the texts in the code are the English ones
        return NullTranslations()
    with path.open("rb") as source:
        catalog = read_po(source, locale=locale)
    binary = BytesIO()
    write_mo(binary, catalog)  # fuzzy entries are left out, as msgfmt does
    binary.seek(0)
    return Translations(binary)


_NONE = NullTranslations()


def translations() -> Translations | NullTranslations:
    """This request's catalog, found once per request. flask-babel finds it again for every
    string (the locale, the domain and their context: about ten look-ups through Flask's
    proxies, ~15 µs a string, ~0.5 ms for a page of 40 texts)."""
    return _request_catalog()[1]


def locale_name() -> str:
    """This request's language as its catalog is named (`en`, `de`, `pt_BR`), found once per
    request (`str` of babel's Locale costs ~5 µs; a page asks a dozen times)."""
    return _request_catalog()[2]


def _request_catalog() -> tuple[Locale | None, Translations | NullTranslations, str]:
    try:
        context = g._get_current_object()
    except RuntimeError:  # outside an app context: the texts as written
        return None, _NONE, DEFAULT
    babel = getattr(context, "_flask_babel", None)
    cached = getattr(context, "hub_catalog", None)
    if cached is not None and cached[0] is getattr(babel, "babel_locale", None):
        found: tuple[Locale | None, Translations | NullTranslations, str] = cached
        return found
    locale = getattr(babel, "babel_locale", None)  # force_locale's, or found before
    if locale is not None:
        name = str(locale)
    elif has_request_context():  # as flask-babel's get_locale would, without its look-ups
        name = select_locale()
        locale = _parsed(name)
        if babel is None:
            babel = context._flask_babel = SimpleNamespace()
        babel.babel_locale = locale  # flask-babel's own functions then agree
    else:
        locale = get_locale()
        name = str(locale) if locale is not None else DEFAULT
    found = (locale, _compiled(name) if locale is not None else _NONE, name)
    context.hub_catalog = found
    return found


@cache
def _parsed(name: str) -> Locale:
    return Locale.parse(name)


class _Catalogs(Domain):  # type: ignore[misc]  # flask-babel's classes are untyped
    def get_translations(self) -> Translations | NullTranslations:
        return translations()


def _remember(response: Response) -> Response:
    """A `lang` on the link is the reader's choice: keep it for the pages that follow."""
    if b"lang=" not in request.query_string:  # most requests: no query to parse for it
        return response
    chosen = locale_of(request.args.get("lang"))
    if chosen and request.cookies.get(COOKIE) != chosen:
        response.set_cookie(
            COOKIE,
            chosen,
            max_age=COOKIE_AGE,
            secure=request.is_secure,
            httponly=True,
            samesite="Lax",
        )
    return response


def init_app(app: Flask) -> None:
    babel = Babel(app, locale_selector=select_locale, default_timezone="UTC")
    babel.domain_instance = _Catalogs()
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]  # jinja2.ext.i18n's
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
    app.after_request(_remember)
    from onboarding.fragments import Once  # it keys pieces by locale_name, from here

    app.jinja_env.add_extension(Once)  # pieces kept per language: {% once %}
    app.jinja_env.filters["when"] = when
    app.jinja_env.filters["number"] = number
    app.jinja_env.globals.update(html_lang=html_lang, switch_base=switch_base, languages=languages)
