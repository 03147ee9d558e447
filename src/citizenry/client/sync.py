"""The blocking client: runs the engine's operations with ``httpx2.Client`` and ``time.sleep``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, Self, TypeVar

import httpx2

from citizenry.client.base import ClientBase, named_like
from citizenry.client.engine import Engine
from citizenry.client.errors import CitizenryError
from citizenry.client.sansio import Exclusive, Operation, Send, Sleep, Stepper

P = ParamSpec("P")
T = TypeVar("T")


class Client(ClientBase[httpx2.Client, Callable[[float], None], threading.Lock]):
    """A blocking client for one nation; safe to share between threads.

    Use it as a context manager, or call :meth:`close`, to close the HTTP client it opened.
    """

    def _open_http(self) -> httpx2.Client:
        return httpx2.Client()

    def _default_sleep(self) -> Callable[[float], None]:
        return time.sleep

    def _new_lock(self) -> threading.Lock:
        return threading.Lock()

    def close(self) -> None:
        """Close the HTTP client, unless it was passed in as ``http_client``."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def _perform(self, instruction: Send | Sleep | Exclusive) -> object:
        """Carry out one instruction and return its outcome; errors are returned, not raised."""
        if isinstance(instruction, Sleep):
            self._sleep(instruction.seconds)
            return None
        if isinstance(instruction, Exclusive):
            with self._refresh_lock:
                try:
                    return self._run(instruction.operation)
                except CitizenryError as error:
                    return error
        try:
            return self._http.send(instruction.request, follow_redirects=False)
        except httpx2.TransportError as error:
            return error

    def _run(self, operation: Operation[T]) -> T:
        stepper = Stepper(operation)
        while not stepper.done:
            stepper.advance(self._perform(stepper.instruction))
        return stepper.result

    def _bind_call(self, build: Callable[Concatenate[Engine, P], Operation[T]]) -> Callable[P, T]:
        def call(*args: P.args, **kwargs: P.kwargs) -> T:
            return self._run(build(self._engine, *args, **kwargs))

        return named_like(call, build)

    def _bind_listing(
        self, build: Callable[Concatenate[Engine, P], Operation[None]]
    ) -> Callable[P, Iterator[Any]]:
        def iterate(*args: P.args, **kwargs: P.kwargs) -> Iterator[Any]:
            stepper = Stepper(build(self._engine, *args, **kwargs))
            yield from stepper.drain()
            while not stepper.done:
                stepper.advance(self._perform(stepper.instruction))
                yield from stepper.drain()

        return named_like(iterate, build)
