"""The signed callback URL (SPEC §5.3), checked by a partner's own reading of the signature."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import pytest

from onboarding.consent.callback import callback_url
from tests.callback_verifiers import py
from tests.signatures import HEX_SHA256, query_params, signature_is_valid

# 32 bytes, base64: "secret-key-for-callback-tests-32"
SECRET = "whsec_c2VjcmV0LWtleS1mb3ItY2FsbGJhY2stdGVzdHMtMzI="
OTHER_SECRET = "whsec_b3RoZXIta2V5LWZvci1jYWxsYmFjay10ZXN0cy0zMg=="
REDIRECT_URL = "https://p.example/cb"
ISSUER = "https://hub.example"
NOW = 1_700_000_000


def build(redirect_url: str = REDIRECT_URL, **overrides: Any) -> str:
    arguments: dict[str, Any] = {
        "client_id": "cl_1",
        "consent_id": "cs_1",
        "issuer": ISSUER,
        "state": "xyz",
        "shared": ["ch_a"],
        "now": NOW,
    }
    return callback_url(redirect_url, SECRET, **(arguments | overrides))


def names(url: str) -> list[str]:
    return [name for name, _ in query_params(url)]


def values(url: str, name: str) -> list[str]:
    return [value for key, value in query_params(url) if key == name]


def with_query(url: str, pairs: list[tuple[str, str]]) -> str:
    return urlunsplit(urlsplit(url)._replace(query=urlencode(pairs)))


def test_signature_matches_one_computed_outside_python() -> None:
    # printf 'channels=%%5Bch_a%%2Cch_b%%5D&client=cl_1&consent=cs_1&'\
    #   'iss=https%%3A%%2F%%2Fhub.example&revoked=%%5Bch_c%%5D&state=a%%20b&tenant=x%%20y&'\
    #   'ts=1700000000' | openssl dgst -sha256 -mac HMAC -macopt hexkey:<decoded key>
    url = build(
        "https://p.example/cb?tenant=x%20y",
        state="a b",
        shared=["ch_a", "ch_b"],
        revoked=["ch_c"],
    )

    assert values(url, "signature") == [
        "46419045f70cf64e3dec902f946496ffa2de3d3bb2ba4747df5e7cbcf46ee2e8"
    ]


def test_parameters_come_in_the_documented_order() -> None:
    url = build("https://p.example/cb?tenant=1", revoked=["ch_b"])

    assert names(url) == [
        "tenant",
        "client",
        "channels",
        "revoked",
        "consent",
        "state",
        "iss",
        "ts",
        "signature",
    ]
    assert signature_is_valid(SECRET, url)


@pytest.mark.parametrize(
    ("redirect_url", "prefix"),
    [
        ("https://p.example/cb", "https://p.example/cb?client="),
        ("https://p.example/cb?", "https://p.example/cb?client="),
        ("https://p.example/cb?tenant=a%20b&x=1", "https://p.example/cb?tenant=a%20b&x=1&client="),
        ("https://p.example/cb?tenant=a+b", "https://p.example/cb?tenant=a+b&client="),
        ("https://p.example/cb?flag", "https://p.example/cb?flag&client="),
        # Repeated names, sorted by code point: U+FF21 before U+1F600 (UTF-16 would disagree).
        (
            "http://localhost:3000/cb?x=%F0%9F%98%80&x=%EF%BC%A1",
            "http://localhost:3000/cb?x=%F0%9F%98%80&x=%EF%BC%A1&client=",
        ),
    ],
)
def test_redirect_url_keeps_its_own_query_verbatim(redirect_url: str, prefix: str) -> None:
    url = build(redirect_url)

    assert url.startswith(prefix)
    assert signature_is_valid(SECRET, url)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda pairs: [("tenant", "a c"), *pairs[1:]], id="changed"),
        pytest.param(lambda pairs: pairs[1:], id="removed"),
        pytest.param(lambda pairs: [("x", "1"), *pairs], id="added"),
    ],
)
def test_redirect_urls_own_parameters_are_signed(change: Any) -> None:
    url = build("https://p.example/cb?tenant=a%20b")
    assert query_params(url)[0] == ("tenant", "a b")

    assert not signature_is_valid(SECRET, with_query(url, change(query_params(url))))


@pytest.mark.parametrize(
    "state",
    [
        "a+b c",
        "a&b=c",
        "=&=&",
        "?#/%",
        "%20 %zz %",
        " padded ",
        "ünïcödé ☃ 😀 日本語",
        "line\nbreak\ttab\u2028",
        "x" * 512,
        "",
    ],
)
def test_state_is_echoed_exactly(state: str) -> None:
    url = build(state=state)

    assert values(url, "state") == [state]
    assert names(url) == ["client", "channels", "consent", "state", "iss", "ts", "signature"]
    assert signature_is_valid(SECRET, url)


@pytest.mark.parametrize(("state", "present"), [(None, False), ("", True), ("s", True)])
def test_state_is_omitted_exactly_when_there_is_none(state: str | None, present: bool) -> None:
    assert ("state" in names(build(state=state))) is present


@pytest.mark.parametrize("revoked", [None, []])
def test_revoked_is_omitted_when_nothing_was_revoked(revoked: list[str] | None) -> None:
    assert "revoked" not in names(build(revoked=revoked))


def test_revoked_lists_the_revoked_ids() -> None:
    assert values(build(revoked=["ch_c", "ch_d-2"]), "revoked") == ["[ch_c,ch_d-2]"]


@pytest.mark.parametrize("shared", [None, []])
def test_channels_is_an_empty_list_when_nothing_is_shared(shared: list[str] | None) -> None:
    url = build(shared=shared)

    assert values(url, "channels") == ["[]"]
    assert signature_is_valid(SECRET, url)


def test_channels_lists_every_shared_id() -> None:
    assert values(build(shared=["ch_a", "ch_B-2_x"]), "channels") == ["[ch_a,ch_B-2_x]"]


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("s t", ["client", "error", "consent", "state", "iss", "ts", "signature"]),
        (None, ["client", "error", "consent", "iss", "ts", "signature"]),
    ],
)
def test_access_denied_carries_no_channels(state: str | None, expected: list[str]) -> None:
    url = build(state=state, error="access_denied", shared=["ch_a"], revoked=["ch_b"])

    assert names(url) == expected
    assert values(url, "error") == ["access_denied"]
    assert signature_is_valid(SECRET, url)


def test_client_consent_and_issuer_are_given_verbatim() -> None:
    url = build(client_id="cl_A-b_9", consent_id="cs_Z-y_8", issuer="https://hub.example/base/")

    assert values(url, "client") == ["cl_A-b_9"]
    assert values(url, "consent") == ["cs_Z-y_8"]
    assert values(url, "iss") == ["https://hub.example/base/"]


def test_ts_is_whole_unix_seconds() -> None:
    assert values(build(now=NOW + 0.9), "ts") == [str(NOW)]


def test_ts_defaults_to_now() -> None:
    url = callback_url(
        REDIRECT_URL, SECRET, client_id="cl_1", consent_id="cs_1", issuer=ISSUER, state=None
    )

    assert abs(int(values(url, "ts")[0]) - time.time()) <= 5


def test_signature_is_lowercase_hex() -> None:
    (signature,) = values(build(), "signature")
    assert HEX_SHA256.match(signature)


def test_another_partners_secret_does_not_verify() -> None:
    assert not signature_is_valid(OTHER_SECRET, build())


def test_parameter_order_does_not_matter_to_the_signature() -> None:
    url = build("https://p.example/cb?tenant=a%20b", revoked=["ch_b"])

    assert signature_is_valid(SECRET, with_query(url, query_params(url)[::-1]))


ALL_PARAMETERS = [
    "tenant",
    "client",
    "channels",
    "revoked",
    "consent",
    "state",
    "iss",
    "ts",
    "signature",
]


@pytest.mark.parametrize("name", ALL_PARAMETERS)
def test_changing_any_parameter_breaks_the_signature(name: str) -> None:
    url = build("https://p.example/cb?tenant=a%20b", revoked=["ch_b"])
    changed = [
        (key, (value[:-1] + ("0" if value[-1] != "0" else "1")) if key == name else value)
        for key, value in query_params(url)
    ]

    assert signature_is_valid(SECRET, url)
    assert not signature_is_valid(SECRET, with_query(url, changed))


@pytest.mark.parametrize("name", [name for name in ALL_PARAMETERS if name != "signature"])
def test_dropping_any_parameter_breaks_the_signature(name: str) -> None:
    url = build("https://p.example/cb?tenant=a%20b", revoked=["ch_b"])
    kept = [(key, value) for key, value in query_params(url) if key != name]

    assert not signature_is_valid(SECRET, with_query(url, kept))


@pytest.mark.parametrize("extra", [("error", "access_denied"), ("revoked", "[]"), ("state", "")])
def test_adding_a_parameter_breaks_the_signature(extra: tuple[str, str]) -> None:
    url = build(state=None)

    assert not signature_is_valid(SECRET, with_query(url, [*query_params(url), extra]))


# --- the rewrite that revision 1's canonical form let through (issue 7) ------------------------


def v1_signature(url: str) -> str:
    """Revision 1's signature, computed here to show the hole was real: decoded names and values
    joined as they are, so `&` and `=` inside a value read like parameter boundaries."""
    pairs = sorted(pair for pair in query_params(url) if pair[0] != "signature")
    message = "&".join(f"{name}={value}" for name, value in pairs).encode()
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def v1_signature_is_valid(url: str) -> bool:
    return values(url, "signature") == [v1_signature(url)]


def resigned_v1(url: str) -> str:
    """The same callback as revision 1 would have signed it."""
    unsigned = url[: url.rindex("&signature=")]
    return f"{unsigned}&signature={v1_signature(unsigned)}"


class TestTheTenantRewrite:
    """A client crafts `state=s1%26tenant%3D1` on a link whose registered redirect URL carries
    `?tenant=7`, then rewrites the callback so that the partner reads tenant 1."""

    REGISTERED = "https://p.example/cb?tenant=7"

    def genuine(self) -> str:
        return build(self.REGISTERED, state="s1&tenant=1")

    @staticmethod
    def rewrite(url: str) -> str:
        """Move the registered tenant behind the state's `&tenant=1`, now a parameter itself."""
        assert "?tenant=7&" in url and "&state=s1%26tenant%3D1&" in url
        rewritten = url.replace("?tenant=7&", "?", 1)
        return rewritten.replace("&state=s1%26tenant%3D1&", "&state=s1&tenant=1&tenant=7&", 1)

    def test_the_rewritten_callback_reads_as_another_tenant(self) -> None:
        forged = self.rewrite(self.genuine())

        assert values(self.genuine(), "tenant") == ["7"]
        assert values(forged, "tenant") == ["1", "7"]  # a web framework's args["tenant"] is "1"
        assert values(forged, "state") == ["s1"]

    def test_revision_1_signed_the_rewrite_too(self) -> None:
        genuine = resigned_v1(self.genuine())

        assert v1_signature_is_valid(genuine)
        assert v1_signature_is_valid(self.rewrite(genuine))

    def test_the_rewrite_no_longer_verifies(self) -> None:
        genuine = self.genuine()
        forged = self.rewrite(genuine)

        assert signature_is_valid(SECRET, genuine)
        assert not signature_is_valid(SECRET, forged)
        assert not v1_signature_is_valid(genuine)  # the product signs revision 2 only

    def test_the_docs_verifier_refuses_the_rewrite(self) -> None:
        expect = {"signing_secret": SECRET, "issuer": ISSUER, "now": NOW}
        genuine = self.genuine()

        answer = py.verify_callback(genuine, state="s1&tenant=1", **expect)
        assert (answer.client, answer.consent, answer.state) == ("cl_1", "cs_1", "s1&tenant=1")
        with pytest.raises(py.CallbackError, match="wrong signature"):
            py.verify_callback(self.rewrite(genuine), state="s1", **expect)

    def test_smuggling_one_of_the_hubs_own_parameters_is_refused_twice_over(self) -> None:
        """A state that carries `channels=[…]`, let out of its value: a repeated hub name."""
        genuine = build(state="x&channels=[ch_evil]")
        forged = genuine.replace("state=x%26channels%3D%5Bch_evil%5D", "state=x&channels=[ch_evil]")

        assert values(forged, "channels") == ["[ch_a]", "[ch_evil]"]
        assert not signature_is_valid(SECRET, forged)
        with pytest.raises(py.CallbackError, match="channels appears more than once"):
            py.verify_callback(forged, signing_secret=SECRET, issuer=ISSUER, state="x", now=NOW)
