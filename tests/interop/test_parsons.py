"""parsons' NationBuilder connector as the app: list people across pages, update, upsert with push.

parsons 6.1.0 builds its base URL from the nation slug, `https://{slug}.nationbuilder.com/api/v1`, and has
no option for another host. Each test therefore overwrites the `uri` attribute of the connector's
APIConnector, the base that every relative request path is joined to, before any request is sent.
"""

from __future__ import annotations

import types
import warnings
from typing import Any

import pytest
import requests

from citizenry.store.db import Database
from tests.e2e.test_quickstart import LiveServer
from tests.factory import Factory, NationInfo
from tests.interop.live import Parties

with warnings.catch_warnings():
    # parsons 6.1.0 warns on every import that `pip install parsons` now installs only its core.
    warnings.filterwarnings("ignore", "The behavior of 'pip install parsons'", RuntimeWarning)
    from parsons import NationBuilder
    from parsons.nation_builder import nation_builder as parsons_nation_builder

# parsons requests 10 people first, then 100 a page, so 215 people take four pages.
SEEDED_PEOPLE = 215


@pytest.fixture
def connector(live_server: LiveServer, parties: Parties, database: Database) -> NationBuilder:
    """A parsons NationBuilder connector pointed at the live server, with an API token of the admin."""
    token = Factory(database).test_token(parties.nation, parties.admin)
    connector = NationBuilder(slug=parties.nation.slug, access_token=token)
    connector.client.uri = f"{live_server.nation_url(parties.nation)}/api/v1/"
    assert connector.client.uri.startswith(f"{live_server.base_url}/")
    return connector


@pytest.fixture(autouse=True)
def no_retry_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail at once where get_people would log an error, wait 30 seconds and retry forever."""

    def fail(seconds: float) -> None:
        raise AssertionError(f"parsons met an error listing people and would retry in {seconds} s")

    monkeypatch.setattr(parsons_nation_builder, "time", types.SimpleNamespace(sleep=fail))


def _get_person(server: LiveServer, nation: NationInfo, connector: NationBuilder, person_id: int) -> Any:
    """Return the body of GET /api/v1/people/:id, fetched outside parsons with its token."""
    response = requests.get(
        f"{server.nation_url(nation)}/api/v1/people/{person_id}", headers=connector.client.headers, timeout=30
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_get_people_follows_pages(
    connector: NationBuilder,
    live_server: LiveServer,
    parties: Parties,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seeded = Factory(database).people(parties.nation, SEEDED_PEOPLE)
    first_page = requests.get(
        f"{live_server.nation_url(parties.nation)}/api/v1/people",
        headers=connector.client.headers,
        timeout=30,
    ).json()["results"]
    paths: list[str] = []
    send = connector.client.request

    def record_path(url: str, req_type: str, **kwargs: Any) -> requests.Response:
        paths.append(url)
        return send(url, req_type, **kwargs)

    monkeypatch.setattr(connector.client, "request", record_path)

    people = connector.get_people().to_dicts()

    # parsons keeps only __nonce and __token of each `next` and requests 100 people a page.
    assert len(paths) == 4
    assert paths[0] == "people"
    for path in paths[1:]:
        assert path.startswith("people?limit=100&__nonce=")
    assert [person["id"] for person in people] == seeded
    assert people[:10] == first_page
    for index, person in enumerate(people):
        assert person["first_name"] == f"First{index}"
        assert person["last_name"] == f"Last{index}"
        assert person["email"] == f"p{index}@example.org"
        assert set(person) == set(first_page[0])


def test_update_person(
    connector: NationBuilder, live_server: LiveServer, parties: Parties, database: Database
) -> None:
    [person_id] = Factory(database).people(parties.nation, 1)

    updated = connector.update_person(str(person_id), {"first_name": "Ada", "tags": ["volunteer"]})

    assert set(updated) == {"person", "precinct"}
    assert updated["precinct"] is None
    assert updated["person"]["id"] == person_id
    assert updated["person"]["first_name"] == "Ada"
    assert updated["person"]["last_name"] == "Last0"
    assert updated["person"]["tags"] == ["volunteer"]
    assert _get_person(live_server, parties.nation, connector, person_id) == updated


def test_upsert_person_creates_then_updates(
    connector: NationBuilder, live_server: LiveServer, parties: Parties
) -> None:
    created, first = connector.upsert_person({"email": "grace@example.org", "first_name": "Grace"})
    assert created is True
    assert first is not None
    assert set(first) == {"person", "precinct"}
    assert first["person"]["email"] == "grace@example.org"
    assert first["person"]["first_name"] == "Grace"
    assert first["person"]["last_name"] is None

    # push matches the e-mail address ignoring case, and overwrites the fields it is sent.
    created, second = connector.upsert_person(
        {"email": "Grace@Example.org", "first_name": "Grace", "last_name": "Hopper"}
    )
    assert created is False
    assert second is not None
    assert set(second) == {"person", "precinct"}
    assert second["person"]["id"] == first["person"]["id"]
    assert second["person"]["email"] == "grace@example.org"
    assert second["person"]["last_name"] == "Hopper"
    assert _get_person(live_server, parties.nation, connector, first["person"]["id"]) == second
