"""The sans-IO core driven by hand, and the pure helpers no Citizenry response reaches."""

from __future__ import annotations

import email.utils
import time

import httpx2
import pytest

from citizenry.client import (
    MemoryTokenStore,
    RateLimited,
    RequestTimeout,
    ServerError,
    ServiceUnavailable,
    TokenSet,
    Unauthorized,
    UnexpectedResponse,
)
from citizenry.client.engine import Engine, Options
from citizenry.client.errors import error_from_response, retry_after_seconds
from citizenry.client.paging import next_page_target
from citizenry.client.sansio import Send, Sleep, Stepper

BASE = "http://127.0.0.1:8000/n/demo"


def _response(status: int, *, headers: dict[str, str] | None = None, content: bytes = b"") -> httpx2.Response:
    return httpx2.Response(
        status, headers=headers, content=content, request=httpx2.Request("GET", f"{BASE}/api/v1/people")
    )


def _engine(**options: int) -> Engine:
    return Engine(
        base_url=BASE,
        app=None,
        store=MemoryTokenStore(TokenSet(access_token="t" * 64)),
        options=Options(**options),
    )


def test_backoff_without_retry_after() -> None:
    stepper = Stepper(_engine(max_retries=3).call_json("GET", "/api/v1/people/count"))
    sent: list[httpx2.Request] = []
    delays: list[float] = []
    replies = [_response(429), _response(429), _response(429), _response(200, content=b'{"people_count": 4}')]

    while not stepper.done:
        instruction = stepper.instruction
        if isinstance(instruction, Sleep):
            delays.append(instruction.seconds)
            stepper.advance(None)
        else:
            assert isinstance(instruction, Send)
            sent.append(instruction.request)
            stepper.advance(replies.pop(0))

    assert stepper.result == {"people_count": 4}
    assert delays == [1.0, 2.0, 4.0]
    assert len(sent) == 4
    assert {str(request.url) for request in sent} == {f"{BASE}/api/v1/people/count"}
    assert sent[0].headers["authorization"] == "Bearer " + "t" * 64
    assert sent[0].headers["accept"] == "application/json"
    assert sent[0].extensions["timeout"] == {"connect": 30.0, "read": 30.0, "write": 30.0, "pool": 30.0}


def test_retries_exhausted_raise() -> None:
    stepper = Stepper(_engine(max_retries=1).call("GET", "/api/v1/people"))
    stepper.advance(_response(429, headers={"Retry-After": "7"}))
    assert stepper.instruction == Sleep(7.0)
    stepper.advance(None)

    with pytest.raises(RateLimited) as caught:
        stepper.advance(_response(429, headers={"Retry-After": "7"}, content=b'{"code": "rate_limited"}'))

    assert caught.value.retry_after == 7.0
    assert caught.value.code == "rate_limited"


def test_transport_error_thrown_in() -> None:
    stepper = Stepper(_engine().call("GET", "/api/v1/people"))
    request = stepper.instruction
    assert isinstance(request, Send)

    with pytest.raises(RequestTimeout) as caught:
        stepper.advance(httpx2.ReadTimeout("timed out", request=request.request))

    assert isinstance(caught.value.__cause__, httpx2.ReadTimeout)
    assert str(caught.value) == "GET /n/demo/api/v1/people timed out"


def test_retry_after_forms() -> None:
    future = email.utils.formatdate(time.time() + 30, usegmt=True)

    assert retry_after_seconds(_response(429, headers={"Retry-After": "3"})) == 3.0
    assert 28 <= (retry_after_seconds(_response(429, headers={"Retry-After": future})) or 0) <= 30
    assert retry_after_seconds(_response(429, headers={"Retry-After": "soon"})) is None
    assert retry_after_seconds(_response(429)) is None


def test_errors_without_json_body() -> None:
    bad_gateway = error_from_response(_response(502, content=b"<html>Bad gateway</html>"))
    unavailable = error_from_response(_response(503))
    unauthorized = error_from_response(_response(401))

    assert type(bad_gateway) is ServerError
    assert (bad_gateway.status_code, bad_gateway.code, bad_gateway.body) == (502, None, None)
    assert type(unavailable) is ServiceUnavailable
    assert type(unauthorized) is Unauthorized


def test_next_link_re_adds_missing_params() -> None:
    original = [("last_name", "Lovelace"), ("limit", "2")]

    relative = next_page_target("/api/v1/people/search?__nonce=n&__token=t", original, BASE)
    absolute = next_page_target(f"{BASE}/api/v1/people/search?__token=t&limit=5", original, BASE)

    assert relative == (
        "/api/v1/people/search",
        [("__nonce", "n"), ("__token", "t"), ("last_name", "Lovelace"), ("limit", "2")],
    )
    assert absolute == (
        "/api/v1/people/search",
        [("__token", "t"), ("limit", "5"), ("last_name", "Lovelace")],
    )


@pytest.mark.parametrize(
    "link",
    [
        "https://127.0.0.1:8000/n/demo/api/v1/people?__token=t",
        "http://evil.example/n/demo/api/v1/people?__token=t",
        "http://127.0.0.1:8000/n/other/api/v1/people?__token=t",
        "api/v1/people?__token=t",
    ],
)
def test_next_link_elsewhere_rejected(link: str) -> None:
    with pytest.raises(UnexpectedResponse):
        next_page_target(link, [], BASE)
