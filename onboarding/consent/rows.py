"""The permission screen's list of numbers as HTML, one f-string a row: in the template the
fifteen tests and escapes of a row cost ~25 µs each, a quarter of the page for ten numbers.
`templates/consent/consent.html` places it; the texts every row repeats are translated once per
language and partner."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from flask_babel import gettext as _
from markupsafe import Markup

from onboarding.consent.selection import Shown
from onboarding.fragments import escape_all
from onboarding.i18n import locale_name


def numbers_html(rows: Sequence[Shown], brand: str) -> Markup:
    shared_badge, plain_badge, note = _texts(locale_name(), brand)
    values = escape_all(
        [v for row in rows for v in (row.public_id, row.readable, row.phone_number)]
    )
    names = iter(escape_all([row.name for row in rows if row.name is not None]))
    items = []
    for index, row in enumerate(rows):
        id_, readable, number = values[3 * index : 3 * index + 3]
        attrs = (
            (' data-chosen="1"' if row.chosen else "")
            + (' data-shared="1"' if row.shared else "")
            + (" checked" if row.checked else "")
        )
        described = f"status-{id_} note-{id_}" if row.losing else f"status-{id_}"
        name = f'<span class="name">{next(names)}</span>' if row.name is not None else ""
        if row.shared:
            badge = f'<span class="badge shared" id="status-{id_}">{shared_badge}</span>'
            hidden = "" if row.losing else " hidden"
            losing = f'\n<p class="losing" id="note-{id_}"{hidden}>{note}</p>'
        else:
            badge = f'<span class="badge" id="status-{id_}">{plain_badge}</span>'
            losing = ""
        items.append(
            f'<li>\n<div class="channel-row">\n<label class="check">\n'
            f'<input type="checkbox" name="channels" value="{id_}"{attrs}'
            f' aria-describedby="{described}">\n'
            f'<span class="channel-text">\n<span class="phone"><span aria-hidden="true">'
            f'{readable}</span><span class="visually-hidden">'
            f"{number}</span></span>\n{name}\n</span>\n</label>\n{badge}\n"
            f"</div>{losing}\n</li>"
        )
    return Markup("\n".join(items))  # noqa: S704  # every value in it was escaped above


@lru_cache(maxsize=1024)
def _texts(locale: str, brand: str) -> tuple[Markup, Markup, Markup]:
    """The badges and the losing note, in `locale`: the request's own (the key says which).
    As in a template, the catalog's texts are markup and only the partner's name is escaped."""
    losing = _("Permission will be removed: %(brand)s's API keys for this number stop working.")
    return Markup(_("Shared now")), Markup(_("Not shared")), Markup(losing) % {"brand": brand}  # noqa: S704
