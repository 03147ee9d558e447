"""The async client: runs the engine's operations with ``httpx2.AsyncClient`` and ``anyio.sleep``.

It works under asyncio and trio alike, because it waits and locks through anyio.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, Self, TypeVar

import anyio
import httpx2

from citizenry.client.base import ClientBase, named_like
from citizenry.client.engine import Engine
from citizenry.client.errors import CitizenryError
from citizenry.client.sansio import Exclusive, Operation, Send, Sleep, Stepper

P = ParamSpec("P")
T = TypeVar("T")


class AsyncClient(ClientBase[httpx2.AsyncClient, Callable[[float], Awaitable[None]], anyio.Lock]):
    """An async client for one nation, with the same methods as :class:`Client`, awaited.

    Use it with ``async with``, or await :meth:`aclose`, to close the HTTP client it opened. The
    token store is called directly from the event loop: its reads and writes are small.
    """

    def _open_http(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient()

    def _default_sleep(self) -> Callable[[float], Awaitable[None]]:
        return anyio.sleep

    def _new_lock(self) -> anyio.Lock:
        return anyio.Lock()

    async def aclose(self) -> None:
        """Close the HTTP client, unless it was passed in as ``http_client``."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _perform(self, instruction: Send | Sleep | Exclusive) -> object:
        """Carry out one instruction and return its outcome; errors are returned, not raised."""
        if isinstance(instruction, Sleep):
            await self._sleep(instruction.seconds)
            return None
        if isinstance(instruction, Exclusive):
            async with self._refresh_lock:
                try:
                    return await self._run(instruction.operation)
                except CitizenryError as error:
                    return error
        try:
            return await self._http.send(instruction.request, follow_redirects=False)
        except httpx2.TransportError as error:
            return error

    async def _run(self, operation: Operation[T]) -> T:
        stepper = Stepper(operation)
        while not stepper.done:
            stepper.advance(await self._perform(stepper.instruction))
        return stepper.result

    def _bind_call(
        self, build: Callable[Concatenate[Engine, P], Operation[T]]
    ) -> Callable[P, Coroutine[Any, Any, T]]:
        async def call(*args: P.args, **kwargs: P.kwargs) -> T:
            return await self._run(build(self._engine, *args, **kwargs))

        return named_like(call, build)

    def _bind_listing(
        self, build: Callable[Concatenate[Engine, P], Operation[None]]
    ) -> Callable[P, AsyncIterator[Any]]:
        async def iterate(*args: P.args, **kwargs: P.kwargs) -> AsyncIterator[Any]:
            stepper = Stepper(build(self._engine, *args, **kwargs))
            for item in stepper.drain():
                yield item
            while not stepper.done:
                stepper.advance(await self._perform(stepper.instruction))
                for item in stepper.drain():
                    yield item

        return named_like(iterate, build)
