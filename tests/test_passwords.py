"""Which passwords may be chosen (issue 9): at least 12 characters, none of the most common ones.
The rule is one function, used by signup, reset, change, joining staff and the CLI."""

from __future__ import annotations

import pytest

from onboarding.accounts import check_new_login, check_new_password, is_common_password
from onboarding.errors import InvalidInput


@pytest.mark.parametrize(
    "password",
    ["eleven char", "x" * 201, "qwerty123456", "QWERTY123456", "passwordpassword", "1q2w3e4r5t6y"],
    ids=["11 characters", "201 characters", "common", "common, other case", "common twice", "walk"],
)
def test_short_long_and_common_passwords_are_refused(password: str) -> None:
    with pytest.raises(InvalidInput):
        check_new_password(password)


@pytest.mark.parametrize("password", ["twelve chars", "correct horse battery", "x" * 200])
def test_long_enough_uncommon_passwords_are_accepted(password: str) -> None:
    check_new_password(password)
    assert check_new_login("Someone@Example.com", password) == "someone@example.com"


def test_the_common_list_is_the_real_one() -> None:
    assert is_common_password("password") and is_common_password("123456789")
    assert not is_common_password("a quiet lantern at noon")
