"""The parts password reset and invitation links share: the link error and the password rules.

Both kinds of link are tokens signed with the server's secret key (itsdangerous), carried in the
query string so that the request log, which drops query strings, never records them.
"""

from __future__ import annotations

from typing import Literal

from citizenry.tenancy.users import MIN_PASSWORD_LENGTH

#: Why a link cannot be used: damaged or for another nation, too old, or already used.
LinkProblem = Literal["invalid", "expired", "used"]


class InvalidLink(Exception):
    """A password reset or invitation link that cannot be used, and why."""

    def __init__(self, *, reason: LinkProblem) -> None:
        super().__init__(reason)
        self.reason: LinkProblem = reason


def password_problems(password: str, confirmation: str) -> list[str]:
    """Return what is wrong with a new password, by the rules of ``citizenry user create``."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")
    if password != confirmation:
        problems.append("The two passwords differ. Type the same new password in both fields.")
    return problems
