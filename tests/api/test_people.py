"""GET /api/v1/people: tokens, the abbreviated person, pagination, content negotiation and errors."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from sqlalchemy import delete, update
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from citizenry.store.models import Membership, TestToken
from tests.factory import CALLBACK, Factory, NationInfo, UserInfo
from tests.flows import authorize, exchange_params

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

ABBREVIATED_PERSON_KEYS = {
    "id",
    "created_at",
    "updated_at",
    "first_name",
    "middle_name",
    "last_name",
    "email",
    "phone",
    "mobile",
    "work_phone_number",
    "employer",
    "occupation",
    "note",
    "party",
    "sex",
    "birthdate",
    "email_opt_in",
    "mobile_opt_in",
    "do_not_call",
    "do_not_contact",
    "has_facebook",
    "is_twitter_follower",
    "is_volunteer",
    "support_level",
    "signup_type",
    "tags",
    "primary_address",
    "profile_image_url_ssl",
    "precinct_id",
    "recruiter_id",
    "civicrm_id",
    "county_file_id",
    "datatrust_id",
    "dw_id",
    "external_id",
    "linkedin_id",
    "nbec_guid",
    "ngp_id",
    "pf_strat_id",
    "rnc_id",
    "rnc_regid",
    "salesforce_id",
    "state_file_id",
    "twitter_id",
    "twitter_name",
    "van_id",
    "city_district",
    "county_district",
    "federal_district",
    "fire_district",
    "judicial_district",
    "labour_region",
    "school_district",
    "school_sub_district",
    "state_lower_district",
    "state_upper_district",
    "supranational_district",
    "village_district",
    "ward",
}

#: Fields that ``Factory.people`` leaves unset and that have no column default.
NULL_FIELDS = ABBREVIATED_PERSON_KEYS - {
    "id",
    "created_at",
    "updated_at",
    "first_name",
    "last_name",
    "email",
    "email_opt_in",
    "mobile_opt_in",
    "do_not_call",
    "do_not_contact",
    "has_facebook",
    "is_twitter_follower",
    "is_volunteer",
    "signup_type",
    "tags",
    "profile_image_url_ssl",
}

FALSE_FIELDS = (
    "email_opt_in",
    "mobile_opt_in",
    "do_not_call",
    "do_not_contact",
    "has_facebook",
    "is_twitter_follower",
    "is_volunteer",
)


def _setup(factory: Factory) -> tuple[NationInfo, UserInfo, str]:
    nation = factory.nation()
    user = factory.user(nation)
    return nation, user, factory.test_token(nation, user)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _people_url(nation: NationInfo, query: str = "") -> str:
    url = f"{nation.prefix}/api/v1/people"
    return f"{url}?{query}" if query else url


def _query_of(link: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(link).query)


def _ids(body: dict[str, Any]) -> list[int]:
    return [person["id"] for person in body["results"]]


def _follow_next(client: TestClient, token: str, url: str, prefix: str) -> tuple[list[int], int]:
    """Follow ``next`` links from ``url`` until one is null. Return the ids read and the number of pages.

    Links are ``/api/v1/...`` paths, appended to the nation's base URL as clients do.
    """
    ids: list[int] = []
    pages = 0
    link: str | None = url
    while link is not None:
        response = client.get(link, headers=_bearer(token))
        assert response.status_code == 200, response.text
        body = response.json()
        ids.extend(_ids(body))
        pages += 1
        assert pages <= 50, "the listing does not end"
        link = prefix + body["next"] if body["next"] else None
    return ids, pages


def _assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"code", "message"}
    assert body["code"] == code
    assert isinstance(body["message"], str)
    assert body["message"]


def _assert_unauthorized(response: Any) -> None:
    _assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")


# Tokens


def test_test_token_in_header(client: TestClient, factory: Factory) -> None:
    nation, _, token = _setup(factory)
    ids = factory.people(nation, 3)

    response = client.get(_people_url(nation), headers=_bearer(token))

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"results", "next", "prev"}
    assert _ids(body) == ids
    assert body["next"] is None
    assert body["prev"] is None


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "BeArEr"])
def test_scheme_is_case_insensitive(client: TestClient, factory: Factory, scheme: str) -> None:
    nation, _, token = _setup(factory)
    ids = factory.people(nation, 1)

    response = client.get(_people_url(nation), headers={"Authorization": f"{scheme} {token}"})

    assert response.status_code == 200, response.text
    assert _ids(response.json()) == ids


def test_access_token_query_parameter(client: TestClient, factory: Factory) -> None:
    nation, _, token = _setup(factory)
    ids = factory.people(nation, 2)

    response = client.get(_people_url(nation, urlencode({"access_token": token})))

    assert response.status_code == 200, response.text
    assert _ids(response.json()) == ids


def test_host_header_form(client: TestClient, factory: Factory) -> None:
    nation, _, token = _setup(factory)
    ids = factory.people(nation, 12)

    response = client.get(f"http://{nation.slug}.localhost/api/v1/people", headers=_bearer(token))

    assert response.status_code == 200, response.text
    body = response.json()
    assert _ids(body) == ids[:10]
    assert body["prev"] is None
    # Without a path prefix, the links start at the root.
    assert body["next"].startswith("/api/v1/people?")
    following = client.get(f"http://{nation.slug}.localhost{body['next']}", headers=_bearer(token))
    assert following.status_code == 200, following.text
    assert _ids(following.json()) == ids[10:]


def test_oauth_access_token_works(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    user = factory.user(nation)
    app = factory.app(nation)
    ids = factory.people(nation, 2)
    params = {"response_type": "code", "client_id": app.client_id, "redirect_uri": CALLBACK, "state": "s1"}
    code = authorize(client, nation.prefix, user.email, params)["code"]
    exchange = client.post(
        f"{nation.prefix}/oauth/token",
        json=exchange_params(app, code),
        headers={"Accept": "application/json"},
    )
    assert exchange.status_code == 200, exchange.text
    access_token = exchange.json()["access_token"]
    # The flow leaves a panel session cookie, and the API must work without it.
    client.cookies.clear()

    response = client.get(_people_url(nation), headers=_bearer(access_token))

    assert response.status_code == 200, response.text
    assert _ids(response.json()) == ids


# The abbreviated person


def test_abbreviated_person_fields(client: TestClient, factory: Factory) -> None:
    nation, _, token = _setup(factory)
    (person_id,) = factory.people(nation, 1)

    response = client.get(_people_url(nation), headers=_bearer(token))

    assert response.status_code == 200, response.text
    (person,) = response.json()["results"]
    assert set(person) == ABBREVIATED_PERSON_KEYS
    assert person["id"] == person_id
    assert person["first_name"] == "First0"
    assert person["last_name"] == "Last0"
    assert person["email"] == "p0@example.org"
    for name in FALSE_FIELDS:
        assert person[name] is False, name
    assert person["signup_type"] == 0
    assert isinstance(person["signup_type"], int)
    assert person["tags"] == []
    for name in sorted(NULL_FIELDS):
        assert person[name] is None, name


def test_person_timestamps_end_in_z(client: TestClient, factory: Factory) -> None:
    nation, _, token = _setup(factory)
    factory.people(nation, 1)

    response = client.get(_people_url(nation), headers=_bearer(token))

    assert response.status_code == 200, response.text
    (person,) = response.json()["results"]
    now = datetime.now(UTC)
    for name in ("created_at", "updated_at"):
        value = person[name]
        assert TIMESTAMP.match(value), value
        moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        assert abs(moment - now) < timedelta(minutes=1), value


def test_profile_image_url_is_served(client: TestClient, factory: Factory) -> None:
    nation, _, token = _setup(factory)
    factory.people(nation, 1)

    response = client.get(_people_url(nation), headers=_bearer(token))

    assert response.status_code == 200, response.text
    (person,) = response.json()["results"]
    image_url = person["profile_image_url_ssl"]
    assert image_url == f"http://testserver{nation.prefix}/static/avatar.svg"
    image = client.get(image_url)
    assert image.status_code == 200
    assert image.headers["content-type"].startswith("image/svg+xml")


# Pagination


def test_default_page_size_ten(client: TestClient, factory: Factory) -> None:
    nation, _, token = _setup(factory)
    ids = factory.people(nation, 25)

    response = client.get(_people_url(nation), headers=_bearer(token))

    assert response.status_code == 200, response.text
    body = response.json()
    assert _ids(body) == ids[:10]
    assert body["prev"] is None
    assert body["next"].startswith("/api/v1/people?")
    assert _query_of(body["next"])["limit"] == ["10"]


def test_next_visits_every_person(client: TestClient, factory: Factory) -> None:
    nation, _, token = _setup(factory)
    ids = factory.people(nation, 25)

    seen, pages = _follow_next(client, token, _people_url(nation), nation.prefix)

    assert seen == sorted(ids)
    assert len(set(seen)) == 25
    assert pages == 3


def test_links_are_api_paths(client: TestClient, factory: Factory) -> None:
    nation, _, token = _setup(factory)
    factory.people(nation, 25)

    first = client.get(_people_url(nation), headers=_bearer(token)).json()
    second = client.get(nation.prefix + first["next"], headers=_bearer(token)).json()

    for link in (first["next"], second["next"], second["prev"]):
        assert link.startswith("/api/v1/people?"), link
        query = _query_of(link)
        assert set(query) == {"__nonce", "__token", "limit"}, link


def test_last_page_has_no_next(client: TestClient, factory: Factory) -> None:
    nation, _, token = _setup(factory)
    ids = factory.people(nation, 20)

    first = client.get(_people_url(nation), headers=_bearer(token)).json()
    second = client.get(nation.prefix + first["next"], headers=_bearer(token)).json()

    assert _ids(second) == ids[10:]
    assert second["next"] is None
    assert second["prev"] is not None


def test_prev_returns_first_page(client: TestClient, factory: Factory) -> None:
    nation, _, token = _setup(factory)
    ids = factory.people(nation, 25)
    first = client.get(_people_url(nation), headers=_bearer(token)).json()
    second = client.get(nation.prefix + first["next"], headers=_bearer(token)).json()
    assert _ids(second) == ids[10:20]

    response = client.get(nation.prefix + second["prev"], headers=_bearer(token))

    assert response.status_code == 200, response.text
    back = response.json()
    assert _ids(back) == ids[:10]
    assert back["prev"] is None
    following = client.get(nation.prefix + back["next"], headers=_bearer(token))
    assert following.status_code == 200, following.text
    assert _ids(following.json()) == ids[10:20]


def test_empty_nation_lists_nothing(client: TestClient, factory: Factory) -> None:
    nation, _, token = _setup(factory)

    response = client.get(_people_url(nation), headers=_bearer(token))

    assert response.status_code == 200, response.text
    assert response.json() == {"results": [], "next": None, "prev": None}


def test_limit_three(client: TestClient, factory: Factory) -> None:
    nation, _, token = _setup(factory)
    ids = factory.people(nation, 7)

    response = client.get(_people_url(nation, "limit=3"), headers=_bearer(token))

    assert response.status_code == 200, response.text
    body = response.json()
    assert _ids(body) == ids[:3]
    assert _query_of(body["next"])["limit"] == ["3"]
    seen, pages = _follow_next(client, token, _people_url(nation, "limit=3"), nation.prefix)
    assert seen == ids
    assert pages == 3


def test_repeated_limit_last_wins(client: TestClient, factory: Factory) -> None:
    nation, _, token = _setup(factory)
    ids = factory.people(nation, 7)

    response = client.get(_people_url(nation, "limit=5&limit=3"), headers=_bearer(token))

    assert response.status_code == 200, response.text
    body = response.json()
    assert _ids(body) == ids[:3]
    assert _query_of(body["next"])["limit"] == ["3"]


def test_limit_capped_at_hundred(client: TestClient, factory: Factory) -> None:
    nation, _, token = _setup(factory)
    ids = factory.people(nation, 101)

    response = client.get(_people_url(nation, "limit=500"), headers=_bearer(token))

    assert response.status_code == 200, response.text
    body = response.json()
    assert _ids(body) == ids[:100]
    assert _query_of(body["next"])["limit"] == ["100"]


@pytest.mark.parametrize("limit", ["0", "abc", "-1", "1.5", "", " 5"])
def test_invalid_limit_is_400(client: TestClient, factory: Factory, limit: str) -> None:
    nation, _, token = _setup(factory)
    factory.people(nation, 1)

    response = client.get(_people_url(nation, urlencode({"limit": limit})), headers=_bearer(token))

    _assert_error(response, 400, "bad_request")


def test_superscript_limit_is_400(client: TestClient, factory: Factory) -> None:
    nation, _, token = _setup(factory)
    factory.people(nation, 1)

    response = client.get(_people_url(nation, urlencode({"limit": "²"})), headers=_bearer(token))

    _assert_error(response, 400, "bad_request")


def test_rebuilt_url_continues_listing(client: TestClient, factory: Factory) -> None:
    nation, _, token = _setup(factory)
    ids = factory.people(nation, 25)
    first = client.get(_people_url(nation), headers=_bearer(token)).json()
    query = _query_of(first["next"])
    rebuilt = {"__nonce": query["__nonce"][0], "__token": query["__token"][0], "limit": "7"}

    response = client.get(_people_url(nation, urlencode(rebuilt)), headers=_bearer(token))

    assert response.status_code == 200, response.text
    assert _ids(response.json()) == ids[10:17]
    seen, _ = _follow_next(client, token, _people_url(nation, urlencode(rebuilt)), nation.prefix)
    assert seen == ids[10:]


def test_rebuilt_url_without_limit(client: TestClient, factory: Factory) -> None:
    nation, _, token = _setup(factory)
    ids = factory.people(nation, 12)
    first = client.get(_people_url(nation, "limit=4"), headers=_bearer(token)).json()
    query = _query_of(first["next"])
    rebuilt = {"__nonce": query["__nonce"][0], "__token": query["__token"][0]}

    response = client.get(_people_url(nation, urlencode(rebuilt)), headers=_bearer(token))

    assert response.status_code == 200, response.text
    # The token keeps the page size it was minted with.
    assert _ids(response.json()) == ids[4:8]


def test_forged_page_token_is_400(client: TestClient, factory: Factory) -> None:
    nation, _, token = _setup(factory)
    factory.people(nation, 25)
    first = client.get(_people_url(nation), headers=_bearer(token)).json()
    query = _query_of(first["next"])
    genuine = query["__token"][0]
    forged_tokens = [
        # A character inside the signature: the last one also carries unused padding bits.
        genuine[:-5] + ("A" if genuine[-5] != "A" else "B") + genuine[-4:],
        "forged",
        "",
    ]

    for forged in forged_tokens:
        params = {"__nonce": query["__nonce"][0], "__token": forged, "limit": "10"}
        response = client.get(_people_url(nation, urlencode(params)), headers=_bearer(token))
        _assert_error(response, 400, "bad_request")


def test_mismatched_nonce_is_400(client: TestClient, factory: Factory) -> None:
    nation, _, token = _setup(factory)
    factory.people(nation, 25)
    first = client.get(_people_url(nation), headers=_bearer(token)).json()
    second = client.get(nation.prefix + first["next"], headers=_bearer(token)).json()
    first_query = _query_of(first["next"])
    second_query = _query_of(second["next"])

    for nonce in (second_query["__nonce"][0], "x", ""):
        params = {"__nonce": nonce, "__token": first_query["__token"][0]}
        response = client.get(_people_url(nation, urlencode(params)), headers=_bearer(token))
        _assert_error(response, 400, "bad_request")
    only_nonce = client.get(
        _people_url(nation, urlencode({"__nonce": first_query["__nonce"][0]})), headers=_bearer(token)
    )
    _assert_error(only_nonce, 400, "bad_request")


def test_page_token_of_other_nation(client: TestClient, factory: Factory) -> None:
    nation, _, token = _setup(factory)
    factory.people(nation, 25)
    other, _, other_token = _setup(factory)
    factory.people(other, 25)
    first = client.get(_people_url(nation), headers=_bearer(token)).json()

    response = client.get(
        f"{other.prefix}/api/v1/people?{urlsplit(first['next']).query}", headers=_bearer(other_token)
    )

    _assert_error(response, 400, "bad_request")


# Content negotiation


@pytest.mark.parametrize(
    "accept",
    ["text/html", "application/json;q=0", "application/xml", "text/html, application/json;q=0"],
)
def test_accept_without_json_is_406(client: TestClient, factory: Factory, accept: str) -> None:
    nation, _, token = _setup(factory)

    response = client.get(_people_url(nation), headers={**_bearer(token), "Accept": accept})

    _assert_error(response, 406, "not_acceptable")


@pytest.mark.parametrize(
    "accept",
    [
        None,
        "*/*",
        "application/json",
        "application/*",
        "application/json; q=0.5, text/html",
        "APPLICATION/JSON",
    ],
)
def test_accept_allowing_json_is_200(client: TestClient, factory: Factory, accept: str | None) -> None:
    nation, _, token = _setup(factory)
    ids = factory.people(nation, 1)
    headers = _bearer(token)
    if accept is not None:
        headers["Accept"] = accept

    response = client.get(_people_url(nation), headers=headers)

    assert response.status_code == 200, response.text
    assert _ids(response.json()) == ids


def test_json_refused_despite_wildcard(client: TestClient, factory: Factory) -> None:
    nation, _, token = _setup(factory)

    response = client.get(
        _people_url(nation), headers={**_bearer(token), "Accept": "application/json;q=0, */*"}
    )

    _assert_error(response, 406, "not_acceptable")


# 401 Unauthorized


def test_missing_token_is_401(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    factory.people(nation, 1)

    response = client.get(_people_url(nation))

    _assert_unauthorized(response)


@pytest.mark.parametrize(
    "authorization",
    ["Bearer wrong", "Bearer " + "0" * 64, "Bearer", "Basic dXNlcjpwYXNz", "Bearer " + "a" * 600],
)
def test_wrong_token_is_401(client: TestClient, factory: Factory, authorization: str) -> None:
    nation, _, _ = _setup(factory)
    factory.people(nation, 1)

    response = client.get(_people_url(nation), headers={"Authorization": authorization})

    _assert_unauthorized(response)


def test_wrong_query_token_is_401(client: TestClient, factory: Factory) -> None:
    nation, _, _ = _setup(factory)

    response = client.get(_people_url(nation, urlencode({"access_token": "0" * 64})))

    _assert_unauthorized(response)


def test_other_nations_token_is_401(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    factory.people(nation, 1)
    _, _, other_token = _setup(factory)

    response = client.get(_people_url(nation), headers=_bearer(other_token))

    _assert_unauthorized(response)


def test_member_token_for_other_nation(client: TestClient, factory: Factory) -> None:
    nation, user, _ = _setup(factory)
    other = factory.nation()

    def join_other(session: Session) -> None:
        session.add(Membership(user_id=user.id, nation_id=other.id, permission_level="admin"))

    factory.database.transaction(join_other)
    token_for_other = factory.test_token(other, user)

    response = client.get(_people_url(nation), headers=_bearer(token_for_other))

    _assert_unauthorized(response)


def test_expired_test_token_is_401(client: TestClient, factory: Factory) -> None:
    nation, user, token = _setup(factory)
    factory.people(nation, 1)
    assert client.get(_people_url(nation), headers=_bearer(token)).status_code == 200

    def expire(session: Session) -> None:
        session.execute(
            update(TestToken)
            .where(TestToken.nation_id == nation.id, TestToken.user_id == user.id)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )

    factory.database.transaction(expire)

    response = client.get(_people_url(nation), headers=_bearer(token))

    _assert_unauthorized(response)


def test_revoked_test_token_is_401(client: TestClient, factory: Factory) -> None:
    nation, user, token = _setup(factory)

    def revoke(session: Session) -> None:
        session.execute(
            update(TestToken)
            .where(TestToken.nation_id == nation.id, TestToken.user_id == user.id)
            .values(revoked_at=datetime.now(UTC))
        )

    factory.database.transaction(revoke)

    response = client.get(_people_url(nation), headers=_bearer(token))

    _assert_unauthorized(response)


def test_former_member_is_401(client: TestClient, factory: Factory) -> None:
    nation, user, token = _setup(factory)
    factory.people(nation, 1)
    assert client.get(_people_url(nation), headers=_bearer(token)).status_code == 200

    def remove_membership(session: Session) -> None:
        session.execute(
            delete(Membership).where(Membership.nation_id == nation.id, Membership.user_id == user.id)
        )

    factory.database.transaction(remove_membership)

    response = client.get(_people_url(nation), headers=_bearer(token))

    _assert_unauthorized(response)


# Nations


def test_unknown_nation_is_404(client: TestClient, factory: Factory) -> None:
    _, _, token = _setup(factory)

    response = client.get("/n/nosuchnation/api/v1/people", headers=_bearer(token))

    _assert_error(response, 404, "not_found")


def test_unknown_nation_host_is_404(client: TestClient) -> None:
    response = client.get("http://nosuchnation.localhost/api/v1/people")

    _assert_error(response, 404, "not_found")


def test_other_nations_people_hidden(client: TestClient, factory: Factory) -> None:
    nation, _, token = _setup(factory)
    other, _, other_token = _setup(factory)
    other_ids = factory.people(other, 15)
    ids = factory.people(nation, 15)
    factory.people(other, 15)

    seen, _ = _follow_next(client, token, _people_url(nation), nation.prefix)
    other_seen, _ = _follow_next(client, other_token, _people_url(other), other.prefix)

    assert seen == ids
    assert not set(seen) & set(other_seen)
    assert other_seen[:15] == other_ids
    assert len(other_seen) == 30
