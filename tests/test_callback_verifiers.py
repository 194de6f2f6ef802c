"""The partner-side verifiers the docs ship (docs/verify/): both refuse what SPEC §5.3 says a
verifier refuses, read what a callback says, and are the very code the integration guide shows.

Every case runs through the Python verifier and, in one batch, through the JavaScript one."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from onboarding.consent.callback import callback_url, sign
from tests.callback_verifiers import (
    JS_VERIFIER,
    PY_VERIFIER,
    ROOT,
    Case,
    NodeVerifier,
    py,
    verify_in_python,
)

SECRET = "whsec_c2VjcmV0LWtleS1mb3ItY2FsbGJhY2stdGVzdHMtMzI="
OTHER_SECRET = "whsec_b3RoZXIta2V5LWZvci1jYWxsYmFjay10ZXN0cy0zMg=="
ISSUER = "https://hub.example"
NOW = 1_700_000_000
REDIRECT = "https://p.example/cb?tenant=7"
HUB_PARAMS = sorted(py.HUB_PARAMS)


def genuine(redirect_url: str = REDIRECT, **overrides: Any) -> str:
    arguments: dict[str, Any] = {
        "client_id": "cl_1",
        "consent_id": "cs_1",
        "issuer": ISSUER,
        "state": "s1",
        "shared": ["ch_a", "ch_b"],
        "revoked": ["ch_c"],
        "now": NOW,
    }
    return callback_url(redirect_url, SECRET, **(arguments | overrides))


def signed(params: list[tuple[str, str]], secret: str = SECRET) -> str:
    """A callback made by hand and signed correctly, to reach the checks after the signature."""
    return f"https://p.example/cb?{urlencode([*params, ('signature', sign(secret, params))])}"


def case(url: str, **expect: Any) -> Case:
    """`url` as a partner expects it: this secret and issuer, state "s1", checked at NOW."""
    defaults: dict[str, Any] = {"signing_secret": SECRET, "issuer": ISSUER, "state": "s1"}
    return Case(url=url, **(defaults | {"now": NOW} | expect))


def upper_case_signature(url: str) -> str:
    unsigned, signature = url.rsplit("&signature=", 1)
    return f"{unsigned}&signature={signature.upper()}"


BASE = [("client", "cl_1"), ("consent", "cs_1"), ("state", "s1"), ("iss", ISSUER), ("ts", str(NOW))]


def duplicated(name: str) -> str:
    """A genuine callback in which `name` comes twice (a second copy of it, or two new ones)."""
    url = genuine()
    present = [value for key, value in parse_qsl(urlsplit(url).query) if key == name]
    extra = [(name, present[0])] if present else [(name, "x"), (name, "x")]
    return f"{url}&{urlencode(extra)}"


ACCEPTED: dict[str, tuple[Case, dict[str, Any]]] = {
    "allow": (
        case(genuine()),
        {"error": None, "channels": ["ch_a", "ch_b"], "revoked": ["ch_c"], "lists_omitted": False},
    ),
    "allow without revoked": (
        case(genuine(revoked=None, shared=[])),
        {"error": None, "channels": [], "revoked": [], "lists_omitted": False},
    ),
    "cancel": (
        case(genuine(error="access_denied")),
        {"error": "access_denied", "channels": None, "revoked": None, "lists_omitted": False},
    ),
    "lists omitted": (
        case(genuine(shared=[f"ch_{n:016d}" for n in range(1000)])),
        {"error": None, "channels": None, "revoked": None, "lists_omitted": True},
    ),
    "no state sent, none expected": (case(genuine(state=None), state=None), {"state": None}),
    "state with + % & = and unicode": (
        case(genuine(state="a+b %26&=ü 😀"), state="a+b %26&=ü 😀"),
        {"state": "a+b %26&=ü 😀"},
    ),
    "empty state": (case(genuine(state=""), state=""), {"state": ""}),
    "own parameter repeated": (case(genuine("https://p.example/cb?t=1&t=2")), {"client": "cl_1"}),
    "ts at the edge of the tolerance": (case(genuine(), now=NOW + 300), {"ts": NOW}),
    "ts a little ahead": (case(genuine(), now=NOW - 300), {"ts": NOW}),
    "full URL of a path with a query mark": (case(genuine("https://p.example/a?b=%3F")), {}),
    "path and query only": (case(genuine().removeprefix("https://p.example")), {}),
}

REFUSED: dict[str, tuple[Case, str]] = {
    **{
        f"{name} twice": (case(duplicated(name)), f"{name} appears more than once")
        for name in HUB_PARAMS
    },
    "a second, wrong signature": (
        case(f"{genuine()}&signature={'0' * 64}"),
        "signature appears more than once",
    ),
    "no signature": (case(genuine().rsplit("&signature=", 1)[0]), "no signature"),
    "upper-case signature": (case(upper_case_signature(genuine())), "no signature"),
    "another partner's secret": (case(genuine(), signing_secret=OTHER_SECRET), "wrong signature"),
    "a value changed": (case(genuine().replace("tenant=7", "tenant=8")), "wrong signature"),
    "a parameter added": (case(genuine() + "&x=1"), "wrong signature"),
    "another issuer": (case(genuine(), issuer="https://hub.example/"), "another issuer"),
    "stale": (case(genuine(), now=NOW + 301), "not fresh"),
    "from the future": (case(genuine(), now=NOW - 301), "not fresh"),
    "ts not a number": (case(signed([*BASE[:4], ("ts", "1e9"), ("channels", "[]")])), "not fresh"),
    "another state": (case(genuine(), state="s2"), "not the state of your request"),
    "state expected, none sent": (case(genuine(state=None)), "not the state of your request"),
    "state sent, none expected": (case(genuine(), state=None), "not the state of your request"),
    "no consent": (
        case(signed([p for p in BASE if p[0] != "consent"] + [("channels", "[]")])),
        "no client or no consent",
    ),
    "no client": (
        case(signed([p for p in BASE if p[0] != "client"] + [("channels", "[]")])),
        "no client or no consent",
    ),
    "no lists and no error": (case(signed(BASE)), "a list of ids is missing or malformed"),
    "malformed channels": (
        case(signed([*BASE, ("channels", "[a b]")])),
        "a list of ids is missing or malformed",
    ),
    "malformed revoked": (
        case(signed([*BASE, ("channels", "[]"), ("revoked", "ch_a")])),
        "a list of ids is missing or malformed",
    ),
    "lists beside an error": (
        case(signed([*BASE, ("error", "access_denied"), ("channels", "[]")])),
        "lists beside an error",
    ),
    "lists both omitted and given": (
        case(signed([*BASE, ("lists", "omitted"), ("revoked", "[a]")])),
        "lists both omitted and given",
    ),
    "lists something else": (
        case(signed([*BASE, ("lists", "all")])),
        "lists both omitted and given",
    ),
}

CASES = {name: c for name, (c, _) in ACCEPTED.items()} | {
    name: c for name, (c, _) in REFUSED.items()
}


@pytest.fixture(scope="module")
def node() -> Iterator[NodeVerifier]:
    verifier = NodeVerifier()
    yield verifier
    verifier.close()


@pytest.fixture(scope="module")
def js_results(node: NodeVerifier) -> dict[str, dict[str, Any]]:
    """Every case of this module through the JavaScript verifier, in one batch."""
    return dict(zip(CASES, node.verify(list(CASES.values())), strict=True))


@pytest.fixture(params=["python", "javascript"])
def verify(request: pytest.FixtureRequest, js_results: dict[str, dict[str, Any]]) -> Any:
    if request.param == "python":
        return lambda name: verify_in_python(CASES[name])
    return lambda name: js_results[name]


@pytest.mark.parametrize("name", ACCEPTED)
def test_a_genuine_callback_is_accepted_and_read(verify: Any, name: str) -> None:
    the_case, expected = ACCEPTED[name]

    result = verify(name)

    assert result["ok"], result
    answer = result["answer"]
    assert (answer["client"], answer["consent"], answer["state"]) == (
        "cl_1",
        "cs_1",
        the_case.state,
    )
    assert answer | expected == answer


@pytest.mark.parametrize("name", REFUSED)
def test_a_callback_is_refused_for_the_right_reason(verify: Any, name: str) -> None:
    result = verify(name)

    assert not result["ok"], result
    assert result["reason"] == REFUSED[name][1]


def test_both_verifiers_read_every_case_alike(js_results: dict[str, dict[str, Any]]) -> None:
    for name, the_case in CASES.items():
        assert js_results[name] == verify_in_python(the_case), name


# --- the guide shows these very files ----------------------------------------------------------


def fenced(markdown: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", markdown, flags=re.DOTALL | re.MULTILINE)


@pytest.mark.parametrize(("path", "language"), [(PY_VERIFIER, "python"), (JS_VERIFIER, "js")])
def test_the_integration_guide_shows_the_verifier_files_verbatim(path: Any, language: str) -> None:
    guide = (ROOT / "docs" / "integration-guide.md").read_text()

    assert path.read_text() in fenced(guide, language)
    assert f"(verify/{path.name})" in guide  # and links the file
