"""The hot pages' template tools (onboarding/fragments.py): `{% once %}` pieces keep their text
per key and language and take each request's own values through slots; template globals are
flat. The consent screen's own pieces are checked in test_hot_path_reads."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask, session
from jinja2 import Template
from markupsafe import Markup, escape

from onboarding import create_app
from onboarding.fragments import Once, RequestReached, SlotMisused, draw, escape_all


@pytest.fixture(scope="module")
def hub() -> Flask:
    return create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "fragments"})


def renderer(hub: Flask, source: str, lang: str = "en") -> Callable[..., str]:
    template: Template = hub.jinja_env.from_string(source)

    def render(**values: object) -> str:
        with hub.test_request_context(f"/?lang={lang}"):
            return template.render(**values)

    return render


def test_a_piece_is_drawn_once_and_each_render_fills_its_own_slots(hub: Flask) -> None:
    drawn: list[int] = []
    render = renderer(
        hub,
        "{% once with who=name %}{{ draw() }}<p>Logged in as {{ who }}.</p>{% endonce %}",
    )
    assert render(name="Ana", draw=lambda: drawn.append(1) or "") == "<p>Logged in as Ana.</p>"
    page = render(name="<b>Bo</b>", draw=lambda: drawn.append(1) or "")
    assert page == "<p>Logged in as &lt;b&gt;Bo&lt;/b&gt;.</p>"  # escaped, as any value
    assert drawn == [1]  # the second render reused the piece


def test_what_decides_the_shape_goes_in_the_key(hub: Flask) -> None:
    render = renderer(
        hub,
        "{% once n > 0 with shown=n %}{% if n %}{{ shown }} numbers{% else %}None yet{% endif %}"
        "{% endonce %}",
    )
    assert [render(n=n) for n in (0, 3, 5, 0)] == [
        "None yet",
        "3 numbers",
        "5 numbers",
        "None yet",
    ]


@pytest.mark.parametrize(
    "use",
    [
        "{% if slot %}x{% endif %}",
        "{{ slot == 'a' }}",
        "{{ slot > 1 }}",
        "{{ slot|length }}",
        "{% for c in slot %}{{ c }}{% endfor %}",
        "{{ slot[0] }}",
    ],
)
def test_a_slot_may_only_be_printed(hub: Flask, use: str) -> None:
    """Anything else done with a slot would be kept for every later request: it raises."""
    render = renderer(hub, "{% once with slot=value %}" + use + "{% endonce %}")
    with pytest.raises(SlotMisused, match="may only be printed"):
        render(value="a")


def test_pieces_are_kept_per_language(hub: Flask) -> None:
    source = "{% once %}{{ _('Cancel') }}{% endonce %}"
    assert renderer(hub, source)() == "Cancel"
    assert renderer(hub, source, lang="de")() == "Abbrechen"
    assert renderer(hub, source)() == "Cancel"


def test_template_globals_are_flat_and_a_templates_own_come_first(hub: Flask) -> None:
    template = hub.jinja_env.from_string("{{ greeting }} {{ url_for('static', filename='a') }}")
    own = hub.jinja_env.from_string("{{ greeting }}", globals={"greeting": "hello"})
    assert type(own.globals) is dict
    assert own.globals["url_for"] is hub.jinja_env.globals["url_for"]
    with hub.test_request_context("/"):
        assert own.render() == "hello"
        assert template.render(greeting="hi") == "hi /static/a"


PAGE = "page.html"  # a template of draw()'s kind, on a loader of its own


@pytest.fixture
def page_hub(hub: Flask) -> Flask:
    from jinja2 import ChoiceLoader, DictLoader

    hub.jinja_env.loader = ChoiceLoader(
        [
            DictLoader(
                {
                    PAGE: "{{ draw_count() }}<p>{{ greeting }}, {{ name }}.{% if many %} "
                    "{{ ngettext('%(num)s item', '%(num)s items', items, num=shown) }}"
                    "{% endif %}</p>"
                }
            ),
            hub.jinja_env.loader,  # type: ignore[list-item]
        ]
    )
    return hub


def test_a_drawn_page_keeps_its_shape_and_fills_each_requests_slots(page_hub: Flask) -> None:
    draws: list[int] = []
    page_hub.jinja_env.globals["draw_count"] = lambda: draws.append(1) or ""

    def page(name: str, items: int, lang: str = "en") -> str:
        with page_hub.test_request_context(f"/?lang={lang}"):
            return draw(
                PAGE,
                shape={"greeting": "Hello", "many": items > 0},
                slots={"name": name, "shown": items},
                counts={"items": items},
            )

    assert page("Ana", 1) == "<p>Hello, Ana. 1 item</p>"
    assert page("<Bo>", 7) == "<p>Hello, &lt;Bo&gt;. 7 items</p>"  # another plural form
    assert page("Cy", 9) == "<p>Hello, Cy. 9 items</p>"  # the same form: the kept page
    assert page("Di", 0) == "<p>Hello, Di.</p>"  # another shape
    assert len(draws) == 3


def test_a_count_printed_by_mistake_shows_the_sample_not_the_request(page_hub: Flask) -> None:
    """The template gets a count of the right plural form, not the request's own."""
    page_hub.jinja_env.loader.loaders[0].mapping[PAGE] = "{{ items }}"  # type: ignore[attr-defined]
    with page_hub.test_request_context("/"):
        assert draw(PAGE, shape={}, slots={}, counts={"items": 7}) == "0"


def test_a_page_with_flashed_messages_is_drawn_in_full(page_hub: Flask) -> None:
    page_hub.jinja_env.globals["draw_count"] = lambda: ""
    with page_hub.test_request_context("/"):
        session["_flashes"] = [("message", "Saved.")]
        page = draw(PAGE, shape={"greeting": "Hi", "many": False}, slots={"name": "Ana"})
    assert page == "<p>Hi, Ana.</p>"
    kept = page_hub.jinja_env.extensions[Once.identifier].pages  # type: ignore[attr-defined]
    assert not any(("greeting", "Hi") in key for key in kept)  # nothing kept


@pytest.mark.parametrize(
    "use",
    ["{{ request.path }}", "{{ session['login'] }}", "{% if g %}x{% endif %}", "{{ session }}"],
)
def test_a_drawn_page_may_not_read_the_request(page_hub: Flask, use: str) -> None:
    """Whatever it found there would be kept and shown to the next reader of the page."""
    page_hub.jinja_env.loader.loaders[0].mapping[PAGE] = use  # type: ignore[attr-defined]
    with page_hub.test_request_context("/"), pytest.raises(RequestReached):
        draw(PAGE, shape={}, slots={})


def test_escape_all_escapes_as_markupsafe_does_and_keeps_markup() -> None:
    values = ["<a href='x'>&", 7, Markup("<b>kept</b>"), "", 'say "hi"', "nul\x00inside"]
    assert escape_all(values) == [str(escape(v)) for v in values]
    assert escape_all([]) == []
