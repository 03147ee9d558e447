"""Parallel PUT /people/push and /people/add calls against a real server process."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from citizenry.store.db import Database
from tests.e2e import test_quickstart
from tests.e2e.test_quickstart import LiveServer
from tests.factory import Factory, NationInfo

PARALLEL = 20

# The quick start's server fixture: one `citizenry serve` process on 127.0.0.1 per module and database.
live_server = test_quickstart.live_server


def _setup(database: Database) -> tuple[NationInfo, dict[str, str]]:
    factory = Factory(database)
    nation = factory.nation()
    user = factory.user(nation)
    factory.people(nation, 3)
    headers = {
        "Authorization": f"Bearer {factory.test_token(nation, user)}",
        "Accept": "application/json",
        "Content-Type": "application/json",
    }
    return nation, headers


def _count(server: LiveServer, nation: NationInfo, headers: dict[str, str]) -> int:
    response = requests.get(f"{server.nation_url(nation)}/api/v1/people/count", headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    count: int = response.json()["people_count"]
    return count


def _race(
    url: str, headers: dict[str, str], persons: list[dict[str, Any]]
) -> list[tuple[int, dict[str, Any]]]:
    """Send one PUT per person, all at once. Return each status with its JSON body, or {} if not JSON."""
    barrier = threading.Barrier(len(persons))

    def put(person: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        barrier.wait(timeout=30)
        response = requests.put(url, json={"person": person}, headers=headers, timeout=60)
        is_json = response.headers.get("content-type", "").startswith("application/json")
        return response.status_code, response.json() if is_json else {}

    with ThreadPoolExecutor(max_workers=len(persons)) as pool:
        return list(pool.map(put, persons))


@pytest.mark.parametrize("path", ["/push", "/add"])
def test_parallel_pushes_create_one(live_server: LiveServer, database: Database, path: str) -> None:
    nation, headers = _setup(database)
    count_before = _count(live_server, nation, headers)
    persons = [{"email": "racer@example.org", "first_name": f"Racer{i}"} for i in range(PARALLEL)]

    results = _race(f"{live_server.nation_url(nation)}/api/v1/people{path}", headers, persons)

    statuses = sorted(status for status, _ in results)
    assert [status for status in statuses if status >= 500] == []
    assert statuses == [200] * (PARALLEL - 1) + [201]
    assert len({body["person"]["id"] for _, body in results}) == 1
    assert _count(live_server, nation, headers) == count_before + 1


def test_parallel_pushes_mixed_case(live_server: LiveServer, database: Database) -> None:
    nation, headers = _setup(database)
    count_before = _count(live_server, nation, headers)
    spellings = ["racer@example.org", "Racer@Example.org", "RACER@EXAMPLE.ORG", "racer@EXAMPLE.org"]
    persons = [{"email": spellings[i % len(spellings)]} for i in range(PARALLEL)]

    results = _race(f"{live_server.nation_url(nation)}/api/v1/people/push", headers, persons)

    statuses = sorted(status for status, _ in results)
    assert [status for status in statuses if status >= 500] == []
    assert statuses == [200] * (PARALLEL - 1) + [201]
    assert len({body["person"]["id"] for _, body in results}) == 1
    assert _count(live_server, nation, headers) == count_before + 1


def test_parallel_pushes_by_external_id(live_server: LiveServer, database: Database) -> None:
    nation, headers = _setup(database)
    count_before = _count(live_server, nation, headers)
    persons = [{"external_id": "crm-77", "first_name": f"Racer{i}"} for i in range(PARALLEL)]

    results = _race(f"{live_server.nation_url(nation)}/api/v1/people/push", headers, persons)

    statuses = sorted(status for status, _ in results)
    assert [status for status in statuses if status >= 500] == []
    assert statuses == [200] * (PARALLEL - 1) + [201]
    assert _count(live_server, nation, headers) == count_before + 1
