"""`{% once key, ... with name=value, ... %}…{% endonce %}`: a piece of a template rendered once
per key and page language, then reused, with this request's values slotted in. For the hot
screens: Jinja spends ~8 µs on each translated text and ~40 µs on a macro call, and the
consent screen would repeat ~40 of them on every request.

The key must name everything the piece shows or decides on besides the language, its own text
and its slots: whatever is left out is shown to the next reader of the same key. A request's own
values (tokens, counts, the user) go in as slots: the piece is drawn with a stand-in for each,
which may only be printed (a test, a comparison, a filter or a loop on it raises), and each
request's values are put in its place, escaped. What decides the piece's shape (whether a count
is zero, which plural form it takes) belongs in the key.

Nothing is cached across processes, and the cache is bounded (cleared when full).

`draw(template, shape, slots, counts)`: a whole page kept the same way, for the hottest screen.
The view hands the template only the shape's values (what it decides on: they make the key),
stand-ins for the slots, and sample counts for plural forms; such a template must not reach for
the request itself (Flask's `request`, `session`, `g`), whose values would be kept: drawn,
those names raise.

`Environment`: each template's globals as one flat dict (see below).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Hashable, Mapping, MutableMapping, Sequence
from functools import lru_cache
from typing import Any, NoReturn

from flask import current_app, render_template, session
from flask.templating import Environment as FlaskEnvironment
from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.parser import Parser
from markupsafe import Markup, escape

from onboarding.i18n import locale_name, plural

LIMIT = 4096  # pieces kept; a piece is a few hundred bytes
PAGES = 512  # pages kept by draw(); a page is ~10 KB
_SLOT = re.compile("\x00([0-9]+)\x00")  # a piece's own stand-ins
_NAMED = re.compile("\x00([a-z_]+)\x00")  # a page's (draw)
_NUL = "\x00"

# A kept piece: its text between the slots, and the slots' positions in the `with` list.
Piece = tuple[tuple[str, ...], tuple[int, ...]]


class Once(Extension):
    tags = {"once"}  # noqa: RUF012  # jinja2 reads it so

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.pieces: dict[tuple[Any, ...], Piece] = {}
        self.pages: dict[tuple[Any, ...], tuple[tuple[str, ...], tuple[str, ...]]] = {}
        self._unnamed = itertools.count()

    def parse(self, parser: Parser) -> nodes.Node:
        lineno = next(parser.stream).lineno
        # Where the piece is: its template's name, or for a template made from a string one of
        # its own, so that two such templates never share a piece.
        where = parser.name or f"<string {next(self._unnamed)}>"
        keys: list[nodes.Expr] = [nodes.Const(f"{where}:{lineno}")]
        while parser.stream.current.type != "block_end" and not parser.stream.current.test(
            "name:with"
        ):
            keys.append(parser.parse_expression())
            parser.stream.skip_if("comma")
        names: list[nodes.Name] = []
        values: list[nodes.Expr] = []
        if parser.stream.skip_if("name:with"):
            while parser.stream.current.type != "block_end":
                names.append(nodes.Name(parser.stream.expect("name").value, "param"))
                parser.stream.expect("assign")
                values.append(parser.parse_expression())
                parser.stream.skip_if("comma")
        body = parser.parse_statements(("name:endonce",), drop_needle=True)
        call = self.call_method("_piece", [nodes.Tuple(keys, "load"), nodes.Tuple(values, "load")])
        return nodes.CallBlock(call, names, [], body).set_lineno(lineno)

    def _piece(
        self, key: tuple[Any, ...], values: tuple[Any, ...], caller: Callable[..., str]
    ) -> Markup:
        full = (locale_name(), *key)
        piece = self.pieces.get(full)
        if piece is None:
            if len(self.pieces) >= LIMIT:
                self.pieces.clear()
            drawn = caller(*(Slot(f"\x00{n}\x00") for n in range(len(values))))
            parts = _SLOT.split(drawn)
            piece = self.pieces[full] = (tuple(parts[::2]), tuple(map(int, parts[1::2])))
        texts, slots = piece
        filled = _fill(texts, [values[slot] for slot in slots])
        return Markup(filled)  # noqa: S704  # the template's output, values escaped


def draw(
    template: str,
    shape: Mapping[str, Hashable],
    slots: Mapping[str, Any],
    counts: Mapping[str, int] | None = None,
) -> str:
    """`template` for this request: drawn once per language and `shape` (everything it decides
    on, passed as they are) with a stand-in for each slot, then filled with this request's
    `slots`, escaped. `counts` choose texts' plural forms: the key holds each one's form, and
    the template gets a count of that form, so one printed by mistake shows up as wrong. A
    page with flashed messages (one request's own) is drawn in full."""
    counts = counts or {}
    if "_flashes" in session:
        return render_template(template, **shape, **slots, **counts)
    pages = current_app.jinja_env.extensions[Once.identifier].pages  # type: ignore[attr-defined]
    forms = tuple((name, plural(count)) for name, count in counts.items())
    key = (template, locale_name(), *shape.items(), *forms)
    page = pages.get(key)
    if page is None:
        if len(pages) >= PAGES:
            pages.clear()
        stand_ins = {name: Slot(f"\x00{name}\x00") for name in slots}
        samples = {name: _sample(locale_name(), form) for name, form in forms}
        drawn = render_template(template, **_OFF_LIMITS, **shape, **stand_ins, **samples)
        parts = _NAMED.split(drawn)
        page = pages[key] = (tuple(parts[::2]), tuple(parts[1::2]))
    texts, names = page
    return _fill(texts, [slots[name] for name in names])


def _fill(texts: tuple[str, ...], values: Sequence[Any]) -> str:
    """A kept piece or page with this request's values, escaped, between its texts."""
    out = [texts[0]]
    for value, text in zip(escape_all(values), texts[1:], strict=True):
        out += (value, text)
    return "".join(out)


def escape_all(values: Sequence[Any]) -> list[str]:
    """Each value as markupsafe's escape gives it, markup as it is, in one call for all: the
    texts joined by NUL (no input may carry one: security.refuse_nul_characters), escaped,
    split again. A page's twenty values cost one call instead of twenty."""
    texts = [str(value) for value in values if not hasattr(value, "__html__")]
    escaped = str(escape(_NUL.join(texts))).split(_NUL)
    if len(escaped) != len(texts):  # a NUL after all: one at a time
        escaped = [str(escape(text)) for text in texts]
    plain = iter(escaped)
    return [value.__html__() if hasattr(value, "__html__") else next(plain) for value in values]


@lru_cache(maxsize=64)
def _sample(locale: str, form: int) -> int:
    """A count that takes plural form `form` in `locale` (this request's language)."""
    return next(n for n in range(1000) if plural(n) == form)


class SlotMisused(Exception):
    """A template tested, compared, filtered or looped over a `{% once %}` slot. Not a
    TypeError, which Jinja would take for a missing item and quietly print as nothing."""


class RequestReached(Exception):
    """A page kept by `draw` reached for `request`, `session` or `g`: what it found there would
    be shown to every later reader of the page. Not an AttributeError, which Jinja would take
    for an undefined value and quietly print as nothing."""


class _OffLimits:
    """`request`, `session` and `g` while a page is drawn for many requests: any use raises."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise RequestReached(
            f"a page kept by draw() may not read `{self._name}`: hand it in as a slot"
        )

    __getattr__ = __getitem__ = __contains__ = __bool__ = __iter__ = __str__ = _refuse


_OFF_LIMITS = {name: _OffLimits(name) for name in ("request", "session", "g")}


class Slot(Markup):
    """A request's value while its piece is drawn: printed as a marker that each request's
    value replaces. Anything else the template does with it would be kept for every request,
    so it raises."""

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise SlotMisused(
            "a {% once %} slot may only be printed: put what decides the piece's shape in its key"
        )

    __bool__ = __len__ = __iter__ = __contains__ = __getitem__ = _refuse
    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _refuse
    __hash__ = Markup.__hash__


class Environment(FlaskEnvironment):
    """Flask's Jinja environment, with each template's globals flat: Jinja chains them over the
    environment's (a ChainMap), which every render copies key by key (~20 µs a page). Jinja
    asks that no global be changed once a template is loaded; the hub sets them all in
    create_app, so each template takes a copy as it loads."""

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}
