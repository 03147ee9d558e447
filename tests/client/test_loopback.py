"""The loopback listener of ``citizenry login``, on its own: one callback, then it stops."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request

import pytest

from citizenry.client.commands.loopback import CallbackListener, CallbackPage, InvalidRedirectUri


def _get(url: str) -> tuple[int, str]:
    """Return the status and body of a GET, error statuses included."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (a loopback URL)
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _visit_soon(url: str) -> threading.Thread:
    answers: list[tuple[int, str]] = []
    thread = threading.Thread(target=lambda: answers.append(_get(url)))
    thread.answers = answers  # type: ignore[attr-defined]
    thread.start()
    return thread


def test_callback_gets_handler_page() -> None:
    listener = CallbackListener("http://127.0.0.1/callback")
    seen: list[str] = []

    def handle(url: str) -> CallbackPage:
        seen.append(url)
        return CallbackPage(200, "done\n")

    visit = _visit_soon(f"{listener.redirect_uri}?code=abc&state=xyz")
    try:
        assert listener.wait(handle, timeout=10) is True
    finally:
        listener.close()
    visit.join(5)
    assert seen == [f"{listener.redirect_uri}?code=abc&state=xyz"]
    assert visit.answers == [(200, "done\n")]  # type: ignore[attr-defined]


def test_handler_error_reraised() -> None:
    listener = CallbackListener("http://127.0.0.1/callback")

    def handle(url: str) -> CallbackPage:
        raise RuntimeError("store broke")

    visit = _visit_soon(f"{listener.redirect_uri}?code=abc&state=xyz")
    try:
        with pytest.raises(RuntimeError, match="store broke"):
            listener.wait(handle, timeout=10)
    finally:
        listener.close()
    visit.join(5)
    statuses = [status for status, _ in visit.answers]  # type: ignore[attr-defined]
    assert statuses == [500]


def test_other_path_is_not_callback() -> None:
    listener = CallbackListener("http://127.0.0.1/callback")
    base = listener.redirect_uri.removesuffix("/callback")
    visit = _visit_soon(f"{base}/favicon.ico")
    try:
        assert listener.wait(lambda url: CallbackPage(200, "done\n"), timeout=1) is False
    finally:
        listener.close()
    visit.join(5)
    assert [status for status, _ in visit.answers] == [404]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "uri",
    ["https://127.0.0.1/callback", "http://example.org/callback", "http://127.0.0.1/callback?x=1"],
)
def test_non_loopback_uri_rejected(uri: str) -> None:
    with pytest.raises(InvalidRedirectUri):
        CallbackListener(uri)
