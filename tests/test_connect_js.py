"""static/connect.js, its logic in node against fake windows (tests/connect_js_harness.js).

The harness reports what the script did in each scenario; every judgement is made here. The
browser side (real popups, real origins) is e2e/test_connect_popup.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

HARNESS = Path(__file__).with_name("connect_js_harness.js")
PARTNER = "https://app.partner.example"
LINK = "https://hub.example/partners/pa_1/permission?state=s1&sig=00"
RESULT = {"client": "cl_1", "channels": ["ch_1"], "consent": "cs_1"}
WAITING = {"results": [], "cancels": 0, "popup_closed": False, "listening": 1, "timers": 1}
DONE = {"listening": 0, "timers": 0}  # no listener and no poll left behind


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    node = shutil.which("node")
    assert node is not None, "node (Node.js 18+) is needed to test static/connect.js"
    ran = subprocess.run(  # noqa: S603  (the machine's node on our own file)
        [node, str(HARNESS)], capture_output=True, text=True, timeout=60, check=True
    )
    scenarios: dict[str, Any] = json.loads(ran.stdout)
    crashed = {name: s["crash"] for name, s in scenarios.items() if "crash" in s}
    assert crashed == {}
    return scenarios


def waiting(state: dict[str, Any]) -> bool:
    return {key: state[key] for key in WAITING} == WAITING


def test_open_opens_one_named_popup_and_waits(report: dict[str, Any]) -> None:
    scenario = report["opens_popup"]
    assert scenario["opened"] == [
        {
            "url": LINK,
            "name": "onboarding-connect",
            "features": "popup=yes,width=520,height=720,left=380,top=40",
        }
    ]
    assert scenario["focused"] == 1
    assert waiting(scenario)
    assert scenario["assigned"] == []  # no redirect while the popup is there


def test_the_popups_answer_reaches_on_result_once_and_closes_it(report: dict[str, Any]) -> None:
    scenario = report["result_from_popup"]
    assert scenario["results"] == [RESULT]  # the second copy of the message changed nothing
    assert scenario["cancels"] == 0  # closing after the answer is not a cancel
    assert scenario["popup_closed"] is True
    assert scenario.items() >= DONE.items()


def test_messages_from_other_origins_are_ignored(report: dict[str, Any]) -> None:
    """Right window, wrong origin: a third site, the hub's own pages in the popup, http for
    https, a default port written out, an opaque origin."""
    assert waiting(report["other_origins"])


def test_messages_from_other_windows_are_ignored(report: dict[str, Any]) -> None:
    """Right origin, wrong window: the opener itself, another window of the partner's origin,
    no source at all."""
    assert waiting(report["other_windows"])


def test_malformed_messages_are_ignored_and_the_answer_still_counts(
    report: dict[str, Any],
) -> None:
    scenario = report["malformed_then_valid"]
    assert waiting(scenario["after_malformed"])
    assert scenario["after_valid"]["results"] == [RESULT]


def test_closing_the_popup_calls_on_cancel_once(report: dict[str, Any]) -> None:
    scenario = report["closed_by_client"]
    assert waiting(scenario["while_open"])
    after = scenario["after_close"]
    assert after["cancels"] == 1  # two polls after closing: one call
    assert after["results"] == []  # a message after the cancel is not an answer any more
    assert after.items() >= DONE.items()


def test_a_blocked_popup_falls_back_to_the_plain_redirect(report: dict[str, Any]) -> None:
    scenario = report["popup_blocked"]
    assert scenario["handle"] is None
    assert scenario["assigned"] == [LINK]
    assert scenario.items() >= {**DONE, "called": 0}.items()


def test_the_default_origin_is_the_openers_own(report: dict[str, Any]) -> None:
    scenario = report["default_origin"]
    assert scenario["results"] == [RESULT]  # from the opener's origin; the third one ignored


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("star", "origin must be an exact origin"),
        ("trailing_slash", "origin must be an exact origin"),
        ("default_port", "origin must be an exact origin"),
        ("path", "origin must be an exact origin"),
        ("not_a_url", "origin must be an exact origin"),
        ("no_url", "url is required"),
        ("no_on_result", "onResult must be a function"),
    ],
)
def test_open_refuses_bad_options_before_opening(
    report: dict[str, Any], case: str, message: str
) -> None:
    refused = report["refused_options"][case]
    assert refused["opened"] == 0
    assert refused["error"]["name"] == "TypeError"
    assert message in refused["error"]["message"]


def test_a_second_open_ends_the_first_wait(report: dict[str, Any]) -> None:
    """Both use the one named popup: the answer reaches the second caller only, once."""
    scenario = report["opened_twice"]
    assert scenario["listening_between"] == 1
    assert scenario["first"]["results"] == [] and scenario["first"]["cancels"] == 0
    assert scenario["second"] == {"results": [RESULT], "cancels": 0}
    assert scenario["first"].items() >= DONE.items()


def test_cancel_closes_the_popup_and_calls_nothing(report: dict[str, Any]) -> None:
    scenario = report["cancel_handle"]
    assert scenario["popup_closed"] is True
    assert scenario["results"] == [] and scenario["cancels"] == 0
    assert scenario.items() >= DONE.items()


def test_finish_posts_the_result_to_the_exact_origin(report: dict[str, Any]) -> None:
    scenario = report["finish_posts_to_the_exact_origin"]
    assert scenario["sent"] is True
    assert scenario["posted"] == [
        {
            "data": {"type": "onboarding-connect:result", "version": 1, "result": RESULT},
            "targetOrigin": PARTNER,
        }
    ]


def test_finish_without_an_opener_leaves_the_page_to_show_the_result(
    report: dict[str, Any],
) -> None:
    scenario = report["finish_without_opener"]
    assert scenario == {"no_opener": False, "opener_closed": False, "posted": []}


@pytest.mark.parametrize("case", ["star", "no_origin", "trailing_slash", "not_an_object"])
def test_finish_refuses_a_wildcard_or_inexact_origin(report: dict[str, Any], case: str) -> None:
    scenario = report["finish_refuses"]
    assert scenario[case]["name"] == "TypeError"
    assert scenario["posted"] == []
