"""Fixtures of the interop tests: the live server and the parties to an authorization."""

from __future__ import annotations

import pytest

from citizenry.store.db import Database
from tests.e2e import test_quickstart
from tests.interop.live import Parties, create_parties

# The quick start's server fixture: one `citizenry serve` process on 127.0.0.1 per test module and
# database, with CITIZENRY_INSECURE_HTTP on so that OAuth runs over plain http.
live_server = test_quickstart.live_server


@pytest.fixture
def parties(database: Database) -> Parties:
    return create_parties(database)
