"""`{% once key, ... %}…{% endonce %}`: a piece of a template rendered once per key and page
language, then reused. For the hot screens' constant texts (the consent screen spends ~8 µs
on each translated text and ~40 µs on each macro call; ~30 of them repeat on every request).

The key must name everything the piece shows besides the language and its own text: whatever
is left out is shown to the next reader of the same key, so keep requests' own values (tokens,
counts, the user) out of these pieces. Nothing is cached across processes, and the cache is
bounded (cleared when full).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.parser import Parser
from markupsafe import Markup

from onboarding.i18n import locale_name

LIMIT = 4096  # pieces kept; a piece is a few hundred bytes


class Once(Extension):
    tags = {"once"}  # noqa: RUF012  # jinja2 reads it so

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.pieces: dict[tuple[Any, ...], Markup] = {}

    def parse(self, parser: Parser) -> nodes.Node:
        lineno = next(parser.stream).lineno
        keys: list[nodes.Expr] = [nodes.Const(f"{parser.name}:{lineno}")]
        while parser.stream.current.type != "block_end":
            keys.append(parser.parse_expression())
            parser.stream.skip_if("comma")
        body = parser.parse_statements(("name:endonce",), drop_needle=True)
        call = self.call_method("_piece", [nodes.Tuple(keys, "load")])
        return nodes.CallBlock(call, [], [], body).set_lineno(lineno)

    def _piece(self, key: tuple[Any, ...], caller: Callable[[], str]) -> Markup:
        full = (locale_name(), *key)
        piece = self.pieces.get(full)
        if piece is None:
            if len(self.pieces) >= LIMIT:
                self.pieces.clear()
            piece = self.pieces[full] = Markup(caller())  # noqa: S704  # the template's output
        return piece
