"""The permission screen's list of numbers as HTML, one f-string a row: in the template the
fifteen tests and escapes of a row cost ~25 µs each, a quarter of the page for ten numbers.
The markup is the template's (`templates/consent/consent.html` places it); the texts come in
translated, once per page."""

from __future__ import annotations

from collections.abc import Iterable

from markupsafe import Markup, escape

from onboarding.consent.selection import Shown


def numbers_html(
    rows: Iterable[Shown], shared_now: str, not_shared: str, losing_text: str
) -> Markup:
    shared_badge, plain_badge, note = escape(shared_now), escape(not_shared), escape(losing_text)
    items = []
    for row in rows:
        id_ = escape(row.public_id)
        attrs = (
            (' data-chosen="1"' if row.chosen else "")
            + (' data-shared="1"' if row.shared else "")
            + (" checked" if row.checked else "")
        )
        described = f"status-{id_} note-{id_}" if row.losing else f"status-{id_}"
        name = f'<span class="name">{escape(row.name)}</span>' if row.name is not None else ""
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
            f'{escape(row.readable)}</span><span class="visually-hidden">'
            f"{escape(row.phone_number)}</span></span>\n{name}\n</span>\n</label>\n{badge}\n"
            f"</div>{losing}\n</li>"
        )
    return Markup("\n".join(items))  # noqa: S704  # every value in it was escaped above
