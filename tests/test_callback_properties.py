"""Properties of the callback signature (SPEC §5.3), on generated input (hypothesis):

(a) the canonical string determines the parameters, so two lists that differ as multisets never
    share one (and so never a signature);
(b) on generated callbacks, the product, the suite's verifier (tests/signatures.py) and the two
    verifiers the docs ship (docs/verify/, the JavaScript one in one node process) all accept the
    genuine URL and all refuse it once any one character of any value is changed.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlencode, urlsplit

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from onboarding.consent.callback import callback_url, canonical, sign
from tests.callback_verifiers import Case, NodeVerifier, py, verify_in_python
from tests.signatures import signature_is_valid

SECRET = "whsec_c2VjcmV0LWtleS1mb3ItY2FsbGJhY2stdGVzdHMtMzI="
NOW = 1_700_000_000

# Text that has broken query signatures before: separators, escapes, `+`, spaces, the empty string.
AWKWARD = ["", "+", "%", "&", "=", "~", " ", "%26", "%3D", "%2B", "%zz", "a=b&c=d", "&=", "é", "😀"]
texts = st.lists(
    st.one_of(
        st.text(max_size=8),  # any code point but surrogates, which UTF-8 cannot carry
        st.sampled_from(AWKWARD),
        st.text(alphabet="+%&=~ a0", max_size=6),
    ),
    max_size=4,
).map("".join)
params = st.lists(st.tuples(texts.filter(lambda name: name != "signature"), texts), max_size=6)


# --- (a) the canonical string ---------------------------------------------------------------


def read_back(message: bytes) -> list[tuple[str, str]]:
    """The parameters a canonical string was made of: it splits at `&` and `=` unambiguously,
    since both are encoded inside names and values."""
    if not message:
        return []
    pairs = [item.split("=") for item in message.decode("ascii").split("&")]
    assert all(len(pair) == 2 for pair in pairs)
    return [
        (unquote(name, errors="strict"), unquote(value, errors="strict")) for name, value in pairs
    ]


@settings(max_examples=400, deadline=None)
@given(params)
def test_the_canonical_string_determines_the_parameters(pairs: list[tuple[str, str]]) -> None:
    assert Counter(read_back(canonical(pairs))) == Counter(pairs)


@settings(max_examples=300, deadline=None)
@given(params, params)
def test_different_parameters_never_share_a_canonical_string(
    one: list[tuple[str, str]], other: list[tuple[str, str]]
) -> None:
    assume(Counter(one) != Counter(other))

    assert canonical(one) != canonical(other)


def v1_resplit(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Revision 1's message of `pairs`, read back as parameters: the lists it could not tell
    apart from `pairs` (the rewrite of issue 7 is one of them)."""
    message = "&".join(f"{name}={value}" for name, value in sorted(pairs))
    return [
        (name, value) for name, _, value in (item.partition("=") for item in message.split("&"))
    ]


@settings(max_examples=300, deadline=None)
@given(params)
def test_what_fooled_revision_1_does_not_fool_revision_2(pairs: list[tuple[str, str]]) -> None:
    smuggled = v1_resplit(pairs)
    assume(Counter(smuggled) != Counter(pairs) and smuggled and pairs)

    assert canonical(smuggled) != canonical(pairs)


def test_revision_1_could_not_tell_them_apart() -> None:
    """The last property is not empty: revision 1 signed these two lists alike."""
    pairs = [("state", "s1&tenant=1"), ("tenant", "7")]
    smuggled = v1_resplit(pairs)

    assert smuggled == [("state", "s1"), ("tenant", "1"), ("tenant", "7")]
    assert v1_resplit(smuggled) == smuggled
    assert canonical(smuggled) != canonical(pairs)


# --- (b) four verifiers, one verdict ----------------------------------------------------------

HUB_NAMES = frozenset(py.HUB_PARAMS)
ids = st.from_regex(r"ch_[A-Za-z0-9_-]{1,16}", fullmatch=True)


@st.composite
def callbacks(draw: st.DrawFn) -> Case:
    """A callback as the product makes it, and what its partner expects."""
    own = draw(st.lists(st.tuples(texts.filter(lambda n: n not in HUB_NAMES), texts), max_size=4))
    quote_via: Callable[..., str] = draw(st.sampled_from([quote_plus, quote]))
    path = draw(st.sampled_from(["https://p.example/cb", "http://localhost:3000/a/b"]))
    redirect_url = f"{path}?{urlencode(own, quote_via=quote_via)}" if own else path
    issuer = draw(st.sampled_from(["https://hub.example", "https://hub.example/t/?a=b&c", "x"]))
    state = draw(st.one_of(st.none(), texts, st.text(max_size=512)))
    answer: dict[str, Any] = draw(
        st.one_of(
            st.just({"error": "access_denied"}),
            st.fixed_dictionaries(
                {"shared": st.lists(ids, max_size=4), "revoked": st.lists(ids, max_size=3)}
            ),
        )
    )
    url = callback_url(
        redirect_url,
        SECRET,
        client_id=draw(ids.map(lambda i: "cl" + i[2:])),
        consent_id=draw(ids.map(lambda i: "cs" + i[2:])),
        issuer=issuer,
        state=state,
        now=NOW,
        **answer,
    )
    return Case(url=url, signing_secret=SECRET, issuer=issuer, state=state, now=NOW)


def query(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


def with_query(url: str, pairs: list[tuple[str, str]]) -> str:
    """The URL with its query written afresh (`%20` for spaces, unlike the product's `+`)."""
    return urlsplit(url)._replace(query=urlencode(pairs, quote_via=quote)).geturl()


def changed(value: str, at: int, to: str) -> str:
    """`value` with one character replaced (or, when empty, one added)."""
    if not value:
        return to
    at %= len(value)
    return value[:at] + to + value[at + 1 :]


def product_accepts(url: str) -> bool:
    pairs = query(url)
    given_signatures = [value for name, value in pairs if name == "signature"]
    return given_signatures == [sign(SECRET, pairs)]


@pytest.fixture(scope="module")
def node() -> Iterator[NodeVerifier]:
    verifier = NodeVerifier()
    yield verifier
    verifier.close()


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(callback=callbacks(), data=st.data())
def test_every_verifier_accepts_the_genuine_callback_and_refuses_any_changed_value(
    node: NodeVerifier, callback: Case, data: st.DataObject
) -> None:
    pairs = query(callback.url)
    index = data.draw(st.integers(0, len(pairs) - 1), label="parameter")
    name, value = pairs[index]
    at = data.draw(st.integers(0, 10**6), label="position")
    to = data.draw(st.characters().filter(lambda c: value == "" or c != value[at % len(value)]))
    tampered = [*pairs[:index], (name, changed(value, at, to)), *pairs[index + 1 :]]
    rewritten = dataclasses.replace(
        callback, url=with_query(callback.url, pairs)
    )  # the same, re-encoded
    forged = dataclasses.replace(callback, url=with_query(callback.url, tampered))
    cases = [callback, rewritten, forged]

    in_python = [verify_in_python(case) for case in cases]
    in_node = node.verify(cases)

    assert [product_accepts(case.url) for case in cases] == [True, True, False]
    assert [signature_is_valid(SECRET, case.url) for case in cases] == [True, True, False]
    assert [result["ok"] for result in in_python] == [True, True, False], in_python
    assert in_python[0]["answer"]["state"] == callback.state
    assert in_node == in_python
