"""Errors shared by every surface. Each surface renders them in its own format in one place."""

from __future__ import annotations


class CitizenryError(Exception):
    """Base class of the errors services raise."""


class NationNotFound(CitizenryError):
    """No nation matches the slug the request resolved to, or the request named no nation."""

    def __init__(self, *, slug: str | None) -> None:
        self.slug = slug
        super().__init__(f"no nation has the slug {slug!r}" if slug else "the request names no nation")
