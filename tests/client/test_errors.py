"""Each API error Citizenry sends arrives as its own exception class, with the whole body."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session

from citizenry.client import (
    ApiError,
    BadRequest,
    InsufficientScope,
    MissingParameters,
    MultipleMatches,
    NoMatches,
    NotAcceptable,
    NotAuthenticated,
    NotFound,
    ResponseError,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)
from citizenry.store.models import Nation as NationRow
from tests.client.conftest import Blocking, Connect, Nation


def _missing_root_key(api: Blocking) -> Any:
    return api.request("POST", "/api/v1/people", json={"first_name": "Ada"})


def _forged_page_token(api: Blocking) -> Any:
    return api.request("GET", "/api/v1/people", params={"__nonce": "AAAA", "__token": "forged"})


def _html_only(api: Blocking) -> Any:
    return api.request("GET", "/api/v1/people", headers={"Accept": "text/html"})


def _text_body(api: Blocking) -> Any:
    return api.request("POST", "/api/v1/people", json={"person": {}}, headers={"Content-Type": "text/plain"})


def _two_matches(api: Blocking) -> Any:
    for _ in range(2):
        api.create_person({"first_name": "Twin", "last_name": "Same"})
    return api.match_person(first_name="Twin", last_name="Same")


CASES: list[tuple[str, Callable[[Blocking], Any], type[ApiError], int, str]] = [
    ("not_found", lambda api: api.get_person(999_999_999), NotFound, 404, "not_found"),
    (
        "unknown_field",
        lambda api: api.create_person({"no_such_field": 1}),
        ValidationFailed,
        400,
        "validation_failed",
    ),
    ("missing_root_key", _missing_root_key, MissingParameters, 400, "missing_parameters"),
    ("forged_page_token", _forged_page_token, BadRequest, 400, "bad_request"),
    ("html_only", _html_only, NotAcceptable, 406, "not_acceptable"),
    ("text_body", _text_body, UnsupportedMediaType, 415, "unsupported_media_type"),
    ("no_matches", lambda api: api.match_person(email="nobody@example.org"), NoMatches, 400, "no_matches"),
    ("multiple_matches", _two_matches, MultipleMatches, 400, "multiple_matches"),
]


@pytest.mark.parametrize(
    ("call", "error_class", "status", "code"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_error_class_by_code(
    connect: Connect,
    nation: Nation,
    call: Callable[[Blocking], Any],
    error_class: type[ApiError],
    status: int,
    code: str,
) -> None:
    api = connect(nation.base_url, access_token=nation.api_token())

    with pytest.raises(ResponseError) as caught:
        call(api)

    error = caught.value
    assert type(error) is error_class
    assert error.status_code == status
    assert error.code == code
    assert isinstance(error.body, dict)
    assert error.body["code"] == code
    assert error.message == error.body["message"]


def test_validation_errors_listed(connect: Connect, nation: Nation) -> None:
    api = connect(nation.base_url, access_token=nation.api_token())

    with pytest.raises(ValidationFailed) as caught:
        api.create_person({"no_such_field": 1, "first_name": 7})

    error = caught.value
    assert error.body == {
        "code": "validation_failed",
        "message": error.message,
        "validation_errors": error.validation_errors,
    }
    assert len(error.validation_errors) == 2


def test_missing_parameters_named(connect: Connect, nation: Nation) -> None:
    api = connect(nation.base_url, access_token=nation.api_token())

    with pytest.raises(MissingParameters) as caught:
        _missing_root_key(api)

    error = caught.value
    assert error.parameters == ["person"]
    assert error.body == {
        "code": "missing_parameters",
        "message": error.message,
        "parameters": ["person"],
        "inner_error": error.body["inner_error"],
    }
    assert set(error.body["inner_error"]) == {"name", "message"}


def test_bad_token_is_unauthorized(connect: Connect, nation: Nation) -> None:
    api = connect(nation.base_url, access_token="0" * 64)

    with pytest.raises(Unauthorized) as caught:
        api.count_people()

    assert caught.value.status_code == 401
    assert caught.value.body == {"code": "unauthorized", "message": caught.value.message}
    assert "0" * 64 not in str(caught.value)


def test_strict_staffer_is_insufficient_scope(connect: Connect, nation: Nation) -> None:
    def make_strict(session: Session) -> None:
        row = session.get(NationRow, nation.nation.id)
        assert row is not None
        row.strict_profile = True

    nation.factory.database.transaction(make_strict)
    staffer = nation.factory.user(nation.nation, level="staffer")
    api = connect(nation.base_url, access_token=nation.api_token(staffer))

    with pytest.raises(InsufficientScope) as caught:
        api.count_people()

    assert caught.value.status_code == 403
    assert caught.value.body == {"code": "insufficient_scope", "message": caught.value.message}


def test_no_token_is_not_authenticated(connect: Connect, nation: Nation) -> None:
    api = connect(nation.base_url)

    with pytest.raises(NotAuthenticated):
        api.count_people()
