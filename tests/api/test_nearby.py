"""GET /people/nearby: people whose primary address is within a distance of a point."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient

from tests.factory import Factory, NationInfo

#: The mean Earth radius in miles, as the great-circle distances below use it.
EARTH_RADIUS_MILES = 3958.8
CENTRE = (40.0, -75.0)
MISSING_LOCATION = {
    "code": "missing_parameters",
    "message": "Missing Parameters.",
    "parameters": ["location"],
    "inner_error": {"name": "Api::Error::MissingParameters", "message": "Missing parameters: location"},
}


def haversine_miles(start: tuple[float, float], end: tuple[float, float]) -> float:
    """Return the great-circle distance between two (latitude, longitude) points, in miles."""
    lat1, lng1, lat2, lng2 = map(math.radians, (*start, *end))
    term = (
        math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_MILES * math.asin(math.sqrt(term))


def destination(start: tuple[float, float], bearing_degrees: float, miles: float) -> tuple[float, float]:
    """Return the point ``miles`` away from ``start`` along the great circle of the bearing."""
    lat1, lng1 = map(math.radians, start)
    bearing = math.radians(bearing_degrees)
    angle = miles / EARTH_RADIUS_MILES
    lat2 = math.asin(math.sin(lat1) * math.cos(angle) + math.cos(lat1) * math.sin(angle) * math.cos(bearing))
    lng2 = lng1 + math.atan2(
        math.sin(bearing) * math.sin(angle) * math.cos(lat1),
        math.cos(angle) - math.sin(lat1) * math.sin(lat2),
    )
    longitude = (math.degrees(lng2) + 540) % 360 - 180
    return math.degrees(lat2), longitude


def _setup(factory: Factory) -> tuple[NationInfo, dict[str, str]]:
    nation = factory.nation()
    token = factory.test_token(nation, factory.user(nation))
    return nation, {"Authorization": f"Bearer {token}", "Accept": "application/json"}


def _address(point: tuple[float, float]) -> dict[str, str]:
    return {"city": "Somewhere", "lat": repr(point[0]), "lng": repr(point[1])}


def _create(client: TestClient, nation: NationInfo, headers: dict[str, str], **fields: Any) -> int:
    response = client.post(f"{nation.prefix}/api/v1/people", json={"person": fields}, headers=headers)
    assert response.status_code == 201, response.text
    person_id: int = response.json()["person"]["id"]
    return person_id


def _place(
    client: TestClient, nation: NationInfo, headers: dict[str, str], point: tuple[float, float]
) -> int:
    return _create(client, nation, headers, first_name="Near", primary_address=_address(point))


def _nearby(client: TestClient, nation: NationInfo, headers: dict[str, str], params: dict[str, str]) -> Any:
    return client.get(f"{nation.prefix}/api/v1/people/nearby", params=params, headers=headers)


def _nearby_ids(
    client: TestClient, nation: NationInfo, headers: dict[str, str], params: dict[str, str]
) -> list[int]:
    response = _nearby(client, nation, headers, {"limit": "100", **params})
    assert response.status_code == 200, response.text
    assert response.json()["next"] is None
    return [person["id"] for person in response.json()["results"]]


def _location(point: tuple[float, float]) -> str:
    return f"{point[0]!r},{point[1]!r}"


def _ring(
    client: TestClient, nation: NationInfo, headers: dict[str, str], centre: tuple[float, float]
) -> dict[float, int]:
    """Place people 0.5, 2, 9 and 11 miles from ``centre``, each on another bearing, and return their ids."""
    ids = {}
    for miles, bearing in ((0.5, 0), (2, 90), (9, 200), (11, 300)):
        point = destination(centre, bearing, miles)
        assert haversine_miles(centre, point) == pytest.approx(miles, rel=1e-9)
        ids[miles] = _place(client, nation, headers, point)
    return ids


def test_helpers_agree() -> None:
    # One degree of latitude is about 69.09 miles on a sphere of this radius.
    assert haversine_miles((0.0, 0.0), (1.0, 0.0)) == pytest.approx(69.09, abs=0.01)
    assert destination((0.0, 0.0), 0, 69.0934) == pytest.approx((1.0, 0.0), abs=1e-4)


@pytest.mark.parametrize(
    ("distance", "expected"),
    [(None, [0.5]), ("1", [0.5]), ("10", [0.5, 2, 9]), ("10.99", [0.5, 2, 9]), ("11.01", [0.5, 2, 9, 11])],
)
def test_distance_selects_ring(
    client: TestClient, factory: Factory, distance: str | None, expected: list[float]
) -> None:
    nation, headers = _setup(factory)
    ids = _ring(client, nation, headers, CENTRE)
    params = {"location": _location(CENTRE)}
    if distance is not None:
        params["distance"] = distance

    found = _nearby_ids(client, nation, headers, params)

    assert found == [ids[miles] for miles in expected]


def test_results_are_abbreviated_people(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    person_id = _place(client, nation, headers, destination(CENTRE, 45, 0.2))

    response = _nearby(client, nation, headers, {"location": _location(CENTRE)})
    listed = client.get(f"{nation.prefix}/api/v1/people", headers=headers)

    assert response.status_code == 200, response.text
    assert response.json() == {"results": listed.json()["results"], "next": None, "prev": None}
    assert response.json()["results"][0]["id"] == person_id


@pytest.mark.parametrize("distance", [None, "5"])
def test_pages_keep_location_and_distance(client: TestClient, factory: Factory, distance: str | None) -> None:
    nation, headers = _setup(factory)
    near = [
        _place(client, nation, headers, destination(CENTRE, 37 * number, 0.1 * number)) for number in range(7)
    ]
    _place(client, nation, headers, destination(CENTRE, 90, 20))
    params = {"location": _location(CENTRE), "limit": "3"}
    if distance is not None:
        params["distance"] = distance

    response = _nearby(client, nation, headers, params)
    ids: list[int] = []
    links = []
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        ids.extend(person["id"] for person in body["results"])
        if body["next"] is None:
            break
        links.append(parse_qs(urlsplit(body["next"]).query))
        response = client.get(nation.prefix + body["next"], headers=headers)

    assert ids == near
    assert len(links) == 2
    for query in links:
        assert query["location"] == [params["location"]]
        assert query.get("distance") == ([distance] if distance is not None else None)
        assert query["limit"] == ["3"]


def test_prev_link_returns_first_page(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    near = [_place(client, nation, headers, destination(CENTRE, 10, 0.1 * number)) for number in range(4)]
    first = _nearby(client, nation, headers, {"location": _location(CENTRE), "limit": "2"})
    second = client.get(nation.prefix + first.json()["next"], headers=headers)

    back = client.get(nation.prefix + second.json()["prev"], headers=headers)

    assert [person["id"] for person in second.json()["results"]] == near[2:]
    assert back.status_code == 200, back.text
    assert [person["id"] for person in back.json()["results"]] == near[:2]


def test_people_without_coordinates_never_appear(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    lat, lng = (repr(value) for value in CENTRE)
    placed = _place(client, nation, headers, CENTRE)
    for address in (
        None,
        {"city": "Somewhere"},
        {"lat": lat},
        {"lng": lng},
        {"lat": "north", "lng": lng},
        {"lat": lat, "lng": ""},
        {"lat": "95", "lng": lng},
        {"lat": lat, "lng": "-181"},
        {"lat": "nan", "lng": lng},
    ):
        _create(client, nation, headers, first_name="Nowhere", primary_address=address)
    factory.people(nation, 2)

    found = _nearby_ids(client, nation, headers, {"location": _location(CENTRE), "distance": "1000"})

    assert found == [placed]


def test_numeric_coordinates_are_taken(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    point = destination(CENTRE, 180, 0.3)
    person_id = _create(
        client, nation, headers, first_name="Numbers", primary_address={"lat": point[0], "lng": point[1]}
    )

    found = _nearby_ids(client, nation, headers, {"location": _location(CENTRE)})

    assert found == [person_id]


def test_address_update_moves_person(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    person_id = _place(client, nation, headers, destination(CENTRE, 0, 0.5))
    url = f"{nation.prefix}/api/v1/people/{person_id}"
    params = {"location": _location(CENTRE)}

    def move(address: dict[str, str] | None) -> list[int]:
        response = client.put(url, json={"person": {"primary_address": address}}, headers=headers)
        assert response.status_code == 200, response.text
        return _nearby_ids(client, nation, headers, params)

    assert _nearby_ids(client, nation, headers, params) == [person_id]
    assert move(_address(destination(CENTRE, 0, 3))) == []
    assert move(_address(destination(CENTRE, 270, 0.9))) == [person_id]
    assert move(None) == []
    assert move(_address(CENTRE)) == [person_id]
    assert move({"lat": "", "lng": repr(CENTRE[1])}) == []


def test_push_moves_person(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    person_id = _create(
        client, nation, headers, email="ann@example.org", primary_address=_address((0.0, 0.0))
    )
    params = {"location": _location(CENTRE)}

    pushed = client.put(
        f"{nation.prefix}/api/v1/people/push",
        json={"person": {"email": "ann@example.org", "primary_address": _address(CENTRE)}},
        headers=headers,
    )

    assert pushed.status_code == 200, pushed.text
    assert _nearby_ids(client, nation, headers, params) == [person_id]


def test_other_nation_people_stay_out(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    other, other_headers = _setup(factory)
    _place(client, other, other_headers, CENTRE)
    own = _place(client, nation, headers, CENTRE)

    found = _nearby_ids(client, nation, headers, {"location": _location(CENTRE)})

    assert found == [own]


def test_other_nation_token_is_401(client: TestClient, factory: Factory) -> None:
    nation, _ = _setup(factory)
    _, other_headers = _setup(factory)

    response = _nearby(client, nation, other_headers, {"location": _location(CENTRE)})

    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


def test_missing_location_is_400(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)

    for params in ({}, {"distance": "5"}, {"limit": "5"}):
        response = _nearby(client, nation, headers, params)
        assert response.status_code == 400, params
        assert response.json() == MISSING_LOCATION, params


@pytest.mark.parametrize(
    "params",
    [
        {"location": ""},
        {"location": "40.0"},
        {"location": "40.0,-75.0,3"},
        {"location": "north,west"},
        {"location": "40.0;-75.0"},
        {"location": "90.0001,0"},
        {"location": "-90.5,0"},
        {"location": "0,180.5"},
        {"location": "0,-181"},
        {"location": "nan,0"},
        {"location": "0,inf"},
        {"location": "40,-75", "distance": "0"},
        {"location": "40,-75", "distance": "-1"},
        {"location": "40,-75", "distance": "1000.5"},
        {"location": "40,-75", "distance": "far"},
        {"location": "40,-75", "distance": ""},
        {"location": "40,-75", "distance": "nan"},
        {"location": "40,-75", "distance": "inf"},
        {"location": "40,-75", "radius": "3"},
        {"location": "40,-75", "first_name": "Ann"},
    ],
)
def test_bad_parameters_are_400(client: TestClient, factory: Factory, params: dict[str, str]) -> None:
    nation, headers = _setup(factory)

    response = _nearby(client, nation, headers, params)

    assert response.status_code == 400
    body = response.json()
    assert body == {"code": "bad_request", "message": body["message"]}
    assert isinstance(body["message"], str)


def test_repeated_location_is_400(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)

    response = client.get(
        f"{nation.prefix}/api/v1/people/nearby?location=40,-75&location=41,-75", headers=headers
    )

    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


@pytest.mark.parametrize("location", ["90,0", "-90,180", "0,180", "0,-180", " 40.0 , -75.0 "])
def test_edge_locations_are_accepted(client: TestClient, factory: Factory, location: str) -> None:
    nation, headers = _setup(factory)

    response = _nearby(client, nation, headers, {"location": location, "distance": "1000"})

    assert response.status_code == 200, response.text


def test_largest_distance_is_accepted(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    far = _place(client, nation, headers, destination(CENTRE, 90, 999))
    _place(client, nation, headers, destination(CENTRE, 90, 1001))

    found = _nearby_ids(client, nation, headers, {"location": _location(CENTRE), "distance": "1000"})

    assert found == [far]


def test_near_north_pole(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    centre = (89.99, 0.0)
    across = (89.99, 180.0)
    pole = (90.0, 0.0)
    lower = (89.9, 0.0)
    assert haversine_miles(centre, across) == pytest.approx(1.3817, abs=1e-3)
    assert haversine_miles(centre, pole) == pytest.approx(0.6909, abs=1e-3)
    assert haversine_miles(centre, lower) == pytest.approx(6.218, abs=1e-3)
    ids = {point: _place(client, nation, headers, point) for point in (across, pole, lower)}

    within_one = _nearby_ids(client, nation, headers, {"location": _location(centre), "distance": "1"})
    within_two = _nearby_ids(client, nation, headers, {"location": _location(centre), "distance": "2"})
    within_ten = _nearby_ids(client, nation, headers, {"location": _location(centre), "distance": "10"})

    assert within_one == [ids[pole]]
    assert within_two == [ids[across], ids[pole]]
    assert within_ten == [ids[across], ids[pole], ids[lower]]


def test_near_south_pole(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    centre = (-90.0, 0.0)
    points = [(-89.995, lng) for lng in (-170.0, -45.0, 90.0)]
    assert all(haversine_miles(centre, point) == pytest.approx(0.3455, abs=1e-3) for point in points)
    ids = [_place(client, nation, headers, point) for point in points]
    _place(client, nation, headers, (-89.98, 10.0))

    found = _nearby_ids(client, nation, headers, {"location": _location(centre), "distance": "1"})

    assert found == ids


def test_across_antimeridian(client: TestClient, factory: Factory) -> None:
    # 179.99 and -179.99 are 0.02 degrees of longitude apart across the 180th meridian.
    nation, headers = _setup(factory)
    centre = (0.0, 179.99)
    across = (0.0, -179.99)
    wide = (0.0, 179.0)
    assert haversine_miles(centre, across) == pytest.approx(1.3819, abs=1e-3)
    assert haversine_miles(centre, wide) == pytest.approx(68.40, abs=0.01)
    across_id = _place(client, nation, headers, across)
    wide_id = _place(client, nation, headers, wide)

    from_east = _nearby_ids(client, nation, headers, {"location": _location(centre), "distance": "2"})
    from_west = _nearby_ids(client, nation, headers, {"location": _location(across), "distance": "2"})
    wider = _nearby_ids(client, nation, headers, {"location": _location(across), "distance": "75"})
    narrower = _nearby_ids(client, nation, headers, {"location": _location(centre), "distance": "1"})

    assert from_east == [across_id]
    assert from_west == [across_id]
    assert wider == [across_id, wide_id]
    assert narrower == []
